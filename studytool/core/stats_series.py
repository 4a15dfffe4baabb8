"""Series for the stats screen: reviews per study day, the due forecast, true retention by
week, the automatic answer-score trend, and the headline figures.

Everything is counted per *study day*: the learner's local day, rolling over at
``Settings.day_starts_at_hour`` (see :mod:`studytool.core.study_day`). Stored times
are naive UTC, so the days' bounds are computed here, in the local time zone (daylight saving
and half-hour offsets included), and sent to the database as one ``VALUES`` table; one query
then aggregates each interval with correlated subqueries. Each is a range scan of an index on
the timestamp: a year of a million review-log rows counts in well under a second, where a
``GROUP BY`` over a computed day parses and sorts every row (several seconds on SQLite).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Integer, case, column, false, func, literal_column, select, values
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from studytool.core.models import Card, Deck, Note, ReviewLog, UTCDateTime
from studytool.core.ratings import CardState
from studytool.core.store import Store
from studytool.core.study_day import day_start, study_day

CARD = Card.__table__  # type: ignore[attr-defined]
NOTE = Note.__table__  # type: ignore[attr-defined]
DECK = Deck.__table__  # type: ignore[attr-defined]
LOG = ReviewLog.__table__  # type: ignore[attr-defined]
RETENTION_WINDOW = timedelta(days=30)
# Before any card could have been due: the lower bound of "due today" (overdue included).
_DISTANT_PAST = datetime(1970, 1, 1, tzinfo=UTC)


class DayCount(NamedTuple):
    day: date
    total: int


class WeekRetention(NamedTuple):
    week_start: date  # a Monday
    retention: float | None  # share of the reviews of review-state cards not rated Again
    reviews: int


class DayScore(NamedTuple):
    day: date
    mean_score: float | None  # mean ReviewLog.auto_score of the day's graded answers
    answers: int


@dataclass(frozen=True)
class Headline:
    """The figures above the plots; the same definitions as ``stats.review_stats``."""

    reviews_today: int
    minutes_today: float
    reviews_total: int
    true_retention: float | None  # share of review-state cards recalled, last 30 days
    retention_sample: int
    streak_days: int


@dataclass(frozen=True)
class GraderHealth:
    """How the learner answered the grader's suggestions over a window of days.

    ``higher``/``lower``: the learner's rating was above/below the suggested one. Many
    overrides in one direction mean the grader is too harsh (higher) or too lenient
    (lower) for this learner: ``studytool calibrate`` re-fits the cut points from them.
    """

    days: int
    suggested: int  # graded answers rated in the window
    kept: int
    higher: int
    lower: int
    unsure: int = 0  # graded answers the grader was not sure about (nothing suggested)

    @property
    def kept_share(self) -> float | None:
        return self.kept / self.suggested if self.suggested else None


@dataclass(frozen=True)
class StatsSeries:
    """Everything the stats screen shows, loaded in one go."""

    now: datetime
    deck_ids: list[int] | None
    desired_retention: float
    headline: Headline
    reviews_per_day: list[DayCount]
    due_forecast: list[DayCount]
    retention_by_week: list[WeekRetention]
    answer_score_trend: list[DayScore]
    grader_health: GraderHealth


def reviews_per_day(
    store: Store,
    now: datetime,
    days: int = 365,
    *,
    deck_ids: Sequence[int] | None = None,
    day_starts_at_hour: int | None = None,
) -> list[DayCount]:
    """Reviews logged on each of the last ``days`` study days, oldest first, today last."""
    hour = _day_hour(store, day_starts_at_hour)
    dates = _days_back(study_day(now, hour), days)

    def columns(start: Any, end: Any) -> list[Any]:
        return [_log_count(deck_ids, _in_range(LOG.c.reviewed_at, start, end))]

    rows = _per_interval(store, _day_bounds(dates, hour), columns)
    return [DayCount(day, count) for day, (count,) in zip(dates, rows, strict=True)]


def due_forecast(
    store: Store,
    now: datetime,
    days: int = 30,
    *,
    deck_ids: Sequence[int] | None = None,
    day_starts_at_hour: int | None = None,
) -> list[DayCount]:
    """Cards falling due on each of the next ``days`` study days, today first; today's count
    includes overdue cards. New and suspended cards are not counted."""
    hour = _day_hour(store, day_starts_at_hour)
    today = study_day(now, hour)
    dates = [today + timedelta(days=ahead) for ahead in range(days)]
    bounds = _day_bounds(dates, hour)
    if bounds:
        bounds[0] = (_DISTANT_PAST, bounds[0][1])
    # The conditions repeat the partial indexes' WHERE clauses word for word (literals, as in
    # studytool.core.study), which is what lets the database use them.
    active = CARD.c.suspended == false()
    zero: ColumnClause[int] = literal_column("0")
    review_state: ColumnClause[int] = literal_column(str(int(CardState.REVIEW)))
    counted: Any = literal_column("1")
    if deck_ids is not None:
        # In the aggregate rather than the WHERE clause, for the reason given in _log_aggregate.
        counted = case((CARD.c.note_id.in_(_deck_notes(deck_ids)), counted))
    kinds = (CARD.c.state != review_state, CARD.c.state == review_state)

    def columns(start: Any, end: Any) -> list[Any]:
        due = _in_range(CARD.c.due, start, end)
        return [
            select(func.count(counted))
            .select_from(CARD)
            .where(active, CARD.c.reps > zero, state, due)
            .scalar_subquery()
            for state in kinds
        ]

    rows = _per_interval(store, bounds, columns)
    return [DayCount(day, sum(counts)) for day, counts in zip(dates, rows, strict=True)]


def retention_by_week(
    store: Store,
    now: datetime,
    weeks: int = 12,
    *,
    deck_ids: Sequence[int] | None = None,
    day_starts_at_hour: int | None = None,
) -> list[WeekRetention]:
    """True retention in each of the last ``weeks`` weeks (Monday to Sunday, in study days),
    oldest first, this week last: the share of reviews of cards in the review state that were
    not rated Again."""
    hour = _day_hour(store, day_starts_at_hour)
    today = study_day(now, hour)
    this_week = today - timedelta(days=today.weekday())
    starts = [this_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    bounds = [
        (day_start(start, hour), day_start(start + timedelta(weeks=1), hour)) for start in starts
    ]

    def columns(start: Any, end: Any) -> list[Any]:
        reviewed = (_in_range(LOG.c.reviewed_at, start, end), LOG.c.state_before == int(CardState.REVIEW))
        return [
            _log_count(deck_ids, *reviewed),
            _log_count(deck_ids, *reviewed, LOG.c.rating > 1),
        ]

    rows = _per_interval(store, bounds, columns)
    return [
        WeekRetention(start, recalled / reviews if reviews else None, reviews)
        for start, (reviews, recalled) in zip(starts, rows, strict=True)
    ]


def answer_score_trend(
    store: Store,
    now: datetime,
    days: int = 90,
    *,
    deck_ids: Sequence[int] | None = None,
    day_starts_at_hour: int | None = None,
) -> list[DayScore]:
    """The mean automatic score of the typed answers graded on each of the last ``days`` study
    days, oldest first; days without any have ``mean_score`` None."""
    hour = _day_hour(store, day_starts_at_hour)
    dates = _days_back(study_day(now, hour), days)

    def columns(start: Any, end: Any) -> list[Any]:
        day = _in_range(LOG.c.reviewed_at, start, end)
        return [
            _log_aggregate(func.avg, LOG.c.auto_score, deck_ids, day),
            _log_aggregate(func.count, LOG.c.auto_score, deck_ids, day),
        ]

    rows = _per_interval(store, _day_bounds(dates, hour), columns)
    return [
        DayScore(day, None if mean is None else float(mean), answers)
        for day, (mean, answers) in zip(dates, rows, strict=True)
    ]


def grader_health(
    store: Store, now: datetime, days: int = 30, *, deck_ids: Sequence[int] | None = None
) -> GraderHealth:
    """Suggestions kept or overridden (up, down) in the last ``days`` days."""
    recent = LOG.c.reviewed_at >= now - timedelta(days=days)
    graded = (recent, LOG.c.auto_rating.is_not(None))
    query = select(
        _log_count(deck_ids, *graded),
        _log_count(deck_ids, *graded, LOG.c.rating == LOG.c.auto_rating),
        _log_count(deck_ids, *graded, LOG.c.rating > LOG.c.auto_rating),
        _log_count(deck_ids, *graded, LOG.c.rating < LOG.c.auto_rating),
        _log_count(deck_ids, recent, LOG.c.auto_score.is_not(None), LOG.c.auto_rating.is_(None)),
    )
    with store.session() as session:
        suggested, kept, higher, lower, unsure = session.execute(query).one()
    return GraderHealth(days, int(suggested), int(kept), int(higher), int(lower), int(unsure))


def describe_grader_health(health: GraderHealth) -> str:
    """One line for the CLI and the Stats screen."""
    unsure = f"; not sure about {health.unsure}" if health.unsure else ""
    if not health.suggested:
        return f"Grader (last {health.days} days): no suggestions rated yet{unsure}"
    return (
        f"Grader (last {health.days} days): {health.suggested} suggestions; you kept "
        f"{health.kept} ({health.kept_share:.0%}), rated {health.higher} higher and "
        f"{health.lower} lower{unsure}"
    )


def streak_days(daily: Sequence[DayCount]) -> int:
    """Consecutive study days with reviews, ending today (the last entry) or, while today has
    none yet, yesterday: a streak is not broken until the day is over."""
    counts = [count for _, count in daily]
    if counts and counts[-1] == 0:
        counts.pop()
    streak = 0
    while counts and counts.pop() > 0:
        streak += 1
    return streak


def headline(
    store: Store,
    now: datetime,
    daily: Sequence[DayCount],
    *,
    deck_ids: Sequence[int] | None = None,
    day_starts_at_hour: int | None = None,
) -> Headline:
    """Reviews and minutes today, reviews in all, the streak and true retention over the last
    30 days. ``daily`` is :func:`reviews_per_day`'s result, which holds today and the streak."""
    hour = _day_hour(store, day_starts_at_hour)
    since = day_start(study_day(now, hour), hour)
    recent = (LOG.c.reviewed_at >= now - RETENTION_WINDOW, LOG.c.state_before == int(CardState.REVIEW))
    in_decks = [] if deck_ids is None else [LOG.c.card_id.in_(_deck_cards(deck_ids))]
    query = select(
        _log_aggregate(
            lambda value: func.coalesce(func.sum(value), 0),
            LOG.c.duration_ms,
            deck_ids,
            LOG.c.reviewed_at >= since,
        ),
        select(func.count()).select_from(LOG).where(*in_decks).scalar_subquery(),
        _log_count(deck_ids, *recent),
        _log_count(deck_ids, *recent, LOG.c.rating > 1),
    )
    with store.session() as session:
        milliseconds, total, sample, recalled = session.execute(query).one()
    return Headline(
        reviews_today=daily[-1].total if daily else 0,
        minutes_today=float(milliseconds) / 60000,
        reviews_total=total,
        true_retention=recalled / sample if sample else None,
        retention_sample=sample,
        streak_days=streak_days(daily),
    )


