"""Interview practice: a timed run of open questions, their follow-ups, and a saved report.

An :class:`InterviewSession` is the whole run, as the learner drives it: for each question
an answer against the clock, the card's follow-up, then the assessment (the grader's
verdicts on the rubric, which the learner corrects as in review: met, partly or missed),
and finally the report (score per question, criteria missed, time, weakest topics). The
front end draws it, forwards keys, runs the grader where it can wait for it, and saves the
report; the clocks are injected, so tests can drive time.
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from studytool.core.grading import (
    VERDICT_CREDIT,
    GradeResult,
    GradingInputs,
    GradingSwitch,
    SelfGrade,
    Verdict,
    grade_blank_answer,
    is_blank,
)
from studytool.core.models import Card, Deck, InterviewReport, Note, NoteKind, utcnow
from studytool.core.store import Store


class InterviewError(Exception):
    """An interview cannot start (no interview questions in the chosen decks)."""


@dataclass(frozen=True)
class InterviewQuestion:
    card_id: int
    key: str
    deck: str
    question: str
    reference: str
    rubric: list[str]
    follow_ups: list[str]
    topics: list[str]
    mistakes: list[str] = field(default_factory=list)  # known wrong claims (deck field X:)


@dataclass
class AnswerRecord:
    """One typed answer: what was written, how long it took, and how it was assessed."""

    text: str
    seconds: float
    timed_out: bool = False
    score: float | None = None  # None when it was not assessed (no rubric, no grade)
    criteria_missed: list[str] = field(default_factory=list)
    criteria_partly: list[str] = field(default_factory=list)
    grade: dict[str, Any] | None = None  # the assessment and the grader's result, as JSON


@dataclass
class QuestionOutcome:
    question: InterviewQuestion
    answer: AnswerRecord
    follow_up: str | None = None
    follow_up_answer: AnswerRecord | None = None
    # The learner confirmed the assessment. An interview ended early keeps the question
    # answered last with the grader's verdicts (or no score) and says it was not checked.
    assessed: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.question.key,
            "deck": self.question.deck,
            "question": self.question.question,
            "topics": self.question.topics,
            "answer": self.answer.text,
            "seconds": round(self.answer.seconds, 1),
            "timed_out": self.answer.timed_out,
            "score": self.answer.score,
            "criteria_missed": self.answer.criteria_missed,
            "criteria_partly": self.answer.criteria_partly,
            "assessed": self.assessed,
            "grade": self.answer.grade,
            "follow_up": self.follow_up,
            "follow_up_answer": self.follow_up_answer.text if self.follow_up_answer else None,
            "follow_up_seconds": round(self.follow_up_answer.seconds, 1)
            if self.follow_up_answer
            else None,
            "follow_up_score": self.follow_up_answer.score if self.follow_up_answer else None,
        }


def pick_questions(
    store: Store,
    count: int,
    deck_names: list[str] | None = None,
    rng: random.Random | None = None,
) -> list[InterviewQuestion]:
    """``count`` interview questions, those practised least recently first, in random order."""
    rng = rng or random.Random()
    columns: list[Any] = [Card.id, Note.key, Deck.name, Note.question, Note.answer]
    columns += [Note.rubric, Note.follow_ups, Note.tags, Note.mistakes]
    query = (
        select(*columns)
        .join(Note, col(Note.id) == col(Card.note_id))
        .join(Deck, col(Deck.id) == col(Note.deck_id))
        .where(
            col(Note.kind) == NoteKind.INTERVIEW.value,
            col(Card.ordinal) == 0,
            col(Card.suspended).is_(False),
        )
    )
    if deck_names:
        query = query.where(col(Deck.name).in_(deck_names))
    with store.session() as session:
        rows = list(session.execute(query).all())
        practised: dict[str, datetime] = {}
        for started_at, results in session.execute(
            select(col(InterviewReport.started_at), col(InterviewReport.results)).order_by(
                col(InterviewReport.started_at)
            )
        ):
            for result in results:
                practised[result["key"]] = started_at
    if not rows:
        where = f"in {', '.join(deck_names)}" if deck_names else "in any deck"
        raise InterviewError(
            f'no interview questions {where}; import a deck with `kind = "interview"` in its front matter'
        )
    rng.shuffle(rows)
    # Never practised first, then the longest ago; the shuffle (sort is stable) breaks ties.
    never = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda row: practised.get(row.key, never))
    chosen = rows[:count]
    rng.shuffle(chosen)
    deck_tags = _tags_on_every_question(rows)
    return [
        InterviewQuestion(
            card_id=row.id,
            key=row.key,
            deck=row.name,
            question=row.question,
            reference=row.answer,
            rubric=list(row.rubric),
            follow_ups=list(row.follow_ups),
            topics=[tag for tag in row.tags if tag not in deck_tags] or [row.name],
            mistakes=list(row.mistakes),
        )
        for row in chosen
    ]


def _tags_on_every_question(rows: list[Any]) -> set[str]:
    """Tags every question carries (a deck-wide ``interview`` tag) say nothing about topics."""
    if len(rows) < 2:
        return set()
    common = set(rows[0].tags)
    for row in rows[1:]:
        common &= set(row.tags)
    return common


def weakest_topics(outcomes: list[QuestionOutcome], limit: int = 3) -> list[dict[str, Any]]:
    """Topics by mean score, weakest first (only graded answers count)."""
    scores: dict[str, list[float]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.answer.score is None:
            continue
        for topic in outcome.question.topics:
            scores[topic].append(outcome.answer.score)
    ranked = sorted(
        (
            {"topic": topic, "score": sum(values) / len(values), "questions": len(values)}
            for topic, values in scores.items()
        ),
        key=lambda item: (item["score"], item["topic"]),
    )
    return ranked[:limit]


def build_report(
    outcomes: list[QuestionOutcome],
    *,
    started_at: datetime,
    finished_at: datetime,
    seconds_per_question: int,
) -> InterviewReport:
    graded = [outcome.answer.score for outcome in outcomes if outcome.answer.score is not None]
    return InterviewReport(
        started_at=started_at,
        finished_at=finished_at,
        decks=sorted({outcome.question.deck for outcome in outcomes}),
        seconds_per_question=seconds_per_question,
        overall_score=sum(graded) / len(graded) if graded else None,
        results=[outcome.to_json() for outcome in outcomes],
        weakest_topics=weakest_topics(outcomes),
    )


def save_report(store: Store, report: InterviewReport) -> int:
    with store.transaction() as session:
        session.add(report)
        session.flush()
        assert report.id is not None
        return report.id


def list_reports(store: Store, limit: int = 50) -> list[InterviewReport]:
    """Saved reports, newest first."""
    with store.session() as session:
        return list(
            session.scalars(
                select(InterviewReport)
                .order_by(col(InterviewReport.started_at).desc())
                .limit(limit)
            )
        )


# --------------------------------------------------------------------------------------
# The session


class Phase(StrEnum):
    """Where the interview is; the front end shows one view per phase."""

    ANSWER = "answer"
    FOLLOW_UP = "follow-up"
    ASSESS = "assess"
    REPORT = "report"


# A follow-up is timed at half the question's time, and never less than this.
MIN_FOLLOW_UP_SECONDS = 10


@dataclass(frozen=True)
class GradingJob:
    """An answer for the grader. The front end runs it where it can wait for the model (a
    worker thread), then hands the result to :meth:`InterviewSession.graded`."""

    index: int  # the question's position in the interview
    inputs: GradingInputs
    answer: str


def assessment_score(verdicts: Sequence[Verdict]) -> float | None:
    """The credit a rubric earns, counted as review counts it: met 1, partly ½, missed 0."""
    if not verdicts:
        return None
    return sum(VERDICT_CREDIT[verdict] for verdict in verdicts) / len(verdicts)


def assessment_record(self_grade: SelfGrade, *, assessed: bool) -> dict[str, Any]:
    """What a report keeps of one assessment, in the words review's ``final_grade`` uses
    ("learner" once the learner changed a verdict or there was no automatic grade)."""
    changed = self_grade.flipped or self_grade.auto is None
    record: dict[str, Any] = {
        "by": "learner" if changed else "grader",
        "changed": changed,
        "assessed": assessed,
        "criteria": [
            {"criterion": criterion, "verdict": verdict.value}
            for criterion, verdict in zip(self_grade.criteria, self_grade.verdicts, strict=True)
        ],
    }
    if self_grade.auto is not None:
        record["auto"] = self_grade.auto.to_record()
    return record


class InterviewSession(GradingSwitch):
    """One interview run: for each question answer → follow-up (if the card has one) →
    assess; then the report.

    ``clock`` gives the report's timestamps and ``timer`` (monotonic seconds) times the
    answers; both are injected so tests can drive time. Nothing here writes: the front end
    saves :meth:`report` when the phase is REPORT.
    """

    def __init__(
        self,
        questions: Sequence[InterviewQuestion],
        *,
        seconds_per_question: int,
        grading: bool = True,
        clock: Callable[[], datetime] = utcnow,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if not questions:
            raise InterviewError("an interview needs at least one question")
        self.questions = list(questions)
        self.seconds_per_question = seconds_per_question
        self.clock = clock
        self.timer = timer
        self.started_at = clock()
        self.finished_at: datetime | None = None
        self.outcomes: list[QuestionOutcome] = []
        self.index = 0
        self.phase = Phase.ANSWER
        self.grades: dict[int, GradeResult] = {}  # question index -> the grader's result
        # The verdicts on screen while the phase is ASSESS (None otherwise).
        self.assessment: SelfGrade | None = None
        GradingSwitch.__init__(self, grading)
        self._phase_started = timer()
        self._phase_seconds: int | None = seconds_per_question
        self._paused_at: float | None = None

    @classmethod
    def pick(
        cls,
        store: Store,
        count: int,
        deck_names: list[str] | None = None,
        *,
        seconds_per_question: int,
        rng: random.Random | None = None,
        grading: bool = True,
        clock: Callable[[], datetime] = utcnow,
        timer: Callable[[], float] = time.monotonic,
    ) -> InterviewSession:
        """A session over ``count`` questions from ``deck_names`` (all decks when None),
        those practised least recently first; raises InterviewError when there are none."""
        questions = pick_questions(store, count, deck_names, rng=rng)
        return cls(
            questions,
            seconds_per_question=seconds_per_question,
            grading=grading,
            clock=clock,
            timer=timer,
        )

    @property
    def question(self) -> InterviewQuestion:
        """The question being answered or assessed (the last one on the report)."""
        return self.questions[min(self.index, len(self.questions) - 1)]

    @property
    def outcome(self) -> QuestionOutcome | None:
        """The current question's answers, once its first answer is in."""
        if self.outcomes and len(self.outcomes) == self.index + 1:
            return self.outcomes[-1]
        return None

    @property
    def answered(self) -> int:
        """Questions whose answer was submitted (what ending now would keep)."""
        return len(self.outcomes)

    # -- the clock -----------------------------------------------------------------------

    @property
    def timed(self) -> bool:
        return self._phase_seconds is not None

    def elapsed(self) -> float:
        """Seconds spent in this phase, pauses left out."""
        now = self._paused_at if self._paused_at is not None else self.timer()
        return now - self._phase_started

    def seconds_left(self) -> int | None:
        """Whole seconds left to answer (rounded up); None when the phase is not timed."""
        if self._phase_seconds is None:
            return None
        return max(0, math.ceil(self._phase_seconds - self.elapsed()))

    @property
    def time_is_up(self) -> bool:
        return self._phase_seconds is not None and self.elapsed() >= self._phase_seconds

    def pause(self) -> None:
        """Stop the clock (while the learner is asked whether to end)."""
        if self._paused_at is None:
            self._paused_at = self.timer()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._phase_started += self.timer() - self._paused_at
            self._paused_at = None

    def _enter(self, phase: Phase, seconds: int | None) -> None:
        self.phase = phase
        self._phase_seconds = seconds
        self._phase_started = self.timer()
        self._paused_at = None

    # -- answering -----------------------------------------------------------------------

    def submit(self, text: str, *, timed_out: bool = False) -> GradingJob | None:
        """Take the answer (or the follow-up's answer) and move on; returns the answer for
        the grader when there is one to grade (graded while the follow-up is answered)."""
        text = text.strip()
        if self.phase is Phase.ANSWER:
            record = AnswerRecord(text=text, seconds=self.elapsed(), timed_out=timed_out)
            self.outcomes.append(QuestionOutcome(self.question, record))
            job = self._grading_job(text)
            follow_ups = self.question.follow_ups
            if follow_ups:
                self.outcomes[-1].follow_up = follow_ups[0]
                seconds = max(self.seconds_per_question // 2, MIN_FOLLOW_UP_SECONDS)
                self._enter(Phase.FOLLOW_UP, seconds)
            else:
                self._assess()
            return job
        if self.phase is Phase.FOLLOW_UP:
            self.outcomes[-1].follow_up_answer = AnswerRecord(
                text=text, seconds=self.elapsed(), timed_out=timed_out
            )
            self._assess()
            return None
        raise ValueError(f"there is no answer to submit while the interview is at {self.phase}")

    def _grading_job(self, text: str) -> GradingJob | None:
        question = self.question
        if not question.rubric:
            return None
        if is_blank(text):
            # As in review: a blank answer misses everything, no model needed.
            self.grades[self.index] = grade_blank_answer(question.rubric)
            return None
        if self.grading_off_reason is not None:
            return None
        inputs = GradingInputs(
            question.question,
            question.reference,
            list(question.rubric),
            mistakes=list(question.mistakes),
        )
        return GradingJob(self.index, inputs, text)

    # -- grading and assessing -----------------------------------------------------------

    def _assess(self) -> None:
        self._enter(Phase.ASSESS, None)
        self.assessment = SelfGrade.start(self.question.rubric, self.grades.get(self.index))

    def graded(self, index: int, result: GradeResult) -> bool:
        """Keep the grader's result for question ``index``; True when it changed the verdicts
        on screen. Verdicts the learner has already changed are never overwritten."""
        self.grades[index] = result
        assessment = self.assessment
        if self.phase is not Phase.ASSESS or index != self.index or assessment is None:
            return False
        if assessment.auto is not None:
            return False
        if assessment.flipped:
            if len(result.criteria) == len(assessment.criteria):
                assessment.auto = result  # kept in the record, beside the learner's verdicts
            return False
        self.assessment = SelfGrade.start(self.question.rubric, result)
        return True

    @property
    def waiting_for_grade(self) -> bool:
        """The answer on screen is being graded and the learner has not judged it yet."""
        assessment = self.assessment
        return (
            self.phase is Phase.ASSESS
            and assessment is not None
            and assessment.auto is None
            and not assessment.flipped
            and self.grading_off_reason is None
            and self.index not in self.grades
            and bool(self.question.rubric)
            and self.outcome is not None
            and not is_blank(self.outcome.answer.text)
        )

    def flip(self, index: int) -> Verdict:
        """Cycle criterion ``index`` met → partly → missed → met, as review does."""
        if self.phase is not Phase.ASSESS or self.assessment is None:
            raise ValueError("there is nothing to assess now")
        return self.assessment.flip(index)

    def finish_assessment(self) -> Phase:
        """Keep the verdicts on screen as the question's score and go on to the next
        question, or to the report after the last."""
        if self.phase is not Phase.ASSESS:
            raise ValueError("there is nothing to assess now")
        self._record(self.outcomes[-1], self.assessment, assessed=True)
        self.assessment = None
        self.index += 1
        if self.index < len(self.questions):
            self._enter(Phase.ANSWER, self.seconds_per_question)
        else:
            self._finish()
        return self.phase

    def _record(
        self, outcome: QuestionOutcome, self_grade: SelfGrade | None, *, assessed: bool
    ) -> None:
        answer = outcome.answer
        outcome.assessed = assessed
        if self_grade is None or not self_grade.criteria:
            answer.score, answer.criteria_missed, answer.criteria_partly = None, [], []
            answer.grade = assessment_record(self_grade, assessed=assessed) if self_grade else None
            return
        pairs = list(zip(self_grade.criteria, self_grade.verdicts, strict=True))
        answer.score = assessment_score(self_grade.verdicts)
        answer.criteria_missed = [c for c, v in pairs if v is Verdict.MISSED]
        answer.criteria_partly = [c for c, v in pairs if v is Verdict.PARTLY]
        answer.grade = assessment_record(self_grade, assessed=assessed)

    # -- ending --------------------------------------------------------------------------

    def end(self) -> None:
        """End the interview now, keeping every answered question.

        The question being assessed keeps the verdicts on screen once there are any (the
        grader's, or the learner's changes); one whose follow-up was being answered keeps
        the grader's verdicts if they came, marked as not checked by the learner. An answer
        still being typed is not kept.
        """
        if self.phase is Phase.REPORT:
            return
        if self.phase is Phase.ASSESS:
            assessment = self.assessment
            if assessment is not None and (assessment.flipped or assessment.auto is not None):
                self._record(self.outcomes[-1], assessment, assessed=True)
            else:
                self._record(self.outcomes[-1], None, assessed=False)
        elif self.phase is Phase.FOLLOW_UP:
            grade = self.grades.get(self.index)
            self_grade = SelfGrade.start(self.question.rubric, grade) if grade else None
            self._record(self.outcomes[-1], self_grade, assessed=False)
        self.assessment = None
        self._finish()

    def _finish(self) -> None:
        self._enter(Phase.REPORT, None)
        self.finished_at = self.clock()

    def report(self) -> InterviewReport:
        """The report of the questions answered (a new row each call, ready to save)."""
        if self.phase is not Phase.REPORT or self.finished_at is None:
            raise ValueError("the interview is not over yet")
        if not self.outcomes:
            raise InterviewError("no question was answered, so there is nothing to report")
        return build_report(
            self.outcomes,
            started_at=self.started_at,
            finished_at=self.finished_at,
            seconds_per_question=self.seconds_per_question,
        )
