"""Browse: search every card, see one card's details and review history, suspend or bury it,
open its demo.

The table holds one page of results (``page_size`` rows) whatever the size of the collection;
searches run in a worker thread, so typing stays smooth on a deck of 10,000 cards. Suspend and
bury are chords or symbols (ctrl+j / @, -), never a letter, so that a key meant for another
screen cannot change a card; q leaves from the list and from the detail pane alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Markdown, Static
from textual.worker import Worker, WorkerState, get_current_worker

from studytool.core.browse import (
    PAGE_SIZE,
    SYNTAX_HELP,
    CardDetail,
    CardPage,
    CardRow,
    HistoryRow,
    QueryError,
    card_detail,
    card_history,
    describe_grade,
    format_due,
    format_duration,
    parse_query,
    search_cards,
    set_buried,
    set_suspended,
)
from studytool.core.models import utcnow
from studytool.core.ratings import rating_label
from studytool.core.store import StoreError
from studytool.core.study import LEECH_TAG
from studytool.core.text_safety import inert
from studytool.tui.card_text import card_line, card_markdown
from studytool.tui.messages import BrowsePageLoaded, BrowseSearchFailed
from studytool.tui.screens.base import StudyScreen

if TYPE_CHECKING:
    from studytool.core.store import Store

_STATE_STYLES = {0: "blue", 1: "red", 2: "green", 3: "red"}
_RATING_STYLES = {1: "red", 2: "orange3", 3: "green", 4: "blue"}
# Readable on dark and light themes alike.
_SUSPENDED_STYLE = "orange3"
_BURIED_STYLE = "dark_cyan"
# (key, label, width) of the fixed columns; the card's front takes the rest.
_COLUMNS = (("state", "State", 9), ("due", "Due", 9), ("reps", "Reps", 4), ("lapses", "Laps", 4))
_STATE_COLUMN = 2
_SEARCH_DELAY = 0.25  # seconds of quiet typing before a search runs
_WHITESPACE = re.compile(r"\s+")
# Side by side only where the list still gets more room than the stacked layout gives at 80
# columns; below that the details go under the list and the table takes the full width.
WIDE_LAYOUT_COLUMNS = 140


class CardDetailPane(VerticalScroll):
    """The highlighted card's details; the arrow keys scroll them, enter goes back to the list."""

    BINDINGS = [Binding("enter", "screen.focus_list", "Back to list")]