def load_series(store: Store, now: datetime, deck_ids: Sequence[int] | None = None) -> StatsSeries:
    """The headline figures and every series, with the learner's settings."""
    settings = store.load_settings()
    chosen = None if deck_ids is None else list(deck_ids)
    options: dict[str, Any] = {
        "deck_ids": chosen,
        "day_starts_at_hour": settings.day_starts_at_hour,
    }
    daily = reviews_per_day(store, now, **options)
    return StatsSeries(
        now=now,
        deck_ids=chosen,
        desired_retention=settings.desired_retention,
        headline=headline(store, now, daily, **options),
        reviews_per_day=daily,
        due_forecast=due_forecast(store, now, **options),
        retention_by_week=retention_by_week(store, now, **options),
        answer_score_trend=answer_score_trend(store, now, **options),
        grader_health=grader_health(store, now, deck_ids=chosen),
    )


def list_decks(store: Store) -> list[tuple[int, str]]:
    """Every deck's id and name, by name: the choices of a deck filter."""
    with store.session() as session:
        rows = session.execute(select(DECK.c.id, DECK.c.name).order_by(DECK.c.name)).all()
    return [(int(deck_id), str(name)) for deck_id, name in rows]


# -- helpers ------------------------------------------------------------------------------


def _day_hour(store: Store, day_starts_at_hour: int | None) -> int:
    if day_starts_at_hour is not None:
        return day_starts_at_hour
    return store.load_settings().day_starts_at_hour


