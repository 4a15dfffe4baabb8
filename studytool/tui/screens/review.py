"""Review: question, typed answer, reveal, rating with the next interval on each key."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Markdown, ProgressBar, Static, TextArea

from studytool.core.models import utcnow
from studytool.core.scheduling import Rating, format_interval
from studytool.core.store import StoreError
from studytool.core.study import QueuedCard, StudyError, StudySession
from studytool.core.text_safety import inert

if TYPE_CHECKING:
    from studytool.tui.app import StudyApp

STATE_LABELS = {0: "new", 1: "learning", 2: "review", 3: "relearning"}


class ReviewScreen(Screen[None]):
    """One study session over some decks (all when ``deck_names`` is None)."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit answer", priority=True),
        Binding("escape", "leave_answer", "Leave answer box", show=False),
        Binding("space", "reveal", "Reveal"),
        Binding("1", "rate(1)", "Again", show=False),
        Binding("2", "rate(2)", "Hard", show=False),
        Binding("3", "rate(3)", "Good", show=False),
        Binding("4", "rate(4)", "Easy", show=False),
        Binding("h", "hint", "Hint"),
        Binding("u", "undo", "Undo"),
        Binding("b", "bury", "Bury"),
        Binding("s", "suspend", "Suspend"),
        Binding("q", "close", "Back"),
    ]

    revealed: reactive[bool] = reactive(False)

    def __init__(self, deck_names: list[str] | None) -> None:
        super().__init__()
        self.deck_names = deck_names
        self.session: StudySession | None = None
        self.card: QueuedCard | None = None
        self.shown_at = time.monotonic()
        self.started_at = time.monotonic()
        self.rated: list[Rating] = []
        self.hints_shown = 0

    @property
    def study_app(self) -> StudyApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="review-status"):
            yield Static("", id="review-counts")
            yield ProgressBar(id="review-progress", show_eta=False)
        with VerticalScroll(id="review-card"):
            yield Static("", id="review-meta")
            yield Markdown("", id="question")
            yield Static("", id="hint")
            yield TextArea(id="answer", soft_wrap=True, tab_behavior="focus")
            yield Static(
                "ctrl+s submits your answer · esc leaves the box · space reveals without typing",
                id="answer-help",
            )
            yield Markdown("", id="back")
            yield Static("", id="rubric")
        with Horizontal(id="ratings"):
            for rating in Rating:
                yield Button(
                    rating.label, id=f"rate-{int(rating)}", classes=f"rating r{int(rating)}"
                )
        yield Static("", id="summary")
        yield Footer()

    def on_mount(self) -> None:
        deck_title = ", ".join(self.deck_names) if self.deck_names else "all decks"
        self.sub_title = f"Review · {deck_title}"
        try:
            assert self.study_app.store is not None
            self.session = StudySession(self.study_app.store, self.deck_names)
        except StudyError as exc:
            self.notify(str(exc), severity="error")
            self.app.pop_screen()
            return
        counts = self.session.counts(utcnow())
        self.query_one(ProgressBar).update(total=max(counts.total, 1), progress=0)
        self.show_next(self.session.next_card(utcnow()))

    # -- showing cards -------------------------------------------------------------------

    def show_next(self, card: QueuedCard | None) -> None:
        self.card = card
        self.revealed = False
        self.hints_shown = 0
        if card is None:
            self.show_summary()
            return
        assert self.session is not None
        self.remove_class("finished")
        counts = self.session.counts(utcnow())
        line = Text()
        for index, (label, style) in enumerate(
            (
                (f"{counts.new} new", "blue"),
                (f"{counts.learning} learning", "red"),
                (f"{counts.review} due", "green"),
            )
        ):
            line.append(" · " if index else "")
            line.append(label, style=style)
        self.query_one("#review-counts", Static).update(line)
        progress = self.query_one(ProgressBar)
        progress.update(total=len(self.rated) + counts.total, progress=len(self.rated))
        self.query_one("#review-meta", Static).update(
            Text(f"{card.deck} · {STATE_LABELS.get(card.state, '')}", style="dim")
        )
        self.query_one("#question", Markdown).update(inert(card.front))
        self.query_one("#hint", Static).update("")
        answer = self.query_one("#answer", TextArea)
        answer.text = ""
        answer.disabled = False
        answer.focus()
        self.query_one("#back", Markdown).update("")
        self.query_one("#rubric", Static).update("")
        self.shown_at = time.monotonic()

    def watch_revealed(self, revealed: bool) -> None:
        self.set_class(revealed, "revealed")

    def reveal(self) -> None:
        if self.card is None or self.session is None or self.revealed:
            return
        card = self.card
        self.revealed = True
        answer = self.query_one("#answer", TextArea)
        answer.disabled = True
        self.query_one("#back", Markdown).update(inert(card.back))
        if card.rubric:
            rubric = Text("Rubric\n", style="bold")
            for criterion in card.rubric:
                rubric.append(f"  • {inert(criterion)}\n")
            self.query_one("#rubric", Static).update(rubric)
        previews = self.session.preview(card.card_id, utcnow())
        for rating in Rating:
            button = self.query_one(f"#rate-{int(rating)}", Button)
            button.label = f"{int(rating)} {rating.label}\n{format_interval(previews[rating])}"
        self.query_one(f"#rate-{int(Rating.GOOD)}", Button).focus()

    def show_summary(self) -> None:
        self.add_class("finished")
        minutes = (time.monotonic() - self.started_at) / 60
        counts = Counter(self.rated)
        lines = Text("Done for now.\n\n", style="bold")
        if self.rated:
            lines.append(f"{len(self.rated)} cards in {minutes:.1f} min\n")
            lines.append(", ".join(f"{r.label} {counts[r]}" for r in Rating if counts[r]) + "\n")
        else:
            lines.append("Nothing was due in this selection.\n")
        lines.append("\nq goes back to the decks.", style="dim")
        self.query_one("#summary", Static).update(lines)
        progress = self.query_one(ProgressBar)
        progress.update(total=max(len(self.rated), 1), progress=max(len(self.rated), 1))

    # -- actions -------------------------------------------------------------------------

    def action_submit(self) -> None:
        self.reveal()

    def action_leave_answer(self) -> None:
        self.set_focus(None)

    def action_reveal(self) -> None:
        self.reveal()

    def action_rate(self, rating: int) -> None:
        if not self.revealed or self.card is None or self.session is None:
            return
        typed = self.query_one("#answer", TextArea).text.strip()
        try:
            self.session.answer(
                self.card.card_id,
                rating,
                utcnow(),
                duration_ms=int((time.monotonic() - self.shown_at) * 1000),
                typed_answer=typed or None,
            )
        except (StoreError, StudyError) as exc:
            # Nothing was saved; the card stays on screen so the rating can be tried again.
            self.notify(str(exc), severity="error", timeout=10)
            return
        self.rated.append(Rating(rating))
        self.show_next(self.session.next_card(utcnow()))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("rate-"):
            self.action_rate(int(event.button.id.removeprefix("rate-")))

    def action_hint(self) -> None:
        if self.card is None:
            return
        if self.hints_shown >= len(self.card.hints):
            self.notify("No (more) hints for this card.")
            return
        self.hints_shown += 1
        text = "\n".join(f"Hint: {inert(h)}" for h in self.card.hints[: self.hints_shown])
        self.query_one("#hint", Static).update(Text(text, style="italic"))

    def action_undo(self) -> None:
        if self.session is None:
            return
        try:
            card = self.session.undo()
        except StudyError as exc:
            self.notify(str(exc))
            return
        if self.rated:
            self.rated.pop()
        self.notify("Undone: the previous card is back.")
        self.show_next(card)

    def action_bury(self) -> None:
        if self.card is None or self.session is None:
            return
        self.session.bury(self.card.card_id, utcnow())
        self.notify("Buried until tomorrow.")
        self.show_next(self.session.next_card(utcnow()))

    def action_suspend(self) -> None:
        if self.card is None or self.session is None:
            return
        self.session.set_suspended(self.card.card_id)
        self.notify("Suspended.")
        self.show_next(self.session.next_card(utcnow()))

    def action_close(self) -> None:
        self.app.pop_screen()
