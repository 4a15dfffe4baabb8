from __future__ import annotations

import random
from datetime import timedelta

import pytest

from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.interview import (
    AnswerRecord,
    InterviewError,
    QuestionOutcome,
    build_report,
    list_reports,
    pick_questions,
    save_report,
)

from .conftest import NOW

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
