"""Browsing cards: a small search language, one card's details and review history, suspension.

A search reads like Anki's::

    deck:"Async Python" tag:leech is:due due<7d kv cache

``deck:`` and ``tag:`` match whole names, case-insensitively, with ``*`` as a wildcard;
``is:`` picks a state; ``due<`` and ``due>`` take a date (``2026-04-01``) or a number of days
from today (``7d``, ``-2d``); every other word (or "quoted phrase") must occur in the
question, the answer or the tags. Results come a page at a time, so a deck of any size
costs one count and one page query per search.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, false, func, or_, select, true, update
from sqlalchemy.sql.elements import ColumnElement

from studytool.core.card_faces import NoteFaces, card_faces
from studytool.core.models import Card, Deck, Note, ReviewLog
from studytool.core.ratings import CardState, Rating
from studytool.core.scheduling import format_interval
from studytool.core.store import Store
from studytool.core.study import LEECH_TAG
from studytool.core.study_day import study_day_bounds
from studytool.paths import display_source

CARD = Card.__table__  # type: ignore[attr-defined]
NOTE = Note.__table__  # type: ignore[attr-defined]
DECK = Deck.__table__  # type: ignore[attr-defined]
LOG = ReviewLog.__table__  # type: ignore[attr-defined]

STATE_LABELS = {0: "new", 1: "learning", 2: "review", 3: "relearning"}
SEARCH_STATES = ("new", "learning", "review", "relearning", "suspended", "leech", "due")
PAGE_SIZE = 100
SYNTAX_HELP = (
    'deck:"Name"  tag:name  is:new|learning|review|relearning|suspended|leech|due  '
    "due<2026-04-01  due>7d  other words: question, answer, tags  * wildcard"
)
_LIKE_ESCAPE = "/"
# A keyword with an optionally quoted value, a quoted phrase, or a bare word.
_TOKEN = re.compile(r'(?:(\w+)(:|<|>))?(?:"([^"]*)"?|(\S+))')
_RELATIVE_DAYS = re.compile(r"^([+-]?\d+)d$")


class QueryError(ValueError):
    """A search the browser cannot run; the message says how to write it instead."""


@dataclass(frozen=True)
class CardQuery:
    """What to look for; empty fields do not filter."""

    text: str = ""  # words or "quoted phrases", each in question, answer or tags
    tag: str | None = None
    deck: str | None = None
    state: str | None = None  # one of SEARCH_STATES
    due_before: datetime | None = None  # scheduled cards due before this moment
    due_after: datetime | None = None  # scheduled cards due at or after this moment


@dataclass(frozen=True)
class CardRow:
    card_id: int
    note_id: int
    deck: str
    front: str
    state: int  # 0 new, 1 learning, 2 review, 3 relearning
    due: datetime
    reps: int
    lapses: int
    suspended: bool
    tags: list[str] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, "?")


@dataclass(frozen=True)
class CardPage:
    rows: list[CardRow]
    total: int  # cards matching the query, on every page
    offset: int
    limit: int

    @property
    def page(self) -> int:
        """1-based number of this page."""
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


@dataclass(frozen=True)
class CardDetail:
    card_id: int
    note_id: int
    deck: str
    kind: str
    front: str
    back: str
    context: str
    rubric: list[str]
    hints: list[str]
    tags: list[str]
    demo: str | None
    source: str | None  # file:line
    removed_from_source: bool
    state: int
    due: datetime
    last_review: datetime | None
    stability: float | None
    difficulty: float | None
    reps: int
    lapses: int
    suspended: bool

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, "?")


@dataclass(frozen=True)
class HistoryRow:
    log_id: int
    reviewed_at: datetime
    rating: int  # the rating the scheduler applied
    state_before: int
    duration_ms: int | None
    typed_answer: str | None
    auto_score: float | None
    auto_rating: int | None
    auto_grade: dict[str, Any] | None
    final_grade: dict[str, Any] | None

    @property
    def rating_label(self) -> str:
        return _rating_label(self.rating)


# -- the query language ---------------------------------------------------------------------


def parse_query(text: str, now: datetime) -> CardQuery:
    """Read ``deck:… tag:… is:… due<… due>… words`` into a CardQuery (see the module docstring)."""
    words: list[str] = []
    fields: dict[str, Any] = {}
    for match in _TOKEN.finditer(text):
        keyword, operator, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        key = (keyword or "").lower()
        if key in ("deck", "tag", "is") and operator == ":":
            if not value:
                raise QueryError(f"{key}: needs a value, as in {key}:{_EXAMPLES[key]}")
            if key == "is":
                state = value.lower()
                if state not in SEARCH_STATES:
                    raise QueryError(
                        f"unknown state is:{value}; use one of {', '.join(SEARCH_STATES)}"
                    )
                fields["state"] = state
            else:
                fields[key] = value
        elif key == "due" and operator in "<>":
            moment = _day_start(value, operator, now)
            if operator == "<":
                fields["due_before"] = moment
            else:
                fields["due_after"] = moment + timedelta(days=1)
        else:
            # Anything else is text to find, keyword-looking words (urls, "a:b") included.
            words.append(match.group(0) if quoted is None else f'"{quoted}"')
    return CardQuery(text=" ".join(words), **fields)


_EXAMPLES = {"deck": '"Async Python"', "tag": "leech", "is": "due"}


def _day_start(value: str, operator: str, now: datetime) -> datetime:
    """Local midnight (as UTC) starting the day ``value`` names: a date or ``Nd`` from today."""
    relative = _RELATIVE_DAYS.match(value)
    if relative:
        day = now.astimezone().date() + timedelta(days=int(relative.group(1)))
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise QueryError(
                f"due{operator}{value} is not a date; "
                f"write due{operator}2026-04-01 or due{operator}7d (days from today)"
            ) from None
    return datetime.combine(day, time()).astimezone().astimezone(UTC)


def search_terms(text: str) -> list[str]:
    """The words and quoted phrases of a free-text search, lower-cased."""
    terms = []
    for match in _TOKEN.finditer(text):
        quoted = match.group(3)
        term = (match.group(0) if quoted is None else quoted).strip().lower()
        if term:
            terms.append(term)
    return terms


def _like_pattern(value: str, *, wildcard: bool, json_string: bool = False) -> str:
    """A LIKE pattern for ``value`` (``*`` → ``%`` when ``wildcard``), lower-cased, escaped."""
    parts = value.lower().split("*") if wildcard else [value.lower()]
    escaped = []
    for part in parts:
        if json_string:
            # Tags are stored as a JSON list, so an element appears in the column's text
            # exactly as json.dumps writes it, between double quotes.
            part = json.dumps(part)[1:-1]
        for special in (_LIKE_ESCAPE, "%", "_"):
            part = part.replace(special, _LIKE_ESCAPE + special)
        escaped.append(part)
    pattern = "%".join(escaped)
    return f'%"{pattern}"%' if json_string else pattern


def _conditions(query: CardQuery, day_end: datetime, *, sqlite: bool) -> list[Any]:
    def lowered(column: ColumnElement[Any]) -> ColumnElement[Any]:
        # SQLite's LIKE already ignores ASCII case (and its lower() knows no other), so
        # lowering the column there would only double the cost of a text search.
        return column if sqlite else func.lower(column)

    def tags_text() -> ColumnElement[Any]:
        return lowered(cast(NOTE.c.tags, String))

    conditions: list[Any] = []
    for term in search_terms(query.text):
        pattern = "%" + _like_pattern(term, wildcard=False) + "%"
        conditions.append(
            or_(
                *(
                    column.like(pattern, escape=_LIKE_ESCAPE)
                    for column in (
                        lowered(NOTE.c.question),
                        lowered(NOTE.c.answer),
                        tags_text(),
                    )
                )
            )
        )
    if query.deck:
        conditions.append(
            lowered(DECK.c.name).like(_like_pattern(query.deck, wildcard=True), escape=_LIKE_ESCAPE)
        )
    if query.tag:
        conditions.append(
            tags_text().like(
                _like_pattern(query.tag, wildcard=True, json_string=True), escape=_LIKE_ESCAPE
            )
        )
    scheduled = CARD.c.reps > 0
    state = query.state
    if state == "new":
        conditions.append(CARD.c.reps == 0)
    elif state in ("learning", "review", "relearning"):
        number = {"learning": 1, "review": 2, "relearning": 3}[state]
        conditions += [scheduled, CARD.c.state == number]
    elif state == "suspended":
        conditions.append(CARD.c.suspended == true())
    elif state == "leech":
        conditions.append(
            tags_text().like(
                _like_pattern(LEECH_TAG, wildcard=False, json_string=True), escape=_LIKE_ESCAPE
            )
        )
    elif state == "due":
        # As the home screen counts "due": scheduled, not suspended, due before the study day ends.
        conditions += [scheduled, CARD.c.suspended == false(), CARD.c.due < day_end]
    elif state is not None:
        raise QueryError(f"unknown state {state!r}; use one of {', '.join(SEARCH_STATES)}")
    # A new card's due time is only when it was imported, so dates filter scheduled cards.
    if query.due_before is not None:
        conditions += [scheduled, CARD.c.due < query.due_before]
    if query.due_after is not None:
        conditions += [scheduled, CARD.c.due >= query.due_after]
    return conditions


def search_cards(
    store: Store,
    query: CardQuery,
    now: datetime,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    *,
    day_starts_at_hour: int | None = None,
) -> CardPage:
    """One page of the cards matching ``query``, by deck and then in deck order, and their total.

    ``day_starts_at_hour`` (the study day's rollover, for ``is:due``) is read from the
    learner's settings when not given.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if day_starts_at_hour is None:
        day_starts_at_hour = store.load_settings().day_starts_at_hour
    _, day_end = study_day_bounds(now, day_starts_at_hour)
    conditions = _conditions(query, day_end, sqlite=store.is_sqlite)
    joined = CARD.join(NOTE, NOTE.c.id == CARD.c.note_id).join(DECK, DECK.c.id == NOTE.c.deck_id)
    count = select(func.count()).select_from(joined).where(*conditions)
    # Sorting only the ids and then loading one page's rows is several times quicker than
    # sorting whole rows (question and answer text included) of a large deck.
    page_ids = (
        select(CARD.c.id)
        .select_from(joined)
        .where(*conditions)
        .order_by(DECK.c.name, CARD.c.note_id, CARD.c.ordinal)
        .limit(limit)
    )
    with store.engine.connect() as connection:
        total = int(connection.execute(count).scalar_one())
        if total == 0:
            offset = 0
        elif offset >= total:
            # Past the end (cards were suspended out of a filter, say): show the last page.
            offset = (total - 1) // limit * limit
        offset = max(0, offset)
        ids = list(connection.execute(page_ids.offset(offset)).scalars())
        rows = {row.id: row for row in connection.execute(_page_rows(ids))} if ids else {}
    return CardPage(
        rows=[
            CardRow(
                card_id=row.id,
                note_id=row.note_id,
                deck=row.deck,
                front=card_faces(NoteFaces(row.kind, row.question, row.answer), row.ordinal).front,
                state=int(CardState.NEW) if row.reps == 0 else int(row.state),
                due=row.due,
                reps=row.reps,
                lapses=row.lapses,
                suspended=bool(row.suspended),
                tags=list(row.tags),
            )
            for row in (rows[card_id] for card_id in ids)
        ],
        total=total,
        offset=offset,
        limit=limit,
    )


def _page_rows(ids: list[int]) -> Any:
    return (
        select(
            CARD.c.id,
            CARD.c.note_id,
            CARD.c.ordinal,
            CARD.c.state,
            CARD.c.due,
            CARD.c.reps,
            CARD.c.lapses,
            CARD.c.suspended,
            NOTE.c.kind,
            NOTE.c.question,
            NOTE.c.answer,
            NOTE.c.tags,
            DECK.c.name.label("deck"),
        )
        .join(NOTE, NOTE.c.id == CARD.c.note_id)
        .join(DECK, DECK.c.id == NOTE.c.deck_id)
        .where(CARD.c.id.in_(ids))
    )


# -- one card ---------------------------------------------------------------------------------


def card_detail(store: Store, card_id: int) -> CardDetail | None:
    """Everything the browser shows about one card, or None when it no longer exists."""
    query = (
        select(CARD, NOTE.c.kind, NOTE.c.question, NOTE.c.answer, NOTE.c.context)
        .add_columns(
            NOTE.c.rubric,
            NOTE.c.hints,
            NOTE.c.tags,
            NOTE.c.demo,
            NOTE.c.source_file,
            NOTE.c.source_line,
            NOTE.c.removed_from_source,
            DECK.c.name.label("deck"),
        )
        .join(NOTE, NOTE.c.id == CARD.c.note_id)
        .join(DECK, DECK.c.id == NOTE.c.deck_id)
        .where(CARD.c.id == card_id)
    )
    with store.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    faces = card_faces(NoteFaces(row.kind, row.question, row.answer), row.ordinal)
    return CardDetail(
        card_id=row.id,
        note_id=row.note_id,
        deck=row.deck,
        kind=row.kind,
        front=faces.front,
        back=faces.back,
        context=row.context,
        rubric=list(row.rubric),
        hints=list(row.hints),
        tags=list(row.tags),
        demo=row.demo,
        source=display_source(row.source_file, row.source_line),
        removed_from_source=bool(row.removed_from_source),
        state=int(CardState.NEW) if row.reps == 0 else int(row.state),
        due=row.due,
        last_review=row.last_review,
        stability=row.stability,
        difficulty=row.difficulty,
        reps=row.reps,
        lapses=row.lapses,
        suspended=bool(row.suspended),
    )


def card_history(store: Store, card_id: int) -> list[HistoryRow]:
    """The card's review log, newest first."""
    query = (
        select(
            LOG.c.id,
            LOG.c.reviewed_at,
            LOG.c.rating,
            LOG.c.state_before,
            LOG.c.duration_ms,
            LOG.c.typed_answer,
            LOG.c.auto_score,
            LOG.c.auto_rating,
            LOG.c.auto_grade,
            LOG.c.final_grade,
        )
        .where(LOG.c.card_id == card_id)
        .order_by(LOG.c.reviewed_at.desc(), LOG.c.id.desc())
    )
    with store.engine.connect() as connection:
        return [
            HistoryRow(
                log_id=row.id,
                reviewed_at=row.reviewed_at,
                rating=row.rating,
                state_before=row.state_before,
                duration_ms=row.duration_ms,
                typed_answer=row.typed_answer,
                auto_score=row.auto_score,
                auto_rating=row.auto_rating,
                auto_grade=row.auto_grade,
                final_grade=row.final_grade,
            )
            for row in connection.execute(query)
        ]


def set_suspended(store: Store, card_ids: Iterable[int], suspended: bool) -> int:
    """Suspend (or unsuspend) cards in one transaction; returns how many cards exist among them."""
    ids = sorted(set(card_ids))
    if not ids:
        return 0
    changed = 0
    with store.write_connection() as connection:
        # Batches keep under SQLite's limit on bound parameters.
        for start in range(0, len(ids), 500):
            result = connection.execute(
                update(CARD)
                .where(CARD.c.id.in_(ids[start : start + 500]))
                .values(suspended=suspended)
            )
            changed += result.rowcount
    return changed


# -- wording shared by the screens --------------------------------------------------------------


def _rating_label(value: Any) -> str:
    try:
        return Rating(int(value)).label
    except (TypeError, ValueError):
        return str(value)


def describe_grade(grade: dict[str, Any] | None) -> str:
    """A grade record (automatic or final) in a few words: its rating, score and who gave it."""
    if not grade:
        return ""
    parts = []
    if "rating" in grade:
        parts.append(_rating_label(grade["rating"]))
    if isinstance(grade.get("score"), int | float):
        parts.append(f"{grade['score']:.2f}")
    for key in ("source", "by", "grader"):
        if isinstance(grade.get(key), str):
            parts.append(f"by {grade[key]}")
            break
    if parts:
        return " ".join(parts)
    # An unfamiliar shape: its scalar fields, briefly.
    return ", ".join(
        f"{key} {value}"
        for key, value in grade.items()
        if isinstance(value, str | int | float | bool)
    )[:60]


def format_due(due: datetime, now: datetime, state: int) -> str:
    """``in 3d``, ``2d ago`` or ``now`` for a scheduled card, ``—`` for a new one."""
    if state == int(CardState.NEW):
        return "—"
    delta = due - now
    if abs(delta) < timedelta(minutes=1):
        return "now"
    return (
        f"in {format_interval(delta)}" if delta > timedelta(0) else f"{format_interval(-delta)} ago"
    )


def format_duration(duration_ms: int | None) -> str:
    if duration_ms is None:
        return ""
    seconds = duration_ms / 1000
    if seconds < 60:
        return f"{seconds:.0f}s"
    return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s"
