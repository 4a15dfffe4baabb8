"""Ticked and unticked boxes differ in their glyph, not only in colour."""

from __future__ import annotations

from textual.app import App, ComposeResult

from studytool.tui.widgets import TICKED, TickBox, TickList


class Boxes(App[None]):
    def compose(self) -> ComposeResult:
        yield TickBox("fuzz", True, id="ticked")
        yield TickBox("bury", False, id="unticked")
        yield TickList[int](("met", 0, True), ("not met", 1, False), id="criteria")


def _row(app: Boxes, y: int) -> str:
    return app.query_one(TickList).render_line(y).text


async def test_tick_box_shows_its_state_in_the_glyph() -> None:
    app = Boxes()
    async with app.run_test() as pilot:
        ticked, unticked = app.query_one("#ticked", TickBox), app.query_one("#unticked", TickBox)
        assert TICKED in str(ticked.render()) and TICKED not in str(unticked.render())
        unticked.focus()
        await pilot.press("space")
        assert unticked.value and TICKED in str(unticked.render())
        await pilot.press("space")
        assert not unticked.value and TICKED not in str(unticked.render())
        assert ticked.size.width == unticked.size.width  # the same layout either way


async def test_tick_list_shows_which_rows_are_selected() -> None:
    app = Boxes()
    async with app.run_test() as pilot:
        assert _row(app, 0).startswith(f"▐{TICKED}▌ met")
        assert _row(app, 1).startswith("▐ ▌ not met")
        app.query_one(TickList).focus()
        await pilot.press("down", "space")  # the second row
        await pilot.pause()
        assert _row(app, 1).startswith(f"▐{TICKED}▌ not met")
