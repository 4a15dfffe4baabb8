from __future__ import annotations

import random
from datetime import timedelta

import pytest

from studytool.core.grading import (
    VERDICT_CREDIT,
    CriterionResult,
    GradeResult,
    GraderUnavailable,
    SelfGrade,
    Verdict,
)
from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.interview import (
    AnswerRecord,
    InterviewError,
    InterviewQuestion,
    InterviewSession,
    Phase,
    QuestionOutcome,
    assessment_record,
    assessment_score,
    build_report,
    list_reports,
    pick_questions,
    save_report,
)

from .conftest import NOW
from .interview_timer import FakeTimer

DECK = """+++
name = "Interview"
kind = "interview"
tags = ["interview"]
+++
""" + "\n".join(
    f"Q: Question {i}?\nA: Model answer {i}.\nR:\n- idea {i}a\n- idea {i}b\nF: Follow-up {i}?\ntags: {'async' if i % 2 else 'attention'}\nid: q{i}\n"
    for i in range(6)
)


@pytest.fixture
def interview_store(store):
    sync_deck(store, parse_text(DECK, "interview.md"), now=NOW)
    sync_deck(store, parse_text("Q: not an interview card?\nA: a\n", "basic.md"), now=NOW)
    return store


def test_picks_only_interview_questions_with_topics(interview_store) -> None:
    questions = pick_questions(interview_store, 4, rng=random.Random(1))
    assert len(questions) == 4
    assert all(q.key.startswith("q") and q.deck == "Interview" for q in questions)
    assert all(
        q.topics in (["async"], ["attention"]) for q in questions
    )  # the deck-wide tag is not a topic
    assert questions[0].follow_ups == [f"Follow-up {questions[0].key[1:]}?"]


def test_unpractised_questions_come_first(interview_store) -> None:
    first = pick_questions(interview_store, 4, rng=random.Random(2))
    outcomes = [QuestionOutcome(q, AnswerRecord(text="x", seconds=10, score=0.5)) for q in first]
    save_report(
        interview_store,
        build_report(outcomes, started_at=NOW, finished_at=NOW, seconds_per_question=60),
    )
    second = pick_questions(interview_store, 2, rng=random.Random(3))
    assert {q.key for q in second}.isdisjoint({q.key for q in first})


def test_report_scores_missed_criteria_and_weakest_topics(interview_store) -> None:
    questions = sorted(
        pick_questions(interview_store, 6, rng=random.Random(4)), key=lambda q: q.key
    )
    outcomes = [
        QuestionOutcome(
            q,
            AnswerRecord(
                text=f"answer {q.key}",
                seconds=30 + i,
                score=0.9 if "attention" in q.topics else 0.3,
                criteria_missed=[] if "attention" in q.topics else [q.rubric[1]],
            ),
            follow_up=q.follow_ups[0],
            follow_up_answer=AnswerRecord(text="follow", seconds=12),
        )
        for i, q in enumerate(questions)
    ]
    outcomes[-1].answer.timed_out = True
    report = build_report(
        outcomes, started_at=NOW, finished_at=NOW + timedelta(minutes=6), seconds_per_question=90
    )
    assert report.overall_score == pytest.approx(0.6)
    assert [topic["topic"] for topic in report.weakest_topics] == ["async", "attention"]
    assert report.weakest_topics[0]["score"] == pytest.approx(0.3)
    first = report.results[0]
    assert (
        first["key"] == "q0"
        and first["follow_up"] == "Follow-up 0?"
        and first["follow_up_answer"] == "follow"
    )
    assert report.results[1]["criteria_missed"] == ["idea 1b"]
    assert report.results[-1]["timed_out"] is True

    report_id = save_report(interview_store, report)
    (saved,) = list_reports(interview_store)
    assert (
        saved.id == report_id and saved.results == report.results and saved.decks == ["Interview"]
    )


def test_no_interview_questions_is_a_clear_error(store) -> None:
    with pytest.raises(InterviewError, match="no interview questions in any deck"):
        pick_questions(store, 3)


# -- the session, driven by a fake clock ------------------------------------------------


def _question(key: str, *, follow_up: bool = True, rubric: int = 3) -> InterviewQuestion:
    return InterviewQuestion(
        card_id=1,
        key=key,
        deck="Interview",
        question=f"Question {key}?",
        reference=f"Model answer {key}.",
        rubric=[f"idea {key}{i}" for i in range(rubric)],
        follow_ups=[f"Follow-up {key}?"] if follow_up else [],
        topics=[f"topic-{key}"],
        mistakes=[f"wrong claim {key}"],
    )


