"""Figures about decks and reviews for ``studytool decks``/``stats`` and the stats screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlmodel import col

from studytool.core.models import Card, Deck, Note, ReviewLog
from studytool.core.stats_series import reviews_per_day, streak_days
from studytool.core.store import Store
from studytool.core.study import study_day_bounds


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


@dataclass(frozen=True)
class ReviewStats:
    reviews_today: int
    minutes_today: float
    reviews_total: int
    true_retention: float | None  # share of review-state cards recalled, last 30 days
    retention_sample: int
    streak_days: int
    forecast: list[tuple[str, int]]  # (day, cards due), next 7 days
    ratings_today: dict[int, int]


def review_stats(
    store: Store, now: datetime, day_starts_at_hour: int = 4, deck_ids: list[int] | None = None
) -> ReviewStats:
    day_start, day_end = study_day_bounds(now, day_starts_at_hour)
    log_filter = []
    card_filter = [col(Card.suspended) == False]  # noqa: E712
    if deck_ids is not None:
        in_decks = col(Card.note_id).in_(
            select(col(Note.id)).where(col(Note.deck_id).in_(deck_ids))
        )
        log_filter.append(col(ReviewLog.card_id).in_(select(col(Card.id)).where(in_decks)))
        card_filter.append(in_decks)
    with store.session() as session:
        today = session.execute(
            select(
                col(ReviewLog.rating),
                func.count(),
                func.coalesce(func.sum(col(ReviewLog.duration_ms)), 0),
            )
            .where(col(ReviewLog.reviewed_at) >= day_start, *log_filter)
            .group_by(col(ReviewLog.rating))
        ).all()
        total = session.scalar(select(func.count()).select_from(ReviewLog).where(*log_filter)) or 0
        window_start = now - timedelta(days=30)
        recalled, sample = session.execute(
            select(func.sum(case((col(ReviewLog.rating) > 1, 1), else_=0)), func.count()).where(
                col(ReviewLog.state_before) == 2,
                col(ReviewLog.reviewed_at) >= window_start,
                *log_filter,
            )
        ).one()
        forecast: list[tuple[str, int]] = []
        for offset in range(7):
            start = day_start + timedelta(days=offset)
            end = day_end + timedelta(days=offset)
            # today includes overdue cards
            lower = col(Card.due) >= start if offset else col(Card.due) < end
            count = session.scalar(
                select(func.count())
                .select_from(Card)
                .where(col(Card.reps) > 0, lower, col(Card.due) < end, *card_filter)
            )
            label = "today" if offset == 0 else start.astimezone().strftime("%a %d %b")
            forecast.append((label, count or 0))

    # Counted per study day in SQL: loading a year of review times took 20 s at 1M reviews.
    daily = reviews_per_day(
        store, now, 366, deck_ids=deck_ids, day_starts_at_hour=day_starts_at_hour
    )
    streak = streak_days(daily)
    return ReviewStats(
        reviews_today=sum(count for _, count, _ in today),
        minutes_today=sum(ms for _, _, ms in today) / 60000,
        reviews_total=total,
        true_retention=(recalled / sample) if sample else None,
        retention_sample=sample or 0,
        streak_days=streak,
        forecast=forecast,
        ratings_today={rating: count for rating, count, _ in today},
    )
