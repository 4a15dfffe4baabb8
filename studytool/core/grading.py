"""Grading typed answers: the protocol every grader follows and the results it returns.

Nothing here imports an ML package: the answer judge lives in :mod:`studytool.ml.judge`,
and the CLI, the TUI and the store only need these plain types. A grader returns a
:class:`GradeResult` (one :class:`CriterionResult` per rubric criterion, an overall score in
[0, 1] and a suggested rating); :class:`RatingThresholds` turns a score into a rating, and
:func:`fit_thresholds` re-fits those cut points from the learner's own corrections.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from studytool.core.ratings import Rating

if TYPE_CHECKING:
    from studytool.core.store import Store

RATINGS = frozenset(int(rating) for rating in Rating)


# Longer answers are cut here before grading (the learner is told). The model reads at most
# 256 word pieces at a time, so a long answer costs one forward pass per ~180 words; this
# bound keeps a pasted essay to a second or so of CPU.
MAX_ANSWER_WORDS = 1000
# fit_thresholds needs at least this many (score, rating) pairs before it replaces the defaults.
MIN_CALIBRATION_PAIRS = 30

# The grader's fitted decision rules ship beside its weights; their "thresholds" entry holds
# the default cut points. Located by path so that core never imports studytool.ml.
SHIPPED_PARAMS_PATH = Path(__file__).resolve().parent.parent / "ml" / "judge" / "params.json"
# Used only when the shipped parameters cannot be read.
_FALLBACK_CUTS = (0.35, 0.55, 0.85)

_WORD = re.compile(r"\S+")


class Verdict(StrEnum):
    MET = "met"
    PARTLY = "partly"
    MISSED = "missed"


@dataclass(frozen=True)
class CriterionResult:
    """How one rubric criterion fared.

    ``similarity`` is the grader's match strength in [0, 1] (for the embedding grader, the
    calibrated probability that the criterion is met). ``evidence_span`` is a pair of
    character offsets into the answer exactly as the learner typed it, so ``answer[a:b]``
    is ``evidence``; both are None when nothing in the answer supports the criterion.
    """

    criterion: str
    verdict: Verdict
    similarity: float
    evidence: str | None = None
    evidence_span: tuple[int, int] | None = None
    # The answer says the opposite of the criterion (negation, reversed relation, wrong
    # number or name). Always with verdict MISSED; the evidence is then the contradicting words.
    contradicted: bool = False

    def __post_init__(self) -> None:
        if self.contradicted and self.verdict is not Verdict.MISSED:
            raise ValueError("a contradicted criterion is missed")

    def to_json(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "verdict": self.verdict.value,
            "similarity": self.similarity,
            "evidence": self.evidence,
            "evidence_span": list(self.evidence_span) if self.evidence_span else None,
            "contradicted": self.contradicted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CriterionResult:
        span = data.get("evidence_span")
        return cls(
            criterion=str(data["criterion"]),
            verdict=Verdict(data["verdict"]),
            similarity=float(data["similarity"]),
            evidence=data.get("evidence"),
            evidence_span=(int(span[0]), int(span[1])) if span else None,
            contradicted=bool(data.get("contradicted", False)),
        )


@dataclass(frozen=True)
class MistakeFound:
    """A known mistake of the card (its deck's ``X:`` lines) that the answer makes."""

    mistake: str
    confidence: float  # in [0, 1]
    evidence: str | None = None
    evidence_span: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "mistake": self.mistake,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "evidence_span": list(self.evidence_span) if self.evidence_span else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MistakeFound:
        span = data.get("evidence_span")
        return cls(
            mistake=str(data["mistake"]),
            confidence=float(data["confidence"]),
            evidence=data.get("evidence"),
            evidence_span=(int(span[0]), int(span[1])) if span else None,
        )


NOT_SURE_NOTE = "Not sure about this one: compare your answer with the model answer and rate it yourself."


@dataclass(frozen=True)
class GradeResult:
    """A grader's verdict on one answer.

    ``score`` is the partial credit in [0, 1]. ``suggested_rating`` is 1..4 (Again, Hard,
    Good, Easy), or None when the grader is not sure (``unsure``): the front ends then
    preselect nothing. ``rating_ceiling`` is the best rating the answer can be suggested
    whatever its score: Hard once it contradicts the card or makes a known mistake
    (``mistakes``). ``truncated`` says the answer was cut to :data:`MAX_ANSWER_WORDS`
    before grading, and ``notes`` carries anything the learner should be told.
    """

    criteria: list[CriterionResult]
    reference_similarity: float
    score: float
    suggested_rating: int | None
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    # What made the grade: a grader's version (its parameters' digest included), or
    # "rule:blank" / "rule:exact" for the grades that need no model. Stored with each
    # review, so that grades from different graders can be told apart later.
    grader: str = ""
    mistakes: list[MistakeFound] = field(default_factory=list)
    rating_ceiling: int = Rating.EASY
    unsure: bool = False

    def __post_init__(self) -> None:
        if self.suggested_rating is None:
            if not self.unsure:
                raise ValueError("only an unsure grade comes without a suggested rating")
        elif self.suggested_rating not in RATINGS:
            raise ValueError(f"suggested_rating must be 1..4, not {self.suggested_rating!r}")
        if self.rating_ceiling not in RATINGS:
            raise ValueError(f"rating_ceiling must be 1..4, not {self.rating_ceiling!r}")

    @property
    def rating_name(self) -> str:
        if self.suggested_rating is None:
            return "not sure"
        return Rating(self.suggested_rating).label

    @property
    def contradicted(self) -> list[CriterionResult]:
        return [criterion for criterion in self.criteria if criterion.contradicted]

    def with_thresholds(self, thresholds: RatingThresholds) -> GradeResult:
        """The same grade, suggested with other cut points (the learner's calibrated ones)."""
        rating = suggest_rating(
            self.score, thresholds, ceiling=self.rating_ceiling, unsure=self.unsure
        )
        return dataclasses.replace(self, suggested_rating=rating)

    def to_json(self) -> dict[str, Any]:
        return {
            "criteria": [criterion.to_json() for criterion in self.criteria],
            "reference_similarity": self.reference_similarity,
            "score": self.score,
            "suggested_rating": self.suggested_rating,
            "truncated": self.truncated,
            "notes": list(self.notes),
            "grader": self.grader,
            "mistakes": [mistake.to_json() for mistake in self.mistakes],
            "rating_ceiling": self.rating_ceiling,
            "unsure": self.unsure,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GradeResult:
        rating = data.get("suggested_rating")
        return cls(
            criteria=[CriterionResult.from_json(item) for item in data.get("criteria", [])],
            reference_similarity=float(data["reference_similarity"]),
            score=float(data["score"]),
            suggested_rating=None if rating is None else int(rating),
            truncated=bool(data.get("truncated", False)),
            notes=[str(note) for note in data.get("notes", [])],
            grader=str(data.get("grader", "")),
            mistakes=[MistakeFound.from_json(item) for item in data.get("mistakes", [])],
            rating_ceiling=int(data.get("rating_ceiling", Rating.EASY)),
            unsure=bool(data.get("unsure", rating is None)),
        )

    def dumps(self) -> str:
        """Compact JSON, e.g. for a review row."""
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))

    def to_record(self) -> dict[str, Any]:
        """What a review row keeps of the automatic grade (``ReviewLog.auto_grade``)."""
        return {
            "by": "grader",
            "grader": self.grader,
            "rating": self.suggested_rating,
            "score": self.score,
            "reference_similarity": self.reference_similarity,
            "truncated": self.truncated,
            "unsure": self.unsure,
            "rating_ceiling": self.rating_ceiling,
            "criteria": [
                {
                    "criterion": c.criterion,
                    "verdict": c.verdict.value,
                    "contradicted": c.contradicted,
                    "similarity": c.similarity,
                    "evidence_span": list(c.evidence_span) if c.evidence_span else None,
                }
                for c in self.criteria
            ],
            "mistakes": [
                {
                    "mistake": m.mistake,
                    "confidence": m.confidence,
                    "evidence_span": list(m.evidence_span) if m.evidence_span else None,
                }
                for m in self.mistakes
            ],
        }