def _grade(criteria: list[str], verdicts: list[Verdict]) -> GradeResult:
    """A grader's result as the grader hands it over (the session only reads it)."""
    return GradeResult(
        criteria=[
            CriterionResult(c, v, 0.9 if v is Verdict.MET else 0.1)
            for c, v in zip(criteria, verdicts, strict=True)
        ],
        reference_similarity=0.5,
        score=sum(VERDICT_CREDIT[v] for v in verdicts) / len(verdicts),
        suggested_rating=3,
        grader="test-grader",
    )


def _session(questions: list[InterviewQuestion], timer: FakeTimer, **kwargs) -> InterviewSession:
    return InterviewSession(
        questions, seconds_per_question=60, clock=lambda: NOW, timer=timer, **kwargs
    )


def test_a_session_answers_follows_up_assesses_and_reports() -> None:
    timer = FakeTimer()
    first, second = _question("a"), _question("b", follow_up=False, rubric=2)
    session = _session([first, second], timer)
    assert session.phase is Phase.ANSWER and session.seconds_left() == 60

    timer.advance(25)
    job = session.submit("  my answer  ")
    assert job is not None and job.index == 0 and job.answer == "my answer"
    assert job.inputs.criteria == first.rubric and job.inputs.mistakes == first.mistakes
    assert session.phase is Phase.FOLLOW_UP and session.seconds_left() == 30  # half the time
    timer.advance(10)
    assert session.submit("a follow-up answer") is None
    assert session.phase is Phase.ASSESS and session.seconds_left() is None
    assert session.waiting_for_grade

    # The learner judges before the grade comes: met, partly, missed (the default).
    assert session.flip(0) is Verdict.MET
    assert session.flip(1) is Verdict.MET and session.flip(1) is Verdict.PARTLY
    grade = _grade(first.rubric, [Verdict.MISSED, Verdict.MET, Verdict.MET])
    assert session.graded(0, grade) is False  # the learner's verdicts stay
    assert session.finish_assessment() is Phase.ANSWER

    timer.advance(61)
    assert session.time_is_up and session.seconds_left() == 0
    assert session.submit("late", timed_out=True) is not None
    assert session.phase is Phase.ASSESS  # no follow-up on this card
    assert session.finish_assessment() is Phase.REPORT

    report = session.report()
    a, b = report.results
    # Partly earns half the credit, as in review.
    assert a["score"] == pytest.approx(0.5) and a["seconds"] == 25.0
    assert a["criteria_missed"] == ["idea a2"] and a["criteria_partly"] == ["idea a1"]
    assert a["follow_up_answer"] == "a follow-up answer" and a["follow_up_seconds"] == 10.0
    assert a["grade"]["by"] == "learner" and a["grade"]["changed"] is True
    assert a["grade"]["auto"]["grader"] == "test-grader"  # kept beside the learner's verdicts
    assert [c["verdict"] for c in a["grade"]["criteria"]] == ["met", "partly", "missed"]
    assert b["timed_out"] is True and b["score"] == 0.0 and b["grade"]["by"] == "learner"
    assert report.overall_score == pytest.approx(0.25)
    assert report.started_at == NOW and report.finished_at == NOW
    assert [t["topic"] for t in report.weakest_topics] == ["topic-b", "topic-a"]


def test_partly_counts_as_review_counts_it() -> None:
    verdicts = [Verdict.MET, Verdict.PARTLY, Verdict.MISSED, Verdict.PARTLY]
    credit = sum(VERDICT_CREDIT[v] for v in verdicts) / len(verdicts)
    assert assessment_score(verdicts) == pytest.approx(credit) == pytest.approx(0.5)
    # The record names the learner as review's final grade does.
    self_grade = SelfGrade.start(["a", "b", "c", "d"], None)
    for index, verdict in enumerate(verdicts):
        self_grade.set(index, verdict)
    assert assessment_record(self_grade, assessed=True)["by"] == self_grade.final_record(1)["by"]
    assert assessment_record(self_grade, assessed=True)["by"] == "learner"


def test_a_grade_that_arrives_during_the_follow_up_is_the_starting_point() -> None:
    timer = FakeTimer()
    question = _question("a")
    session = _session([question], timer)
    job = session.submit("keys and values")
    assert job is not None
    grade = _grade(question.rubric, [Verdict.MET, Verdict.PARTLY, Verdict.MISSED])
    assert session.graded(job.index, grade) is False  # nothing on screen to change yet
    session.submit("")
    assert session.assessment is not None
    assert session.assessment.verdicts == [Verdict.MET, Verdict.PARTLY, Verdict.MISSED]
    assert not session.waiting_for_grade
    session.finish_assessment()
    (result,) = session.report().results
    assert result["grade"]["by"] == "grader" and result["grade"]["changed"] is False
    assert result["score"] == pytest.approx(0.5)


