from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from studytool.core import stats_series as series
from studytool.core.models import Card, Deck, Note, ReviewLog
from studytool.core.store import Store

from .conftest import NOW

TODAY = date(2026, 3, 10)  # NOW's study day in UTC (a Tuesday)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class Decks:
    """A store with two decks of cards, and review-log rows written directly."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.deck_ids: dict[str, int] = {}
        self.card_ids: dict[str, list[int]] = {}
        with store.transaction() as session:
            for name in ("Alpha", "Beta"):
                deck = Deck(name=name)
                session.add(deck)
                session.flush()
                assert deck.id is not None
                self.deck_ids[name] = deck.id
                self.card_ids[name] = []
                for number in range(4):
                    note = Note(deck_id=deck.id, key=f"{name}{number}", question=f"Q{number}?")
                    session.add(note)
                    session.flush()
                    assert note.id is not None
                    card = Card(note_id=note.id, due=NOW)
                    session.add(card)
                    session.flush()
                    assert card.id is not None
                    self.card_ids[name].append(card.id)

    def log(
        self,
        when: datetime,
        *,
        deck: str = "Alpha",
        rating: int = 3,
        state_before: int = 2,
        auto_score: float | None = None,
        auto_rating: int | None = None,
        duration_ms: int | None = None,
    ) -> None:
        with self.store.transaction() as session:
            session.add(
                ReviewLog(
                    card_id=self.card_ids[deck][0],
                    rating=rating,
                    state_before=state_before,
                    reviewed_at=when,
                    auto_score=auto_score,
                    auto_rating=auto_rating,
                    duration_ms=duration_ms,
                )
            )

    def schedule(
        self, deck: str, index: int, due: datetime, *, state: int = 2, suspended: bool = False
    ) -> None:
        with self.store.transaction() as session:
            card = session.get(Card, self.card_ids[deck][index])
            assert card is not None
            card.due, card.state, card.reps, card.suspended = due, state, 1, suspended
            session.add(card)


@pytest.fixture
def decks(store: Store) -> Decks:
    return Decks(store)


@pytest.fixture
def local_zone() -> Iterator[Callable[[str], None]]:
    """Switch the process's local time zone (the learner's), restoring it afterwards."""
    before = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def as_dict(rows: list[Any]) -> dict[date, Any]:
    return {row[0]: tuple(row[1:]) if len(row) > 2 else row[1] for row in rows}


# -- reviews per day ----------------------------------------------------------------------


def test_reviews_per_day_rolls_over_at_4_am(decks: Decks) -> None:
    decks.log(at(9, 3, 59))  # still the study day of 8 March
    decks.log(at(9, 4, 0))
    decks.log(at(10, 3, 59))
    decks.log(at(10, 4, 0))
    decks.log(at(10, 11, 59))
    rows = series.reviews_per_day(decks.store, NOW, days=365)
    assert len(rows) == 365
    assert rows[0].day == TODAY - timedelta(days=364) and rows[-1].day == TODAY
    counts = as_dict(rows)
    assert (counts[date(2026, 3, 8)], counts[date(2026, 3, 9)], counts[TODAY]) == (1, 2, 2)
    assert sum(row.total for row in rows) == 5


def test_reviews_per_day_uses_the_settings_hour(decks: Decks) -> None:
    decks.store.save_settings(decks.store.load_settings().replace(day_starts_at_hour=0))
    decks.log(at(10, 3, 59))
    assert series.reviews_per_day(decks.store, NOW, days=2)[-1] == (TODAY, 1)
    assert series.reviews_per_day(decks.store, NOW, days=2, day_starts_at_hour=4)[-1] == (
        TODAY,
        0,
    )


def test_days_follow_the_local_zone_with_half_hour_offsets(
    decks: Decks, local_zone: Callable[[str], None]
) -> None:
    local_zone("Asia/Kolkata")  # UTC+5:30: 4 am local is 22:30 UTC the day before
    decks.log(at(9, 22, 29))
    decks.log(at(9, 22, 30))
    counts = as_dict(series.reviews_per_day(decks.store, NOW, days=3))
    assert counts == {date(2026, 3, 8): 0, date(2026, 3, 9): 1, TODAY: 1}


def test_days_follow_daylight_saving_time(decks: Decks, local_zone: Callable[[str], None]) -> None:
    # New York moved to summer time at 2 am on Sunday 8 March 2026: study days start at
    # 04:00 EST (09:00 UTC) until the 7th, and at 04:00 EDT (08:00 UTC) from the 8th.
    local_zone("America/New_York")
    decks.log(at(7, 8, 59))  # 03:59 EST on the 7th: the 6th
    decks.log(at(7, 9, 0))
    decks.log(at(8, 7, 59))  # 03:59 EDT on the 8th: the 7th
    decks.log(at(8, 8, 0))
    assert series.study_day(at(8, 8, 0), 4) == date(2026, 3, 8)
    counts = as_dict(series.reviews_per_day(decks.store, NOW, days=5))
    assert counts == {
        date(2026, 3, 6): 1,
        date(2026, 3, 7): 2,
        date(2026, 3, 8): 1,
        date(2026, 3, 9): 0,
        TODAY: 0,
    }


def test_reviews_per_day_by_deck(decks: Decks) -> None:
    decks.log(at(10, 5), deck="Alpha")
    decks.log(at(10, 6), deck="Beta")
    decks.log(at(10, 7), deck="Beta")
    alpha, beta = decks.deck_ids["Alpha"], decks.deck_ids["Beta"]
    today = series.reviews_per_day(decks.store, NOW, days=1, deck_ids=[beta])
    assert today == [(TODAY, 2)]
    assert series.reviews_per_day(decks.store, NOW, days=1, deck_ids=[alpha, beta])[0].total == 3
    assert series.reviews_per_day(decks.store, NOW, days=1, deck_ids=[])[0].total == 0


def test_deck_filter_keeps_to_the_time_index(decks: Decks) -> None:
    """With a deck filter SQLite may walk ix_reviewlog_card_id once per day instead, which takes
    minutes on a million log rows (the reason the filter sits inside the aggregate)."""
    if not decks.store.is_sqlite:
        pytest.skip("reads SQLite's query plan")
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("WITH"):
            raw = conn.connection.dbapi_connection
            plans.extend(
                row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            )

    event.listen(decks.store.engine, "before_cursor_execute", explain)
    try:
        series.load_series(decks.store, NOW, [decks.deck_ids["Beta"]])
    finally:
        event.remove(decks.store.engine, "before_cursor_execute", explain)
    searches = [plan for plan in plans if "reviewlog" in plan]
    assert searches and all("ix_reviewlog_reviewed_at" in plan for plan in searches)


# -- due forecast -------------------------------------------------------------------------


def test_due_forecast_counts_overdue_today_and_skips_new_and_suspended(decks: Decks) -> None:
    decks.schedule("Alpha", 0, at(1, 12))  # overdue: today
    decks.schedule("Alpha", 1, at(11, 3, 59), state=1)  # learning, before tomorrow's 4 am
    decks.schedule("Alpha", 2, at(11, 4, 0))  # tomorrow
    decks.schedule("Beta", 0, at(11, 4, 0), suspended=True)
    decks.schedule("Beta", 1, NOW + timedelta(days=29))  # 8 April, the 30th day
    decks.schedule("Beta", 2, NOW + timedelta(days=30))  # beyond the forecast
    # The fourth card of each deck is new (never reviewed), though due now.
    rows = series.due_forecast(decks.store, NOW, days=30)
    assert len(rows) == 30 and rows[0].day == TODAY and rows[-1].day == date(2026, 4, 8)
    counts = as_dict(rows)
    assert (counts[TODAY], counts[date(2026, 3, 11)], counts[date(2026, 4, 8)]) == (2, 1, 1)
    assert sum(row.total for row in rows) == 4
    beta = series.due_forecast(decks.store, NOW, days=30, deck_ids=[decks.deck_ids["Beta"]])
    assert sum(row.total for row in beta) == 1


# -- retention ----------------------------------------------------------------------------


def test_retention_by_week_counts_review_state_recalls_per_monday_week(decks: Decks) -> None:
    # Monday 9 March 2026 begins this week at 4 am; 03:00 that morning is still last week.
    decks.log(at(9, 3), rating=1)
    decks.log(at(9, 5), rating=3)
    decks.log(at(10, 5), rating=1)
    decks.log(at(10, 6), rating=4)
    decks.log(at(10, 7), rating=2)
    decks.log(at(10, 8), rating=1, state_before=0)  # new cards are not retention
    decks.log(at(10, 9), rating=1, state_before=3)  # nor relearning ones
    rows = series.retention_by_week(decks.store, NOW, weeks=12)
    assert len(rows) == 12
    assert [row.week_start for row in rows[-2:]] == [date(2026, 3, 2), date(2026, 3, 9)]
    assert all(row.week_start.weekday() == 0 for row in rows)
    assert rows[-2] == (date(2026, 3, 2), 0.0, 1)
    assert rows[-1] == (date(2026, 3, 9), 0.75, 4)
    assert rows[0].retention is None and rows[0].reviews == 0


# -- answer scores ------------------------------------------------------------------------


def test_answer_score_trend_is_the_daily_mean_of_graded_answers(decks: Decks) -> None:
    decks.log(at(9, 5), auto_score=0.5)
    decks.log(at(9, 6), auto_score=1.0)
    decks.log(at(9, 7))  # rated without a typed answer
    decks.log(at(10, 3, 59), auto_score=0.2)  # the 9th, before 4 am
    decks.log(at(10, 5), auto_score=0.9, deck="Beta")
    rows = series.answer_score_trend(decks.store, NOW, days=90)
    assert len(rows) == 90 and rows[-1].day == TODAY
    by_day = as_dict(rows)
    assert by_day[date(2026, 3, 9)] == (pytest.approx(1.7 / 3), 3)
    assert by_day[TODAY] == (pytest.approx(0.9), 1)
    assert by_day[date(2026, 3, 8)] == (None, 0)
    beta = series.answer_score_trend(decks.store, NOW, days=2, deck_ids=[decks.deck_ids["Beta"]])
    assert beta == [(date(2026, 3, 9), None, 0), (TODAY, pytest.approx(0.9), 1)]


def test_answer_score_trend_without_typed_answers(decks: Decks) -> None:
    decks.log(at(10, 5))
    assert all(row.mean_score is None for row in series.answer_score_trend(decks.store, NOW))


def test_grader_health_counts_kept_and_overridden_suggestions(decks: Decks) -> None:
    decks.log(at(9, 5), rating=3, auto_rating=3)
    decks.log(at(9, 6), rating=4, auto_rating=3)  # the learner went higher
    decks.log(at(9, 7), rating=1, auto_rating=2)  # lower
    decks.log(at(9, 8), rating=3)  # not graded
    decks.log(at(9, 9), rating=2, auto_rating=2, deck="Beta")
    decks.log(NOW - timedelta(days=31), rating=1, auto_rating=4)  # outside the 30 days
    health = series.grader_health(decks.store, NOW)
    assert (health.suggested, health.kept, health.higher, health.lower) == (4, 2, 1, 1)
    assert series.describe_grader_health(health) == (
        "Grader (last 30 days): 4 suggestions; you kept 2 (50%), rated 1 higher and 1 lower"
    )
    alpha = series.grader_health(decks.store, NOW, deck_ids=[decks.deck_ids["Alpha"]])
    assert (alpha.suggested, alpha.kept) == (3, 1)
    empty = series.grader_health(decks.store, NOW, days=0)
    assert series.describe_grader_health(empty) == "Grader (last 0 days): no suggestions rated yet"


# -- headline -----------------------------------------------------------------------------


def test_streak_days() -> None:
    def days(*totals: int) -> list[series.DayCount]:
        return [
            series.DayCount(TODAY - timedelta(days=len(totals) - 1 - i), n)
            for i, n in enumerate(totals)
        ]

    assert series.streak_days(days(1, 0, 2, 3, 1)) == 3
    assert series.streak_days(days(0, 2, 3, 0)) == 2  # today is not over yet
    assert series.streak_days(days(1, 0, 0)) == 0
    assert series.streak_days([]) == 0


@pytest.mark.parametrize(
    ("deck", "today", "minutes", "total"), [(None, 2, 2.0, 7), ("Alpha", 1, 1.5, 6)]
)
def test_headline_figures(
    decks: Decks, deck: str | None, today: int, minutes: float, total: int
) -> None:
    for back in (1, 2, 3, 5):
        decks.log(NOW - timedelta(days=back), rating=1 if back == 2 else 3)
    decks.log(NOW - timedelta(days=40), rating=1)  # outside the 30-day retention window
    decks.log(at(10, 4, 30), duration_ms=90_000)
    decks.log(at(10, 5), duration_ms=30_000, deck="Beta", state_before=0)
    deck_ids = None if deck is None else [decks.deck_ids[deck]]
    loaded = series.load_series(decks.store, NOW, deck_ids)
    assert loaded.headline == series.Headline(
        reviews_today=today,
        minutes_today=pytest.approx(minutes),  # type: ignore[arg-type]
        reviews_total=total,
        true_retention=pytest.approx(0.8),  # type: ignore[arg-type]
        retention_sample=5,  # review-state reviews in the last 30 days: days 5, 7, 8, 9 and today
        streak_days=4,  # today and the three days before; day 6 had none
    )
    assert loaded.desired_retention == 0.9


def test_an_empty_store(store: Store) -> None:
    loaded = series.load_series(store, NOW)
    assert loaded.headline == series.Headline(0, 0.0, 0, None, 0, 0)
    assert [len(loaded.reviews_per_day), len(loaded.due_forecast)] == [365, 30]
    assert not any(row.total for row in loaded.reviews_per_day + loaded.due_forecast)
    assert all(row.retention is None for row in loaded.retention_by_week)
    assert series.list_decks(store) == []


def test_list_decks(decks: Decks) -> None:
    assert series.list_decks(decks.store) == [
        (decks.deck_ids["Alpha"], "Alpha"),
        (decks.deck_ids["Beta"], "Beta"),
    ]