class Grader(Protocol):
    """Anything that grades a typed answer against a question, reference and rubric."""

    # Names the grader and its parameters; changes whenever its grades may change.
    @property
    def version(self) -> str: ...

    def grade(
        self,
        question: str,
        reference: str,
        criteria: list[str],
        answer: str,
        mistakes: Sequence[str] = (),
    ) -> GradeResult: ...


@dataclass(frozen=True)
class RatingThresholds:
    """Score cut points: below ``hard`` is Again, then Hard, Good, and Easy from ``easy`` up."""

    hard: float
    good: float
    easy: float

    def __post_init__(self) -> None:
        cuts = (self.hard, self.good, self.easy)
        if not all(math.isfinite(cut) for cut in cuts) or not (
            0.0 <= self.hard <= self.good <= self.easy <= 1.0
        ):
            raise ValueError(f"thresholds must satisfy 0 <= hard <= good <= easy <= 1, got {cuts}")

    def rating_for(self, score: float) -> int:
        """The suggested rating (1..4) for a score in [0, 1]."""
        if score >= self.easy:
            return Rating.EASY
        if score >= self.good:
            return Rating.GOOD
        if score >= self.hard:
            return Rating.HARD
        return Rating.AGAIN

    def to_json(self) -> dict[str, float]:
        return {"hard": self.hard, "good": self.good, "easy": self.easy}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RatingThresholds:
        return cls(hard=float(data["hard"]), good=float(data["good"]), easy=float(data["easy"]))

    @classmethod
    def default(cls) -> RatingThresholds:
        """The cut points calibrated with the shipped grader parameters."""
        return _shipped_thresholds()


