"""Interview practice: a timed run of open questions, their follow-ups, and a saved report.

The caller (the app) asks the questions, times the answers and grades them; this module picks
the questions, turns the outcomes into a report (score per question, criteria missed, time,
weakest topics) and stores it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from studytool.core.models import Card, Deck, InterviewReport, Note, NoteKind
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
    """One typed answer: what was written, how long it took, and its automatic grade."""

    text: str
    seconds: float
    timed_out: bool = False
    score: float | None = None  # None when it could not be graded (no model, no rubric)
    criteria_missed: list[str] = field(default_factory=list)
    grade: dict[str, Any] | None = None  # the grader's full result, as JSON


@dataclass
class QuestionOutcome:
    question: InterviewQuestion
    answer: AnswerRecord
    follow_up: str | None = None
    follow_up_answer: AnswerRecord | None = None

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
