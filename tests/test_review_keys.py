"""The Review screen's keys, as the new-user trial pressed them (problems 3, 6, 16, 22):
typing never triggers a command, Esc never leaves the learner one key from losing work,
undo takes back exactly the last action with the typed answer, and long cards scroll."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from textual.widgets import Button, DataTable, TextArea

from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.models import Card, ReviewLog
from studytool.tui.app import StudyApp
from studytool.tui.dialogs import ChoiceDialog
from studytool.tui.screens.home import HomeScreen
from studytool.tui.screens.review import ReviewScreen

from .waiting import wait_for_writes

LONG_ANSWER = " ".join(f"Sentence {n} of a long model answer that pushes the rubric down." for n in range(40))
DECK = f"""+++
name = "Keys deck"
+++
Q: What does the KV cache store?
A: The keys and values of earlier tokens, per layer.
R:
- keys and values
- per layer

---

Q: What is greedy decoding?
A: Always taking the most likely next token.

---

Q: Explain everything about attention.
A: {LONG_ANSWER}
R:
- mentions queries
- mentions keys
"""


@pytest.fixture
def app(store) -> StudyApp:
    sync_deck(store, parse_text(DECK, "keys.md"))
    # Grading off: these tests are about keys, not grades (tests/test_review_grading.py).
    return StudyApp(store, grading=False)


async def open_review(pilot) -> ReviewScreen:
    await pilot.press("a")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ReviewScreen)
    return screen


async def test_letters_typed_away_from_the_box_are_text_not_commands(app: StudyApp, store) -> None:
    # The trial: after leaving the box, "abc" buried the card and "qq" quit the app.
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        first = screen.card.card_id
        await pilot.press(*"x", "tab")
        assert not screen.query_one("#answer", TextArea).has_focus
        await pilot.press(*"abcsuqq-@")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and screen.card.card_id == first
        answer = screen.query_one("#answer", TextArea)
        assert answer.has_focus and answer.text == "xabcsuqq-@"
    with store.session() as session:
        card = session.get(Card, first)
        assert card.buried_until is None and not card.suspended


async def test_escape_asks_before_a_typed_answer_is_lost(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        await pilot.press(*"half an answer", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("enter")  # the focused, safe choice: keep reviewing
        await pilot.pause()
        assert app.screen is screen
        assert screen.query_one("#answer", TextArea).text == "half an answer"
        await pilot.press("escape", "escape")  # Esc in the dialog is the safe choice too
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape", "y")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_escape_with_nothing_typed_leaves_at_once(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_review(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert app.screen.query_one(DataTable).row_count == 1


async def test_after_reveal_only_the_documented_keys_act(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        first = screen.card.card_id
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press(*"bsq")  # the old bury / suspend / back letters do nothing now
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and screen.card.card_id == first
        await pilot.press("at")  # Anki's suspend key
        await wait_for_writes(pilot, screen)
        assert screen.card.card_id != first
    with store.session() as session:
        assert session.get(Card, first).suspended


async def test_undo_after_suspend_unsuspends_and_keeps_the_rating(app: StudyApp, store) -> None:
    # The trial's repro for problem 6: rate a card, suspend the next one, undo.
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        rated = screen.card.card_id
        await pilot.press("ctrl+r", "3")
        await wait_for_writes(pilot, screen)
        suspended = screen.card.card_id
        await pilot.press("ctrl+r", "at")
        await wait_for_writes(pilot, screen)
        await pilot.press("ctrl+r", "u")
        await wait_for_writes(pilot, screen)
        assert screen.card.card_id == suspended
        assert any("no longer suspended" in n.message for n in app._notifications)
        assert screen.rated == [3]
    with store.session() as session:
        assert not session.get(Card, suspended).suspended
        assert [(log.card_id, log.rating) for log in session.scalars(select(ReviewLog))] == [
            (rated, 3)
        ]


async def test_undo_brings_back_the_typed_answer(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        await pilot.press(*"keys and values", "ctrl+s")
        await pilot.pause()
        assert "Not graded: grading is off" in str(screen.query_one("#grade-status").render())
        # Not graded: no rating button is preselected for Enter.
        assert not isinstance(app.focused, Button)
        await pilot.press("2")
        await wait_for_writes(pilot, screen)
        assert screen.card.front == "What is greedy decoding?"
        await pilot.press("ctrl+z")  # the new card's box is empty: undo the rating
        await wait_for_writes(pilot, screen)
        assert screen.card.front == "What does the KV cache store?" and screen.revealed
        assert screen.query_one("#answer", TextArea).text == "keys and values"
        assert screen.rated == []
        await pilot.press("3")
        await wait_for_writes(pilot, screen)
    with store.session() as session:
        logs = session.scalars(select(ReviewLog)).all()
    assert [(log.rating, log.typed_answer) for log in logs] == [(3, "keys and values")]


async def test_ctrl_z_undoes_typing_before_it_undoes_a_rating(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        await pilot.press("ctrl+r", "3")
        await wait_for_writes(pilot, screen)
        second = screen.card.card_id
        await pilot.press(*"oops", "ctrl+z")
        await pilot.pause()
        assert screen.query_one("#answer", TextArea).text == ""
        assert screen.card.card_id == second and screen.rated == [3]


async def test_pagedown_scrolls_a_long_card_whatever_has_the_focus(app: StudyApp) -> None:
    # The trial: with a long answer the focus sits on a rating button and the rubric stays
    # below the fold.
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_review(pilot)
        for _ in range(2):
            await pilot.press("ctrl+r", "4")
            await wait_for_writes(pilot, screen)
        assert screen.card.front == "Explain everything about attention."
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.focused, Button)
        card = screen.query_one("#review-card")
        assert card.max_scroll_y > 0 and card.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert card.scroll_y > 0
        await pilot.press("end")  # on a button End does nothing; pagedown again reaches the rubric
        for _ in range(10):
            await pilot.press("pagedown")
        await pilot.pause()
        assert card.scroll_y == card.max_scroll_y


async def test_footer_offers_ctrl_keys_before_and_rating_keys_after(app: StudyApp) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_review(pilot)
        active = {b.action for _, b, enabled, _ in screen.active_bindings.values() if enabled}
        assert {"submit", "reveal", "hint", "leave"} <= active
        assert not {"rate(3)", "bury", "suspend"} & active
        await pilot.press("ctrl+r")
        await pilot.pause()
        active = {b.action for _, b, enabled, _ in screen.active_bindings.values() if enabled}
        assert {"rate(3)", "bury", "suspend", "undo", "leave"} <= active
        assert not {"submit", "reveal"} & active


def test_snapshot_leave_review_dialog(snap_compare, tmp_path) -> None:
    from .test_tui import snapshot_app

    assert snap_compare(
        snapshot_app(tmp_path), terminal_size=(80, 24), press=["a", *"half an answer", "escape"]
    )
