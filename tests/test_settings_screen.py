from __future__ import annotations

import sqlite3
import time

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select
from textual.widgets._select import SelectOverlay

from studytool.config import Settings
from studytool.core.store import Store
from studytool.tui.app import StudyApp
from studytool.tui.dialogs import ChoiceDialog
from studytool.tui.screens.settings import (
    FIELDS,
    SettingsScreen,
    check_field,
    readable_error,
)
from studytool.tui.widgets import TICKED, TickBox

from .waiting import wait_for_writes, wait_until


def test_check_field_reports_the_fields_own_error() -> None:
    assert check_field(FIELDS["desired_retention"], "0.85") == (0.85, None)
    assert check_field(FIELDS["desired_retention"], "1.5") == (
        1.5,
        "Desired retention must be between 0.70 and 0.99",
    )
    assert check_field(FIELDS["learning_steps_minutes"], "1, 5,30") == ((1.0, 5.0, 30.0), None)
    steps_error = check_field(FIELDS["learning_steps_minutes"], "1, 0")[1]
    assert steps_error is not None and steps_error.startswith("Learning steps")
    assert steps_error.endswith("must be positive minutes")
    assert check_field(FIELDS["new_cards_per_day"], "")[1] == "enter a whole number"
    assert check_field(FIELDS["learning_steps_minutes"], "1..")[1] == (
        "enter minutes separated by commas, e.g. 1, 10"
    )


def test_errors_name_fields_by_their_labels_not_their_internal_names() -> None:
    """Every range error the form can show, whatever the config's wording: no snake_case."""
    for field in FIELDS.values():
        if field.kind in ("bool", "theme"):
            continue
        _, error = check_field(field, "-1" if field.kind != "float" else "5")
        assert error is not None, field.name
        assert "_" not in error and ".." not in error, error
        assert error.startswith(field.label.split(" (")[0]), error
    assert readable_error("day_starts_at_hour must be 0..23") == (
        "Day starts at (hour) must be between 0 and 23"
    )


async def open_settings(pilot: Pilot) -> SettingsScreen:
    screen = SettingsScreen()
    await pilot.app.push_screen(screen)
    await pilot.pause()
    return screen


async def replace_text(pilot: Pilot, screen: SettingsScreen, name: str, text: str) -> None:
    box = screen.query_one(f"#setting-{name}", Input)
    box.focus()
    box.value = ""
    await pilot.press(*text)


async def test_change_retention_and_a_limit_then_save(store: Store) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        assert screen.query_one("#setting-desired_retention", Input).value == "0.9"
        assert screen.query_one("#setting-learning_steps_minutes", Input).value == "1, 10"
        await replace_text(pilot, screen, "desired_retention", "0.85")
        await replace_text(pilot, screen, "new_cards_per_day", "35")
        await pilot.press("shift+tab", "space")  # the fuzzing checkbox is the field before it
        assert screen.focused is screen.query_one("#setting-enable_fuzzing")
        assert screen.dirty
        assert "Unsaved changes" in str(screen.query_one("#settings-status").render())
        await pilot.press("ctrl+s")
        await wait_for_writes(pilot, screen)
        assert not screen.dirty
        assert any(n.message == "Settings saved." for n in app._notifications)
    saved = store.load_settings()
    assert saved.desired_retention == 0.85
    assert saved.new_cards_per_day == 35
    assert saved.enable_fuzzing is False
    assert saved.reviews_per_day == Settings().reviews_per_day


async def test_an_invalid_value_shows_its_error_and_saves_nothing(store: Store) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await replace_text(pilot, screen, "new_cards_per_day", "30")
        await replace_text(pilot, screen, "day_starts_at_hour", "25")
        error = screen.query_one("#error-day_starts_at_hour")
        assert error.display
        assert str(error.render()) == "Day starts at (hour) must be between 0 and 23"
        assert not screen.query_one("#error-new_cards_per_day").display
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert any("Nothing saved" in n.message for n in app._notifications)
        assert screen.focused is screen.query_one("#setting-day_starts_at_hour")
        await pilot.press("r")  # back to the default: the error goes
        assert screen.query_one("#setting-day_starts_at_hour", Input).value == "4"
        assert not error.display
    assert store.load_settings() == Settings()


async def test_theme_applies_at_once_and_reverts_on_discard(store: Store) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        screen.query_one("#setting-theme", Select).value = "textual-light"
        await pilot.pause()
        assert app.theme == "textual-light"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and app.theme == "textual-light"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert not isinstance(app.screen, SettingsScreen)
        assert app.theme == "textual-dark"
    assert store.load_settings().theme == "textual-dark"


