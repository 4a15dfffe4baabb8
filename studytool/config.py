"""Typed learner settings with their defaults and allowed ranges.

Settings are stored in the database (one row per changed key) so that every front end
(CLI, plain review, TUI) sees the same values; this module only knows their shape.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

# The grader's runtimes (studytool.ml.judge.BACKENDS; named here so that config imports no ML).
GRADER_BACKENDS = ("onnx", "sentence-transformers")


class SettingError(ValueError):
    """A setting name or value the learner gave is not acceptable.

    ``setting`` is the setting's name and ``requirement`` what its value must be ("must be
    between 0 and 23"), so that each front end can name the setting its own way: as the
    learner typed it on the command line, by its label in the Settings screen.
    """

    def __init__(self, message: str, *, setting: str | None = None, requirement: str = "") -> None:
        super().__init__(message)
        self.setting = setting
        self.requirement = requirement


# Names that read better in a sentence than the attribute (and are how the Settings screen
# words these errors).
_PROSE_NAMES = {
    "learning_steps_minutes": "learning steps",
    "relearning_steps_minutes": "relearning steps",
}


@dataclass(frozen=True)
class Settings:
    # Scheduling (FSRS-6 via the fsrs package).
    desired_retention: float = 0.9
    learning_steps_minutes: tuple[float, ...] = (1.0, 10.0)
    relearning_steps_minutes: tuple[float, ...] = (10.0,)
    maximum_interval_days: int = 36500
    enable_fuzzing: bool = True
    fsrs_parameters: tuple[float, ...] | None = None
    # Study queue.
    new_cards_per_day: int = 20
    reviews_per_day: int = 200
    bury_siblings: bool = True
    leech_threshold: int = 8
    day_starts_at_hour: int = 4
    learn_ahead_minutes: int = 20
    # Interview practice.
    interview_question_count: int = 5
    interview_seconds_per_question: int = 180
    # Grading typed answers.
    auto_grading: bool = True
    # Score cut points for Hard, Good and Easy fitted by `studytool calibrate`; None means
    # the ones shipped with the grader.
    grade_thresholds: tuple[float, ...] | None = None
    # What runs the grader: "onnx" (ONNX Runtime, int8; fast, no torch) or
    # "sentence-transformers" (the same weights on torch: the reference the tests compare with).
    grader_backend: str = "onnx"
    # The demos' language model: empty for the packaged SmolLM2, else a Hugging Face id
    # (e.g. gpt2, where the hub can be reached) or a local model folder.
    demo_model: str = ""
    # Appearance.
    theme: str = "textual-dark"

    def replace(self, **changes: Any) -> Settings:
        updated = dataclasses.replace(self, **changes)
        updated.validate()
        return updated

    def validate(self) -> None:
        """Raise SettingError naming the first value out of range."""
        checks: list[tuple[bool, str, str]] = [
            (
                0.7 <= self.desired_retention <= 0.99,
                "desired_retention",
                "must be between 0.70 and 0.99",
            ),
            (
                all(s > 0 for s in self.learning_steps_minutes),
                "learning_steps_minutes",
                "must be positive minutes",
            ),
            (
                all(s > 0 for s in self.relearning_steps_minutes),
                "relearning_steps_minutes",
                "must be positive minutes",
            ),
            (
                1 <= self.maximum_interval_days <= 36500,
                "maximum_interval_days",
                "must be between 1 and 36500",
            ),
            (0 <= self.new_cards_per_day <= 9999, "new_cards_per_day", "must be between 0 and 9999"),
            (0 <= self.reviews_per_day <= 99999, "reviews_per_day", "must be between 0 and 99999"),
            (self.leech_threshold >= 1, "leech_threshold", "must be at least 1"),
            (0 <= self.day_starts_at_hour <= 23, "day_starts_at_hour", "must be between 0 and 23"),
            (
                0 <= self.learn_ahead_minutes <= 1440,
                "learn_ahead_minutes",
                "must be between 0 and 1440",
            ),
            (
                1 <= self.interview_question_count <= 100,
                "interview_question_count",
                "must be between 1 and 100",
            ),
            (
                10 <= self.interview_seconds_per_question <= 3600,
                "interview_seconds_per_question",
                "must be between 10 and 3600",
            ),
            (
                self.grade_thresholds is None
                or (
                    len(self.grade_thresholds) == 3
                    and 0 <= self.grade_thresholds[0] <= self.grade_thresholds[1]
                    <= self.grade_thresholds[2] <= 1
                ),
                "grade_thresholds",
                "must be three increasing scores in 0..1 (hard, good, easy)",
            ),
            (
                self.grader_backend in GRADER_BACKENDS,
                "grader_backend",
                "must be one of: " + ", ".join(GRADER_BACKENDS),
            ),
            (
                self.fsrs_parameters is None or len(self.fsrs_parameters) in (17, 19, 21),
                "fsrs_parameters",
                "must hold 21 numbers (as printed by `studytool optimize`)",
            ),
        ]
        for ok, name, requirement in checks:
            if not ok:
                raise SettingError(
                    f"{_PROSE_NAMES.get(name, name)} {requirement}",
                    setting=name,
                    requirement=requirement,
                )

    def to_stored(self) -> dict[str, Any]:
        """Only the values that differ from the defaults, JSON-ready."""
        defaults = Settings()
        stored: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != getattr(defaults, f.name):
                stored[f.name] = list(value) if isinstance(value, tuple) else value
        return stored

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> Settings:
        """Build settings from stored JSON values, ignoring unknown keys from other versions."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for name, raw in stored.items():
            if name in known:
                values[name] = _coerce(name, raw)
        settings = cls(**values)
        settings.validate()
        return settings


