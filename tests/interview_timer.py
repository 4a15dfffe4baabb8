"""A clock for interview tests: monotonic seconds that move only when the test says so."""

from __future__ import annotations


class FakeTimer:
    """Stands in for ``time.monotonic`` in an interview session."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