_shipped_cache: RatingThresholds | None = None


def suggest_rating(
    score: float, thresholds: RatingThresholds, *, ceiling: int = Rating.EASY, unsure: bool = False
) -> int | None:
    """The rating to suggest: None when the grader is not sure, else the score's rating, no
    better than ``ceiling`` (a contradiction or a known mistake caps it at Hard)."""
    if unsure:
        return None
    return min(thresholds.rating_for(score), ceiling)


def _shipped_thresholds() -> RatingThresholds:
    global _shipped_cache
    if _shipped_cache is None:
        try:
            data = json.loads(SHIPPED_PARAMS_PATH.read_text(encoding="utf-8"))
            _shipped_cache = RatingThresholds.from_json(data["rules"]["thresholds"])
        except (OSError, ValueError, KeyError, TypeError):
            _shipped_cache = RatingThresholds(*_FALLBACK_CUTS)
    return _shipped_cache


def is_blank(answer: str) -> bool:
    return not answer or answer.isspace()


def grade_blank_answer(criteria: Sequence[str]) -> GradeResult:
    """The grade of an empty or blank answer: Again, every criterion missed, no model call."""
    return GradeResult(
        criteria=[CriterionResult(c, Verdict.MISSED, 0.0) for c in criteria],
        reference_similarity=0.0,
        score=0.0,
        suggested_rating=Rating.AGAIN,
        notes=["The answer is empty."],
        grader="rule:blank",
    )


def truncate_answer(answer: str, max_words: int = MAX_ANSWER_WORDS) -> tuple[str, bool]:
    """The answer cut after its ``max_words``-th word, and whether anything was cut.

    The result is a prefix of ``answer``, so character offsets into it are offsets into
    the answer as typed.
    """
    for index, match in enumerate(_WORD.finditer(answer)):
        if index == max_words:
            return answer[: match.start()].rstrip(), True
    return answer, False