class BrowseScreen(StudyScreen[None]):
    """Every card, searchable, a page at a time, with the highlighted card's history."""

    CSS_PATH = Path(__file__).parent.parent / "css" / "browse.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_LAYOUT_COLUMNS, "-wide")]
    BINDINGS = [
        # Priority, so that the / which moves into the search box is never typed into it.
        Binding("slash", "focus_search", "Search", priority=True),
        # Anki's Browse suspends with ctrl+j; @ and - are the Review screen's keys. Anki's
        # ctrl+shift+j (bury) is the same keystroke as ctrl+j in most terminals.
        Binding("ctrl+j,at", "toggle_suspend", "Suspend"),
        Binding("minus", "toggle_bury", "Bury"),
        Binding("d", "demo", "Demo"),
        Binding("n", "page(1)", "Next"),
        Binding("p", "page(-1)", "Prev"),
        Binding("q", "back", "Back"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(
        self,
        query: str = "",
        *,
        clock: Callable[[], datetime] = utcnow,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__()
        self.initial_query = query
        # Tests and snapshots set a fixed clock so that "due in 3d" never changes.
        self.clock = clock
        self.page_size = page_size
        self.page: CardPage | None = None
        self.query_text = query
        self.detail: CardDetail | None = None
        self.history: list[HistoryRow] = []
        self._searches = 0  # numbers each search, so a slow, older one cannot overwrite a newer
        self._search_timer: Timer | None = None
        self._requested = query  # the text of the latest search started

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            self.initial_query,
            placeholder='Search: words  deck:"Name"  tag:x  is:due  due<7d   (/ to focus)',
            id="browse-search",
        )
        yield Static(Text(SYNTAX_HELP), id="browse-help")
        with Container(id="browse-body"):
            with Vertical(id="browse-list"):
                yield DataTable(id="browse-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="browse-status")
            with CardDetailPane(id="browse-detail"):
                yield Static("", id="browse-meta")
                yield Static(Text("Question", style="bold"), classes="browse-label")
                yield Markdown("", id="browse-question")
                yield Static(Text("Answer", style="bold"), classes="browse-label")
                yield Markdown("", id="browse-answer")
                yield Static("", id="browse-extra")
                yield Static("", id="browse-history")
        # Compact, so that every key (Back last) fits in 80 columns.
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Browse"
        self.query_one(DataTable).focus()
        self._clear_detail("")
        self.search(self.initial_query)

    def on_screen_resume(self) -> None:
        if self.page is not None:
            self.search(self.query_text, self.page.offset)

    def on_resize(self) -> None:
        # After the next layout: the table's new width (and the wide/narrow arrangement)
        # is only known then.
        self.call_after_refresh(self._fill_table, True, False)

    # -- searching ------------------------------------------------------------------------

    def search(self, text: str, offset: int = 0) -> None:
        """Run a search (in a worker) and show its page when it comes back."""
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        if self.study_app.store is None:
            self._set_status(Text("Opening your decks…"))
            return
        self._searches += 1
        self._requested = text
        self._run_search(self._searches, text, offset, self.clock())

    @work(thread=True, exclusive=True, group="browse-search", exit_on_error=False)
    def _run_search(self, number: int, text: str, offset: int, now: datetime) -> None:
        store = self.study_app.store
        assert store is not None
        try:
            page = search_cards(store, parse_query(text, now), now, offset, self.page_size)
        except (QueryError, StoreError) as exc:
            self.post_message(BrowseSearchFailed(number, str(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(BrowsePageLoaded(number, text, page))

    def on_browse_page_loaded(self, message: BrowsePageLoaded) -> None:
        if message.search != self._searches:
            return
        self.query_one("#browse-search", Input).remove_class("-invalid")
        self.query_text = message.text
        previous = self.page
        self.page = message.page
        keep_cursor = previous is not None and previous.offset == message.page.offset
        self._fill_table(keep_cursor=keep_cursor, reload_detail=True)

    def on_browse_search_failed(self, message: BrowseSearchFailed) -> None:
        if message.search != self._searches:
            return
        self.query_one("#browse-search", Input).add_class("-invalid")
        self._set_status(Text(message.reason, style="bold red"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Failures the search does not expect (a broken database, say) end up here.
        if event.worker.group == "browse-search" and event.state == WorkerState.ERROR:
            self._set_status(Text(f"Search failed: {event.worker.error}", style="bold red"))

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        value = event.value
        if value == self._requested:
            return
        self._search_timer = self.set_timer(_SEARCH_DELAY, lambda: self.search(value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.search(event.value)
        self.query_one(DataTable).focus()

    # -- showing a page -------------------------------------------------------------------

    def _fill_table(self, keep_cursor: bool = True, reload_detail: bool = True) -> None:
        """(Re)build the table for the current page at the current width.

        ``reload_detail`` reads the highlighted card again; a resize only redraws."""
        table = self.query_one(DataTable)
        if not table.is_mounted:
            return
        cursor = table.cursor_row if keep_cursor else 0
        table.clear(columns=True)
        page = self.page
        rows = 0 if page is None else len(page.rows)
        # The scroll bar takes its room only when the page is taller than the table (+1: header).
        scroll_bar = table.styles.scrollbar_size_vertical if rows + 1 > table.size.height else 0
        front_width, deck_width = self._text_widths(table.size.width - scroll_bar)
        table.add_column("Deck", key="deck", width=deck_width)
        table.add_column("Card", key="front", width=front_width)
        for key, label, width in _COLUMNS:
            numeric = key in ("reps", "lapses")
            table.add_column(
                Text(label, justify="right" if numeric else "left"), key=key, width=width
            )
        if page is None:
            return
        now = self.clock()
        table.add_rows(
            [
                (
                    Text(_one_line(row.deck, deck_width), no_wrap=True),
                    _card_cell(row.front, front_width),
                    _state_cell(row),
                    Text(format_due(row.due, now, row.state)),
                    Text(str(row.reps), justify="right"),
                    Text(str(row.lapses), style="red" if row.lapses else "dim", justify="right"),
                )
                for row in page.rows
            ],
        )
        # add_rows keys rows by position here, so cards are found through self.page.rows.
        if page.rows:
            table.move_cursor(row=min(cursor, len(page.rows) - 1), animate=False)
            card_id = page.rows[table.cursor_row].card_id
            if reload_detail or self.detail is None or self.detail.card_id != card_id:
                self._show_card(card_id)
        else:
            self._clear_detail(self._empty_message())
        self._set_status(self._status_line(page))

    def _text_widths(self, table_width: int) -> tuple[int, int]:
        """Widths of the front and deck columns in what the fixed columns leave."""
        # Each column has one cell of padding either side.
        fixed = sum(width for _, _, width in _COLUMNS) + 2 * (len(_COLUMNS) + 2)
        room = max(24, table_width - fixed)
        deck = max(8, min(24, room // 4))
        return room - deck, deck

    def _status_line(self, page: CardPage) -> Text:
        if page.total == 0:
            return Text("No cards", style="dim")
        first, last = page.offset + 1, page.offset + len(page.rows)
        line = Text(f"Cards {first:,}–{last:,} of {page.total:,}")
        if page.pages > 1:
            line.append(f" · page {page.page} of {page.pages}", style="bold")
            line.append("  n/p: next/previous page", style="dim")
        return line

    def _empty_message(self) -> str:
        if not self.query_text.strip():
            return "No cards yet: import a deck with `studytool import PATH`."
        return (
            "No card matches this search. Press / to change it; an empty search lists every card."
        )

    def _set_status(self, text: Text) -> None:
        self.query_one("#browse-status", Static).update(text)

    def _highlighted(self) -> CardRow | None:
        table = self.query_one(DataTable)
        if self.page is None or not self.page.rows or table.row_count == 0:
            return None
        return self.page.rows[min(table.cursor_row, len(self.page.rows) - 1)]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row != event.data_table.cursor_row:
            return  # an earlier move (the table was rebuilt since): the card shown is newer
        if self.page is not None and 0 <= event.cursor_row < len(self.page.rows):
            card_id = self.page.rows[event.cursor_row].card_id
            if self.detail is None or self.detail.card_id != card_id:
                self._show_card(card_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter moves into the details, where the arrow keys scroll a long history.
        self.query_one(CardDetailPane).focus()

    # -- the detail pane ------------------------------------------------------------------

    def _show_card(self, card_id: int) -> None:
        store = self.study_app.store
        if store is None:
            return
        if self.detail is not None and self.detail.card_id == card_id:
            # Same card (a page refresh): only its state and history can have changed.
            self.detail = card_detail(store, card_id)
            self.history = card_history(store, card_id)
            self._render_meta()
            self._render_history()
            return
        self.detail = card_detail(store, card_id)
        self.history = card_history(store, card_id)
        if self.detail is None:
            self._clear_detail("This card was deleted (its deck was re-imported with --prune?).")
            return
        self.remove_class("-no-card")
        detail = self.detail
        self.query_one("#browse-question", Markdown).update(card_markdown(detail.front))
        self.query_one("#browse-answer", Markdown).update(
            card_markdown(detail.back) or "*(no answer)*"
        )
        self._render_meta()
        self._render_extra()
        self._render_history()
        self.query_one(CardDetailPane).scroll_home(animate=False)

    def _clear_detail(self, message: str) -> None:
        self.detail = None
        self.history = []
        self.add_class("-no-card")
        self.query_one("#browse-meta", Static).update(Text(message, style="dim"))
        self.query_one("#browse-extra", Static).update("")
        self.query_one("#browse-history", Static).update("")

    def _render_meta(self) -> None:
        detail = self.detail
        if detail is None:
            return
        now = self.clock()
        line = Text()
        line.append(inert(detail.deck), style="bold")
        line.append(" · ")
        line.append(detail.state_label, style=_STATE_STYLES.get(detail.state, ""))
        if detail.reps:
            line.append(f" · due {format_due(detail.due, now, detail.state)}")
            line.append(f" ({_local(detail.due)})", style="dim")
        line.append(f" · {detail.reps} rep{'' if detail.reps == 1 else 's'}")
        line.append(f" · {detail.lapses} lapse{'' if detail.lapses == 1 else 's'}")
        if detail.suspended:
            line.append(" · suspended", style=f"bold {_SUSPENDED_STYLE}")
        if detail.buried_until is not None and detail.buried_at(now):
            line.append(
                f" · buried until {_local(detail.buried_until)}", style=f"bold {_BURIED_STYLE}"
            )
        if LEECH_TAG in detail.tags:
            line.append(" · leech", style="bold red")
        self.query_one("#browse-meta", Static).update(line)

    def _render_extra(self) -> None:
        detail = self.detail
        if detail is None:
            return
        text = Text()
        if detail.context:
            text.append("Context ", style="bold")
            text.append_text(card_line(detail.context)).append("\n")
        if detail.rubric:
            text.append("Rubric\n", style="bold")
            for criterion in detail.rubric:
                text.append("  • ").append_text(card_line(criterion)).append("\n")
        if detail.tags:
            text.append("Tags ", style="bold")
            text.append(", ".join(inert(tag) for tag in detail.tags) + "\n")
        if detail.source:
            text.append("Source ", style="bold")
            text.append(inert(detail.source))
            if detail.removed_from_source:
                text.append(" (no longer in the file)", style=_SUSPENDED_STYLE)
            text.append("\n")
        if detail.demo:
            text.append("Demo ", style="bold")
            text.append(inert(detail.demo))
            text.append("  d opens it\n", style="dim")
        text.rstrip()
        self.query_one("#browse-extra", Static).update(text)

    def _render_history(self) -> None:
        text = Text()
        if not self.history:
            text.append("History ", style="bold")
            text.append("not reviewed yet", style="dim")
            self.query_one("#browse-history", Static).update(text)
            return
        count = len(self.history)
        text.append(f"History · {count} review{'' if count == 1 else 's'}, newest first\n", "bold")
        for row in self.history:
            text.append(_local(row.reviewed_at), style="dim")
            text.append("  ")
            text.append(row.rating_label, style=_RATING_STYLES.get(row.rating, ""))
            duration = format_duration(row.duration_ms)
            if duration:
                text.append(f"  {duration}", style="dim")
            if row.auto_score is not None or row.auto_rating is not None:
                text.append("  auto")
                if row.auto_score is not None:
                    text.append(f" {row.auto_score:.2f}")
                if row.auto_rating is not None:
                    text.append(f" {rating_label(row.auto_rating)}")
            final = describe_grade(row.final_grade)
            if final:
                text.append(f"  final {inert(final)}")
            text.append("\n")
            if row.typed_answer:
                text.append("  ▸ ", style="dim")
                text.append(inert(row.typed_answer).replace("\n", "\n    "), style="italic")
                text.append("\n")
        text.rstrip()
        self.query_one("#browse-history", Static).update(text)

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_suspend", "toggle_bury") and self.writing:
            return None  # shown, but held back until the last change is saved
        if action == "focus_list":
            return self.query_one(CardDetailPane).has_focus
        return True

    def action_focus_search(self) -> None:
        search = self.query_one("#browse-search", Input)
        if search.has_focus:
            # In the box a / is text, like any other character ("async/await").
            if search.selection.is_empty:
                search.insert_text_at_cursor("/")
            else:
                search.replace("/", *search.selection)
            return
        search.focus()
        # Typing then replaces the last search, as the placeholder promises.
        search.select_all()

    def action_focus_list(self) -> None:
        self.query_one(DataTable).focus()

    def action_page(self, step: int) -> None:
        page = self.page
        if page is None:
            return
        if (step > 0 and not page.has_next) or (step < 0 and not page.has_previous):
            self.notify("No more pages that way.", timeout=2)
            return
        self.search(self.query_text, max(0, page.offset + step * page.limit))

    def action_toggle_suspend(self) -> None:
        row = self._highlighted()
        if row is None or self.study_app.store is None:
            return
        store, suspended = self.store, not row.suspended
        self.write(
            lambda: set_suspended(store, [row.card_id], suspended),
            lambda changed: self._card_changed(
                changed,
                row.card_id,
                lambda shown: replace(shown, suspended=suspended),
                "Suspended." if suspended else "Unsuspended.",
            ),
        )

    def action_toggle_bury(self) -> None:
        row = self._highlighted()
        if row is None or self.study_app.store is None:
            return
        store, buried, now = self.store, not row.buried, self.clock()
        self.write(
            lambda: _bury(store, row.card_id, buried, now),
            lambda changed: self._card_changed(
                changed,
                row.card_id,
                lambda shown: replace(shown, buried=buried),
                "Buried until the next study day." if buried else "Unburied.",
            ),
        )

    def _card_changed(
        self, changed: int, card_id: int, update: Callable[[CardRow], CardRow], message: str
    ) -> None:
        """Show a suspend or bury that was saved: in place, not searched again, so that the
        card keeps its place under the cursor even when it no longer matches (is:suspended)."""
        if not changed:
            self.notify(
                "That card no longer exists (its deck was re-imported with --prune?).",
                severity="warning",
            )
            self.search(self.query_text, self.page.offset if self.page else 0)
            return
        self.notify(message, timeout=2)
        page = self.page
        shown = [row.card_id for row in page.rows] if page is not None else []
        if page is None or card_id not in shown:
            return  # another page is shown by now
        index = shown.index(card_id)
        rows = list(page.rows)
        rows[index] = update(rows[index])
        self.page = replace(page, rows=rows)
        table = self.query_one(DataTable)
        if index < table.row_count:
            table.update_cell_at(Coordinate(index, _STATE_COLUMN), _state_cell(rows[index]))
        if self.detail is not None and self.detail.card_id == card_id:
            self._show_card(card_id)

    def action_demo(self) -> None:
        from studytool.tui.screens.demos import open_card_demo

        detail = self.detail
        if detail is not None:
            open_card_demo(self, detail.demo)

    def action_back(self) -> None:
        if self.query_one("#browse-search", Input).has_focus:
            # Out of the search box first (q is text there), then off the screen.
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()


def _bury(store: Store, card_id: int, buried: bool, now: datetime) -> int:
    """Bury (until the study day ends) or unbury one card; runs in the write worker."""
    day_starts_at_hour = store.load_settings().day_starts_at_hour
    return set_buried(store, [card_id], buried, now, day_starts_at_hour)


def _card_cell(text: str, width: int) -> Text:
    """Card text in one table cell: markdown rendered, cut to ``width`` with an ellipsis."""
    cell = card_line(_WHITESPACE.sub(" ", text).strip())
    cell.no_wrap = True
    cell.truncate(width, overflow="ellipsis")
    return cell


def _one_line(text: str, width: int) -> str:
    line = _WHITESPACE.sub(" ", inert(text)).strip()
    return line if len(line) <= width else line[: max(1, width - 1)] + "…"


def _state_cell(row: CardRow) -> Text:
    if row.suspended:
        return Text(row.status, style=_SUSPENDED_STYLE)
    if row.buried:
        return Text(row.status, style=_BURIED_STYLE)
    return Text(row.status, style=_STATE_STYLES.get(row.state, ""))


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
