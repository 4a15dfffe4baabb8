"""Interview practice: timed open questions, a follow-up after each, then a scored report.

Each answer is graded against the card's rubric in a worker while the follow-up is answered;
at the assessment step the criteria the grader found are already ticked, with its score, and
the learner corrects the ticks (rubric self-grading), which gives the question's score. If
the grader cannot run, the learner ticks the criteria themselves. Reports are saved and
listed in the history screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Markdown, SelectionList, Static, TextArea
from textual.worker import Worker, WorkerState

from studytool.core.grading import GradeResult, GraderUnavailable, GradingInputs, Verdict
from studytool.core.text_safety import inert

if TYPE_CHECKING:
    from studytool.core.grading import BackgroundGrader
    from studytool.core.interview import InterviewQuestion, QuestionOutcome
    from studytool.core.models import InterviewReport
    from studytool.tui.app import StudyApp

CSS = Path(__file__).parent.parent / "css" / "interview.tcss"


def _clock() -> datetime:
    return datetime.now(UTC)


class InterviewScreen(Screen[None]):
    """One interview run: for each question, answer → follow-up → assess; then the report."""

    CSS_PATH = CSS
    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit", priority=True),
        # One key, two meanings: the footer says which applies now (see check_action).
        Binding("escape", "stop", "Stop"),
        Binding("escape", "back", "Back"),
    ]

    phase: reactive[str] = reactive("answer")
    remaining: reactive[int] = reactive(0)

    def __init__(
        self,
        deck_names: list[str] | None = None,
        *,
        clock: Callable[[], datetime] = _clock,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.deck_names = deck_names
        self.clock = clock
        self.seed = seed
        self.questions: list[InterviewQuestion] = []
        self.outcomes: list[QuestionOutcome] = []
        self.index = 0
        self.started_at = clock()
        self.phase_started = time.monotonic()
        self.seconds_per_question = 180
        self.grader: BackgroundGrader | None = None
        self.grades: dict[int, GradeResult] = {}  # question index -> the grader's result
        self.applied_grade: int | None = None  # the question whose grade is ticked on screen

    @property
    def study_app(self) -> StudyApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="interview-status")
        with VerticalScroll(id="interview-body"):
            yield Markdown("", id="interview-question")
            yield TextArea(id="interview-answer", soft_wrap=True, tab_behavior="focus")
            yield Static("", id="interview-help")
            yield Markdown("", id="interview-reference")
            yield SelectionList[int](id="interview-criteria")
        yield Static("", id="interview-report")
        yield Footer()

    def on_mount(self) -> None:
        import random

        from studytool.core.interview import InterviewError, pick_questions

        store = self.study_app.store
        assert store is not None
        settings = store.load_settings()
        self.seconds_per_question = settings.interview_seconds_per_question
        rng = random.Random(self.seed) if self.seed is not None else None
        try:
            self.questions = pick_questions(
                store, settings.interview_question_count, self.deck_names, rng=rng
            )
        except InterviewError as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.app.pop_screen()
            return
        self.sub_title = f"Interview practice · {len(self.questions)} questions"
        self.grader = self.study_app.answer_grader()
        if self.grader is not None:
            self.grader.start()
        self.timer = self.set_interval(1.0, self._tick)
        self._start_question()

    # -- phases --------------------------------------------------------------------------

    @property
    def question(self) -> InterviewQuestion:
        return self.questions[self.index]

    def _start_question(self) -> None:
        self._enter("answer", self.seconds_per_question)
        self.query_one("#interview-question", Markdown).update(inert(self.question.question))
        self.query_one("#interview-reference", Markdown).update("")

    def _enter(self, phase: str, seconds: int) -> None:
        self.phase = phase
        self.remaining = seconds
        self.phase_started = time.monotonic()
        answer = self.query_one("#interview-answer", TextArea)
        answer.text = ""
        answer.disabled = phase == "assess"
        if phase != "assess":
            answer.focus()
        help_text = {
            "answer": "Answer as you would out loud. ctrl+s submits; the timer submits for you.",
            "follow-up": "The interviewer follows up. ctrl+s submits.",
            "assess": "Tick the criteria your answer met (space), then ctrl+s for the next question.",
        }[phase]
        self.query_one("#interview-help", Static).update(Text(help_text, style="dim"))
        self._show_status()

    def watch_phase(self, phase: str) -> None:
        for name in ("answer", "follow-up", "assess", "report"):
            self.set_class(phase == name, f"phase-{name}")
        self.refresh_bindings()

    def _show_status(self) -> None:
        if self.phase == "report" or not self.questions:
            return
        label = {"answer": "Question", "follow-up": "Follow-up", "assess": "Assess"}[self.phase]
        status = Text(f"{label} {self.index + 1} of {len(self.questions)}")
        if self.phase != "assess":
            minutes, seconds = divmod(max(self.remaining, 0), 60)
            style = "bold red" if self.remaining <= 15 else "bold"
            status.append("   time left ")
            status.append(f"{minutes}:{seconds:02d}", style=style)
        self.query_one("#interview-status", Static).update(status)

    def _tick(self) -> None:
        if self.phase not in ("answer", "follow-up"):
            return
        self.remaining -= 1
        self._show_status()
        if self.remaining <= 0:
            self._submit(timed_out=True)

    def action_submit(self) -> None:
        self._submit(timed_out=False)

    def _submit(self, *, timed_out: bool) -> None:
        from studytool.core.interview import AnswerRecord, QuestionOutcome

        if not self.questions or self.phase == "report":
            return
        text = self.query_one("#interview-answer", TextArea).text.strip()
        seconds = time.monotonic() - self.phase_started
        if self.phase == "answer":
            record = AnswerRecord(text=text, seconds=seconds, timed_out=timed_out)
            self.outcomes.append(QuestionOutcome(self.question, record))
            if self.grader is not None and text and self.question.rubric:
                # Graded while the follow-up is answered; the rubric describes this answer.
                inputs = GradingInputs(
                    self.question.question,
                    self.question.reference,
                    list(self.question.rubric),
                    mistakes=list(self.question.mistakes),
                )
                self._grade_answer(self.grader, self.index, inputs, text)
            follow_ups = self.question.follow_ups
            if follow_ups:
                self.outcomes[-1].follow_up = follow_ups[0]
                self.query_one("#interview-question", Markdown).update(
                    f"**Follow-up:** {inert(follow_ups[0])}"
                )
                self._enter("follow-up", max(self.seconds_per_question // 2, 10))
            else:
                self._assess()
        elif self.phase == "follow-up":
            self.outcomes[-1].follow_up_answer = AnswerRecord(
                text=text, seconds=seconds, timed_out=timed_out
            )
            self._assess()
        elif self.phase == "assess":
            self._record_assessment()
            self.index += 1
            if self.index < len(self.questions):
                self._start_question()
            else:
                self._finish()

    # -- grading -------------------------------------------------------------------------

    @work(thread=True, group="interview-grading", exit_on_error=False)
    def _grade_answer(
        self, grader: BackgroundGrader, index: int, inputs: GradingInputs, text: str
    ) -> tuple[int, GradeResult]:
        return index, grader.grade(inputs, text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "interview-grading":
            return
        if event.state is WorkerState.SUCCESS:
            index, result = event.worker.result  # type: ignore[misc]
            self.grades[index] = result
            criteria = self.query_one("#interview-criteria", SelectionList)
            if (
                self.phase == "assess"
                and index == self.index
                and self.applied_grade != index
                and not criteria.selected  # never undo ticks the learner has made
            ):
                self._apply_grade(result)
        elif event.state is WorkerState.ERROR and self.grader is not None:
            error = event.worker.error
            reason = str(error) if isinstance(error, GraderUnavailable) else repr(error)
            if self.grader.state == "failed":
                self.grader = None  # it will not come back: stop trying on every question
                self.notify(f"{reason}\nTick the criteria yourself.", severity="warning", timeout=12)
            if self.phase == "assess":
                self._assess_help(f"Not graded ({reason}). Tick the criteria your answer met.")

    def _apply_grade(self, result: GradeResult) -> None:
        """Tick the criteria the grader found met and show its verdicts beside each."""
        criteria = self.query_one("#interview-criteria", SelectionList)
        criteria.clear_options()
        marks = {Verdict.MET: "✓", Verdict.PARTLY: "~", Verdict.MISSED: "✗"}
        for index, criterion in enumerate(result.criteria):
            if criterion.contradicted:
                prompt = Text("✗ contradicted: ", style="bold red")
            else:
                prompt = Text(f"{marks[criterion.verdict]} ", style="dim")
            prompt.append(inert(criterion.criterion))
            criteria.add_option((prompt, index, criterion.verdict is Verdict.MET))
        self.applied_grade = self.index
        found = "".join(f" Known mistake: {inert(m.mistake)}." for m in result.mistakes)
        sure = " Not sure: compare with the model answer." if result.unsure else ""
        self._assess_help(
            f"The grader ticked what it found (score {result.score:.2f}, "
            f"~ = partly).{found}{sure} Correct the ticks with space, then ctrl+s."
        )

    def _assess_help(self, text: str) -> None:
        self.query_one("#interview-help", Static).update(Text(text, style="dim"))

    def _assess(self) -> None:
        outcome = self.outcomes[-1]
        self.query_one("#interview-question", Markdown).update(
            f"{inert(self.question.question)}\n\n**Your answer:** {inert(outcome.answer.text) or '(none)'}"
        )
        self.query_one("#interview-reference", Markdown).update(
            f"**Model answer:** {inert(self.question.reference)}"
        )
        criteria = self.query_one("#interview-criteria", SelectionList)
        criteria.clear_options()
        criteria.add_options(
            [
                (Text(inert(criterion)), index)
                for index, criterion in enumerate(self.question.rubric)
            ]
        )
        self._enter("assess", 0)
        criteria.focus()
        result = self.grades.get(self.index)
        if result is not None:
            self._apply_grade(result)
        elif self.grader is not None and outcome.answer.text and self.question.rubric:
            self._assess_help("Grading your answer… tick the criteria yourself or wait for it.")

    def _record_assessment(self) -> None:
        outcome = self.outcomes[-1]
        rubric = self.question.rubric
        met = set(self.query_one("#interview-criteria", SelectionList).selected)
        if rubric:
            outcome.answer.score = len(met) / len(rubric)
            outcome.answer.criteria_missed = [c for i, c in enumerate(rubric) if i not in met]
        auto = self.grades.get(self.index) if self.applied_grade == self.index else None
        auto_met = {i for i, c in enumerate(auto.criteria) if c.verdict is Verdict.MET} if auto else None
        outcome.answer.grade = {
            "by": "grader" if auto_met == met else "self",
            "met": sorted(met),
            **({"auto": auto.to_record()} if auto else {}),
        }

    def _finish(self) -> None:
        from studytool.core.interview import build_report, save_report

        store = self.study_app.store
        assert store is not None
        report = build_report(
            self.outcomes,
            started_at=self.started_at,
            finished_at=self.clock(),
            seconds_per_question=self.seconds_per_question,
        )
        save_report(store, report)
        self.phase = "report"
        self.sub_title = "Interview practice · report"
        self.query_one("#interview-status", Static).update("")
        shown = render_report(report)
        shown.append("\nescape goes back; h on the home screen lists past reports.", style="dim")
        self.query_one("#interview-report", Static).update(shown)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("submit", "stop"):
            return self.phase != "report"
        if action == "back":
            return self.phase == "report"
        return True

    def action_stop(self) -> None:
        self.action_close()

    def action_back(self) -> None:
        self.action_close()

    def action_close(self) -> None:
        if self.phase != "report":
            # Questions already assessed make a (shorter) report; the one in progress has no
            # score yet and is dropped.
            assessed = self.outcomes[: self.index]
            if assessed:
                self.outcomes = assessed
                self._finish()
                self.notify(
                    f"Interview stopped after {len(assessed)} of {len(self.questions)} "
                    "questions; their report is saved. esc again goes back."
                )
                return
            if self.outcomes:
                self.notify("Interview stopped before any answer was assessed; nothing was saved.")
        self.app.pop_screen()


def render_report(report: InterviewReport) -> Text:
    """A report as text: overall score, each question's score, misses and time, weakest topics."""
    text = Text()
    overall = "–" if report.overall_score is None else f"{report.overall_score:.0%}"
    text.append(f"Overall score {overall}", style="bold")
    count = len(report.results)
    text.append(f"  ·  {count} question{'' if count == 1 else 's'}\n\n")
    for number, result in enumerate(report.results, 1):
        score = "–" if result["score"] is None else f"{result['score']:.0%}"
        timing = f"{result['seconds']:.0f} s" + (" (time ran out)" if result["timed_out"] else "")
        text.append(f"{number}. ", style="bold")
        text.append(inert(result["question"]))
        text.append(f"\n   score {score} · {timing}\n", style="dim")
        for missed in result["criteria_missed"]:
            text.append(f"   ✗ {inert(missed)}\n", style="red")
        text.append("\n")
    if report.weakest_topics:
        text.append("Weakest topics: ", style="bold")
        text.append(
            ", ".join(f"{inert(t['topic'])} ({t['score']:.0%})" for t in report.weakest_topics)
        )
        text.append("\n")
    return text


class InterviewHistoryScreen(Screen[None]):
    """Past interview reports, newest first; Enter shows one."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="interview-history", cursor_type="row")
        yield Static("", id="interview-history-report")
        yield Footer()

    def on_mount(self) -> None:
        from studytool.core.interview import list_reports

        self.sub_title = "Interview reports"
        store = self.app.store  # type: ignore[attr-defined]
        self.reports = list_reports(store)
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