def truncation_note(max_words: int = MAX_ANSWER_WORDS) -> str:
    return f"The answer is longer than {max_words:,} words; only the first {max_words:,} were graded."


def fit_thresholds(
    pairs: Sequence[tuple[float, int]],
    *,
    prior: RatingThresholds | None = None,
    min_pairs: int = MIN_CALIBRATION_PAIRS,
) -> RatingThresholds | None:
    """Re-fit the score → rating cut points from (automatic score, final rating) pairs.

    Returns None when there are fewer than ``min_pairs`` pairs or fewer than two distinct
    ratings: too little to go on, so the current thresholds should stay. Otherwise the cut
    points minimise the total distance between suggested and final ratings (|3 - 1| counts
    twice |2 - 1|), found exactly by dynamic programming over the sorted scores; among
    equally good cut points the ones nearest ``prior`` (default: the shipped thresholds)
    win, so a rating the learner never used keeps a sensible cut instead of an arbitrary one.
    """
    clean = [
        (min(1.0, max(0.0, float(score))), int(rating))
        for score, rating in pairs
        if math.isfinite(score) and int(rating) in RATINGS
    ]
    if len(clean) < min_pairs or len({rating for _, rating in clean}) < 2:
        return None
    prior = prior or RatingThresholds.default()
    priors = (prior.hard, prior.good, prior.easy)
    clean.sort()
    scores = [score for score, _ in clean]
    n = len(clean)
    # Candidate cut values: one per gap between distinct sorted scores, plus both ends.
    # cut_value[j] splits items [0, j) from [j, n).
    cut_value = [0.0] * (n + 1)
    for j in range(1, n):
        cut_value[j] = (scores[j - 1] + scores[j]) / 2 if scores[j] > scores[j - 1] else -1.0
    cut_value[n] = min(1.0, (scores[-1] + 1.0) / 2) if scores[-1] < 1.0 else 1.0
    valid = [j == 0 or j == n or cut_value[j] >= 0 for j in range(n + 1)]
    # prefix[k][j]: cost of rating items [0, j) as k + 1.
    prefix = [[0.0] * (n + 1) for _ in range(4)]
    for k in range(4):
        total = 0.0
        for j, (_, rating) in enumerate(clean):
            total += abs(k + 1 - rating)
            prefix[k][j + 1] = total
    # A tie-break far smaller than one rating step.
    epsilon = 1e-3 / (n + 1)
    inf = float("inf")
    # best[k][j]: cost of items [0, j) rated 1..k+1, with class k+1 ending at j.
    best = [[inf] * (n + 1) for _ in range(4)]
    choice = [[0] * (n + 1) for _ in range(4)]
    best[0] = prefix[0][:]
    for k in range(1, 4):
        running, arg = inf, 0
        for j in range(n + 1):
            if valid[j]:
                candidate = best[k - 1][j] - prefix[k][j] + epsilon * abs(cut_value[j] - priors[k - 1])
                if candidate < running:
                    running, arg = candidate, j
            best[k][j] = prefix[k][j] + running
            choice[k][j] = arg
    cuts = [0] * 3
    j = n
    for k in range(3, 0, -1):
        j = choice[k][j]
        cuts[k - 1] = j
    values = [cut_value[j] for j in cuts]
    return RatingThresholds(*values)


# --------------------------------------------------------------------------------------
# What a card is graded against


@dataclass(frozen=True)
class GradingInputs:
    """The question, reference answer and rubric criteria an answer to a card is graded on."""

    question: str
    reference: str
    criteria: list[str]
    # Cloze deletions are short and exact: a typed answer that matches the hidden words
    # (case, spacing and punctuation aside) is right without asking the model.
    exact: bool = False
    # The note's known mistakes (``X:`` lines): wrong claims the grader looks for.
    mistakes: list[str] = field(default_factory=list)


