"""The messages the app's workers post back to the UI thread, in one place.

A worker never touches widgets; it posts one of these, and the screen (or the app) that
started it draws the result. Each carries what its handler needs, and nothing the worker
could still be changing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from pathlib import Path

    from textual.worker import Worker

    from studytool.core.browse import CardPage
    from studytool.core.importing.batch import BatchReport, DeckFileSelection
    from studytool.core.stats_series import StatsSeries
    from studytool.core.store import Store


class StoreReady(Message):
    """The database is open (the app opens it in a worker after the first paint); the
    messages say what opening it did, such as importing the bundled decks."""

    def __init__(self, store: Store, messages: list[str]) -> None:
        super().__init__()
        self.store = store
        self.messages = messages


class StatsLoaded(Message):
    """The Stats screen's series, and the decks it can cycle through."""

    def __init__(self, series: StatsSeries, decks: list[tuple[int, str]]) -> None:
        super().__init__()
        self.series = series
        self.decks = decks


class BrowsePageLoaded(Message):
    """A page of Browse's search number ``search`` (older searches' pages are dropped)."""

    def __init__(self, search: int, text: str, page: CardPage) -> None:
        super().__init__()
        self.search = search
        self.text = text
        self.page = page


class BrowseSearchFailed(Message):
    """Browse's search number ``search`` is not a valid query: ``reason`` says why."""

    def __init__(self, search: int, reason: str) -> None:
        super().__init__()
        self.search = search
        self.reason = reason


@dataclass(frozen=True)
class ImportRequest:
    """What a dry run was run with; a confirmation must match it."""

    path: Path
    deck_name: str | None
    prune: bool


class BatchProgress(Message):
    """``done`` of ``total`` files read; while the files are still being looked for, ``total``
    is None and ``done`` counts those found so far."""

    def __init__(self, worker: Worker[None], done: int, total: int | None) -> None:
        super().__init__()
        self.worker = worker
        self.done = done
        self.total = total


class LargeSelection(Message):
    """The dry run found more files than it reads without asking; it stopped before reading."""

    def __init__(
        self, worker: Worker[None], request: ImportRequest, selection: DeckFileSelection
    ) -> None:
        super().__init__()
        self.worker = worker
        self.request = request
        self.selection = selection


class BatchFinished(Message):
    def __init__(self, worker: Worker[None], request: ImportRequest, report: BatchReport) -> None:
        super().__init__()
        self.worker = worker
        self.request = request
        self.report = report
