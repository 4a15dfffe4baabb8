"""Home: the decks with what today's study offers in each (new / learning / due, as Anki
counts them), and the way into each mode."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from studytool.core.text_safety import inert
from studytool.tui.screens.base import StudyScreen

if TYPE_CHECKING:
    from studytool.core.study import DeckQueueCounts, QueueCounts

_NUMBER_WIDTH = 5


class HomeScreen(StudyScreen[None]):
    BINDINGS = [
        Binding("r", "review_selected", "Review"),
        Binding("a", "review_all", "All"),
        Binding("p", "interview", "Interview"),
        Binding("h", "interview_history", "Reports", show=False),
        Binding("b", "browse", "Browse"),
        Binding("i", "import_decks", "Import"),
        Binding("s", "stats", "Stats"),
        Binding("d", "demos", "Demos"),
        Binding("comma", "settings", "Settings"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # The last counts read, so that a resize only redraws them (names are cut to the width).
        self.decks: list[DeckQueueCounts] | None = None
        self.today: QueueCounts | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="home-summary")
        yield DataTable(id="decks", cursor_type="row", zebra_stripes=True)
        yield Static(
            "Enter/r reviews the highlighted deck · h lists past interview reports",
            id="home-hint",
        )
        # Compact and without the palette hint, so that every key fits in 80 columns.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Deck", key="deck")
        for label in ("New", "Learn", "Due", "Cards"):
            table.add_column(label, key=label.lower(), width=_NUMBER_WIDTH)
        # The counts are read when the screen is shown (on_screen_resume), first time included.

    def on_resize(self) -> None:
        if self.decks is not None:
            self._show_decks()

    def on_screen_resume(self) -> None:
        self.refresh_decks()

    def refresh_decks(self) -> None:
        """Read the decks' counts again (after a review, an import, a change of settings)."""
        store = self.study_app.store
        if store is None:
            self.query_one("#home-summary", Static).update("Opening your decks…")
            return
        from studytool.core.study import StudySession

        # The same session a review of all decks starts, so Home and Review agree.
        session = StudySession(store)
        now = datetime.now(UTC)
        self.decks = session.counts_by_deck(now)
        self.today = session.counts(now)
        self._show_decks()

    def _show_decks(self) -> None:
        rows, today = self.decks or [], self.today
        table = self.query_one(DataTable)
        selected = table.cursor_row
        table.clear()
        name_width = self._name_width()
        for row in rows:
            table.add_row(
                # Text, not a markup string: deck names are shown as written, and inert.
                Text(_shorten(inert(row.name), name_width), no_wrap=True),
                *(_count_cell(value, style) for value, style in _cells(row)),
                key=row.name,
            )
        if rows:
            table.move_cursor(row=min(selected, len(rows) - 1))
        self.query_one("#home-summary", Static).update(Text(_summary(len(rows), today)))

    def _name_width(self) -> int:
        # Room left for names once the four count columns (and cell padding) are placed,
        # so that every column stays visible at 80 columns.
        return max(12, self.size.width - 8 - 4 * (_NUMBER_WIDTH + 2) - 2)

    def _selected_deck(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_review_selected()

    def action_review_selected(self) -> None:
        deck = self._selected_deck()
        if deck is not None:
            self._review([deck])

    def action_review_all(self) -> None:
        self._review(None)

    def action_browse(self) -> None:
        if self._store_pending():
            return
        from studytool.tui.screens.browse import BrowseScreen

        self.app.push_screen(BrowseScreen())

    def action_import_decks(self) -> None:
        if self._store_pending():
            return
        from studytool.tui.screens.import_decks import ImportScreen

        self.app.push_screen(ImportScreen())

    def action_interview(self) -> None:
        if self._store_pending():
            return
        from studytool.tui.screens.interview import InterviewScreen

        self.app.push_screen(InterviewScreen())

    def action_interview_history(self) -> None:
        if self._store_pending():
            return
        from studytool.tui.screens.interview import InterviewHistoryScreen

        self.app.push_screen(InterviewHistoryScreen())

    def action_stats(self) -> None:
        if self._store_pending():
            return
        from studytool.tui.screens.stats import StatsScreen

        self.app.push_screen(StatsScreen())

    def action_demos(self) -> None:
        from studytool.tui.screens.demos import DemoMenuScreen

        self.app.push_screen(DemoMenuScreen())

    def action_settings(self) -> None:
        if self._store_pending():
            return
        from studytool.tui.screens.settings import SettingsScreen

        self.app.push_screen(SettingsScreen())

    def _store_pending(self) -> bool:
        """True (and says so) while the database is still being opened."""
        if self.study_app.store is None:
            self.notify("Still opening your decks…")
            return True
        return False

    def _review(self, decks: list[str] | None) -> None:
        if self._store_pending():
            return
        from studytool.tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(decks))


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary(decks: int, today: QueueCounts | None) -> str:
    if not decks or today is None:
        return "No decks yet: press i to import some."
    if today.total == 0:
        work = "nothing left to study today"
    else:
        # The Review screen's words, in its order: what a review of every deck offers now.
        work = f"today: {today.new} new · {today.learning} learning · {today.review} due"
    return f"{decks} deck{'' if decks == 1 else 's'} · {work}"


def _cells(row: DeckQueueCounts) -> list[tuple[int, str]]:
    today = row.today
    return [(today.new, "blue"), (today.learning, "red"), (today.review, "green"), (row.cards, "")]


def _count_cell(value: int, style: str) -> Text:
    return Text(str(value), style=style if value else "dim", justify="right")