def setting_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Settings)]


def canonical_setting_name(typed: str) -> str:
    """The setting ``typed`` means: ``New-Cards-Per-Day`` is ``new_cards_per_day``."""
    return typed.strip().lower().replace("-", "_")


def unknown_setting(typed: str) -> SettingError:
    """The error for a setting name that is not one, with the nearest names suggested."""
    names = setting_names()
    close = difflib.get_close_matches(canonical_setting_name(typed), names, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return SettingError(f"unknown setting {typed!r}; {hint}known: {', '.join(names)}")


# What each kind of value looks like when typed, for the error about one that is not.
_TYPED_FORMS = {
    "fsrs_parameters": "21 numbers separated by commas (as `studytool optimize` prints them), or none",
    "grade_thresholds": "three scores separated by commas, e.g. 0.3, 0.5, 0.8, or none",
}


def _typed_form(name: str, default: Any) -> str:
    if name in _TYPED_FORMS:
        return _TYPED_FORMS[name]
    if isinstance(default, bool):
        return "on or off (also yes/no, true/false, 1/0)"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, tuple):
        return "minutes separated by commas, e.g. 1, 10"
    return "some text"


def parse_setting(name: str, text: str) -> Any:
    """Turn a value typed on the command line into the setting's type."""
    if name not in setting_names():
        raise unknown_setting(name)
    default = getattr(Settings(), name)
    try:
        if name in ("fsrs_parameters", "grade_thresholds"):
            if text.strip().lower() in ("", "none", "default"):
                return None
            return tuple(float(x) for x in text.replace(",", " ").split())
        if isinstance(default, bool):
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if isinstance(default, tuple):
            return tuple(float(x) for x in text.replace(",", " ").split())
        return type(default)(text)
    except ValueError as exc:
        requirement = f"takes {_typed_form(name, default)}"
        raise SettingError(
            f"{name} {requirement}, not {text!r}", setting=name, requirement=requirement
        ) from exc


def _coerce(name: str, raw: Any) -> Any:
    default = getattr(Settings(), name)
    if raw is None:
        return None
    if isinstance(default, tuple) or name in ("fsrs_parameters", "grade_thresholds"):
        return tuple(float(x) for x in raw)
    if isinstance(default, bool):
        return bool(raw)
    return type(default)(raw)
