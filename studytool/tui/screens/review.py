"""Review: question, typed answer, grading, reveal, rating with the next interval on each key.

Submitting a typed answer reveals the model answer at once and grades the answer in a thread
worker (the grader started loading when the session opened). When the grade arrives, each
rubric criterion is listed met / partly / missed with the part of the answer that supports
it, and the suggested rating is preselected. The learner can flip criteria (enter on one)
and rate as they see fit: both the automatic and the final grade are stored with the review.
A grading failure only costs the suggestion; the typed answer is kept and rating goes on.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
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

from studytool.core import locking
from studytool.core.grading import (
    NOT_SURE_NOTE,
    GradeResult,
    GraderUnavailable,
    GradingInputs,
    SelfGrade,
    Verdict,
    grade_blank_answer,
)
from studytool.core.models import utcnow
from studytool.core.scheduling import Rating, format_interval
from studytool.core.store import DatabaseLocked, StoreError
from studytool.core.study import QueuedCard, StudyError, StudySession
from studytool.core.text_safety import inert

if TYPE_CHECKING:
    from studytool.core.grading import BackgroundGrader
    from studytool.tui.app import StudyApp

STATE_LABELS = {0: "new", 1: "learning", 2: "review", 3: "relearning"}
VERDICT_STYLES = {
    Verdict.MET: ("✓", "bold green"),
    Verdict.PARTLY: ("~", "bold yellow"),
    Verdict.MISSED: ("✗", "bold red"),
}
EVIDENCE_STYLES = {Verdict.MET: "green underline", Verdict.PARTLY: "yellow underline"}
WRONG_EVIDENCE_STYLE = "red underline"  # words that contradict a criterion or make a known mistake
# A write first waits this long for another process's lock on the UI thread (unnoticeable),
# then goes on waiting in a worker while the screen says why.
QUICK_LOCK_WAIT_MS = 250


def answer_with_evidence(
    answer: str, result: GradeResult, verdicts: list[Verdict], focus: int | None
) -> Text:
    """The typed answer with each criterion's supporting span underlined in its verdict's
    colour; the focused criterion's span is shown reversed."""
    shown = inert(answer)
    if shown != answer:
        # The spans are offsets into the answer as typed; once control characters are made
        # inert they no longer line up, so such an answer is shown without highlights.
        return Text(shown)
    text = Text(answer)
    for mistake in result.mistakes:
        if mistake.evidence_span is not None:
            text.stylize(WRONG_EVIDENCE_STYLE, *mistake.evidence_span)
    for index, (criterion, verdict) in enumerate(zip(result.criteria, verdicts, strict=True)):
        span = criterion.evidence_span
        if span is None:
            continue
        if verdict is Verdict.MISSED:
            if not criterion.contradicted:
                continue
            style = WRONG_EVIDENCE_STYLE
        else:
            style = EVIDENCE_STYLES[verdict]
        text.stylize(style + (" reverse" if index == focus else ""), span[0], span[1])
    return text


