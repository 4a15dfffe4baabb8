"""The messages the app's workers post back to the UI thread, in one place.

A worker never touches widgets; it posts one of these, and the screen (or the app) that
started it draws the result. Each carries what its handler needs, and nothing the worker
could still be changing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from studytool.core.browse import CardPage
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
