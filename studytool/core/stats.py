"""Figures about decks for ``studytool decks``: each deck's size and how much of it is suspended.

What a deck offers *today* (new within the daily limit, learning, reviews due) is the study
queue's business: :meth:`studytool.core.study.StudySession.counts_by_deck`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlmodel import col

from studytool.core.models import Card, Deck, Note
from studytool.core.store import Store


@dataclass(frozen=True)
class DeckSize:
    name: str
    cards: int
    suspended: int


def deck_sizes(store: Store) -> dict[str, DeckSize]:
    """Per deck name: all its cards, and the suspended ones."""
    query = (
        select(
            col(Deck.name),
            func.count(col(Card.id)),
            func.sum(case((col(Card.suspended) == True, 1), else_=0)),  # noqa: E712
        )
        .select_from(Deck)
        .outerjoin(Note, col(Note.deck_id) == col(Deck.id))
        .outerjoin(Card, col(Card.note_id) == col(Note.id))
        .group_by(col(Deck.id))
    )
    with store.session() as session:
        return {
            name: DeckSize(name, cards or 0, suspended or 0)
            for name, cards, suspended in session.execute(query)
        }
