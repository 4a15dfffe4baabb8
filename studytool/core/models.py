"""Database tables.

The shape follows Anki: a *note* holds what the learner wrote (question, answer, rubric, ...)
and is identified by a stable key; a *card* is one reviewable direction of a note (the front,
the reverse, or one cloze deletion) and carries its FSRS state. Cards of one note are siblings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, always hands back aware UTC.

    SQLite has no time zones; without this, values come back naive and comparisons with
    aware ``now`` values fail.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class NoteKind(StrEnum):
    BASIC = "basic"
    REVERSED = "reversed"
    CLOZE = "cloze"
    INTERVIEW = "interview"


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Deck(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    description: str = ""
    tags: list[str] = _json_list()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Note(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("deck_id", "key", name="uq_note_deck_key"),
        # Re-importing a file reads the notes it made in its deck (migration 0004).
        Index("ix_note_deck_source", "deck_id", "source_file"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deck_id: int = Field(
        # Indexed through uq_note_deck_key, whose first column it is.
        sa_column=Column(Integer, ForeignKey("deck.id", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(description="stable identity: explicit id, Anki GUID or hash of the question")
    kind: str = NoteKind.BASIC.value
    question: str
    answer: str = ""
    context: str = ""
    rubric: list[str] = _json_list()
    hints: list[str] = _json_list()
    follow_ups: list[str] = _json_list()
    tags: list[str] = _json_list()
    demo: str | None = None
    mistakes: list[str] = _json_list()  # known wrong claims about this card (deck field X:)
    source_file: str | None = None
    source_line: int | None = None
    content_hash: str = ""
    removed_from_source: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Card(SQLModel, table=True):
    """One reviewable direction of a note, with its FSRS state.

    ``state``/``step``/``stability``/``difficulty``/``due``/``last_review`` mirror
    ``fsrs.Card``; ``reps == 0`` means the card is new (never reviewed).
    """

    __table_args__ = (
        UniqueConstraint("note_id", "ordinal", name="uq_card_note_ordinal"),
        # The study queue's scans: learning and review cards by due time, new cards in note order. Partial,
        # so each holds only the cards it can return; the queries repeat these conditions.
        Index(
            "ix_card_learning",
            "due",
            sqlite_where=text("suspended = 0 AND reps > 0 AND state != 2"),
            postgresql_where=text("suspended = false AND reps > 0 AND state != 2"),
        ),
        Index(
            "ix_card_review",
            "due",
            sqlite_where=text("suspended = 0 AND reps > 0 AND state = 2"),
            postgresql_where=text("suspended = false AND reps > 0 AND state = 2"),
        ),
        Index(
            "ix_card_new",
            "note_id",
            "ordinal",
            sqlite_where=text("suspended = 0 AND reps = 0"),
            postgresql_where=text("suspended = false AND reps = 0"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(
        # Indexed through uq_card_note_ordinal, whose first column it is.
        sa_column=Column(Integer, ForeignKey("note.id", ondelete="CASCADE"), nullable=False)
    )
    ordinal: int = 0
    state: int = 1
    step: int | None = 0
    stability: float | None = None
    difficulty: float | None = None
    due: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_review: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReviewLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    card_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("card.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    rating: int
    # The card's state before this review: 0 new, 1 learning, 2 review, 3 relearning
    # (Anki's revlog "type"); daily limits and retention statistics are counted from it.
    state_before: int = 0
    reviewed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    duration_ms: int | None = None
    typed_answer: str | None = None
    auto_score: float | None = None
    auto_rating: int | None = None
    auto_grade: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    final_grade: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # What the review changed, so that undo can put it back exactly.
    undo: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Setting(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: Any = Field(sa_column=Column(JSON))


class InterviewReport(SQLModel, table=True):
    """One finished interview-practice run: each question's answer, grade, follow-up and time."""

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime, index=True)
    finished_at: datetime = Field(sa_type=UTCDateTime)
    decks: list[str] = _json_list()
    seconds_per_question: int
    overall_score: float | None = None
    results: list[dict[str, Any]] = _json_list()
    weakest_topics: list[dict[str, Any]] = _json_list()
