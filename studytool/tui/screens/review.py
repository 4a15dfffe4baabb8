"""Review: question, typed answer, grading, reveal, rating with the next interval on each key.

Submitting a typed answer reveals the model answer at once and grades the answer in a thread
worker (the grader started loading when the session opened). When the grade arrives, each
rubric criterion is listed met / partly / missed with the part of the answer that supports
it, and the suggested rating is preselected. The learner can flip criteria (enter on one)
and rate as they see fit: both the automatic and the final grade are stored with the review.
A grading failure only costs the suggestion; the typed answer is kept and rating goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import (
    Button,
    Footer,
    Header,
    Markdown,
    OptionList,
    ProgressBar,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from studytool.core.grading import (
    NOT_SURE_NOTE,
    GradeResult,
    GradingInputs,
    SelfGrade,
    Verdict,
)
from studytool.core.ratings import Rating, state_label
from studytool.core.review_turn import GradingPlan, Review, Turn, Undone
from studytool.core.scheduling import format_interval
from studytool.core.study import QueuedCard, StudyError, StudySession
from studytool.core.text_safety import inert
from studytool.tui.card_text import bulleted, card_line, card_markdown
from studytool.tui.dialogs import Choice, ChoiceDialog
from studytool.tui.grade_view import CriteriaList, answer_with_evidence, criterion_prompt
from studytool.tui.screens.base import StudyScreen

if TYPE_CHECKING:
    from studytool.core.grading import BackgroundGrader

class AnswerBox(TextArea):
    """The typed answer. ctrl+z undoes typing; with no typing left to undo it undoes the
    learner's last review action instead, as in Anki."""

    class NothingToUndo(Message):
        """ctrl+z with no typing left to undo."""

    def action_undo(self) -> None:
        if self.history.undo_stack:
            super().action_undo()
        else:
            self.post_message(self.NothingToUndo())


