"""Line-based review in a plain terminal (``studytool review --plain``).

It reads everything from standard input, so a review can be scripted:
each answer is the lines typed up to an empty line (an empty first line reveals without
typing, ``?`` shows a hint), then a rating line: 1-4, ``u`` undo, ``b`` bury, ``s`` suspend,
``q`` quit. A rating is committed before the next card appears; the line ``Saved: ...``
acknowledges it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

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
    ) -> None:
        self.session = session
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
        if card.rubric:
            self.say("Rubric:")
            for criterion in card.rubric:
                self.say(f"  - {inert(criterion)}")
        previews = self.session.preview(card.card_id, self.clock())
        choices = "  ".join(f"{int(r)} {r.label} ({format_interval(previews[r])})" for r in Rating)
        while True:
            self.say(f"{choices}   u undo · b bury · s suspend · q quit")
            command = self.read_line("rating> ").strip().lower()
            if command in ("1", "2", "3", "4"):
                rating = Rating(int(command))
                result = self.session.answer(
                    card.card_id,
                    rating,
                    self.clock(),
                    duration_ms=int((time.monotonic() - shown_at) * 1000),
                    typed_answer=typed or None,
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
