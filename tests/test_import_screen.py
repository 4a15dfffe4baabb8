from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from studytool.core.importing.batch import import_paths
from studytool.core.models import Card, Deck, Note
from studytool.core.store import Store
from studytool.tui.app import StudyApp
from studytool.tui.screens.import_decks import DeckTree, ImportScreen

from .conftest import FIXTURES, NOW

SOURCE = FIXTURES / "import_screen"


@pytest.fixture
def decks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture decks in a folder with a fixed name, under a home folder shown as ~."""
    folder = tmp_path / "decks"
    shutil.copytree(SOURCE, folder)
    monkeypatch.setenv("HOME", str(tmp_path))
    return folder


def card_count(store: Store) -> int:
    with store.session() as session:
        return session.execute(select(func.count()).select_from(Card)).scalar_one()


# -- the core loop the screen runs ---------------------------------------------------------


def test_batch_dry_run_reports_every_file_and_writes_nothing(store: Store, decks: Path) -> None:
    report = import_paths(store, [decks], dry_run=True, now=NOW)
    by_name = {outcome.path.name: outcome for outcome in report.files}
    assert list(by_name) == ["attention.md", "broken.md", "notes.txt", "decoding.md"]
    assert (report.added, report.updated, report.unchanged, report.removed) == (5, 0, 0, 0)
    assert by_name["attention.md"].deck == "Attention"
    assert by_name["attention.md"].format == "primary"
    assert [(issue.line, issue.message) for issue in by_name["broken.md"].errors] == [
        (3, "second A: in one card (the first is on line 2)"),
        (7, "A: field with no Q: or C: card before it"),
    ]
    assert by_name["notes.txt"].report is None and by_name["notes.txt"].warnings
    assert by_name["decoding.md"].warnings[0].line == 5
    assert card_count(store) == 0
    with store.session() as session:
        assert session.execute(select(func.count()).select_from(Deck)).scalar_one() == 0


def test_batch_import_progress_and_stop(store: Store, decks: Path) -> None:
    seen: list[tuple[int, int]] = []
    report = import_paths(
        store,
        [decks],
        "One deck",
        now=NOW,
        on_file=lambda done, total, _: seen.append((done, total)),
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert {sync.deck for sync in report.reports} == {"One deck"}
    assert card_count(store) == 5
    stopped = import_paths(store, [decks], dry_run=True, should_stop=lambda: True)
    assert stopped.stopped and stopped.files == []


def test_batch_prune_backs_up_first(store: Store, decks: Path) -> None:
    import_paths(store, [decks / "attention.md"], now=NOW)
    (decks / "attention.md").write_text(
        '+++\nname = "Attention"\n+++\nQ: What does the KV cache store?\nA: Keys and values.\n'
    )
    report = import_paths(store, [decks / "attention.md"], prune=True, now=NOW)
    assert report.backup is not None and report.backup.exists()
    assert (report.updated, report.removed) == (1, 2)
    assert card_count(store) == 1


# -- the screen ----------------------------------------------------------------------------


async def open_import(pilot: Pilot, start: Path) -> ImportScreen:
    screen = ImportScreen(start)
    await pilot.app.push_screen(screen)
    tree = screen.query_one(DeckTree)
    for _ in range(50):  # the tree lists the folder in a worker of its own
        await pilot.pause()
        if tree.root.children:
            break
    return screen


async def finish(pilot: Pilot, screen: ImportScreen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await pilot.pause(0.01)
        if screen.running is None:
            return
    raise AssertionError("the import worker did not finish")


async def dry_run(pilot: Pilot, screen: ImportScreen, path: str) -> None:
    screen.query_one("#import-path", Input).focus()
    await pilot.press(*path, "enter")
    await finish(pilot, screen)


async def test_dry_run_of_a_folder_shows_counts_and_errors(store: Store, decks: Path) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_import(pilot, decks)
        await dry_run(pilot, screen, ".")
        table = screen.query_one("#import-files", DataTable)
        rows = [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows == [
            ["attention.md", "Attention", "primary", "3", "0", "0", "0"],
            ["broken.md", "2 errors", "", "–", "–", "–", "–"],
            ["notes.txt", "no cards", "primary", "0", "0", "0", "0"],
            ["more/decoding.md", "Decoding", "primary", "2", "0", "0", "0"],
        ]
        problems = str(screen.query_one("#import-issue-lines").render())
        assert "error: broken.md:3: second A: in one card (the first is on line 2)" in problems
        assert "error: broken.md:7: A: field with no Q: or C: card before it" in problems
        assert "warning: more/decoding.md:5: text outside any card" in problems
        summary = str(screen.query_one("#import-summary").render())
        assert "Would make 5 added, 0 updated, 0 unchanged" in summary
        assert "1 file has errors and is skipped" in summary
    assert card_count(store) == 0


async def test_confirm_imports_what_the_dry_run_showed(store: Store, decks: Path) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, decks)
        await dry_run(pilot, screen, ".")
        assert card_count(store) == 0
        # broken.md has errors: enter is not an import now; Import is chosen on purpose.
        assert screen.focused is not None and screen.focused.id == "import-issues"
        await pilot.press("enter")
        await pilot.pause()
        assert card_count(store) == 0 and screen.result is None
        screen.query_one("#import-confirm").focus()
        await pilot.press("enter")
        await finish(pilot, screen)
        assert screen.result is not None and not screen.result.dry_run
        assert "Imported ~/decks: 4 files" in str(screen.query_one("#import-summary").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ImportScreen)
    assert card_count(store) == 5
    with store.session() as session:
        names = session.scalars(select(Deck.name).order_by(Deck.name)).all()
        sources = set(session.scalars(select(Note.source_file)).all())
    assert names == ["Attention", "Decoding"]
    assert sources == {str(decks / "attention.md"), str(decks / "more" / "decoding.md")}


async def test_typed_letters_go_to_the_path_box_first(store: Store, decks: Path) -> None:
    # The trial: `i`, type a path, enter. The tree had the focus, so `u` went up a folder and
    # enter dry-ran the whole filesystem.
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, decks)
        assert screen.focused is not None and screen.focused.id == "import-path"
        await pilot.press(*"more/decoding.md", "enter")
        await finish(pilot, screen)
        assert screen.query_one("#import-path", Input).value == "more/decoding.md"
        assert screen.preview is not None
        assert [outcome.path.name for outcome in screen.preview.files] == ["decoding.md"]
        # No errors: Import is the next enter.
        assert screen.focused is not None and screen.focused.id == "import-confirm"


async def test_changed_options_ask_for_a_new_dry_run(store: Store, decks: Path) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, decks)
        await dry_run(pilot, screen, "attention.md")
        screen.query_one("#import-deck", Input).focus()
        await pilot.press(*"Renamed")
        screen.action_confirm()  # what enter on the Import button does
        await finish(pilot, screen)
        assert card_count(store) == 0
        assert screen.preview is not None and screen.preview.reports[0].deck == "Renamed"
        screen.action_confirm()
        await finish(pilot, screen)
    with store.session() as session:
        assert session.scalars(select(Deck.name)).all() == ["Renamed"]


async def test_choosing_a_file_in_the_tree_runs_its_dry_run(store: Store, decks: Path) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, decks)
        tree = screen.query_one(DeckTree)
        tree.focus()
        # Root, then the folder "more", then the files: attention.md, broken.md, notes.txt.
        tree.move_cursor(tree.root.children[2])
        await pilot.press("enter")
        await finish(pilot, screen)
        assert screen.query_one("#import-path", Input).value == "broken.md"
        assert screen.preview is not None and len(screen.preview.failed) == 1
        await pilot.press("enter")  # still on the tree: another preview, never an import
        await finish(pilot, screen)
        screen.action_confirm()
        await pilot.pause()
        assert screen.running is None
        await pilot.press("u")  # the browser goes up to the home folder, shown as ~
        await pilot.pause()
        assert Path(tree.path) == decks.parent and tree.root.label.plain == "~"
    assert card_count(store) == 0


async def test_a_missing_path_is_refused_with_a_message(store: Store, decks: Path) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, decks)
        await dry_run(pilot, screen, "nowhere.md")
        assert screen.preview is None
        assert any("No such file or folder: nowhere.md" in n.message for n in app._notifications)


async def test_a_folder_without_decks_says_so(store: Store, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(pilot, tmp_path)
        await dry_run(pilot, screen, "empty")
        assert "No deck files in empty" in str(screen.query_one("#import-summary").render())
        screen.action_confirm()
        await pilot.pause()
        assert screen.running is None
    assert card_count(store) == 0


async def test_deck_names_and_messages_are_shown_inert(store: Store, tmp_path: Path) -> None:
    (tmp_path / "evil [bold]x.md").write_text(
        '+++\nname = "Evil \\u001b]0;pwn\\u0007 [red]x[/red]"\n+++\nQ: q?\nA: a\n'
    )
    app = StudyApp(store)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_import(pilot, tmp_path)
        await dry_run(pilot, screen, ".")
        file_cell, deck_cell = screen.query_one("#import-files", DataTable).get_row_at(0)[:2]
        assert file_cell.plain == "evil [bold]x.md"
        assert "\x1b" not in deck_cell.plain and "[red]x[/red]" in deck_cell.plain


async def run_dry_run_for_snapshot(pilot: Pilot, start: Path) -> None:
    screen = await open_import(pilot, start)
    await dry_run(pilot, screen, ".")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_import_dry_run(snap_compare, store: Store, decks: Path, size) -> None:
    async def run_before(pilot: Pilot) -> None:
        await run_dry_run_for_snapshot(pilot, decks)

    assert snap_compare(StudyApp(store), terminal_size=size, run_before=run_before)


def test_snapshot_import_start(snap_compare, store: Store, decks: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await open_import(pilot, decks)

    assert snap_compare(StudyApp(store), terminal_size=(80, 24), run_before=run_before)


# -- a large folder asks first; a running dry run can be cancelled (issue 14, problem 5) -----


def big_folder(root: Path, files: int = 300, cards_per_file: int = 1) -> Path:
    folder = root / "big"
    for index in range(files):
        sub = folder / f"part{index % 12:02}"
        sub.mkdir(parents=True, exist_ok=True)
        cards = "".join(
            f"Q: Question {index}.{card}?\nA: Answer {card}.\n\n" for card in range(cards_per_file)
        )
        (sub / f"note{index:03}.md").write_text(cards, encoding="utf-8")
    return folder


async def wait_until(pilot: Pilot, condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def open_import_by_key(pilot: Pilot) -> ImportScreen:
    await pilot.press("i")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ImportScreen), "the screen")
    screen = pilot.app.screen
    assert isinstance(screen, ImportScreen)
    return screen


def summary_of(screen: ImportScreen) -> str:
    return str(screen.query_one("#import-summary").render())


async def test_a_folder_of_300_files_asks_before_its_dry_run(store: Store, tmp_path: Path) -> None:
    from studytool.tui.dialogs import ChoiceDialog

    folder = big_folder(tmp_path)
    app = StudyApp(store)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_import_by_key(pilot)
        await pilot.press(*str(folder), "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the question")
        dialog = app.screen
        question = str(dialog.query_one("#choice-question").render())
        assert "holds 300 deck files in 12 folders — dry-run them all?" in question
        assert screen.preview is None and screen.running is None  # no file read yet
        # Esc, like the trial's next key, picks the safe choice: nothing is dry-run.
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and screen.preview is None
        assert "Not checked: " in summary_of(screen) and "300 deck files" in summary_of(screen)
        assert screen.focused is not None and screen.focused.id == "import-path"
        # Enter asks again; y runs the dry run over every file.
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.preview is not None, "the dry run")
        assert len(screen.preview.files) == 300 and screen.preview.added == 300
        assert "Would make 300 added" in summary_of(screen)
    assert card_count(store) == 0


@pytest.mark.parametrize("how", ["escape", "cancel button"])
async def test_a_running_dry_run_can_be_cancelled(store: Store, tmp_path: Path, how: str) -> None:
    from studytool.tui.dialogs import ChoiceDialog

    # Enough cards that the dry run runs for seconds: Pilot's key presses wait (up to 2 s)
    # for the process to go idle, which a busy worker holds off.
    folder = big_folder(tmp_path, cards_per_file=200)
    app = StudyApp(store)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_import_by_key(pilot)
        await pilot.press(*str(folder), "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: " of 300 files" in summary_of(screen), "progress")
        assert screen.running == "dry run"
        assert "Esc cancels" in summary_of(screen)
        assert screen.query_one("#import-cancel").display
        assert not screen.query_one("#import-confirm").display
        worker = screen.batch_worker
        assert worker is not None
        if how == "escape":
            await pilot.press("escape")
        else:
            screen.query_one("#import-cancel").focus()
            await pilot.press("enter")
        await pilot.pause()
        assert screen.running is None and app.screen is screen  # Esc did not leave
        assert "cancelled after" in summary_of(screen) and "nothing was written" in summary_of(
            screen
        )
        # (Not workers.wait_for_complete: the file tree's loader worker never completes.)
        await wait_until(pilot, lambda: worker.is_finished, "the cancelled worker")
        assert worker.is_cancelled
        await pilot.pause(0.3)
        # What the worker posted before it saw the cancel changed nothing.
        assert screen.preview is None and "cancelled after" in summary_of(screen)
        assert screen.query_one("#import-confirm").display
        assert not screen.query_one("#import-cancel").display
        await pilot.press("escape")  # now Esc leaves
        await pilot.pause()
        assert not isinstance(app.screen, ImportScreen)
    assert card_count(store) == 0


def test_snapshot_import_large_folder_question(
    snap_compare, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studytool.tui.dialogs import ChoiceDialog

    monkeypatch.setenv("HOME", str(tmp_path))  # the browser's root shows as ~, in every run
    folder = big_folder(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        screen = await open_import(pilot, tmp_path)
        await dry_run_until_asked(pilot, screen, folder, ChoiceDialog)

    assert snap_compare(StudyApp(store), terminal_size=(80, 24), run_before=run_before)


async def dry_run_until_asked(pilot: Pilot, screen: ImportScreen, folder: Path, dialog) -> None:
    screen.query_one("#import-path", Input).focus()
    await pilot.press(*folder.name, "enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, dialog), "the question")