def grading_inputs(
    kind: str,
    ordinal: int,
    front: str,
    expected: str,
    rubric: Sequence[str],
    rubric_applies: bool | None = None,
    mistakes: Sequence[str] = (),
) -> GradingInputs:
    """What to grade a card's typed answer against.

    A note's rubric describes the answer to its question, so it applies to a basic or
    interview card, to the forward card of a reversed note and to a cloze note's only
    deletion (``rubric_applies``, from :func:`~studytool.core.card_faces.card_faces`); the
    reverse card and the deletions of a cloze note with several are graded against their
    expected text only. A cloze answer that matches the hidden words exactly needs no model.
    The known mistakes go with the rubric: they are wrong answers to the same question.
    """
    if rubric_applies is None:
        rubric_applies = kind in ("basic", "interview") or (kind == "reversed" and ordinal == 0)
    return GradingInputs(
        question=front,
        reference=expected,
        criteria=list(rubric) if rubric_applies else [],
        exact=kind == "cloze",
        mistakes=list(mistakes) if rubric_applies else [],
    )


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text).split())


def matches_exactly(answer: str, expected: str) -> bool:
    """True when the answer is the expected text, ignoring case, spacing and punctuation."""
    wanted = _normalised(expected)
    return bool(wanted) and _normalised(answer) == wanted


def grade_exact_match(criteria: Sequence[str]) -> GradeResult:
    """The grade of an answer that is exactly the expected text: Good, every criterion met."""
    return GradeResult(
        criteria=[CriterionResult(c, Verdict.MET, 1.0) for c in criteria],
        reference_similarity=1.0,
        score=1.0,
        suggested_rating=Rating.GOOD,
        notes=["The answer matches the expected text."],
        grader="rule:exact",
    )


# --------------------------------------------------------------------------------------
# Rubric self-grading


# The credit a criterion earns towards the learner's own rating.
VERDICT_CREDIT = {Verdict.MET: 1.0, Verdict.PARTLY: 0.5, Verdict.MISSED: 0.0}
_NEXT_VERDICT = {Verdict.MET: Verdict.PARTLY, Verdict.PARTLY: Verdict.MISSED, Verdict.MISSED: Verdict.MET}


def rating_from_verdicts(verdicts: Sequence[Verdict]) -> int:
    """The rating a rubric earns once the learner has judged it: every criterion met is
    Good, at least half the credit is Hard, less is Again (Easy is the learner's call)."""
    if not verdicts:
        return Rating.GOOD
    credit = sum(VERDICT_CREDIT[v] for v in verdicts) / len(verdicts)
    if credit >= 1.0:
        return Rating.GOOD
    return Rating.HARD if credit >= 0.5 else Rating.AGAIN


@dataclass
class SelfGrade:
    """The learner's corrections of an automatic grade, before the rating is committed.

    Starts from the grader's verdicts (or from "missed" for every criterion when there is
    no automatic grade). Flipping a criterion moves the suggestion to what the learner's
    verdicts earn; the rating the learner finally presses is theirs to choose.
    """

    criteria: list[str]
    verdicts: list[Verdict]
    auto: GradeResult | None = None
    flipped: bool = False

    @classmethod
    def start(cls, criteria: Sequence[str], auto: GradeResult | None) -> SelfGrade:
        if auto is not None and len(auto.criteria) == len(criteria):
            verdicts = [c.verdict for c in auto.criteria]
        else:
            verdicts = [Verdict.MISSED for _ in criteria]
        return cls(list(criteria), verdicts, auto)

    def flip(self, index: int) -> Verdict:
        """Cycle criterion ``index`` met → partly → missed → met; returns its new verdict."""
        self.verdicts[index] = _NEXT_VERDICT[self.verdicts[index]]
        self.flipped = True
        return self.verdicts[index]

    def set(self, index: int, verdict: Verdict) -> None:
        if self.verdicts[index] is not verdict:
            self.verdicts[index] = verdict
            self.flipped = True

    @property
    def suggested_rating(self) -> int | None:
        """What to preselect: the grader's suggestion until the learner flips a criterion."""
        if self.flipped and self.criteria:
            return rating_from_verdicts(self.verdicts)
        return self.auto.suggested_rating if self.auto else None

    def final_record(self, rating: int) -> dict[str, Any]:
        """What a review row keeps of the final grade (``ReviewLog.final_grade``)."""
        changed = self.flipped or self.auto is None or rating != self.auto.suggested_rating
        return {
            "by": "learner" if changed else "grader",
            "rating": int(rating),
            "changed": changed,
            "criteria": [
                {"criterion": c, "verdict": v.value}
                for c, v in zip(self.criteria, self.verdicts, strict=True)
            ],
        }