def test_a_grade_that_arrives_during_assessment_replaces_untouched_verdicts() -> None:
    question = _question("a", follow_up=False)
    session = _session([question], FakeTimer())
    job = session.submit("an answer")
    assert job is not None and session.phase is Phase.ASSESS
    assert session.assessment is not None
    assert session.assessment.verdicts == [Verdict.MISSED] * 3
    assert session.graded(job.index, _grade(question.rubric, [Verdict.MET] * 3)) is True
    assert session.assessment.verdicts == [Verdict.MET] * 3


def test_a_blank_answer_is_graded_without_the_model() -> None:
    session = _session([_question("a", follow_up=False)], FakeTimer())
    assert session.submit("   ") is None
    assert session.assessment is not None and session.assessment.auto is not None
    assert session.assessment.auto.grader == "rule:blank"
    assert not session.waiting_for_grade
    session.finish_assessment()
    (result,) = session.report().results
    assert result["score"] == 0.0 and result["grade"]["by"] == "grader"


def test_no_grading_jobs_once_grading_is_off() -> None:
    session = _session([_question("a"), _question("b")], FakeTimer(), grading=False)
    assert session.submit("an answer") is None
    session = _session([_question("a"), _question("b")], FakeTimer())
    assert session.submit("an answer") is not None
    reason = session.grading_failed(GraderUnavailable("no model here"), grader_gone=True)
    assert reason == "no model here" and session.grading_off_reason == reason
    session.submit("")
    assert not session.waiting_for_grade  # the learner is not told to wait for nothing
    session.finish_assessment()
    assert session.submit("another answer") is None


def test_the_clock_stops_while_paused() -> None:
    timer = FakeTimer()
    session = _session([_question("a")], timer)
    timer.advance(20)
    session.pause()
    timer.advance(500)
    assert session.seconds_left() == 40 and not session.time_is_up
    session.resume()
    timer.advance(5)
    assert session.seconds_left() == 35
    session.submit("x")
    assert session.outcomes[0].answer.seconds == pytest.approx(25)


def test_ending_early_keeps_what_was_answered() -> None:
    timer = FakeTimer()
    questions = [_question("a", follow_up=False), _question("b"), _question("c")]
    session = _session(questions, timer)
    session.submit("first")
    session.flip(0)
    session.finish_assessment()
    job = session.submit("second")  # now in b's follow-up
    assert job is not None
    session.graded(job.index, _grade(questions[1].rubric, [Verdict.MET, Verdict.MET, Verdict.MISSED]))
    assert session.answered == 2
    session.end()
    assert session.phase is Phase.REPORT
    report = session.report()
    first, second = report.results
    assert first["assessed"] is True and first["score"] == pytest.approx(1 / 3)
    # The grader's verdicts, not checked by the learner.
    assert second["assessed"] is False and second["score"] == pytest.approx(2 / 3)
    assert second["grade"]["by"] == "grader" and second["grade"]["assessed"] is False
    assert report.overall_score == pytest.approx(0.5)


def test_ending_during_an_ungraded_assessment_does_not_score_it() -> None:
    session = _session([_question("a", follow_up=False), _question("b")], FakeTimer())
    session.submit("an answer the grader has not seen yet")
    session.end()
    (result,) = session.report().results
    assert result["score"] is None and result["assessed"] is False and result["grade"] is None
    assert session.report().overall_score is None


def test_ending_while_typing_the_first_answer_leaves_nothing_to_report() -> None:
    session = _session([_question("a")], FakeTimer())
    with pytest.raises(ValueError, match="not over"):
        session.report()
    session.end()
    with pytest.raises(InterviewError, match="nothing to report"):
        session.report()


def test_a_session_picks_its_questions_from_the_store(interview_store) -> None:
    session = InterviewSession.pick(
        interview_store, 3, ["Interview"], seconds_per_question=90, rng=random.Random(5)
    )
    assert len(session.questions) == 3 and session.seconds_left() == 90
    with pytest.raises(InterviewError, match="no interview questions in Nowhere"):
        InterviewSession.pick(interview_store, 3, ["Nowhere"], seconds_per_question=90)
