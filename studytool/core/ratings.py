"""Ratings and card states: one definition of each, for every front end and the store.

Both are FSRS's numbering (``fsrs.Rating``, ``fsrs.State``), with studytool's one addition:
state 0, a card never reviewed, which FSRS calls Learning too.
"""

from __future__ import annotations

from enum import IntEnum


class Rating(IntEnum):
    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


class CardState(IntEnum):
    NEW = 0  # never reviewed (reps == 0); FSRS has no such state
    LEARNING = 1
    REVIEW = 2
    RELEARNING = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def short_label(self) -> str:
        """For narrow table columns."""
        return "relearn" if self is CardState.RELEARNING else self.label


def rating_label(value: object) -> str:
    """"Good" for 3; a value that is no rating (an old or damaged record) as itself."""
    try:
        return Rating(int(value)).label  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)


def state_label(value: int, *, short: bool = False) -> str:
    """"review" for 2; "?" for a value that is no state."""
    try:
        state = CardState(value)
    except ValueError:
        return "?"
    return state.short_label if short else state.label
