"""Toasts sit at the top right, over the header, clear of what a screen shows: at the
bottom they covered the home screen's help line and Browse's detail pane."""

from __future__ import annotations

from textual.geometry import Region
from textual.widgets._toast import Toast

from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.store import Store
from studytool.tui.app import StudyApp
from studytool.tui.screens.browse import BrowseScreen

from .waiting import wait_until

DECK = "Q: What does the KV cache store?\nA: The keys and values of earlier tokens.\n"


async def _toast_region(pilot, app: StudyApp, message: str) -> Region:
    app.notify(message)
    await wait_until(pilot, lambda: bool(app.screen.query(Toast)), "the toast")
    await pilot.pause()
    return app.screen.query_one(Toast).region


async def test_a_toast_leaves_the_home_help_line_and_deck_list_visible(store: Store) -> None:
    sync_deck(store, parse_text(DECK, "kv.md"))
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.screen.query("#home-hint"), "the home screen")
        toast = await _toast_region(pilot, app, "Imported the bundled decks: 7 decks, 107 notes.")
        for selector in ("#home-hint", "#decks", "Footer"):
            assert not toast.overlaps(app.screen.query_one(selector).region), selector
        assert toast.y == 0 and toast.right >= 80 - 2  # top right, over the header


async def test_a_toast_leaves_the_browse_detail_visible(store: Store) -> None:
    sync_deck(store, parse_text(DECK, "kv.md"))
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await wait_until(pilot, lambda: app.screen.query("#home-hint"), "the home screen")
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, BrowseScreen), "browse")
        await pilot.pause()
        toast = await _toast_region(pilot, app, "Suspended: What does the KV cache store?")
        for selector in ("#browse-detail", "#browse-table"):
            assert not toast.overlaps(app.screen.query_one(selector).region), selector
