from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Markdown, Static, TextArea

from studytool.core.importing import parse_file, parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.models import Card, ReviewLog
from studytool.tui.app import StudyApp
from studytool.tui.screens.review import ReviewScreen

from .conftest import FIXTURES
from .screen_text import shown_text
from .waiting import wait_for_grade, wait_until

DECK = """+++
name = "Pilot deck"
+++
Q: What does the KV cache store?
A: The keys and values of earlier tokens, per layer.
R:
- keys and values
- per layer
H: Think of what attention reuses.

---

Q: What is greedy decoding?
A: Always taking the most likely next token.
"""


@pytest.fixture
def app(store) -> StudyApp:
    sync_deck(store, parse_text(DECK, "pilot.md"))
    return StudyApp(store)


async def test_home_lists_decks_with_counts(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        assert [str(cell) for cell in table.get_row_at(0)] == ["Pilot deck", "2", "0", "0", "2"]


async def test_review_a_card_end_to_end(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert screen.card is not None and screen.card.front == "What does the KV cache store?"
        assert screen.query_one("#answer", TextArea).has_focus
        await pilot.press(*"keys and values")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.revealed
        assert "Again" in str(screen.query_one("#rate-1").label)
        assert str(screen.query_one("#rate-3").label) == "3 Good · 10m"
        await pilot.press("3")
        await pilot.pause()
        assert screen.card is not None and screen.card.front == "What is greedy decoding?"
        assert not screen.revealed
    with store.session() as session:
        logs = session.scalars(select(ReviewLog)).all()
    assert [(log.rating, log.typed_answer) for log in logs] == [(3, "keys and values")]


async def test_plain_reveal_hint_and_undo(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await pilot.press("ctrl+g")
        assert "Think of what attention reuses." in shown_text(screen.query_one("#hint", Static))
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert screen.revealed
        await pilot.press("1")
        await until_saved(pilot, screen)
        assert screen.card.front == "What is greedy decoding?"
        # ctrl+z in the empty answer box undoes the rating (there is no typing to undo).
        await pilot.press("ctrl+z")
        await until_saved(pilot, screen)
        assert screen.card.front == "What does the KV cache store?"
        assert screen.rated == []
    with store.session() as session:
        assert session.scalars(select(ReviewLog)).all() == []


async def test_undo_after_bury_keeps_the_earlier_rating(app: StudyApp, store) -> None:
    # The trial's repro: rate a card, then on the next card bury it, then undo.
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await pilot.press("ctrl+r", "3")
        await until_saved(pilot, screen)
        buried = screen.card.card_id
        await pilot.press("ctrl+r", "minus")
        await until_saved(pilot, screen)
        assert screen.card.card_id != buried
        await pilot.press("ctrl+z")
        await until_saved(pilot, screen)
        assert screen.card.card_id == buried
        assert len(screen.rated) == 1
    with store.session() as session:
        assert [log.rating for log in session.scalars(select(ReviewLog))] == [3]
        assert session.get(Card, buried).buried_until is None


async def test_tab_moves_from_the_answer_box_to_the_ratings_and_back(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        assert app.focused.id == "answer"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.focused.id == "rate-3"
        await pilot.press("tab")
        assert app.focused.id == "rate-4"
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused.id == "rate-2"


async def until_saved(pilot, screen: ReviewScreen, limit: float = 15.0) -> None:
    """Wait (in app time) for a write to land or give up."""
    deadline = time.monotonic() + limit
    await pilot.pause()
    while screen.writing:
        assert time.monotonic() < deadline, "the write never finished"
        await pilot.pause(0.05)
    await pilot.pause()


async def test_rating_waits_for_another_instance_then_lands(app: StudyApp, store) -> None:
    """Another process holds the write lock: the screen stays live and says so, and the
    rating lands once the lock is released."""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await pilot.press("ctrl+r")
        await pilot.pause()
        blocker = sqlite3.connect(store.sqlite_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            await pilot.press("3")
            # Back from the key press well before the 10 s busy timeout: it waits in a worker.
            assert time.monotonic() - started < 3
            await wait_until(pilot, lambda: screen.has_class("saving"), "the wait notice", seconds=5)
            assert "Another studytool is writing" in str(screen.query_one("#save-status").render())
            assert screen.card is not None and screen.card.front == "What does the KV cache store?"
            await pilot.press("1")  # ignored while the first rating waits
            await pilot.pause()
            assert screen.rated == []
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await until_saved(pilot, screen)
        assert not screen.has_class("saving")
        assert screen.card is not None and screen.card.front == "What is greedy decoding?"
        assert screen.rated == [3]
    with store.session() as session:
        assert [log.rating for log in session.scalars(select(ReviewLog)).all()] == [3]


async def test_rating_not_saved_while_locked_keeps_the_card(
    app: StudyApp, store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studytool.core import locking

    monkeypatch.setattr(locking, "BUSY_TIMEOUT_MS", 600)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        await pilot.press(*"keys")
        await pilot.press("ctrl+s")
        await pilot.pause()
        blocker = sqlite3.connect(store.sqlite_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("3")
            await until_saved(pilot, screen)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert any("Not saved" in n.message and "locked" in n.message for n in app._notifications)
        # The card, the typed answer and the rating keys are still there: try again.
        assert screen.card is not None and screen.card.front == "What does the KV cache store?"
        assert screen.query_one("#answer", TextArea).text == "keys"
        await pilot.press("3")
        await until_saved(pilot, screen)
        assert screen.card is not None and screen.card.front == "What is greedy decoding?"
    with store.session() as session:
        logs = session.scalars(select(ReviewLog)).all()
    assert [(log.rating, log.typed_answer) for log in logs] == [(3, "keys")]


async def test_session_summary_when_nothing_is_left(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        screen = app.screen
        for _ in range(2):
            await pilot.press("ctrl+r", "4")
            await until_saved(pilot, screen)
        assert screen.card is None
        summary = shown_text(screen.query_one("#summary", Static))
        assert "2 cards in" in summary
        # The counts line is current, not the last card's ("0 new · 1 learning").
        assert "0 new · 0 learning · 0 due" in str(screen.query_one("#review-counts").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one(DataTable).get_row_at(0)[1].plain == "0"


async def test_card_text_with_escapes_and_markup_is_inert(store) -> None:
    sync_deck(store, parse_text("Q: Evil \x1b]0;pwn\x07 [bold]x[/bold] ?\nA: ok\n", "evil.md"))
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        question = app.screen.query_one("#question", Markdown)
        assert "\x1b" not in question.source and "[bold]x[/bold]" in question.source


def test_app_module_imports_no_ml_packages() -> None:
    code = (
        "import sys\n"
        "import studytool.tui.app\n"
        "import studytool.cli\n"
        "print([m for m in ('torch', 'transformers', 'sentence_transformers', 'numpy') if m in sys.modules])\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


SNAPSHOT_DECK = FIXTURES / "primary" / "mixed.md"


def snapshot_app(tmp_path: Path, *, grading: bool = False) -> StudyApp:
    """The fixture deck in a fresh store; the grader only where a snapshot shows a grade
    (loading it in the background would otherwise race the cursor's blink)."""
    from studytool.core.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'snap.db'}")
    sync_deck(store, parse_file(SNAPSHOT_DECK), deck_name="Fixture deck")
    return StudyApp(store, grading=grading)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_home(snap_compare, tmp_path, size) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=size)


def test_snapshot_review_question(snap_compare, tmp_path) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), press=["a", *"an integer"])


def test_snapshot_review_graded(snap_compare, tmp_path) -> None:
    """A typed answer after grading: score, criteria with evidence, suggested rating."""
    assert snap_compare(
        snapshot_app(tmp_path, grading=True), terminal_size=(100, 40), run_before=_type_and_grade
    )


async def _type_and_grade(pilot) -> None:
    await pilot.press("a")
    await pilot.pause()
    await pilot.press(*"an integer that indexes the embedding table", "ctrl+s")
    await wait_for_grade(pilot, pilot.app.screen)


def test_snapshot_review_revealed_without_typing(snap_compare, tmp_path) -> None:
    assert snap_compare(
        snapshot_app(tmp_path), terminal_size=(80, 24), press=["a", "ctrl+r"]
    )


async def wait_for_store(app: StudyApp, pilot) -> None:
    """The store is opened by a worker started after the first paint; wait for it (bounded)."""
    from textual.worker import WorkerCancelled

    for _ in range(200):
        if app.failure is not None:
            return  # the app is exiting; its workers are being cancelled
        await pilot.pause(0.05)
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            return
        if app.store is not None:
            await pilot.pause()
            return


async def test_store_is_opened_in_the_background_with_bundled_decks(tmp_path, monkeypatch) -> None:
    from studytool.cli import Context

    folder = tmp_path / "decks"
    folder.mkdir()
    (folder / "one.md").write_text('+++\nname = "Bundled"\n+++\nQ: q1?\nA: a1\n')
    monkeypatch.setattr("studytool.paths.bundled_decks_dir", lambda: folder)
    app = StudyApp(open_store=Context(str(tmp_path / "bg.db"), bundled=True).open)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_store(app, pilot)
        assert app.store is not None
        assert app.screen.query_one(DataTable).get_row_at(0)[0].plain == "Bundled"
        assert any("Imported the bundled decks" in str(n.message) for n in app._notifications)


async def test_unopenable_database_exits_with_the_reason(tmp_path) -> None:
    from studytool.cli import Context

    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database" * 100)
    app = StudyApp(open_store=Context(str(broken), bundled=False).open)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_store(app, pilot)
    assert app.return_code == 1
    assert app.failure is not None and "is not a studytool database or is damaged" in app.failure


async def test_home_opens_browse(app: StudyApp) -> None:
    from studytool.tui.screens.browse import BrowseScreen

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, BrowseScreen)


@pytest.mark.parametrize(
    ("key", "screen_module", "screen_class"),
    [
        ("i", "import_decks", "ImportScreen"),
        ("comma", "settings", "SettingsScreen"),
        ("s", "stats", "StatsScreen"),
    ],
)
async def test_home_opens_other_screens(
    app: StudyApp, key: str, screen_module: str, screen_class: str
) -> None:
    import importlib

    expected = getattr(
        importlib.import_module(f"studytool.tui.screens.{screen_module}"), screen_class
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, expected)


# -- Home's counts, as Anki shows them (trial problem 13) ---------------------------------------


def _trial_counts_app(store, *, learning: int = 7) -> StudyApp:
    """The trial's deck list: cards in learning and no review due; 10 new cards a day, so
    with 7 introduced today the review offers 3 of the deck's 13 other new cards."""
    from datetime import UTC, datetime, timedelta

    from studytool.config import Settings
    from studytool.core.study import StudySession

    deck = '+++\nname = "Trial deck"\n+++\n' + "".join(
        f"Q: Question {number}?\nA: answer {number}\n\n" for number in range(20)
    )
    sync_deck(store, parse_text(deck, "trial.md"))
    store.save_settings(Settings(new_cards_per_day=10, bury_siblings=False))
    # Answered half a minute ago (Home reads the real clock): due again in a minute, so
    # learning, not review, and counted as due today.
    answered = datetime.now(UTC) - timedelta(seconds=30)
    session = StudySession(store)
    for _ in range(learning):
        card = session.next_card(answered)
        assert card is not None and card.reps == 0
        session.answer(card.card_id, 1, answered)
    return StudyApp(store)


async def test_home_counts_learning_apart_and_caps_new(store) -> None:
    app = _trial_counts_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        # New / Learn / Due / Cards: "Due" is reviews only, "New" what today's limit leaves.
        assert [str(cell) for cell in table.get_row_at(0)] == ["Trial deck", "3", "7", "0", "20"]
        summary = shown_text(app.screen.query_one("#home-summary", Static))
        assert "1 deck · today: 3 new · 7 learning · 0 due" in summary
        # The review of that deck offers the same numbers.
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        counts = shown_text(app.screen.query_one("#review-counts", Static))
        assert "3 new" in counts and "7 learning" in counts and "0 due" in counts
        # Back on the deck list (esc, then the review asks nothing: no answer typed).
        await pilot.press("escape")
        await pilot.pause()
        assert [str(cell) for cell in app.screen.query_one(DataTable).get_row_at(0)][1:4] == [
            "3",
            "7",
            "0",
        ]


async def test_home_reads_no_counts_on_resize(store, monkeypatch) -> None:
    from studytool.core.study import StudySession

    app = _trial_counts_app(store, learning=2)
    reads: list[int] = []
    counts_by_deck = StudySession.counts_by_deck

    def counted(self, now):  # type: ignore[no-untyped-def]
        reads.append(1)
        return counts_by_deck(self, now)

    monkeypatch.setattr(StudySession, "counts_by_deck", counted)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert reads == [1]
        for size in ((120, 36), (60, 20), (100, 30)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
        assert reads == [1]
        # The names are still cut to the new width.
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[0]) == "Trial deck"


def test_snapshot_home_counts(snap_compare, tmp_path) -> None:
    from studytool.core.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'counts.db'}")
    assert snap_compare(_trial_counts_app(store), terminal_size=(80, 24))
