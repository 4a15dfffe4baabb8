"""Figures about decks and reviews for ``studytool decks``/``stats`` and the stats screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlmodel import col

from studytool.core.models import Card, Deck, Note
from studytool.core.store import Store
from studytool.core.study_day import study_day_bounds


@dataclass(frozen=True)
class DeckCounts:
    name: str
    description: str
    cards: int
    new: int
    learning: int
    due: int
    suspended: int


def deck_counts(store: Store, now: datetime, day_starts_at_hour: int = 4) -> list[DeckCounts]:
    """Per deck: all cards, new, in learning, due today (reviews + learning), suspended."""
    _, day_end = study_day_bounds(now, day_starts_at_hour)
    active = col(Card.suspended) == False  # noqa: E712
    query = (
        select(
            col(Deck.name),
            col(Deck.description),
            func.count(col(Card.id)),
            func.sum(case((active & (col(Card.reps) == 0), 1), else_=0)),
            func.sum(case((active & (col(Card.reps) > 0) & (col(Card.state) != 2), 1), else_=0)),
            func.sum(case((active & (col(Card.reps) > 0) & (col(Card.due) < day_end), 1), else_=0)),
            func.sum(case((col(Card.suspended) == True, 1), else_=0)),  # noqa: E712
        )
        .select_from(Deck)
        .outerjoin(Note, col(Note.deck_id) == col(Deck.id))
        .outerjoin(Card, col(Card.note_id) == col(Note.id))
        .group_by(col(Deck.id))
        .order_by(col(Deck.name))
    )
    with store.session() as session:
        return [
            DeckCounts(
                name,
                description or "",
                cards or 0,
                new or 0,
                learning or 0,
                due or 0,
                suspended or 0,
            )
            for name, description, cards, new, learning, due, suspended in session.execute(query)
        ]
