"""Interview practice: timed open questions, a follow-up after each, then a scored report.

The run itself (questions, clock, follow-ups, assessment, report) is
:class:`studytool.core.interview.InterviewSession`; this screen draws it and forwards keys.
Each answer is graded in a worker while the follow-up is answered; at the assessment step
the grader's verdicts are shown on the rubric and the learner corrects them as in review
(enter or space cycles met → partly → missed). Esc asks before ending: keep going, end and
save the questions answered so far, or discard. Reports are saved through the screen's
write worker and listed in the history screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Markdown, OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from studytool.core.grading import NOT_SURE_NOTE, GradeResult
from studytool.core.interview import (
    GradingJob,
    InterviewError,
    InterviewSession,
    Phase,
    assessment_score,
    list_reports,
    save_report,
)
from studytool.core.models import utcnow
from studytool.core.text_safety import inert
from studytool.tui.card_text import bulleted, card_line, card_markdown
from studytool.tui.dialogs import Choice, ChoiceDialog
from studytool.tui.grade_view import CriteriaList, criterion_prompt
from studytool.tui.screens.base import StudyScreen

if TYPE_CHECKING:
    from studytool.core.grading import BackgroundGrader
    from studytool.core.interview import InterviewQuestion
    from studytool.core.models import InterviewReport

CSS = Path(__file__).parent.parent / "css" / "interview.tcss"

HELP = {
    Phase.ANSWER: "Answer as you would out loud. ctrl+s submits; the timer submits for you. "
    "esc ends the interview (it asks first).",
    Phase.FOLLOW_UP: "The interviewer follows up. ctrl+s submits.",
}
VERDICT_KEYS = "enter or space cycles a criterion met → partly → missed; ctrl+s keeps them"
SCROLL_HINT = "pgup/pgdn scroll the question and model answer"


class InterviewScreen(StudyScreen[None]):
    """One interview run: for each question, answer → follow-up → assess; then the report."""

    CSS_PATH = CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Submit", priority=True),
        # One key, several meanings: the footer shows the one that applies (check_action).
        Binding("ctrl+s", "next_question", "Next", priority=True),
        Binding("ctrl+s", "save_again", "Save again", priority=True),
        Binding("escape", "stop", "End interview"),
        Binding("escape", "back", "Back"),
        # The question and model answer scroll from wherever the focus is.
        Binding("pagedown", "scroll_page(1)", "Scroll", show=False, priority=True),
        Binding("pageup", "scroll_page(-1)", "Scroll", show=False, priority=True),
        # Screen has no focus_next action (the App does).
        Binding("tab", "app.focus_next", "Next field", show=False),
        Binding("shift+tab", "app.focus_previous", "Back a field", show=False),
    ]

    def __init__(
        self,
        deck_names: list[str] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        timer: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.deck_names = deck_names
        self.clock = clock
        self.timer = timer
        self.seed = seed
        self.session: InterviewSession | None = None
        self.grader: BackgroundGrader | None = None
        self.saved: InterviewReport | None = None  # the report once it is in the database
        self.save_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="interview-status")
        with VerticalScroll(id="interview-body"):
            yield Markdown("", id="interview-question")
            yield TextArea(id="interview-answer", soft_wrap=True, tab_behavior="focus")
            yield Static("", id="interview-help")
            yield Markdown("", id="interview-reference")
        # The grade and the rubric stay in view under the scrolling question and model answer.
        yield Static("", id="interview-grade")
        yield CriteriaList(id="interview-criteria")
        with VerticalScroll(id="interview-report-scroll"):
            yield Static("", id="interview-report")
        yield Footer()

    def on_mount(self) -> None:
        import random

        settings = self.store.load_settings()
        self.grader = self.study_app.answer_grader()
        rng = random.Random(self.seed) if self.seed is not None else None
        try:
            self.session = InterviewSession.pick(
                self.store,
                settings.interview_question_count,
                self.deck_names,
                seconds_per_question=settings.interview_seconds_per_question,
                rng=rng,
                grading=self.grader is not None,
                clock=self.clock,
                timer=self.timer,
            )
        except InterviewError as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.app.pop_screen()
            return
        self.sub_title = f"Interview practice · {len(self.session.questions)} questions"
        if self.grader is not None:
            self.grader.start()
        self.ticker = self.set_interval(0.5, self._tick)
        self._show_phase()

    # -- what the tests and the footer read ----------------------------------------------

    @property
    def phase(self) -> Phase:
        return self.session.phase if self.session else Phase.ANSWER

    @property
    def questions(self) -> list[InterviewQuestion]:
        return self.session.questions if self.session else []

    def _session(self) -> InterviewSession:
        if self.session is None:
            raise RuntimeError("the interview has not started")
        return self.session

    # -- drawing -------------------------------------------------------------------------

    def _show_phase(self) -> None:
        """Draw the session's current phase: its text, which widgets show, the focus."""
        session = self._session()
        phase = session.phase
        for name in Phase:
            self.set_class(phase is name, f"phase-{name.value}")
        self.refresh_bindings()
        question = self.query_one("#interview-question", Markdown)
        reference = self.query_one("#interview-reference", Markdown)
        answer = self.query_one("#interview-answer", TextArea)
        body = self.query_one("#interview-body", VerticalScroll)
        if phase in (Phase.ANSWER, Phase.FOLLOW_UP):
            if phase is Phase.ANSWER:
                question.update(card_markdown(session.question.question))
            else:
                follow_up = session.outcomes[-1].follow_up or ""
                question.update(f"**Follow-up:** {card_markdown(follow_up)}")
            reference.update("")
            answer.text = ""
            answer.focus()
            body.scroll_home(animate=False)
            self._help(HELP[phase])
        elif phase is Phase.ASSESS:
            outcome = session.outcomes[-1]
            question.update(
                f"{card_markdown(session.question.question)}\n\n"
                f"**Your answer:** {inert(outcome.answer.text) or '(none)'}"
            )
            reference.update(f"**Model answer:** {card_markdown(session.question.reference)}")
            body.scroll_home(animate=False)
            self._draw_criteria(highlight=0)
            if session.question.rubric:
                self.query_one("#interview-criteria", CriteriaList).focus()
            else:
                body.focus()
            self._draw_assess_help()
        else:
            self._show_report()
        self._show_status()

    def _show_status(self) -> None:
        session = self._session()
        status = Text()
        if session.phase is not Phase.REPORT:
            label = {
                Phase.ANSWER: "Question",
                Phase.FOLLOW_UP: "Follow-up",
                Phase.ASSESS: "Assess",
            }[session.phase]
            status.append(f"{label} {session.index + 1} of {len(session.questions)}")
            left = session.seconds_left()
            if left is not None:
                minutes, seconds = divmod(left, 60)
                status.append("   time left ")
                status.append(
                    f"{minutes}:{seconds:02d}", style="bold red" if left <= 15 else "bold"
                )
        self.query_one("#interview-status", Static).update(status)

    def _help(self, text: str) -> None:
        self.query_one("#interview-help", Static).update(Text(text, style="dim"))

    def _grade_help(self, text: str | Text) -> None:
        shown = text if isinstance(text, Text) else Text(text, style="dim")
        self.query_one("#interview-grade", Static).update(shown)

    def _draw_criteria(self, *, highlight: int | None = None) -> None:
        session = self._session()
        criteria = self.query_one("#interview-criteria", CriteriaList)
        assessment = session.assessment
        previous = criteria.highlighted if highlight is None else highlight
        criteria.clear_options()
        self.set_class(assessment is None or not assessment.criteria, "no-criteria")
        if assessment is None or not assessment.criteria:
            return
        criteria.add_options(
            Option(self._criterion_prompt(index), id=str(index))
            for index in range(len(assessment.criteria))
        )
        # Highlighted, so enter or space judges a row at once (and the same row after a redraw).
        criteria.highlighted = min(previous or 0, len(assessment.criteria) - 1)

    def _criterion_prompt(self, index: int) -> Table:
        assessment = self._session().assessment
        assert assessment is not None
        auto = assessment.auto
        found = auto.criteria[index] if auto and len(auto.criteria) > index else None
        return criterion_prompt(
            assessment.criteria[index],
            assessment.verdicts[index],
            found.evidence if found else None,
            found.contradicted if found else False,
        )

    def _draw_assess_help(self, not_graded: str | None = None) -> None:
        session = self._session()
        assessment = session.assessment
        if assessment is None:
            return
        if not assessment.criteria:
            self._grade_help(
                "This question has no rubric: compare your answer with the model answer, "
                f"then ctrl+s for the next question. {SCROLL_HINT}."
            )
            return
        text = Text()
        score = assessment_score(assessment.verdicts)
        text.append(f"Score {score:.0%}" if score is not None else "Score –", style="bold")
        result: GradeResult | None = assessment.auto
        if assessment.flipped:
            text.append(" (your verdicts)")
        elif result is not None:
            text.append(" (the grader's verdicts)")
        if session.waiting_for_grade:
            text.append(" · grading your answer… judge the criteria yourself or wait for it.")
        elif result is None:
            reason = not_graded or session.grading_off_reason
            if reason and reason != "grading is off":
                text.append(f" · not graded ({inert(reason)})")
            text.append(" · judge each criterion against the model answer.")
        else:
            if result.unsure:
                text.append(" · not sure: compare with the model answer.", style="bold")
            for mistake in result.mistakes:
                text.append("\n⚠ Known mistake: ", style="bold").append_text(card_line(mistake.mistake))
            for note in result.notes:
                if note != NOT_SURE_NOTE:
                    text.append(f"\n{inert(note)}", style="italic")
        text.append(f"\n{VERDICT_KEYS} and goes on · {SCROLL_HINT}", style="dim")
        self._grade_help(text)

    def _tick(self) -> None:
        session = self.session
        if session is None or not session.timed:
            return
        if session.time_is_up:
            self._submit(timed_out=True)
        else:
            self._show_status()

    # -- answering -----------------------------------------------------------------------

    def action_submit(self) -> None:
        self._submit(timed_out=False)

    def _submit(self, *, timed_out: bool) -> None:
        session = self._session()
        if session.phase not in (Phase.ANSWER, Phase.FOLLOW_UP):
            return
        text = self.query_one("#interview-answer", TextArea).text
        job = session.submit(text, timed_out=timed_out)
        if job is not None and self.grader is not None:
            self._grade_answer(self.grader, job)
        self._show_phase()

    def action_next_question(self) -> None:
        session = self._session()
        if session.phase is Phase.ASSESS:
            session.finish_assessment()
            self._show_phase()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        session = self._session()
        if session.phase is not Phase.ASSESS or event.option.id is None:
            return
        index = int(event.option.id)
        session.flip(index)
        self.query_one("#interview-criteria", CriteriaList).replace_option_prompt_at_index(
            index, self._criterion_prompt(index)
        )
        self._draw_assess_help()

    # -- grading -------------------------------------------------------------------------

    @work(thread=True, group="interview-grading", exit_on_error=False)
    def _grade_answer(self, grader: BackgroundGrader, job: GradingJob) -> tuple[int, GradeResult]:
        return job.index, grader.grade(job.inputs, job.answer)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "interview-grading" or self.session is None:
            return
        session = self.session
        if event.state is WorkerState.SUCCESS:
            index, result = event.worker.result  # type: ignore[misc]
            if session.graded(index, result):
                self._draw_criteria()
            if session.phase is Phase.ASSESS and index == session.index:
                self._draw_assess_help()
        elif event.state is WorkerState.ERROR:
            assert event.worker.error is not None
            grader_gone = self.grader is not None and self.grader.state == "failed"
            reason = session.grading_failed(event.worker.error, grader_gone=grader_gone)
            if grader_gone and self.grader is not None:
                self.grader = None  # it will not come back: stop trying on every question
                self.notify(
                    f"{reason}\nJudge the criteria yourself.", severity="warning", timeout=12
                )
            if session.phase is Phase.ASSESS:
                self._draw_assess_help(not_graded=reason)

    # -- scrolling -----------------------------------------------------------------------

    def action_scroll_page(self, direction: int) -> None:
        target = "#interview-report-scroll" if self.phase is Phase.REPORT else "#interview-body"
        scroll = self.query_one(target, VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)

    # -- ending --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        phase = self.phase
        if action == "submit":
            return phase in (Phase.ANSWER, Phase.FOLLOW_UP)
        if action == "next_question":
            return phase is Phase.ASSESS
        if action == "stop":
            return phase is not Phase.REPORT
        if action == "save_again":
            return phase is Phase.REPORT and self.save_error is not None and not self.writing
        if action == "back":
            return phase is Phase.REPORT and not self.writing
        return True

    def action_stop(self) -> None:
        """Esc before the report: ask whether to keep going, end and save, or discard."""
        session = self._session()
        typing = session.phase in (Phase.ANSWER, Phase.FOLLOW_UP)
        typed = typing and bool(self.query_one("#interview-answer", TextArea).text.strip())
        if not session.answered and not typed:
            self.app.pop_screen()  # nothing to lose
            return
        session.pause()
        keep_going = Choice("continue", "Keep going", "n")
        if not session.answered:
            question = "Leave the interview? No answer has been submitted, so nothing is saved."
            choices = [keep_going, Choice("discard", "Leave", "y", variant="error")]
        else:
            count = session.answered
            answered = f"{count} answered question{'' if count == 1 else 's'}"
            lost = " The answer you are typing is not kept." if typed else ""
            question = (
                f"End the interview? End and save keeps a report of the {answered}.{lost} "
                "Discard keeps nothing."
            )
            choices = [
                keep_going,
                Choice("save", "End and save", "s", variant="primary"),
                Choice("discard", "Discard", "d", variant="error"),
            ]
        self.app.push_screen(ChoiceDialog(question, choices), self._stop_chosen)

    def _stop_chosen(self, choice: str | None) -> None:
        session = self._session()
        if choice == "save":
            session.end()
            self._show_phase()
        elif choice == "discard":
            self.app.pop_screen()
        else:
            session.resume()

    def _show_report(self) -> None:
        session = self._session()
        self.sub_title = "Interview practice · report"
        scroll = self.query_one("#interview-report-scroll", VerticalScroll)
        scroll.scroll_home(animate=False)
        scroll.focus()  # so down, pgdn, end and home scroll it
        if not session.outcomes:
            self.query_one("#interview-report", Static).update(
                "No question was answered, so there is no report. esc goes back."
            )
            return
        self._draw_report(session.report(), "Saving the report…")
        self._save_report()

    def _save_report(self) -> None:
        report = self._session().report()
        store = self.store

        def change() -> InterviewReport:
            save_report(store, report)
            return report

        self.save_error = None
        self.write(change, self._report_saved, failed=self._report_not_saved)

    def _report_saved(self, report: InterviewReport) -> None:
        self.saved = report
        self.save_error = None
        self.refresh_bindings()
        self._draw_report(
            report,
            "Saved. esc goes back; h on the home screen lists past reports. "
            "↓ pgdn end scroll this report.",
        )

    def _report_not_saved(self, message: str) -> None:
        self.save_error = message
        self.refresh_bindings()
        self._draw_report(
            self._session().report(),
            f"Not saved: {message}\nctrl+s tries again; esc leaves without saving.",
        )

    def _draw_report(self, report: InterviewReport, note: str) -> None:
        self.query_one("#interview-report", Static).update(
            Group(render_report(report), Text(f"\n{note}", style="dim"))
        )

    def action_save_again(self) -> None:
        if self.phase is Phase.REPORT and self.save_error is not None:
            self._save_report()

    def action_back(self) -> None:
        self.app.pop_screen()


