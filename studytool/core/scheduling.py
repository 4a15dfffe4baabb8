"""FSRS scheduling: the learner's ``fsrs.Scheduler``, and intervals as Anki writes them.

Ratings and card states are in :mod:`studytool.core.ratings`; the study day in
:mod:`studytool.core.study_day`.
"""

from __future__ import annotations

from datetime import timedelta

import fsrs

from studytool.config import Settings


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
