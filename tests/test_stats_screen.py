from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from studytool.core.models import Card, Deck, Note, ReviewLog
from studytool.core.store import Store, open_store
from studytool.tui.app import StudyApp
from studytool.tui.screens.stats import ReviewHeatmap, StatsScreen

from .conftest import NOW


@pytest.fixture(autouse=True)
def utc_zone() -> Iterator[None]:
    """Study days are local: pin the process's zone (TZ alone is read only once by libc)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def add_decks(store: Store, names: list[str], cards: int = 4, reviewed: int = 3) -> list[int]:
    """Decks of cards, the first ``reviewed`` of each in the review state; their card ids."""
    rng = random.Random(1)
    ids = []
    with store.transaction() as session:
        for name in names:
            deck = Deck(name=name)
            session.add(deck)
            session.flush()
            assert deck.id is not None
            for number in range(cards):
                note = Note(deck_id=deck.id, key=f"{number}", question=f"Question {number}?")
                session.add(note)
                session.flush()
                assert note.id is not None
                seen = number < reviewed
                card = Card(
                    note_id=note.id,
                    state=2 if seen else 1,
                    reps=3 if seen else 0,
                    due=NOW + timedelta(hours=rng.randint(-30, 24 * 30)) if seen else NOW,
                )
                session.add(card)
                session.flush()
                assert card.id is not None
                ids.append(card.id)
    return ids


def add_history(store: Store, card_ids: list[int]) -> None:
    """Ten months of reviews, busier lately, with automatic scores in the last two."""
    rng = random.Random(7)
    with store.transaction() as session:
        for back in range(300):
            if rng.random() < 0.3:
                continue
            for _ in range(rng.randint(1, 40 if back < 60 else 15)):
                session.add(
                    ReviewLog(
                        card_id=rng.choice(card_ids),
                        rating=rng.choice([1, 3, 3, 3, 3, 4]),
                        state_before=rng.choice([0, 1, 2, 2, 2]),
                        reviewed_at=NOW - timedelta(days=back, minutes=rng.randint(0, 600)),
                        duration_ms=rng.randint(3000, 20000),
                        auto_score=rng.uniform(0.4, 1.0)
                        if back < 60 and rng.random() < 0.5
                        else None,
                    )
                )


def stats_screen() -> StatsScreen:
    return StatsScreen(clock=lambda: NOW)


async def open_stats(pilot: Pilot[None], screen: StatsScreen | None = None) -> StatsScreen:
    screen = screen or stats_screen()
    await pilot.app.push_screen(screen)
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return screen


def shown(screen: StatsScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_headline_figures(store: Store) -> None:
    card_ids = add_decks(store, ["Attention"])
    with store.transaction() as session:
        for back, rating in ((0, 3), (0, 1), (1, 3), (2, 4), (4, 3)):
            session.add(
                ReviewLog(
                    card_id=card_ids[0],
                    rating=rating,
                    state_before=2,
                    reviewed_at=NOW - timedelta(days=back, hours=1),
                    duration_ms=90_000,
                )
            )
    app = StudyApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_stats(pilot)
        headline = shown(screen, "#stats-headline")
        assert "2 reviews today (3 min)" in headline
        assert "5 in all" in headline
        assert "3 day streak" in headline
        assert "80% true retention (30 days, 5 reviews)" in headline
        assert screen.sub_title == "Stats · all decks"
        assert screen.series is not None
        assert [day.total for day in screen.series.reviews_per_day[-5:]] == [1, 0, 1, 1, 2]
        heatmap = str(screen.query_one(ReviewHeatmap).render())
        assert "less" in heatmap and "Mon" in heatmap
        assert screen.query_one("#heatmap-panel").border_subtitle == "5 reviews"
        for panel in ("#forecast-panel", "#retention-panel"):
            assert not screen.query_one(panel).has_class("-empty")
        # No typed answers were graded: the score panel says how to get some.
        assert screen.query_one("#scores-panel").has_class("-empty")
        assert "No typed answers graded yet" in shown(screen, "#scores-panel .empty")


async def test_empty_store_says_what_to_do(store: Store) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stats(pilot)
        assert "Review some cards to see your statistics here." in shown(screen, "#stats-headline")
        assert "review some cards to fill this calendar" in str(
            screen.query_one(ReviewHeatmap).render()
        )
        for panel in ("#forecast-panel", "#retention-panel", "#scores-panel"):
            assert screen.query_one(panel).has_class("-empty")
        await pilot.press("d")
        assert any("No decks yet" in str(n.message) for n in app._notifications)


async def test_deck_filter_cycles_through_the_decks(store: Store) -> None:
    card_ids = add_decks(store, ["Beta", "Alpha"])
    with store.transaction() as session:
        for card_id in (card_ids[0], card_ids[4], card_ids[4]):  # one Beta, two Alpha reviews
            session.add(ReviewLog(card_id=card_id, rating=3, reviewed_at=NOW))
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stats(pilot)
        totals = []
        for _ in range(3):
            assert screen.series is not None
            totals.append((screen.sub_title, screen.series.headline.reviews_total))
            await pilot.press("d")
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert totals == [
            ("Stats · all decks", 3),
            ("Stats · Alpha", 2),
            ("Stats · Beta", 1),
        ]
        assert screen.sub_title == "Stats · all decks"


async def test_a_deck_chosen_up_front_and_an_inert_name(store: Store) -> None:
    name = "Evil \x1b]0;pwn\x07 [bold]x[/bold]"
    add_decks(store, [name, "Other"])
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stats(pilot, StatsScreen([name], clock=lambda: NOW))
        assert screen.series is not None and screen.series.deck_ids is not None
        assert len(screen.series.deck_ids) == 1
        assert "\x1b" not in screen.sub_title and "[bold]x[/bold]" in screen.sub_title


async def test_an_unknown_deck_is_reported(store: Store) -> None:
    add_decks(store, ["Attention"])
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stats(pilot, StatsScreen(["[red]Gone"], clock=lambda: NOW))
        assert screen.series is not None and screen.series.deck_ids == []
        assert any("No deck named [red]Gone" in str(n.message) for n in app._notifications)


@pytest.mark.parametrize("key", ["q", "escape"])
async def test_q_and_escape_go_back(store: Store, key: str) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_stats(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert not isinstance(app.screen, StatsScreen)
        assert app.screen.query_one(DataTable) is not None


async def test_a_theme_change_redraws(store: Store) -> None:
    add_history(store, add_decks(store, ["Attention"]))
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_stats(pilot)
        dark = screen.query_one(ReviewHeatmap).render().spans
        app.theme = "textual-light"
        await pilot.pause()
        assert screen.query_one(ReviewHeatmap).render().spans != dark


# -- snapshots ----------------------------------------------------------------------------


def snapshot_app(tmp_path: Path, *, empty: bool = False) -> StudyApp:
    store = open_store(f"sqlite:///{tmp_path / 'stats.db'}")
    card_ids = add_decks(store, ["Attention", "Decoding"], cards=20, reviewed=0 if empty else 15)
    if not empty:
        add_history(store, card_ids)
    return StudyApp(store)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_stats(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=size, run_before=open_stats)


def test_snapshot_stats_light(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        pilot.app.theme = "textual-light"
        await open_stats(pilot)

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(160, 48), run_before=run_before)


def test_snapshot_stats_empty(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(
        snapshot_app(tmp_path, empty=True), terminal_size=(80, 24), run_before=open_stats
    )