async def test_saved_theme_and_a_clean_form_leave_without_asking(store: Store) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        screen.query_one("#setting-theme", Select).value = "textual-light"
        await pilot.press("ctrl+s")
        await wait_for_writes(pilot, screen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SettingsScreen | ChoiceDialog)
        assert app.theme == "textual-light"
    assert store.load_settings().theme == "textual-light"


async def test_reset_field_sets_the_default(store: Store) -> None:
    store.save_settings(Settings(bury_siblings=False, reviews_per_day=50))
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        assert screen.query_one("#setting-reviews_per_day", Input).value == "50"
        screen.query_one("#setting-reviews_per_day", Input).focus()
        await pilot.press("r")
        screen.query_one("#setting-bury_siblings", Checkbox).focus()
        await pilot.press("r", "ctrl+s")
        await wait_for_writes(pilot, screen)
    assert store.load_settings() == Settings()


async def test_saving_waits_for_another_instance_then_lands(store: Store) -> None:
    """Another process holds the write lock: the form stays live, says why it waits, holds
    back leaving (which would ask to discard what is being saved), then saves."""
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await replace_text(pilot, screen, "new_cards_per_day", "35")
        blocker = sqlite3.connect(store.sqlite_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            await pilot.press("ctrl+s")
            assert time.monotonic() - started < 3  # the wait is in a worker
            assert screen.writing
            await wait_until(
                pilot,
                lambda: "Another studytool is writing"
                in str(screen.query_one("#settings-status").render()),
                "the wait notice",
                seconds=5,
            )
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await wait_for_writes(pilot, screen)
        assert not screen.dirty
        assert "Saved in your database" in str(screen.query_one("#settings-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SettingsScreen | ChoiceDialog)
    assert store.load_settings().new_cards_per_day == 35


async def test_a_save_that_fails_keeps_the_form_to_try_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studytool.core import locking

    monkeypatch.setattr(locking, "BUSY_TIMEOUT_MS", 600)
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await replace_text(pilot, screen, "new_cards_per_day", "35")
        blocker = sqlite3.connect(store.sqlite_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("ctrl+s")
            await wait_for_writes(pilot, screen)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert any("Nothing saved" in n.message for n in app._notifications)
        assert screen.dirty
        assert "Unsaved changes" in str(screen.query_one("#settings-status").render())
        assert screen.query_one("#setting-new_cards_per_day", Input).value == "35"
        await pilot.press("ctrl+s")
        await wait_for_writes(pilot, screen)
        assert not screen.dirty
    assert store.load_settings().new_cards_per_day == 35


async def test_ticked_and_unticked_boxes_differ_in_glyph(store: Store) -> None:
    """Without colour, the box must still say whether it is ticked."""
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        boxes = [screen.query_one(f"#setting-{name}", TickBox) for name in
                 ("enable_fuzzing", "bury_siblings", "auto_grading")]  # fmt: skip
        assert all(box.value and TICKED in str(box.render()) for box in boxes)
        ticked = str(boxes[0].render())
        screen.query_one("#setting-new_cards_per_day", Input).focus()
        await pilot.press("shift+tab", "space")
        assert screen.focused is boxes[0] and not boxes[0].value
        assert TICKED not in str(boxes[0].render()) and str(boxes[0].render()) != ticked
        await pilot.press("space")
        assert str(boxes[0].render()) == ticked


async def test_theme_list_has_a_border_and_hides_what_is_behind_it(store: Store) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        select = screen.query_one("#setting-theme", Select)
        select.focus()
        await pilot.press("enter")
        await pilot.pause()
        overlay = select.query_one(SelectOverlay)
        assert select.expanded and overlay.display
        assert all(edge[0] for edge in overlay.styles.border)  # drawn on every side
        assert overlay.styles.background.a == 1
        await pilot.press("down", "enter")
        await pilot.pause()
        assert not select.expanded and app.theme != "textual-dark"


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_settings(snap_compare, store: Store, size) -> None:
    async def run_before(pilot: Pilot) -> None:
        screen = await open_settings(pilot)
        await replace_text(pilot, screen, "desired_retention", "0.995")
        # A steady cursor: a blinking one would be caught on or off by chance.
        screen.query_one("#setting-desired_retention", Input).cursor_blink = False

    assert snap_compare(StudyApp(store), terminal_size=size, run_before=run_before)


def test_snapshot_settings_theme_list(snap_compare, store: Store) -> None:
    async def run_before(pilot: Pilot) -> None:
        screen = await open_settings(pilot)
        screen.query_one("#setting-theme", Select).focus()
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(StudyApp(store), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_settings_light_theme(snap_compare, store: Store) -> None:
    store.save_settings(Settings(theme="textual-light"))

    async def run_before(pilot: Pilot) -> None:
        screen = await open_settings(pilot)
        screen.query_one("#setting-desired_retention", Input).cursor_blink = False

    assert snap_compare(StudyApp(store), terminal_size=(80, 24), run_before=run_before)