MISSED_LABEL = "✗ missed "
PARTLY_LABEL = "~ partly "


def render_report(report: InterviewReport) -> RenderableType:
    """A report: overall score, each question's score, misses and time, weakest topics.

    Each question wraps under its own first word (a hanging indent), so the report reads
    well at any width: it is wrapped to the widget, never before."""
    parts: list[RenderableType] = []
    overall = "–" if report.overall_score is None else f"{report.overall_score:.0%}"
    count = len(report.results)
    heading = Text(f"Overall score {overall}", style="bold")
    heading.append(f"  ·  {count} question{'' if count == 1 else 's'}\n", style="not bold")
    parts.append(heading)
    for number, result in enumerate(report.results, 1):
        parts.append(_result_block(number, result))
    if report.weakest_topics:
        weakest = Text("Weakest topics: ", style="bold")
        weakest.append(
            ", ".join(f"{inert(t['topic'])} ({t['score']:.0%})" for t in report.weakest_topics),
            style="not bold",
        )
        parts.append(weakest)
    return Group(*parts)


def _result_block(number: int, result: dict[str, Any]) -> Table:
    score = "–" if result["score"] is None else f"{result['score']:.0%}"
    detail = Text(f"score {score}", style="dim")
    # Reports saved before interviews could be ended early have no "assessed": all were.
    if not result.get("assessed", True):
        detail.append(
            " (the grader's, not checked by you)"
            if result["score"] is not None
            else " (not assessed)",
            style="dim",
        )
    detail.append(f" · {result['seconds']:.0f} s", style="dim")
    if result["timed_out"]:
        detail.append(" (time ran out)", style="dim")
    lines: list[RenderableType] = [card_line(result["question"]), detail]
    for label, key in ((MISSED_LABEL, "criteria_missed"), (PARTLY_LABEL, "criteria_partly")):
        criteria = [card_line(criterion) for criterion in result.get(key, [])]
        if criteria:
            lines.append(bulleted(criteria, bullet=label))
    lines.append(Text(""))
    label = f"{number}. "
    block = Table.grid(padding=0)
    block.add_column(width=len(label), no_wrap=True)
    block.add_column(ratio=1)
    block.add_row(Text(label, style="bold"), Group(*lines))
    return block


