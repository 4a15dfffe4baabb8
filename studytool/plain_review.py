"""Line-based review in a plain terminal (``studytool review --plain``).

It reads everything from standard input, so a review can be scripted:
each answer is the lines typed up to an empty line (an empty first line reveals without
typing, ``?`` shows a hint), then a rating line: 1-4, ``u`` undo, ``b`` bury, ``s`` suspend,
``q`` quit. A rating is committed before the next card appears; the line ``Saved: ...``
acknowledges it.

A typed answer is graded against the card's rubric when a grader is given: the verdicts and
the suggested rating are printed, ``f N`` flips criterion N (rubric self-grading) and an
empty rating line accepts the suggestion. If the grader cannot run, review goes on with
the learner grading themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from studytool.core.grading import (
    VERDICT_MARKS,
    BackgroundGrader,
    GradeResult,
    GraderUnavailable,
    format_grade,
)
from studytool.core.math_text import replace_math
from studytool.core.models import utcnow
from studytool.core.ratings import Rating, state_label
from studytool.core.review_turn import GradingPlan, Review, Turn
from studytool.core.scheduling import format_interval
from studytool.core.study import StudyError, StudySession
from studytool.core.text_safety import inert


class _EndOfInput(Exception):
    pass


class PlainReview:
    def __init__(
        self,
        session: StudySession,
        stdin: TextIO,
        stdout: TextIO,
        clock: Callable[[], datetime] = utcnow,
        grader: BackgroundGrader | None = None,
    ) -> None:
        self.review = Review(session, grading=grader is not None, clock=clock)
        self.grader = grader
        self.stdin = stdin
        self.stdout = stdout

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def read_line(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise _EndOfInput
        return line.rstrip("\n").rstrip("\r")

    def run(self) -> int:
        """Review until the queue is empty, the learner quits, or input ends. Returns cards rated."""
        counts = self.review.counts()
        self.say(f"{counts.new} new · {counts.learning} learning · {counts.review} due today.")
        self.say(
            "Type an answer and finish with an empty line (Enter alone reveals; ? shows a hint)."
        )
        if self.grader is not None:
            self.grader.start()  # loads while the first question is being answered
        turn = self.review.next_card()
        try:
            while turn is not None:
                turn = self._review_one(turn)
        except _EndOfInput:
            self.say("")
        self._summary()
        return len(self.review.rated)

    def _review_one(self, turn: Turn) -> Turn | None:
        card = turn.card
        if not turn.revealed:
            counts = self.review.counts()
            self.say("")
            self.say(
                f"── {inert(card.deck)} · {state_label(card.state)} · {counts.total} left today ──"
            )
            self.say(f"Q: {card_text(card.front)}")
            typed = self._read_answer()
            self.say(f"A: {card_text(card.back)}")
            if card.context:
                self.say(f"Context: {card_text(card.context)}")
            plan = self.review.reveal(typed, submit=bool(typed))
            if plan is GradingPlan.GRADE:
                self._grade(turn)
            if card.rubric and turn.grade is None:
                self.say("Rubric:")
                for criterion in card.rubric:
                    self.say(f"  - {card_text(criterion)}")
        previews = self.review.session.preview(card.card_id, self.review.clock())
        choices = "  ".join(f"{int(r)} {r.label} ({format_interval(previews[r])})" for r in Rating)
        self_grade = turn.self_grade
        while True:
            suggested = turn.suggested_rating
            extra = ""
            if suggested is not None:
                extra = f"   Enter = {Rating(suggested).label}"
                if self_grade and self_grade.criteria:
                    extra += " · f N flips criterion N"
            self.say(f"{choices}   u undo · b bury · s suspend · q quit{extra}")
            command = self.read_line("rating> ").strip().lower()
            if not command and suggested is not None:
                command = str(suggested)
            if self_grade and command.startswith("f") and command[1:].strip().isdigit():
                index = int(command[1:].strip()) - 1
                if 0 <= index < len(self_grade.criteria):
                    verdict = self.review.flip(index)
                    self.say(f"  {VERDICT_MARKS[verdict]:<9} {card_text(self_grade.criteria[index])}")
                else:
                    self.say(f"There are {len(self_grade.criteria)} criteria.")
                continue
            if command in ("1", "2", "3", "4"):
                rating = Rating(int(command))
                result = self.review.rate(rating)
                leech = (
                    " It has lapsed too often: tagged leech and suspended."
                    if result.became_leech
                    else ""
                )
                self.say(
                    f"Saved: {rating.label}, next in {format_interval(result.interval)}.{leech}"
                )
                return self.review.turn
            if command == "u":
                try:
                    undone = self.review.undo()
                except StudyError as exc:
                    self.say(str(exc))
                    continue
                if undone is None:
                    self.say("Nothing to undo in this session.")
                    continue
                self.say(undone.message)
                if undone.what == "flip" and self_grade is not None:
                    for number, (criterion, verdict) in enumerate(
                        zip(self_grade.criteria, self_grade.verdicts, strict=True), start=1
                    ):
                        self.say(f"  {number}. {VERDICT_MARKS[verdict]:<9} {card_text(criterion)}")
                    continue
                if undone.turn is not None and undone.turn.revealed:
                    self.say(f"Q: {card_text(undone.turn.card.front)}")
                    if undone.turn.typed:
                        self.say(f"Your answer: {inert(undone.turn.typed)}")
                return undone.turn
            if command == "b":
                self.review.bury()
                self.say("Buried until tomorrow (u undoes it).")
                return self.review.turn
            if command == "s":
                self.review.suspend()
                self.say("Suspended (u undoes it; unsuspend later from the app's browser).")
                return self.review.turn
            if command == "q":
                raise _EndOfInput
            self.say("Type 1, 2, 3 or 4 to rate (or u, b, s, q).")

    def _grade(self, turn: Turn) -> GradeResult | None:
        """Grade the typed answer, or say why not and return None (self-grading goes on)."""
        assert self.grader is not None
        if self.grader.state == "loading":
            self.say("(grading: the model is still loading…)")
        try:
            result = self.grader.grade(turn.inputs, turn.typed)
        except GraderUnavailable as exc:
            reason = self.review.grading_failed(exc, grader_gone=self.grader.state == "failed")
            if self.review.grading_off_reason is not None:
                self.say(f"Grading is off for this session: {inert(reason)}")
            else:
                self.say(f"Not graded: {inert(reason)}")
            self.say("Grade yourself against the model answer and rubric.")
            return None
        self.review.graded(result)
        for line in format_grade(result, numbered=True):
            self.say(inert(line))
        return result

    def _read_answer(self) -> str:
        lines: list[str] = []
        while True:
            line = self.read_line("> ")
            if not lines and line.strip() == "?":
                hint = self.review.hint()
                self.say(f"Hint: {card_text(hint)}" if hint else "No (more) hints for this card.")
                continue
            if not line.strip():
                return "\n".join(lines).strip()
            lines.append(line)

    def _summary(self) -> None:
        reviewed = len(self.review.rated)
        counts = self.review.rating_counts()
        if reviewed:
            spread = ", ".join(f"{r.label} {counts[r]}" for r in Rating if counts[r])
            self.say(
                f"Reviewed {reviewed} card{'s' if reviewed != 1 else ''} in "
                f"{self.review.minutes:.1f} min ({spread})."
            )
        next_card = self.review.session.next_card(self.review.clock())
        self.say(
            "Nothing more due today. Well done."
            if next_card is None
            else "Cards are still waiting; run again to continue."
        )


def card_text(text: str) -> str:
    """Card text for the terminal: control characters inert, LaTeX as Unicode."""
    return replace_math(inert(text))