def _days_back(today: date, days: int) -> list[date]:
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def _day_bounds(dates: list[date], hour: int) -> list[tuple[datetime, datetime]]:
    return [(day_start(day, hour), day_start(day + timedelta(days=1), hour)) for day in dates]


def _in_range(moment: Any, start: Any, end: Any) -> ColumnElement[bool]:
    return (moment >= start) & (moment < end)


def _log_aggregate(
    function: Callable[..., Any], value: Any, deck_ids: Sequence[int] | None, *conditions: Any
) -> Any:
    """``function(value)`` over the log rows meeting ``conditions``, of cards in the decks."""
    if deck_ids is not None:
        # In the aggregate, not the WHERE clause: there SQLite would walk the decks' cards
        # through ix_reviewlog_card_id once per interval (minutes for a million rows), when
        # the time range is always the narrower scan.
        value = case((LOG.c.card_id.in_(_deck_cards(deck_ids)), value))
    return select(function(value)).select_from(LOG).where(*conditions).scalar_subquery()


def _log_count(deck_ids: Sequence[int] | None, *conditions: Any) -> Any:
    return _log_aggregate(func.count, literal_column("1"), deck_ids, *conditions)


def _deck_notes(deck_ids: Sequence[int]) -> Any:
    return select(NOTE.c.id).where(NOTE.c.deck_id.in_(list(deck_ids)))


def _deck_cards(deck_ids: Sequence[int]) -> Any:
    return select(CARD.c.id).where(CARD.c.note_id.in_(_deck_notes(deck_ids)))


def _per_interval(
    store: Store,
    bounds: list[tuple[datetime, datetime]],
    columns: Callable[[Any, Any], list[Any]],
) -> list[tuple[Any, ...]]:
    """One row per ``(start, end)`` interval, in order: the aggregates that
    ``columns(start, end)`` builds, subqueries correlated with the interval."""
    if not bounds:
        return []
    intervals = (
        values(
            column("n", Integer),
            column("start", UTCDateTime()),
            column("end", UTCDateTime()),
            name="intervals",
        )
        .data([(n, start, end) for n, (start, end) in enumerate(bounds)])
        .cte()
    )
    query = (
        select(*columns(intervals.c.start, intervals.c.end))
        .select_from(intervals)
        .order_by(intervals.c.n)
    )
    with store.session() as session:
        return [tuple(row) for row in session.execute(query)]