class InterviewHistoryScreen(StudyScreen[None]):
    """Past interview reports, newest first: ↑↓ choose one, and it is shown below; pgup/pgdn
    scroll it from the list, and enter (or tab) moves into it (then ↓, end, home too)."""

    CSS_PATH = CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back"),
        Binding("pagedown", "scroll_report(1)", "Scroll", show=False, priority=True),
        Binding("pageup", "scroll_report(-1)", "Scroll", show=False, priority=True),
        Binding("tab", "app.focus_next", "Next field", show=False),
        Binding("shift+tab", "app.focus_previous", "Back a field", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="interview-history", cursor_type="row")
        yield Static(
            Text(
                "↑↓ choose a report · pgup/pgdn scroll it · enter or tab reads it "
                "(↓ end home) · esc back",
                style="dim",
            ),
            id="interview-history-help",
        )
        with VerticalScroll(id="interview-history-scroll"):
            yield Static("", id="interview-history-report")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Interview reports"
        self.reports = list_reports(self.store)
        table = self.query_one(DataTable)
        table.add_columns("Date", "Questions", "Score", "Weakest topic")
        for report in self.reports:
            score = "–" if report.overall_score is None else f"{report.overall_score:.0%}"
            weakest = report.weakest_topics[0]["topic"] if report.weakest_topics else "–"
            table.add_row(
                report.started_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                str(len(report.results)),
                score,
                Text(inert(weakest)),
            )
        if not self.reports:
            self.query_one("#interview-history-report", Static).update(
                "No interview reports yet: press p on the home screen to practise."
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.reports):
            self.query_one("#interview-history-report", Static).update(
                render_report(self.reports[event.cursor_row])
            )
            self.query_one("#interview-history-scroll", VerticalScroll).scroll_home(animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.query_one("#interview-history-scroll", VerticalScroll).focus()

    def action_scroll_report(self, direction: int) -> None:
        scroll = self.query_one("#interview-history-scroll", VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down(animate=False)
        else:
            scroll.scroll_page_up(animate=False)

    def action_back(self) -> None:
        self.app.pop_screen()