class ReviewScreen(StudyScreen[None]):
    """One study session over some decks (all when ``deck_names`` is None).

    Before the answer is shown, every printable key is text for the answer box (the commands
    are ctrl keys), so typing can never bury, suspend or leave; Esc leaves the review and
    asks first when there is a typed answer to lose. Once the answer is shown: 1–4 rate,
    ``-`` buries, ``@`` suspends (Anki's keys), u or ctrl+z undoes.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Submit answer", priority=True),
        Binding("ctrl+r", "reveal", "Show answer", priority=True),
        Binding("ctrl+g", "hint", "Hint", priority=True),
        Binding("1", "rate(1)", "Again", show=False),
        Binding("2", "rate(2)", "Hard", show=False),
        Binding("3", "rate(3)", "Good", show=False),
        Binding("4", "rate(4)", "Easy", show=False),
        Binding("minus", "bury", "Bury", key_display="-"),
        Binding("at", "suspend", "Suspend", key_display="@"),
        Binding("u,ctrl+z", "undo", "Undo"),
        Binding("d", "demo", "Demo"),
        Binding("escape", "leave", "Back"),
        # The card scrolls from wherever the focus is (a long answer pushes the rubric down).
        Binding("pagedown", "scroll_card(1)", "Scroll", show=False, priority=True),
        Binding("pageup", "scroll_card(-1)", "Scroll", show=False, priority=True),
        # Screen has no focus_next action (the App does): bound to the Screen's, Tab was swallowed.
        Binding("tab", "app.focus_next", "Next field", show=False),
        Binding("shift+tab", "app.focus_previous", "Back a field", show=False),
    ]

    # Short terminals get one-line rating keys and less spacing (see studytool.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    revealed: reactive[bool] = reactive(False)

    def __init__(self, deck_names: list[str] | None) -> None:
        super().__init__()
        self.deck_names = deck_names
        self.review: Review | None = None
        self.grader: BackgroundGrader | None = None
        self.grading_worker: Worker[GradeResult] | None = None

    # What tests and the summary read: the turn on screen, through the core review.
    @property
    def card(self) -> QueuedCard | None:
        turn = self.review.turn if self.review else None
        return turn.card if turn else None

    @property
    def rated(self) -> list[Rating]:
        return self.review.rated if self.review else []

    @property
    def grade_result(self) -> GradeResult | None:
        turn = self.review.turn if self.review else None
        return turn.grade if turn else None

    @property
    def self_grade(self) -> SelfGrade | None:
        turn = self.review.turn if self.review else None
        return turn.self_grade if turn else None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="review-status"):
            yield Static("", id="review-counts")
            yield ProgressBar(id="review-progress", show_eta=False)
        with VerticalScroll(id="review-card"):
            yield Static("", id="review-meta")
            yield Markdown("", id="question")
            yield Static("", id="hint")
            yield AnswerBox(id="answer", soft_wrap=True, tab_behavior="focus")
            yield Static(
                "ctrl+s submits your answer for grading · ctrl+r shows the answer ungraded",
                id="answer-help",
            )
            with Vertical(id="grade"):
                yield Static("", id="grade-status")
                yield Static("", id="grade-answer")
                yield CriteriaList(id="criteria")
            yield Markdown("", id="back")
            yield Static("", id="rubric")
        yield Static("", id="save-status")
        with Horizontal(id="ratings"):
            for rating in Rating:
                yield Button(
                    rating.label, id=f"rate-{int(rating)}", classes=f"rating r{int(rating)}"
                )
        yield Static("", id="summary")
        yield Footer()

    def on_mount(self) -> None:
        deck_title = ", ".join(map(inert, self.deck_names)) if self.deck_names else "all decks"
        self.sub_title = f"Review · {deck_title}"
        # Load the model while the first question is read, so the first grade is quick.
        self.grader = self.study_app.answer_grader()
        try:
            session = StudySession(self.store, self.deck_names)
        except StudyError as exc:
            self.notify(str(exc), severity="error")
            self.app.pop_screen()
            return
        self.review = Review(session, grading=self.grader is not None)
        if self.grader is not None:
            self.grader.start()
        counts = self.review.counts()
        self.query_one(ProgressBar).update(total=max(counts.total, 1), progress=0)
        self.review.next_card()
        self.show_turn()

    # -- drawing the turn on screen --------------------------------------------------------

    def show_turn(self) -> None:
        """Draw the review's current turn: a new card, or one brought back by undo."""
        assert self.review is not None
        self._cancel_grading()
        turn = self.review.turn
        self.revealed = turn is not None and turn.revealed
        self.refresh_bindings()
        self._draw_counts()
        if turn is None:
            self.show_summary()
            return
        self.remove_class("finished")
        card = turn.card
        self.query_one("#review-meta", Static).update(
            Text(f"{inert(card.deck)} · {state_label(card.state)}", style="dim")
        )
        self.query_one("#question", Markdown).update(card_markdown(card.front))
        self._draw_hints(turn)
        answer = self.query_one("#answer", AnswerBox)
        answer.load_text(turn.typed)
        answer.read_only = turn.revealed
        self.query_one("#review-card", VerticalScroll).scroll_home(animate=False)
        if not turn.revealed:
            self._clear_back()
            answer.move_cursor(answer.document.end)
            answer.focus()
            return
        self._draw_back(turn)
        if turn.grade is not None:
            self._draw_grade(turn, focus_rating=True)
        else:
            self._clear_grade()
            self.query_one(f"#rate-{int(Rating.GOOD)}", Button).focus()

    def _draw_counts(self) -> None:
        assert self.review is not None
        counts = self.review.counts()
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
        done = len(self.review.rated)
        self.query_one(ProgressBar).update(total=max(done + counts.total, 1), progress=done)

    def _draw_hints(self, turn: Turn) -> None:
        hints = Text("\n", style="italic").join(
            Text("Hint: ").append_text(card_line(hint)) for hint in turn.shown_hints
        )
        self.query_one("#hint", Static).update(hints)

    def _clear_back(self) -> None:
        self._clear_grade()
        self.remove_class("nothing-typed")
        self.query_one("#back", Markdown).update("")
        self.query_one("#rubric", Static).update("")

    def _clear_grade(self) -> None:
        self.remove_class("graded", "grading", "grade-failed", "no-criteria")
        self.query_one("#grade", Vertical).loading = False
        self.query_one("#grade-status", Static).update("")
        self.query_one("#grade-answer", Static).update("")
        self.query_one("#criteria", CriteriaList).clear_options()
        for button in self.query(".rating").results(Button):
            button.remove_class("suggested")

    def _draw_back(self, turn: Turn, *, with_rubric: bool = True) -> None:
        """The model answer, the rubric (unless the grade lists it) and each rating's interval."""
        assert self.review is not None
        card = turn.card
        # A plain reveal has nothing typed to keep on screen: give the room to the answer.
        self.set_class(not turn.typed.strip(), "nothing-typed")
        self.query_one("#back", Markdown).update(card_markdown(card.back))
        self._draw_rubric(card if with_rubric else None)
        previews = self.review.session.preview(card.card_id, self.review.clock())
        for rating in Rating:
            button = self.query_one(f"#rate-{int(rating)}", Button)
            button.label = f"{int(rating)} {rating.label} · {format_interval(previews[rating])}"

    def _draw_rubric(self, card: QueuedCard | None) -> None:
        rubric: Group | Text = Text()
        if card is not None and card.rubric:
            # A hanging indent: a criterion that wraps lines up under its first word.
            rubric = Group(
                Text("Rubric", style="bold"), bulleted(card_line(c) for c in card.rubric)
            )
        self.query_one("#rubric", Static).update(rubric)

    def watch_revealed(self, revealed: bool) -> None:
        self.set_class(revealed, "revealed")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.writing:
            # Nothing else happens until the waiting write lands or fails.
            return action in ("focus_next", "focus_previous", "scroll_card")
        turn = self.review.turn if self.review else None
        # The footer offers what makes sense now: submit/reveal before, rate after.
        if action in ("submit", "reveal", "hint"):
            return turn is not None and not turn.revealed
        if action in ("rate", "bury", "suspend"):
            return turn is not None and turn.revealed
        if action == "demo":
            return turn is not None and turn.revealed and bool(turn.card.demo)
        if action == "undo":
            # Before the answer is shown, u is a letter of the answer: only ctrl+z undoes.
            return self.review is not None and (turn is None or turn.revealed)
        return True

    def on_key(self, event: events.Key) -> None:
        """Before the answer is shown, a printable key typed anywhere goes to the answer box."""
        turn = self.review.turn if self.review else None
        if turn is None or turn.revealed or not event.is_printable or self.writing:
            return
        # The answer box inserts (and stops) the keys it receives: a printable key that gets
        # here was sent elsewhere, possibly just before the box took the focus back.
        answer = self.query_one("#answer", AnswerBox)
        event.stop()
        event.prevent_default()
        if not answer.has_focus:
            answer.focus()
        answer.insert(event.character or "")

    # -- revealing and grading -------------------------------------------------------------

    def reveal(self, *, submit: bool) -> None:
        """Show the back, the rubric and the rating keys; grade the typed answer if submitted."""
        review, turn = self.review, self.review.turn if self.review else None
        if review is None or turn is None or turn.revealed:
            return
        answer = self.query_one("#answer", AnswerBox)
        plan = review.reveal(answer.text, submit=submit)
        answer.read_only = True
        self.revealed = True
        grades = plan in (GradingPlan.GRADE, GradingPlan.DONE) and bool(turn.inputs.criteria)
        self._draw_back(turn, with_rubric=not grades)
        if plan is GradingPlan.NONE:
            # Nothing graded: the learner rates against the model answer, Good first as in Anki.
            self.query_one(f"#rate-{int(Rating.GOOD)}", Button).focus()
        elif plan is GradingPlan.DONE:
            self._draw_grade(turn, focus_rating=True)
        elif plan is GradingPlan.OFF:
            self._show_not_graded(review.grading_off_reason or "grading is off")
        else:
            self.start_grading(turn)

    def start_grading(self, turn: Turn) -> None:
        assert self.grader is not None
        self.add_class("grading")
        loading = self.grader.state in ("idle", "loading")
        self.query_one("#grade-status", Static).update(
            Text(
                "Grading your answer… (the grader model is still loading)"
                if loading
                else "Grading your answer…",
                style="dim",
            )
        )
        self.query_one("#grade", Vertical).loading = True
        # No rating button has the focus while the grade is pending: Enter must not rate.
        self.query_one("#review-card", VerticalScroll).focus()
        self.grading_worker = self._grade_in_background(self.grader, turn.inputs, turn.typed)

    @work(thread=True, exclusive=True, group="grading", exit_on_error=False)
    def _grade_in_background(
        self, grader: BackgroundGrader, inputs: GradingInputs, typed: str
    ) -> GradeResult:
        return grader.grade(inputs, typed)

    def _cancel_grading(self) -> None:
        if self.grading_worker is not None and self.grading_worker.is_running:
            self.grading_worker.cancel()
        self.grading_worker = None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker is not self.grading_worker or self.review is None or self.review.turn is None:
            return  # a write, or a grade for a card that is no longer on screen
        if event.state is WorkerState.SUCCESS:
            self.grading_worker = None
            assert isinstance(worker.result, GradeResult)
            self.review.graded(worker.result)
            self._draw_grade(self.review.turn, focus_rating=True)
        elif event.state is WorkerState.ERROR:
            self.grading_worker = None
            assert worker.error is not None
            grader_gone = self.grader is not None and self.grader.state == "failed"
            reason = self.review.grading_failed(worker.error, grader_gone=grader_gone)
            if grader_gone:
                # The model will not come back this session: stop trying on every card.
                self.grader = None
                self.notify(
                    f"{reason}\nReview goes on: grade yourself.", severity="warning", timeout=12
                )
            self._show_not_graded(reason)

    def _show_not_graded(self, reason: str) -> None:
        """No suggestion this time; the learner grades themselves against the rubric."""
        self.remove_class("grading")
        self.add_class("grade-failed")
        self.query_one("#grade", Vertical).loading = False
        turn = self.review.turn if self.review else None
        self._draw_rubric(turn.card if turn else None)
        self.query_one("#grade-status", Static).update(
            Text(f"Not graded: {reason}\nGrade yourself with the rubric.", style="dim")
        )
        self.query_one("#review-card", VerticalScroll).focus()

    def _draw_grade(self, turn: Turn, *, focus_rating: bool) -> None:
        result, self_grade = turn.grade, turn.self_grade
        assert result is not None and self_grade is not None
        self.remove_class("grading")
        self.add_class("graded")
        self.query_one("#grade", Vertical).loading = False
        self._draw_grade_status(turn)
        criteria = self.query_one("#criteria", CriteriaList)
        highlighted = criteria.highlighted
        self.set_class(not result.criteria, "no-criteria")
        criteria.clear_options()
        criteria.add_options(
            Option(criterion_prompt(c.criterion, verdict, c.evidence, c.contradicted), id=str(i))
            for i, (c, verdict) in enumerate(
                zip(result.criteria, self_grade.verdicts, strict=True)
            )
        )
        if result.criteria:
            # Highlighted, so enter or space flips at once (and the same row after a redraw).
            criteria.highlighted = min(highlighted or 0, len(result.criteria) - 1)
        self._preselect_rating(focus=focus_rating)

    def _draw_grade_status(self, turn: Turn, focus: int | None = None) -> None:
        result, self_grade = turn.grade, turn.self_grade
        assert result is not None and self_grade is not None
        status = Text()
        status.append(f"Score {result.score:.2f}", style="bold")
        suggested = self_grade.suggested_rating
        if suggested is not None:
            status.append(" · suggested ")
            status.append(Rating(suggested).label, style="bold")
            if self_grade.flipped:
                status.append(" (from your corrections)", style="dim")
        elif result.unsure:
            status.append(" · not sure: compare with the model answer", style="bold yellow")
        for mistake in result.mistakes:
            status.append("\n⚠ Known mistake: ", style="bold red")
            status.append_text(card_line(mistake.mistake))
        for note in result.notes:
            if note != NOT_SURE_NOTE:
                status.append(f"\n{inert(note)}", style="italic")
        if result.criteria:
            status.append("\ntab to the criteria · enter flips one · 1–4 rates", style="dim")
        self.query_one("#grade-status", Static).update(status)
        self.query_one("#grade-answer", Static).update(
            answer_with_evidence(turn.typed, result, self_grade.verdicts, focus)
        )

    def _preselect_rating(self, *, focus: bool) -> None:
        """Mark the suggested rating; with ``focus``, Enter accepts it. With no suggestion
        (not sure) no button is focused, so Enter cannot rate by accident."""
        suggested = self.self_grade.suggested_rating if self.self_grade else None
        for button in self.query(".rating").results(Button):
            button.set_class(button.id == f"rate-{suggested}", "suggested")
        if not focus or self.query_one("#criteria", CriteriaList).has_focus:
            return
        if suggested is not None:
            self.query_one(f"#rate-{suggested}", Button).focus()
        elif self.grade_result is not None and self.grade_result.criteria:
            self.query_one("#criteria", CriteriaList).focus()
        else:
            self.query_one("#review-card", VerticalScroll).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        turn = self.review.turn if self.review else None
        if turn is None or turn.grade is None or event.option.id is None:
            return
        assert self.review is not None
        index = int(event.option.id)
        verdict = self.review.flip(index)
        self._redraw_criterion(turn, index, verdict)

    def _redraw_criterion(self, turn: Turn, index: int, verdict: Verdict) -> None:
        assert turn.grade is not None
        criterion = turn.grade.criteria[index]
        self.query_one("#criteria", CriteriaList).replace_option_prompt_at_index(
            index,
            criterion_prompt(
                criterion.criterion, verdict, criterion.evidence, criterion.contradicted
            ),
        )
        self._draw_grade_status(turn, focus=index)
        self._preselect_rating(focus=False)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        turn = self.review.turn if self.review else None
        if turn is not None and turn.grade is not None and event.option.id is not None:
            self._draw_grade_status(turn, focus=int(event.option.id))

    def show_summary(self) -> None:
        assert self.review is not None
        review = self.review
        self.add_class("finished")
        counts = review.rating_counts()
        parts: list[RenderableType] = [Text("Done for now.\n", style="bold")]
        if review.rated:
            parts.append(Text(f"{len(review.rated)} cards in {review.minutes:.1f} min"))
            parts.append(Text(", ".join(f"{r.label} {counts[r]}" for r in Rating if counts[r])))
            missed = review.most_missed()
            if missed:
                parts.append(Text("\nRubric criteria missed most:", style="bold"))
                parts.append(
                    bulleted(
                        card_line(criterion).append(f" ({times}×)" if times > 1 else "")
                        for criterion, times in missed
                    )
                )
        else:
            parts.append(Text("Nothing was due in this selection."))
        parts.append(
            Text(
                "\nesc goes back to the decks"
                + (" · u undoes the last rating" if review.can_undo else "")
                + ".",
                style="dim",
            )
        )
        lines = Group(*parts)
        self.query_one("#summary", Static).update(lines)

    # -- actions ---------------------------------------------------------------------------

    def action_submit(self) -> None:
        self.reveal(submit=True)

    def action_reveal(self) -> None:
        self.reveal(submit=False)

    def action_hint(self) -> None:
        if self.review is None or self.review.turn is None:
            return
        if self.review.hint() is None:
            self.notify("No (more) hints for this card.")
            return
        self._draw_hints(self.review.turn)

    def action_scroll_card(self, pages: int) -> None:
        card = self.query_one("#review-card", VerticalScroll)
        if pages > 0:
            card.scroll_page_down()
        else:
            card.scroll_page_up()

    def action_rate(self, rating: int) -> None:
        review = self.review
        if review is None or review.turn is None or not review.turn.revealed:
            return
        self._cancel_grading()
        self.write(lambda: review.rate(rating), lambda _result: self.show_turn())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("rate-"):
            self.action_rate(int(event.button.id.removeprefix("rate-")))

    def action_bury(self) -> None:
        if self.review is not None:
            self._set_aside(self.review.bury, "Buried until tomorrow · u undoes.")

    def action_suspend(self) -> None:
        if self.review is not None:
            self._set_aside(self.review.suspend, "Suspended · u undoes.")

    def _set_aside(self, change: Callable[[], None], done: str) -> None:
        """Bury or suspend the card on screen, then show the next."""
        if self.review is None or self.review.turn is None:
            return

        def changed(_result: None) -> None:
            self.notify(done)
            self.show_turn()

        self._cancel_grading()
        self.write(change, changed)

    def action_undo(self) -> None:
        review = self.review
        if review is None:
            return
        if not review.can_undo:
            self.notify("Nothing to undo in this session.")
            return

        turn = review.turn
        if turn is not None and turn.flips:
            # A criterion flip of the card on screen: nothing stored to take back.
            undone = review.undo()
            assert undone is not None
            self.notify(undone.message)
            self._draw_grade(turn, focus_rating=False)
            return

        def undone_step(result: Undone | None) -> None:
            if result is not None:
                self.notify(result.message)
            self.show_turn()

        self._cancel_grading()
        self.write(review.undo, undone_step)

    def on_answer_box_nothing_to_undo(self, event: AnswerBox.NothingToUndo) -> None:
        event.stop()
        if not self.writing:
            self.action_undo()

    def action_demo(self) -> None:
        from studytool.tui.screens.demos import open_card_demo

        if self.card is not None:
            open_card_demo(self, self.card.demo)

    def action_leave(self) -> None:
        """Back to the decks; asks first when a typed answer would be lost."""
        turn = self.review.turn if self.review else None
        typed = self.query_one("#answer", AnswerBox).text if turn and not turn.revealed else ""
        if turn is None or not (typed.strip() or turn.typed.strip()):
            self.app.pop_screen()
            return

        def chosen(choice: str | None) -> None:
            if choice == "leave":
                self.app.pop_screen()

        self.app.push_screen(
            ChoiceDialog(
                "Leave the review? Your typed answer to this card is not saved "
                "(your ratings are).",
                [
                    Choice("stay", "Keep reviewing", "n"),
                    Choice("leave", "Leave", "y", variant="error"),
                ],
            ),
            chosen,
        )

    def show_write_wait(self, message: str | None) -> None:
        self.set_class(message is not None, "saving")
        self.query_one("#save-status", Static).update(
            Text(message, style="bold") if message else ""
        )
