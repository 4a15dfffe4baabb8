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

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from studytool.core.grading import (
    VERDICT_MARKS,
    BackgroundGrader,
    GradeResult,
    GraderUnavailable,
    SelfGrade,
    format_grade,
)
from studytool.core.models import utcnow
from studytool.core.scheduling import Rating, format_interval
from studytool.core.study import QueuedCard, StudyError, StudySession
from studytool.core.text_safety import inert

STATE_NAMES = {0: "new", 1: "learning", 2: "review", 3: "relearning"}


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
        self.session = session
        self.grader = grader
        self.grader_failed = False
        self.stdin = stdin
        self.stdout = stdout
        self.clock = clock
        self.rated: list[Rating] = []  # in order, so that undo can take the last one back
        self.started = time.monotonic()

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
        counts = self.session.counts(self.clock())
        self.say(f"{counts.new} new · {counts.learning} learning · {counts.review} due today.")
        self.say(
            "Type an answer and finish with an empty line (Enter alone reveals; ? shows a hint)."
        )
        if self.grader is not None:
            self.grader.start()  # loads while the first question is being answered
        card = self.session.next_card(self.clock())
        try:
            while card is not None:
                card = self._review_one(card)
        except _EndOfInput:
            self.say("")
        self._summary()
        return len(self.rated)

    def _review_one(self, card: QueuedCard) -> QueuedCard | None:
        shown_at = time.monotonic()
        counts = self.session.counts(self.clock())
        self.say("")
        self.say(
            f"── {inert(card.deck)} · {STATE_NAMES.get(card.state, '?')} · {counts.total} left today ──"
        )
        self.say(f"Q: {inert(card.front)}")
        typed = self._read_answer(card)
        self.say(f"A: {inert(card.back)}")
        if card.context:
            self.say(f"Context: {inert(card.context)}")
        auto = self._grade(card, typed) if typed else None
        if card.rubric and auto is None:
            self.say("Rubric:")
            for criterion in card.rubric:
                self.say(f"  - {inert(criterion)}")
        inputs = card.grading_inputs()
        self_grade = SelfGrade.start(inputs.criteria, auto) if auto else None
        previews = self.session.preview(card.card_id, self.clock())
        choices = "  ".join(f"{int(r)} {r.label} ({format_interval(previews[r])})" for r in Rating)
        while True:
            suggested = self_grade.suggested_rating if self_grade else None
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
                    verdict = self_grade.flip(index)
                    self.say(f"  {VERDICT_MARKS[verdict]:<9} {inert(self_grade.criteria[index])}")
                else:
                    self.say(f"There are {len(self_grade.criteria)} criteria.")
                continue
            if command in ("1", "2", "3", "4"):
                rating = Rating(int(command))
                result = self.session.answer(
                    card.card_id,
                    rating,
                    self.clock(),
                    duration_ms=int((time.monotonic() - shown_at) * 1000),
                    typed_answer=typed or None,
                    auto_score=auto.score if auto else None,
                    auto_rating=auto.suggested_rating if auto else None,
                    auto_grade=auto.to_record() if auto else None,
                    final_grade=self_grade.final_record(int(rating)) if self_grade else None,
                )
                self.rated.append(rating)
                leech = (
                    " It has lapsed too often: tagged leech and suspended."
                    if result.became_leech
                    else ""
                )
                self.say(
                    f"Saved: {rating.label}, next in {format_interval(result.interval)}.{leech}"
                )
                return self.session.next_card(self.clock())
            if command == "u":
                try:
                    previous = self.session.undo()
                except StudyError as exc:
                    self.say(str(exc))
                    continue
                if self.rated:
                    self.rated.pop()
                self.say("Undone: the previous card comes back.")
                return previous
            if command == "b":
                self.session.bury(card.card_id, self.clock())
                self.say("Buried until tomorrow.")
                return self.session.next_card(self.clock())
            if command == "s":
                self.session.set_suspended(card.card_id)
                self.say("Suspended (unsuspend it from the app's browser).")
                return self.session.next_card(self.clock())
            if command == "q":
                raise _EndOfInput
            self.say("Type 1, 2, 3 or 4 to rate (or u, b, s, q).")

    def _grade(self, card: QueuedCard, typed: str) -> GradeResult | None:
        """Grade the typed answer, or say why not and return None (self-grading goes on)."""
        if self.grader is None or self.grader_failed:
            return None
        inputs = card.grading_inputs()
        if self.grader.state == "loading":
            self.say("(grading: the model is still loading…)")
        try:
            result = self.grader.grade(inputs, typed)
        except GraderUnavailable as exc:
            self.grader_failed = True
            self.say(f"Grading is off for this session: {inert(str(exc))}")
            self.say("Grade yourself against the model answer and rubric.")
            return None
        for line in format_grade(result, numbered=True):
            self.say(inert(line))
        return result

    def _read_answer(self, card: QueuedCard) -> str:
        lines: list[str] = []
        hints = list(card.hints)
        while True:
            line = self.read_line("> ")
            if not lines and line.strip() == "?":
                self.say(
                    f"Hint: {inert(hints.pop(0))}" if hints else "No (more) hints for this card."
                )
                continue
            if not line.strip():
                return "\n".join(lines).strip()
            lines.append(line)

    def _summary(self) -> None:
        reviewed = len(self.rated)
        counts = Counter(self.rated)
        minutes = (time.monotonic() - self.started) / 60
        if reviewed:
            spread = ", ".join(f"{r.label} {counts[r]}" for r in Rating if counts[r])
            self.say(
                f"Reviewed {reviewed} card{'s' if reviewed != 1 else ''} in {minutes:.1f} min ({spread})."
            )
        next_card = self.session.next_card(self.clock())
        self.say(
            "Nothing more due today. Well done."
            if next_card is None
            else "Cards are still waiting; run again to continue."
        )