# --------------------------------------------------------------------------------------
# Loading the grader in the background


class GraderUnavailable(Exception):
    """The automatic grader cannot run; the message says why and how to fix it."""


def grading_failure_reason(error: BaseException) -> str:
    """What to tell the learner when a grade could not be made: the grader's own message
    when it knows why (a missing model, and what to do), else the error itself."""
    return str(error) if isinstance(error, GraderUnavailable) else repr(error)


class GradingSwitch:
    """Whether typed answers are graded in a session (a review, an interview): off from the
    start, or from the moment the grader's model turns out not to load."""

    def __init__(self, grading: bool) -> None:
        # Why typed answers are not graded this session (None while they are).
        self.grading_off_reason: str | None = None if grading else "grading is off"

    def grading_failed(self, error: BaseException, *, grader_gone: bool) -> str:
        """The reason to show; with ``grader_gone`` (its model will not load this session)
        grading stays off for the rest of the session instead of failing on every answer."""
        reason = grading_failure_reason(error)
        if grader_gone:
            self.grading_off_reason = reason
        return reason


GraderState = Literal["idle", "loading", "ready", "failed"]


class BackgroundGrader:
    """Loads the grader once, on a background thread, and grades with it when it is ready.

    ``load`` builds the grader (and raises :class:`GraderUnavailable` when it cannot): the
    front ends pass :func:`studytool.ml.load_answer_grader`, tests may pass their own, and
    core itself never imports the ML side.

    ``start()`` begins loading (the review screen calls it as a session opens, so the model
    is warm by the time the first answer is submitted); ``grade()`` waits for the load and
    raises :class:`GraderUnavailable` when it failed, which front ends turn into a message
    while the learner grades themselves. A blank answer is graded without the model.
    """

    def __init__(
        self,
        load: Callable[[], Grader],
        thresholds: RatingThresholds | None = None,
    ) -> None:
        self._thresholds = thresholds
        self._load = load
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._grader: Grader | None = None
        self._error: str | None = None

    @property
    def state(self) -> GraderState:
        if self._thread is None:
            return "idle"
        if not self._done.is_set():
            return "loading"
        return "ready" if self._grader is not None else "failed"

    @property
    def error(self) -> str | None:
        return self._error

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="studytool-grader-load", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            self._grader = self._load()
        except GraderUnavailable as exc:
            self._error = str(exc)
        except Exception as exc:  # an unexpected failure must not take the review down
            self._error = f"The grader could not be loaded ({type(exc).__name__}: {exc})."
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> Grader:
        """The loaded grader; raises GraderUnavailable if loading failed or timed out."""
        self.start()
        if not self._done.wait(timeout):
            raise GraderUnavailable("The grader is still loading.")
        if self._grader is None:
            raise GraderUnavailable(self._error or "The grader could not be loaded.")
        return self._grader

    def set_thresholds(self, thresholds: RatingThresholds | None) -> None:
        """Use new cut points (e.g. after ``studytool calibrate``) from the next grade on."""
        self._thresholds = thresholds

    def grade(self, inputs: GradingInputs, answer: str) -> GradeResult:
        """Grade ``answer``; raises GraderUnavailable when the model cannot be used."""
        if is_blank(answer):
            return grade_blank_answer(inputs.criteria)
        if inputs.exact and matches_exactly(answer, inputs.reference):
            return grade_exact_match(inputs.criteria)
        grader = self.wait()
        try:
            result = grader.grade(
                inputs.question, inputs.reference, inputs.criteria, answer, inputs.mistakes
            )
        except Exception as exc:  # a grader bug must cost the learner a suggestion, not the review
            raise GraderUnavailable(
                f"The grader failed on this answer ({type(exc).__name__}: {exc})."
            ) from exc
        result = dataclasses.replace(result, grader=grader.version)
        if self._thresholds is not None:
            # The shared grader suggests with the shipped cut points; the learner's own win
            # (a contradiction still caps the rating, and "not sure" stays not sure).
            result = result.with_thresholds(self._thresholds)
        return result

    def prepare(self, inputs: GradingInputs) -> None:
        """Encode a card ahead of time when the grader is ready (a no-op otherwise)."""
        grader = self._grader
        prepare = getattr(grader, "card", None)
        if prepare is not None:
            prepare(inputs.question, inputs.reference, inputs.criteria)


