"""The review turn: show a card, take the typed answer, grade it, let the learner correct the
grade, then rate, bury or suspend; undo any of it.

The Review screen and ``review --plain`` both drive a :class:`Review`; they only draw what it
holds and call the grader where they can wait for it (a worker thread in the app, the
terminal in plain review). Everything a turn decides lives here once: what a reveal grades,
when grading is off for the rest of the session, what a rating stores with the review, and
what undo takes back (a stack: criterion flips of the card on screen, then ratings, burials
and suspensions, each undone exactly, with the typed answer and its grade restored).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from studytool.core.grading import (
    GradeResult,
    GradingInputs,
    GradingSwitch,
    SelfGrade,
    Verdict,
    grade_blank_answer,
    is_blank,
)
from studytool.core.models import utcnow
from studytool.core.ratings import Rating
from studytool.core.study import AnswerResult, QueueCounts, QueuedCard, StudySession


class GradingPlan(StrEnum):
    """What a reveal asks of the front end."""

    NONE = "none"  # a plain reveal: the learner rates against the model answer
    DONE = "done"  # graded already (a blank answer is Again, no model needed)
    GRADE = "grade"  # grade ``turn.typed`` against ``turn.inputs``, then call graded()
    OFF = "off"  # the grader cannot run this session (``Review.grading_off_reason`` says why)


@dataclass
class Turn:
    """One card on screen and what the learner has done with it so far."""

    card: QueuedCard
    shown_at: float  # monotonic seconds, for the review's duration
    typed: str = ""
    revealed: bool = False
    grade: GradeResult | None = None
    self_grade: SelfGrade | None = None
    hints_shown: int = 0
    # Criterion flips, newest last, as (index, verdict before the flip): undo pops them.
    flips: list[tuple[int, Verdict]] = field(default_factory=list)

    @property
    def inputs(self) -> GradingInputs:
        return self.card.grading_inputs()

    @property
    def suggested_rating(self) -> int | None:
        return self.self_grade.suggested_rating if self.self_grade else None

    @property
    def shown_hints(self) -> list[str]:
        return self.card.hints[: self.hints_shown]

    def missed_criteria(self) -> list[str]:
        if self.self_grade is None:
            return []
        return [
            criterion
            for criterion, verdict in zip(
                self.self_grade.criteria, self.self_grade.verdicts, strict=True
            )
            if verdict is Verdict.MISSED
        ]

    def review_fields(self, rating: int) -> dict[str, Any]:
        """What the review log keeps of this turn besides the rating."""
        fields: dict[str, Any] = {"typed_answer": self.typed.strip() or None}
        if self.grade is not None and self.self_grade is not None:
            fields |= {
                "auto_score": self.grade.score,
                "auto_rating": self.grade.suggested_rating,
                "auto_grade": self.grade.to_record(),
                "final_grade": self.self_grade.final_record(rating),
            }
        return fields


@dataclass(frozen=True)
class Undone:
    """What undo took back, and the turn now on screen."""

    what: Literal["flip", "answer", "bury", "suspend"]
    message: str
    turn: Turn | None


UNDO_MESSAGES = {
    "answer": "Undone: the rating; the card is back with your answer.",
    "bury": "Undone: the card is no longer buried.",
    "suspend": "Undone: the card is no longer suspended.",
}


class Review(GradingSwitch):
    """A study session as the learner drives it, one :class:`Turn` at a time.

    Every method that writes (rate, bury, suspend, undo) commits before it returns, and may
    raise the store's errors (a locked or read-only database) with nothing changed here, so
    the front end can say why and let the learner try again.
    """

    def __init__(
        self,
        session: StudySession,
        *,
        grading: bool = True,
        clock: Callable[[], datetime] = utcnow,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.clock = clock
        self.timer = timer
        self.started_at = timer()
        self.turn: Turn | None = None
        self.rated: list[Rating] = []
        self.missed: list[list[str]] = []  # per rating, the criteria the answer missed
        GradingSwitch.__init__(self, grading)
        # The turns behind the session's undo steps, in the same order.
        self._committed: list[tuple[Literal["answer", "bury", "suspend"], Turn]] = []

    # -- moving through the queue --------------------------------------------------------

    def counts(self) -> QueueCounts:
        return self.session.counts(self.clock())

    def next_card(self) -> Turn | None:
        card = self.session.next_card(self.clock())
        self.turn = Turn(card, self.timer()) if card is not None else None
        return self.turn

    def hint(self) -> str | None:
        """Show one more hint; None when there are no more."""
        turn = self._current()
        if turn.hints_shown >= len(turn.card.hints):
            return None
        turn.hints_shown += 1
        return turn.card.hints[turn.hints_shown - 1]

    # -- revealing and grading -----------------------------------------------------------

    def reveal(self, typed: str, *, submit: bool) -> GradingPlan:
        """Show the back. ``submit`` means the learner submitted ``typed`` for grading
        (an empty submission says "I could not answer": Again); a plain reveal grades nothing."""
        turn = self._current()
        turn.typed = typed
        turn.revealed = True
        if not submit:
            return GradingPlan.NONE
        if is_blank(typed):
            self.graded(grade_blank_answer(turn.inputs.criteria))
            return GradingPlan.DONE
        if self.grading_off_reason is not None:
            return GradingPlan.OFF
        return GradingPlan.GRADE

    def graded(self, result: GradeResult) -> None:
        turn = self._current()
        turn.grade = result
        turn.self_grade = SelfGrade.start([c.criterion for c in result.criteria], result)
        turn.flips.clear()

    def flip(self, index: int) -> Verdict:
        """Cycle criterion ``index`` met → partly → missed; undo puts it back."""
        turn = self._current()
        if turn.self_grade is None:
            raise ValueError("nothing is graded yet")
        turn.flips.append((index, turn.self_grade.verdicts[index]))
        return turn.self_grade.flip(index)

    # -- committing ----------------------------------------------------------------------

    def rate(self, rating: int) -> AnswerResult:
        """Commit the rating of the revealed card and move on to the next card."""
        turn = self._current()
        result = self.session.answer(
            turn.card.card_id,
            rating,
            self.clock(),
            duration_ms=int((self.timer() - turn.shown_at) * 1000),
            **turn.review_fields(rating),
        )
        self.rated.append(Rating(rating))
        self.missed.append(turn.missed_criteria())
        self._committed.append(("answer", turn))
        self.next_card()
        return result

    def bury(self) -> None:
        """Hide the card on screen until the next study day, and move on."""
        turn = self._current()
        self.session.bury(turn.card.card_id, self.clock())
        self._committed.append(("bury", turn))
        self.next_card()

    def suspend(self) -> None:
        turn = self._current()
        self.session.set_suspended(turn.card.card_id)
        self._committed.append(("suspend", turn))
        self.next_card()

    # -- undo ----------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return bool(self.turn and self.turn.flips) or bool(self._committed)

    def undo(self) -> Undone | None:
        """Take back the learner's last action; None when there is nothing to undo."""
        turn = self.turn
        if turn is not None and turn.flips and turn.self_grade is not None:
            index, verdict = turn.flips.pop()
            turn.self_grade.verdicts[index] = verdict
            turn.self_grade.flipped = bool(turn.flips)
            return Undone("flip", f"Undone: criterion {index + 1} is {verdict.value} again.", turn)
        if not self._committed:
            return None
        what, previous = self._committed[-1]
        try:
            card = self.session.undo()
        finally:
            # The session drops a step it could not undo (its row deleted elsewhere): so do we.
            if len(self._committed) > len(self.session.undo_steps):
                self._committed.pop()
        if what == "answer":
            self.rated.pop()
            self.missed.pop()
        # The card as stored now, with what the learner had typed and graded.
        previous.card = card
        previous.shown_at = self.timer()
        self.turn = previous
        return Undone(what, UNDO_MESSAGES[what], previous)

    # -- summary -------------------------------------------------------------------------

    @property
    def minutes(self) -> float:
        return (self.timer() - self.started_at) / 60

    def rating_counts(self) -> Counter[Rating]:
        return Counter(self.rated)

    def most_missed(self, top: int = 3) -> list[tuple[str, int]]:
        return Counter(c for review in self.missed for c in review).most_common(top)

    def _current(self) -> Turn:
        if self.turn is None:
            raise ValueError("no card is on screen")
        return self.turn