def criterion_prompt(
    criterion: str, verdict: Verdict, evidence: str | None, contradicted: bool = False
) -> Text:
    """One rubric line: its verdict (or "contradicted", until the learner flips it) and the
    words of the answer the verdict rests on."""
    mark, style = VERDICT_STYLES[verdict]
    contradicted = contradicted and verdict is Verdict.MISSED
    line = Text()
    if contradicted:
        line.append(f"{mark} contradicted ", style=style)
    else:
        line.append(f"{mark} {verdict.value:<6} ", style=style)
    line.append(inert(criterion))
    if evidence and (verdict is not Verdict.MISSED or contradicted):
        shown = " ".join(evidence.split())
        if len(shown) > 60:
            shown = shown[:59] + "…"
        line.append(f"\n           “{inert(shown)}”", style="dim italic")
    return line


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
        # Screen has no focus_next action (the App does): bound to the Screen's, Tab was swallowed.
        Binding("tab", "app.focus_next", "Criteria/ratings", show=False),
        Binding("shift+tab", "app.focus_previous", "Back a field", show=False),
        Binding("h", "hint", "Hint"),
        Binding("d", "demo", "Demo"),
        Binding("u", "undo", "Undo"),
        Binding("b", "bury", "Bury"),
        Binding("s", "suspend", "Suspend"),
        Binding("q", "close", "Back"),
    ]

    # Short terminals get one-line rating keys and less spacing (see studytool.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

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
        self.grader: BackgroundGrader | None = None
        self.typed = ""
        self.grade_result: GradeResult | None = None
        self.self_grade: SelfGrade | None = None
        self.grading_worker: Worker[GradeResult] | None = None
        self.grading_off_reason: str | None = None
        # Per rating, the criteria the learner's answer missed (popped again by undo).
        self.missed: list[list[str]] = []
        # A write waiting in a worker for another process's lock, and what to do after it.
        self.save_worker: Worker[Any] | None = None
        self.after_save: Callable[[Any], None] | None = None

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
            with Vertical(id="grade"):
                yield Static("", id="grade-status")
                yield Static("", id="grade-answer")
                yield OptionList(id="criteria")
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
        try:
            assert self.study_app.store is not None
            self.session = StudySession(self.study_app.store, self.deck_names)
        except StudyError as exc:
            self.notify(str(exc), severity="error")
            self.app.pop_screen()
            return
        counts = self.session.counts(utcnow())
        self.query_one(ProgressBar).update(total=max(counts.total, 1), progress=0)
        # Load the model while the first question is read, so the first grade is quick.
        self.grader = self.study_app.answer_grader()
        if self.grader is not None:
            self.grader.start()
        self.show_next(self.session.next_card(utcnow()))

    # -- showing cards -------------------------------------------------------------------

    def show_next(self, card: QueuedCard | None) -> None:
        self.card = card
        self.revealed = False
        self.hints_shown = 0
        self._forget_grade()
        self.refresh_bindings()
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
            Text(f"{inert(card.deck)} · {STATE_LABELS.get(card.state, '')}", style="dim")
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

    def _forget_grade(self) -> None:
        if self.grading_worker is not None and self.grading_worker.is_running:
            self.grading_worker.cancel()
        self.grading_worker = None
        self.grade_result = None
        self.self_grade = None
        self.typed = ""
        self.remove_class("graded", "grading", "grade-failed", "no-criteria", "nothing-typed")
        if self.is_mounted:
            self.query_one("#grade", Vertical).loading = False
            self.query_one("#grade-status", Static).update("")
            self.query_one("#grade-answer", Static).update("")
            self.query_one("#criteria", OptionList).clear_options()
            for button in self.query(".rating").results(Button):
                button.remove_class("suggested")

    def watch_revealed(self, revealed: bool) -> None:
        self.set_class(revealed, "revealed")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.save_worker is not None:
            # Nothing else happens until the waiting write lands or fails.
            return action in ("leave_answer", "focus_next", "focus_previous")
        # The footer offers what makes sense now: submit/reveal before, rate after.
        if action in ("submit", "reveal"):
            return not self.revealed and self.card is not None
        if action in ("rate", "hint", "bury", "suspend"):
            return self.card is not None
        if action == "demo":
            return self.card is not None and bool(self.card.demo)
        return True

    def reveal(self, *, grade: bool = False) -> None:
        """Show the back, the rubric and the rating keys; grade the typed answer if asked."""
        if self.card is None or self.session is None or self.revealed:
            return
        card = self.card
        answer = self.query_one("#answer", TextArea)
        self.typed = answer.text
        self.revealed = True
        answer.disabled = True
        # A plain reveal has nothing typed to keep on screen: give the room to the answer.
        self.set_class(not self.typed.strip(), "nothing-typed")
        self.query_one("#back", Markdown).update(inert(card.back))
        inputs = card.grading_inputs()
        will_grade = grade and bool(self.typed.strip()) and self.grader is not None
        if card.rubric and not (will_grade and inputs.criteria):
            rubric = Text("Rubric\n", style="bold")
            for criterion in card.rubric:
                rubric.append(f"  • {inert(criterion)}\n")
            self.query_one("#rubric", Static).update(rubric)
        previews = self.session.preview(card.card_id, utcnow())
        for rating in Rating:
            button = self.query_one(f"#rate-{int(rating)}", Button)
            button.label = f"{int(rating)} {rating.label} · {format_interval(previews[rating])}"
        self.query_one(f"#rate-{int(Rating.GOOD)}", Button).focus()
        if grade and not self.typed.strip():
            # Submitting an empty answer says "I could not answer": Again, with no model
            # needed. (A plain reveal, space, leaves the rating to the learner.)
            self.show_grade(grade_blank_answer(inputs.criteria))
        elif will_grade:
            self.start_grading(inputs, self.typed)
        elif grade and self.typed.strip() and self.grading_off_reason:
            self.query_one("#grade-status", Static).update(
                Text(f"Not graded: {self.grading_off_reason}\nGrade yourself.", style="dim")
            )
            self.add_class("grade-failed")

    # -- grading -------------------------------------------------------------------------

    def start_grading(self, inputs: GradingInputs, typed: str) -> None:
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
        self.grading_worker = self._grade_in_background(self.grader, inputs, typed)

    @work(thread=True, exclusive=True, group="grading", exit_on_error=False)
    def _grade_in_background(
        self, grader: BackgroundGrader, inputs: GradingInputs, typed: str
    ) -> GradeResult:
        return grader.grade(inputs, typed)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker is self.save_worker and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._write_finished(worker, event.state)
            return
        if worker is not self.grading_worker:
            return  # a grade for a card that is no longer on screen
        if event.state is WorkerState.SUCCESS:
            self.grading_worker = None
            assert isinstance(worker.result, GradeResult)
            self.show_grade(worker.result)
        elif event.state is WorkerState.ERROR:
            self.grading_worker = None
            error = worker.error
            reason = str(error) if isinstance(error, GraderUnavailable) else repr(error)
            self.grading_failed(reason)

    def grading_failed(self, reason: str) -> None:
        """No suggestion this time; the learner grades themselves against the rubric."""
        self.remove_class("grading")
        self.add_class("grade-failed")
        self.query_one("#grade", Vertical).loading = False
        if self.grader is not None and self.grader.state == "failed":
            # The model will not come back this session: stop trying on every card.
            self.grading_off_reason = reason
            self.grader = None
            self.notify(
                f"{reason}\nReview goes on: grade yourself.", severity="warning", timeout=12
            )
        card = self.card
        if card is not None and card.rubric:
            rubric = Text("Rubric\n", style="bold")
            for criterion in card.rubric:
                rubric.append(f"  • {inert(criterion)}\n")
            self.query_one("#rubric", Static).update(rubric)
        self.query_one("#grade-status", Static).update(
            Text(f"Not graded: {reason}\nGrade yourself with the rubric.", style="dim")
        )

    def show_grade(self, result: GradeResult) -> None:
        self.grade_result = result
        self.self_grade = SelfGrade.start([c.criterion for c in result.criteria], result)
        self.remove_class("grading")
        self.add_class("graded")
        self.query_one("#grade", Vertical).loading = False
        self.refresh_grade()
        criteria = self.query_one("#criteria", OptionList)
        self.set_class(not result.criteria, "no-criteria")
        criteria.clear_options()
        criteria.add_options(
            Option(criterion_prompt(c.criterion, c.verdict, c.evidence, c.contradicted), id=str(i))
            for i, c in enumerate(result.criteria)
        )
        self.preselect_rating()

    def refresh_grade(self, focus: int | None = None) -> None:
        result, self_grade = self.grade_result, self.self_grade
        if result is None or self_grade is None:
            return
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
            status.append(inert(mistake.mistake))
        for note in result.notes:
            if note != NOT_SURE_NOTE:
                status.append(f"\n{inert(note)}", style="italic")
        if result.criteria:
            status.append("\nenter on a criterion flips it · 1–4 rates", style="dim")
        self.query_one("#grade-status", Static).update(status)
        self.query_one("#grade-answer", Static).update(
            answer_with_evidence(self.typed, result, self_grade.verdicts, focus)
        )

    def preselect_rating(self) -> None:
        suggested = self.self_grade.suggested_rating if self.self_grade else None
        for button in self.query(".rating").results(Button):
            button.set_class(button.id == f"rate-{suggested}", "suggested")
        if suggested is not None and not self.query_one("#criteria", OptionList).has_focus:
            self.query_one(f"#rate-{suggested}", Button).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.self_grade is None or self.grade_result is None or event.option.id is None:
            return
        index = int(event.option.id)
        verdict = self.self_grade.flip(index)
        criterion = self.grade_result.criteria[index]
        event.option_list.replace_option_prompt_at_index(
            index,
            criterion_prompt(
                criterion.criterion, verdict, criterion.evidence, criterion.contradicted
            ),
        )
        self.refresh_grade(focus=index)
        self.preselect_rating()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.refresh_grade(focus=int(event.option.id))

    def show_summary(self) -> None:
        self.add_class("finished")
        minutes = (time.monotonic() - self.started_at) / 60
        counts = Counter(self.rated)
        lines = Text("Done for now.\n\n", style="bold")
        if self.rated:
            lines.append(f"{len(self.rated)} cards in {minutes:.1f} min\n")
            lines.append(", ".join(f"{r.label} {counts[r]}" for r in Rating if counts[r]) + "\n")
            missed = Counter(c for review in self.missed for c in review)
            if missed:
                lines.append("\nRubric criteria missed most:\n", style="bold")
                for criterion, times in missed.most_common(3):
                    lines.append(
                        f"  • {inert(criterion)}" + (f" ({times}×)" if times > 1 else "") + "\n"
                    )
        else:
            lines.append("Nothing was due in this selection.\n")
        lines.append("\nq goes back to the decks.", style="dim")
        self.query_one("#summary", Static).update(lines)
        progress = self.query_one(ProgressBar)
        progress.update(total=max(len(self.rated), 1), progress=max(len(self.rated), 1))

    # -- actions -------------------------------------------------------------------------

    def action_submit(self) -> None:
        self.reveal(grade=True)

    def action_leave_answer(self) -> None:
        self.set_focus(None)

    def action_reveal(self) -> None:
        self.reveal()

    def action_rate(self, rating: int) -> None:
        if not self.revealed or self.card is None or self.session is None:
            return
        session, card_id = self.session, self.card.card_id
        typed = self.query_one("#answer", TextArea).text.strip()
        grade: dict[str, Any] = {}
        if self.grade_result is not None and self.self_grade is not None:
            grade = {
                "auto_score": self.grade_result.score,
                "auto_rating": self.grade_result.suggested_rating,
                "auto_grade": self.grade_result.to_record(),
                "final_grade": self.self_grade.final_record(rating),
            }
        missed = (
            [
                criterion
                for criterion, verdict in zip(
                    self.self_grade.criteria, self.self_grade.verdicts, strict=True
                )
                if verdict is Verdict.MISSED
            ]
            if self.self_grade is not None
            else []
        )
        answered_at = utcnow()
        duration_ms = int((time.monotonic() - self.shown_at) * 1000)

        def save() -> QueuedCard | None:
            session.answer(
                card_id,
                rating,
                answered_at,
                duration_ms=duration_ms,
                typed_answer=typed or None,
                **grade,
            )
            return session.next_card(utcnow())

        def saved(next_card: QueuedCard | None) -> None:
            self.rated.append(Rating(rating))
            self.missed.append(missed)
            self.show_next(next_card)

        self.write(save, saved)

    # -- writes that may meet another process's lock ---------------------------------------

    def write(self, change: Callable[[], Any], then: Callable[[Any], None]) -> None:
        """Make a change in the database, then ``then(result)``.

        Usually the write is done in a few milliseconds on the spot. When another studytool
        holds the database's write lock, the write keeps waiting (up to the store's busy
        timeout) in a worker, so the screen stays live and says what it waits for; if the
        lock outlasts that, nothing is saved, the card and the typed answer stay, and the
        learner can try again.
        """
        try:
            with locking.lock_wait(QUICK_LOCK_WAIT_MS):
                result = change()
        except DatabaseLocked:
            self.after_save = then
            self.add_class("saving")
            self.query_one("#save-status", Static).update(
                Text(
                    "Another studytool is writing to this database: waiting for it "
                    f"(up to {locking.BUSY_TIMEOUT_MS / 1000:g} s)…",
                    style="bold",
                )
            )
            self.save_worker = self._write_in_background(change)
            self.refresh_bindings()
            return
        except (StoreError, StudyError) as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        then(result)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _write_in_background(self, change: Callable[[], Any]) -> Any:
        return change()

    def _write_finished(self, worker: Worker[Any], state: WorkerState) -> None:
        then = self.after_save
        self.save_worker = None
        self.after_save = None
        self.remove_class("saving")
        self.query_one("#save-status", Static).update("")
        self.refresh_bindings()
        if state is WorkerState.SUCCESS and then is not None:
            then(worker.result)
        elif state is WorkerState.ERROR:
            error = worker.error
            message = str(error) if isinstance(error, StoreError | StudyError) else repr(error)
            # Nothing was saved; the card stays on screen so it can be tried again.
            self.notify(f"Not saved: {message}", severity="error", timeout=12)

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

    def action_demo(self) -> None:
        from studytool.tui.screens.demos import open_card_demo

        if self.card is not None:
            open_card_demo(self, self.card.demo)

    def action_undo(self) -> None:
        session = self.session
        if session is None:
            return
        if not session.can_undo:
            self.notify("Nothing to undo in this session.")
            return

        # Undo takes back exactly the last change: a rating, or a bury or suspend (which
        # must not roll back the rating before it).
        what = session.undo_steps[-1].kind
        messages = {
            "answer": "Undone: the rating; the card is back.",
            "bury": "Undone: the card is no longer buried.",
            "suspend": "Undone: the card is no longer suspended.",
        }

        def undone(card: QueuedCard) -> None:
            if what == "answer" and self.rated:
                self.rated.pop()
                self.missed.pop()
            self.notify(messages[what])
            self.show_next(card)

        self.write(session.undo, undone)

    def action_bury(self) -> None:
        if self.card is None or self.session is None:
            return
        session, card_id = self.session, self.card.card_id

        def bury() -> QueuedCard | None:
            session.bury(card_id, utcnow())
            return session.next_card(utcnow())

        def buried(next_card: QueuedCard | None) -> None:
            self.notify("Buried until tomorrow.")
            self.show_next(next_card)

        self.write(bury, buried)

    def action_suspend(self) -> None:
        if self.card is None or self.session is None:
            return
        session, card_id = self.session, self.card.card_id

        def suspend() -> QueuedCard | None:
            session.set_suspended(card_id)
            return session.next_card(utcnow())

        def suspended(next_card: QueuedCard | None) -> None:
            self.notify("Suspended.")
            self.show_next(next_card)

        self.write(suspend, suspended)

    def action_close(self) -> None:
        self.app.pop_screen()