# --------------------------------------------------------------------------------------
# Calibrating the score → rating cut points from the learner's own ratings


@dataclass(frozen=True)
class Calibration:
    pairs: int  # graded reviews used
    thresholds: RatingThresholds | None  # None: not enough to go on
    agreement_before: float | None  # share of reviews whose suggestion was the final rating
    agreement_after: float | None


def graded_reviews(store: Store, grader: str | None = None) -> list[tuple[float, int]]:
    """(automatic score, final rating) of every review whose typed answer was graded, by the
    grader version ``grader`` only when given: another grader's scores mean something else."""
    from sqlalchemy import select
    from sqlmodel import col

    from studytool.core.models import ReviewLog

    query = select(
        col(ReviewLog.auto_score), col(ReviewLog.rating), col(ReviewLog.auto_grade)
    ).where(col(ReviewLog.auto_score).is_not(None))
    with store.session() as session:
        return [
            (float(score), int(rating))
            for score, rating, record in session.execute(query)
            if grader is None or (isinstance(record, dict) and record.get("grader") == grader)
        ]


def calibrate(
    pairs: Sequence[tuple[float, int]], current: RatingThresholds | None = None
) -> Calibration:
    """Fit cut points to the learner's ratings; report how often suggestions agree, before and after."""
    current = current or RatingThresholds.default()
    fitted = fit_thresholds(pairs, prior=current)

    def agreement(thresholds: RatingThresholds) -> float | None:
        if not pairs:
            return None
        return sum(thresholds.rating_for(s) == r for s, r in pairs) / len(pairs)

    return Calibration(
        pairs=len(pairs),
        thresholds=fitted,
        agreement_before=agreement(current),
        agreement_after=agreement(fitted) if fitted else None,
    )


def thresholds_from_setting(values: Sequence[float] | None) -> RatingThresholds | None:
    """The learner's calibrated cut points from settings, or None for the shipped ones."""
    if not values or len(values) != 3:
        return None
    try:
        return RatingThresholds(*values)
    except ValueError:
        return None


class CardNotFound(LookupError):
    """No card (or more than one) answers to the key the learner gave."""


