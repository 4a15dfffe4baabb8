"""Waiting in Pilot tests for work that runs in the app's workers (grading, generation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


async def wait_until(
    pilot: Any, condition: Callable[[], object], what: str, *, seconds: float = 30.0
) -> None:
    """Let the app run until ``condition()`` holds (then one more refresh); fail after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{what} did not finish in {seconds:g} s")


async def wait_for_grade(pilot: Any, screen: Any) -> None:
    """Until the review screen shows a grade, or says grading failed."""
    await wait_until(
        pilot,
        lambda: screen.has_class("graded") or screen.has_class("grade-failed"),
        "grading",
    )


async def wait_for_writes(pilot: Any, screen: Any, *, seconds: float = 15.0) -> None:
    """Until the screen's database write (run in a worker) has landed or failed."""
    await pilot.pause()
    await wait_until(pilot, lambda: not screen.writing, "the write", seconds=seconds)
