"""FSRS scheduling: a thin layer over ``fsrs.Scheduler`` that works on stored cards.

Every function takes ``now`` explicitly so that tests and the CLI agree on time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntEnum

import fsrs

from studytool.config import Settings
from studytool.core.models import Card


class Rating(IntEnum):
    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


NEW_STATE = 0  # not an fsrs.State: a card never reviewed (reps == 0)


def make_scheduler(settings: Settings, *, fuzz: bool | None = None) -> fsrs.Scheduler:
    """An fsrs scheduler configured from the learner's settings."""
    kwargs = {}
    if settings.fsrs_parameters:
        kwargs["parameters"] = settings.fsrs_parameters
    return fsrs.Scheduler(
        desired_retention=settings.desired_retention,
        learning_steps=tuple(timedelta(minutes=m) for m in settings.learning_steps_minutes),
        relearning_steps=tuple(timedelta(minutes=m) for m in settings.relearning_steps_minutes),
        maximum_interval=settings.maximum_interval_days,
        enable_fuzzing=settings.enable_fuzzing if fuzz is None else fuzz,
        **kwargs,
    )


def to_fsrs_card(card: Card) -> fsrs.Card:
    assert card.id is not None
    return fsrs.Card(
        card_id=card.id,
        state=fsrs.State(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
    )


def apply_fsrs_card(card: Card, scheduled: fsrs.Card) -> None:
    card.state = int(scheduled.state)
    card.step = scheduled.step
    card.stability = scheduled.stability
    card.difficulty = scheduled.difficulty
    card.due = scheduled.due
    card.last_review = scheduled.last_review


def state_of(card: Card) -> int:
    """0 for a new card, else the fsrs state (1 learning, 2 review, 3 relearning)."""
    return NEW_STATE if card.reps == 0 else card.state


def preview_intervals(
    scheduler: fsrs.Scheduler, card: Card, now: datetime
) -> dict[Rating, timedelta]:
    """How long until the card comes back for each rating (use an unfuzzed scheduler)."""
    current = to_fsrs_card(card)
    previews: dict[Rating, timedelta] = {}
    for rating in Rating:
        scheduled, _ = scheduler.review_card(current, fsrs.Rating(int(rating)), now)
        previews[rating] = scheduled.due - now
    return previews


def format_interval(delta: timedelta) -> str:
    """Anki-style short interval: ``<1m``, ``10m``, ``3h``, ``2d``, ``1.5mo``, ``2.1y``."""
    seconds = delta.total_seconds()
    if seconds < 60:
        return "<1m"
    minutes = seconds / 60
    if minutes < 60:
        return f"{round(minutes)}m"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)}h"
    days = hours / 24
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30.4:.1f}mo".replace(".0mo", "mo")
    return f"{days / 365:.1f}y".replace(".0y", "y")