def card_grading_inputs(
    store: Store, key: str, *, deck: str | None = None, ordinal: int | None = None
) -> GradingInputs:
    """What a stored card is graded against, found by its note key (and deck, if ambiguous).

    ``ordinal`` picks the card of the note; ``None`` means the front card, or a cloze note's
    only deletion. A note with several deletions needs one named (:class:`CardNotFound`).
    """
    from sqlalchemy import select
    from sqlmodel import col

    from studytool.core.card_faces import card_faces
    from studytool.core.models import Deck, Note

    query = (
        select(Note, col(Deck.name))
        .join(Deck, col(Deck.id) == col(Note.deck_id))
        .where(col(Note.key) == key)
    )
    if deck is not None:
        query = query.where(col(Deck.name) == deck)
    with store.session() as session:
        rows = list(session.execute(query))
    if not rows:
        where = f" in deck {deck!r}" if deck else ""
        raise CardNotFound(
            f"no card with id {key!r}{where}; `studytool decks` lists the decks and "
            "the Browse screen shows each card's id"
        )
    if len(rows) > 1:
        decks = ", ".join(sorted(name for _, name in rows))
        raise CardNotFound(f"{len(rows)} decks have a card {key!r} ({decks}); pick one with --deck")
    note, _ = rows[0]
    ordinal = _card_ordinal(note, key, ordinal)
    faces = card_faces(note, ordinal)
    return grading_inputs(
        note.kind,
        ordinal,
        faces.front,
        faces.expected,
        note.rubric,
        faces.rubric_applies,
        note.mistakes or (),
    )


def _card_ordinal(note: Any, key: str, ordinal: int | None) -> int:
    from studytool.core.cloze import cloze_numbers
    from studytool.core.models import NoteKind

    if note.kind == NoteKind.CLOZE.value:
        numbers = cloze_numbers(note.question)
        if ordinal is None and len(numbers) == 1:
            return numbers[0]
        if ordinal not in numbers:
            listed = ", ".join(str(number) for number in numbers)
            raise CardNotFound(
                f"{key!r} is a cloze note with deletion(s) {listed}; "
                "choose the one to grade with --ordinal N"
            )
        return ordinal
    valid = [0, 1] if note.kind == NoteKind.REVERSED.value else [0]
    if ordinal is None:
        return 0
    if ordinal not in valid:
        raise CardNotFound(
            f"{key!r} has no card {ordinal}: "
            + ("0 is its front and 1 its reverse" if len(valid) == 2 else "it has one card, 0")
        )
    return ordinal


VERDICT_MARKS = {Verdict.MET: "✓ met", Verdict.PARTLY: "~ partly", Verdict.MISSED: "✗ missed"}
CONTRADICTED_MARK = "✗ contradicted"


def verdict_mark(criterion: CriterionResult) -> str:
    return CONTRADICTED_MARK if criterion.contradicted else VERDICT_MARKS[criterion.verdict]


def format_grade(
    result: GradeResult, *, evidence_width: int = 70, numbered: bool = False
) -> list[str]:
    """A grade as plain lines of text (the CLI and plain review print these)."""
    # The whole-answer similarity is not shown: it is high for fluent wrong answers ("I
    # don't know" scored 0.66) and decides nothing on its own, so it only misleads.
    def quoted(evidence: str) -> str:
        evidence = " ".join(evidence.split())
        if len(evidence) > evidence_width:
            evidence = evidence[: evidence_width - 1] + "…"
        return f"“{evidence}”"

    if result.suggested_rating is None:
        lines = [f"Score {result.score:.2f} → not sure: compare with the model answer"]
    else:
        lines = [f"Score {result.score:.2f} → suggested {result.rating_name}"]
    width = max([9, *(len(verdict_mark(c)) for c in result.criteria if c.contradicted)])
    for number, criterion in enumerate(result.criteria, start=1):
        label = f"{number}. " if numbered else ""
        lines.append(f"  {label}{verdict_mark(criterion):<{width}} {criterion.criterion}")
        if criterion.evidence:
            lines.append(f"  {' ' * len(label)}{'':<{width}} {quoted(criterion.evidence)}")
    for mistake in result.mistakes:
        lines.append(f"  ⚠ Known mistake: {mistake.mistake}")
        if mistake.evidence:
            lines.append(f"    {quoted(mistake.evidence)}")
    lines.extend(f"  Note: {note}" for note in result.notes if note != NOT_SURE_NOTE)
    return lines
