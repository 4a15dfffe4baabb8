"""Browsing cards: a small search language, one card's details and review history, suspension.

A search reads like Anki's::

    deck:"Async Python*" tag:leech is:due due<7d kv cach*

- ``deck:NAME`` matches the deck of that name and its subdecks (``NAME::…``), ignoring case;
  ``*`` is a wildcard, so ``deck:async*`` matches every deck whose name starts with "async".
- ``tag:NAME`` matches that tag and its child tags (``NAME::…``), ignoring case; ``*`` as above.
- ``is:STATE`` picks a state (:data:`SEARCH_STATES`).
- ``due<`` and ``due>`` take a date (``2026-04-01``) or a number of days from today (``7d``).
- Every other word (or "quoted phrase") must occur in the question, the answer or the tags,
  ignoring case; ``*`` in it matches any run of characters (``cach*``, ``att*tion``).

Several filters must all hold. A search that cannot be run (an unknown state, a date that is
no date, an unclosed quote, a deck that does not exist) raises :class:`QueryError`, whose
message names the term and what to write instead. Results come a page at a time, so a deck of
any size costs one count and one page query per search.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, cast, false, func, or_, select, true, update
from sqlalchemy.sql.elements import ColumnElement

from studytool.core.card_faces import NoteFaces, card_faces
from studytool.core.models import Card, Deck, Note, ReviewLog
from studytool.core.ratings import CardState, rating_label, state_label
from studytool.core.scheduling import format_interval
from studytool.core.store import Store
from studytool.core.study import LEECH_TAG
from studytool.core.study_day import study_day_bounds
from studytool.paths import display_source

CARD = Card.__table__  # type: ignore[attr-defined]
NOTE = Note.__table__  # type: ignore[attr-defined]
DECK = Deck.__table__  # type: ignore[attr-defined]
LOG = ReviewLog.__table__  # type: ignore[attr-defined]

SEARCH_STATES = (
    "new",
    "learning",
    "review",
    "relearning",
    "due",
    "suspended",
    "buried",
    "leech",
)
PAGE_SIZE = 100
SYNTAX_HELP = (
    'words, "a phrase", cach* (* matches anything)  deck:"Name" (and its subdecks; deck:a* by start)  '
    f"tag:name  is:{'|'.join(SEARCH_STATES)}  due<7d  due>2026-04-01"
)
SUBDECK_SEPARATOR = "::"  # Anki's: "Parent::Child" (tags use it for child tags too)
_LIKE_ESCAPE = "/"
_WILDCARD = "*"
_RELATIVE_DAYS = re.compile(r"^([+-]?\d+)d$")
# A search keyword and its operator at the start of a term: deck: tag: is: due< due>, and
# the operators a mistyped due filter may use (due: due= due<=), so that it can be explained.
_KEYWORD = re.compile(r"^(\w+)(<=|>=|:|<|>|=)")
_FILTERS = ("deck", "tag", "is", "due")
_EXAMPLES = {"deck": '"Async Python"', "tag": "leech", "is": "due"}
_DUE_HELP = "write due<7d (due within the next 7 days) or due>2026-04-01 (due after that day)"


class QueryError(ValueError):
    """A search the browser cannot run; the message says which term and how to write it."""


@dataclass(frozen=True)
class CardQuery:
    """What to look for; every given filter must hold, and empty ones do not filter."""

    words: tuple[str, ...] = ()  # lower-cased words or phrases (``*`` a wildcard), each in
    # the question, the answer or the tags
    decks: tuple[str, ...] = ()  # deck names (or patterns with ``*``); subdecks match too
    tags: tuple[str, ...] = ()  # tags (or patterns with ``*``); child tags match too
    states: tuple[str, ...] = ()  # each one of SEARCH_STATES
    due_before: datetime | None = None  # scheduled cards due before this moment
    due_after: datetime | None = None  # scheduled cards due at or after this moment


@dataclass(frozen=True)
class CardRow:
    card_id: int
    note_id: int
    deck: str
    front: str
    state: int  # a CardState: 0 new, 1 learning, 2 review, 3 relearning
    due: datetime
    reps: int
    lapses: int
    suspended: bool
    buried: bool = False  # buried until the next study day (by hand or as a sibling)
    tags: list[str] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return state_label(self.state)

    @property
    def status(self) -> str:
        """What the card is now, as the table shows it: suspended, buried, or its state."""
        if self.suspended:
            return "suspended"
        if self.buried:
            return "buried"
        return state_label(self.state, short=True)


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
    buried_until: datetime | None = None

    @property
    def state_label(self) -> str:
        return state_label(self.state)

    def buried_at(self, now: datetime) -> bool:
        """Whether the card is buried (hidden from study until the next study day) at ``now``."""
        return self.buried_until is not None and self.buried_until > now


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
        return rating_label(self.rating)


# -- the query language ---------------------------------------------------------------------


def parse_query(text: str, now: datetime) -> CardQuery:
    """Read ``deck:… tag:… is:… due<… due>… words`` into a CardQuery (see the module docstring).

    Raises QueryError, naming the term, for a filter that cannot match anything as written.
    """
    words: list[str] = []
    decks: list[str] = []
    tags: list[str] = []
    states: list[str] = []
    due_before: datetime | None = None
    due_after: datetime | None = None
    for written, term in _terms(text):
        keyword = _KEYWORD.match(term)
        key = keyword.group(1).lower() if keyword else ""
        if keyword is None or key not in _FILTERS:
            # Anything else is text to find, keyword-looking words (urls, "a:b") included.
            words.append(term.lower())
            continue
        operator, value = keyword.group(2), term[keyword.end() :]
        if key == "due":
            if operator not in "<>":
                raise QueryError(f"{written}: due takes < or >; {_DUE_HELP}")
            moment = _day_start(written, value, now)
            if operator == "<":
                due_before = moment
            else:
                due_after = moment + timedelta(days=1)
            continue
        if operator != ":":
            # deck<x, tag=x: not a filter as written, so most likely plain text ("is=").
            words.append(term.lower())
            continue
        if not value.strip():
            raise QueryError(f"{written} needs a value, as in {key}:{_EXAMPLES[key]}")
        if key == "is":
            state = value.lower()
            if state not in SEARCH_STATES:
                choices = ", ".join(f"is:{name}" for name in SEARCH_STATES)
                raise QueryError(f"{written}: no such card state; use one of {choices}")
            states.append(state)
        elif key == "deck":
            decks.append(value)
        else:
            tags.append(value)
    return CardQuery(
        words=tuple(words),
        decks=tuple(decks),
        tags=tuple(tags),
        states=tuple(states),
        due_before=due_before,
        due_after=due_after,
    )


def _terms(text: str) -> Iterator[tuple[str, str]]:
    """Each term of a search as written and with its quotes removed, split at spaces outside
    double quotes.

    Quotes may wrap a whole term (``"deck:Async Python"``) or its value
    (``deck:"Async Python"``), as in Anki.
    """
    term: list[str] = []
    start: int | None = None  # where the current term began (it can be empty text: deck:"")
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            if start is not None:
                yield text[start:index], "".join(term)
            term, start = [], None
            index += 1
            continue
        if start is None:
            start = index
        if char == '"':
            end = text.find('"', index + 1)
            if end == -1:
                shown = text[start : index + 21]
                raise QueryError(
                    f'{shown}: the quote is not closed; add a closing " '
                    '(as in deck:"Async Python"), or remove the quote'
                )
            term.append(text[index + 1 : end])
            index = end + 1
        else:
            term.append(char)
            index += 1
    if start is not None:
        yield text[start:], "".join(term)


def _day_start(term: str, value: str, now: datetime) -> datetime:
    """Local midnight (as UTC) starting the day ``value`` names: a date or ``Nd`` from today."""
    relative = _RELATIVE_DAYS.match(value)
    if relative:
        day = now.astimezone().date() + timedelta(days=int(relative.group(1)))
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise QueryError(f"{term}: {value or 'nothing'} is not a date; {_DUE_HELP}") from None
    return datetime.combine(day, time()).astimezone().astimezone(UTC)


def _name_pattern(value: str) -> re.Pattern[str]:
    """Anki's name match: the whole name or a child's (``name::…``), any case, ``*`` a wildcard."""
    body = ".*".join(re.escape(part) for part in value.split(_WILDCARD))
    return re.compile(f"(?:{body})(?:{re.escape(SUBDECK_SEPARATOR)}.*)?", re.IGNORECASE | re.DOTALL)


def matching_decks(names: Iterable[str], value: str) -> list[str]:
    """The names among ``names`` that ``deck:value`` matches."""
    pattern = _name_pattern(value)
    return [name for name in names if pattern.fullmatch(name)]


def _no_such_deck(value: str, names: list[str]) -> QueryError:
    """What to say about ``deck:value`` naming no deck: the decks it was most likely meant for."""
    wanted = value.replace(_WILDCARD, "").casefold()
    close = [name for name in names if wanted and wanted in name.casefold()]
    close += [
        name
        for name in difflib.get_close_matches(value, names, n=3, cutoff=0.5)
        if name not in close
    ]
    shown = _quoted_filter("deck", value)
    if not close:
        return QueryError(
            f"{shown}: no deck has that name (`studytool decks` lists them); "
            "deck: takes a whole name, or the start of one followed by *"
        )
    suggestions = " or ".join(_quoted_filter("deck", name) for name in close[:3])
    starts = [name for name in close if name.casefold().startswith(wanted)]
    prefix = (
        f", or {_quoted_filter('deck', value.rstrip(_WILDCARD) + _WILDCARD)} for every deck "
        "whose name starts so"
        if starts and not value.endswith(_WILDCARD)
        else ""
    )
    return QueryError(
        f"{shown}: no deck has that name (deck: takes a whole name); "
        f"did you mean {suggestions}{prefix}?"
    )


def _quoted_filter(key: str, value: str) -> str:
    return f'{key}:"{value}"' if re.search(r"\s", value) else f"{key}:{value}"


def _like_pattern(value: str, *, wildcard: bool, json_string: bool = False) -> str:
    """A LIKE pattern for ``value`` (``*`` → ``%`` when ``wildcard``), lower-cased, escaped."""
    parts = value.lower().split(_WILDCARD) if wildcard else [value.lower()]
    escaped = []
    for part in parts:
        if json_string:
            # Tags are stored as a JSON list, so an element appears in the column's text
            # exactly as json.dumps writes it, between double quotes.
            part = json.dumps(part)[1:-1]
        for special in (_LIKE_ESCAPE, "%", "_"):
            part = part.replace(special, _LIKE_ESCAPE + special)
        escaped.append(part)
    return "%".join(escaped)


def _conditions(
    query: CardQuery, deck_ids: list[int] | None, now: datetime, day_end: datetime, *, sqlite: bool
) -> list[Any]:
    def lowered(column: ColumnElement[Any]) -> ColumnElement[Any]:
        # SQLite's LIKE already ignores ASCII case (and its lower() knows no other), so
        # lowering the column there would only double the cost of a text search.
        return column if sqlite else func.lower(column)

    def tags_text() -> ColumnElement[Any]:
        return lowered(cast(NOTE.c.tags, String))

    def has_tag(tag: str, *, wildcard: bool) -> ColumnElement[bool]:
        pattern = _like_pattern(tag, wildcard=wildcard, json_string=True)
        child = _like_pattern(SUBDECK_SEPARATOR, wildcard=False, json_string=True)
        return or_(
            tags_text().like(f'%"{pattern}"%', escape=_LIKE_ESCAPE),
            tags_text().like(f'%"{pattern}{child}%', escape=_LIKE_ESCAPE),
        )

    conditions: list[Any] = []
    for word in query.words:
        # Free text matches anywhere in a field, as in Anki: "cach*" and "*cache*" are "cach"
        # and "cache" with explicit ends, and "att*tion" needs both parts in that order.
        pattern = f"%{_like_pattern(word, wildcard=True)}%"
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
    if deck_ids is not None:
        conditions.append(NOTE.c.deck_id.in_(deck_ids))
    for tag in query.tags:
        conditions.append(has_tag(tag, wildcard=True))
    scheduled = CARD.c.reps > 0
    active = CARD.c.suspended == false()
    buried = CARD.c.buried_until > now
    not_buried = CARD.c.buried_until.is_(None) | (CARD.c.buried_until <= now)
    for state in query.states:
        if state == "new":
            conditions.append(CARD.c.reps == 0)
        elif state in ("learning", "review", "relearning"):
            conditions += [scheduled, CARD.c.state == int(CardState[state.upper()])]
        elif state == "suspended":
            conditions.append(CARD.c.suspended == true())
        elif state == "buried":
            conditions.append(buried)
        elif state == "leech":
            conditions.append(has_tag(LEECH_TAG, wildcard=False))
        elif state == "due":
            # What study would show today, learning cards included (Anki's is:due): scheduled,
            # neither suspended nor buried, due before the study day ends.
            conditions += [scheduled, active, not_buried, CARD.c.due < day_end]
        else:
            choices = ", ".join(f"is:{name}" for name in SEARCH_STATES)
            raise QueryError(f"is:{state}: no such card state; use one of {choices}")
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
    learner's settings when not given. Raises QueryError when a ``deck:`` filter names no deck.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if day_starts_at_hour is None:
        day_starts_at_hour = store.load_settings().day_starts_at_hour
    _, day_end = study_day_bounds(now, day_starts_at_hour)
    joined = CARD.join(NOTE, NOTE.c.id == CARD.c.note_id).join(DECK, DECK.c.id == NOTE.c.deck_id)
    with store.engine.connect() as connection:
        deck_ids = _deck_ids(connection, query.decks)
        conditions = _conditions(query, deck_ids, now, day_end, sqlite=store.is_sqlite)
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
                buried=row.buried_until is not None and row.buried_until > now,
                tags=list(row.tags),
            )
            for row in (rows[card_id] for card_id in ids)
        ],
        total=total,
        offset=offset,
        limit=limit,
    )


def _deck_ids(connection: Any, decks: tuple[str, ...]) -> list[int] | None:
    """Ids of the decks that every ``deck:`` filter matches; None when there is no filter.

    Deck names are matched here rather than in SQL: there are few, and Python's case folding
    knows every alphabet (SQLite's LIKE only ASCII).
    """
    if not decks:
        return None
    by_name = {row.name: row.id for row in connection.execute(select(DECK.c.id, DECK.c.name))}
    chosen: set[str] | None = None
    for value in decks:
        matched = matching_decks(by_name, value)
        if not matched:
            raise _no_such_deck(value, sorted(by_name))
        chosen = set(matched) if chosen is None else chosen & set(matched)
    return sorted(by_name[name] for name in chosen or ())


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
            CARD.c.buried_until,
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
        buried_until=row.buried_until,
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
    return _set_flags(store, card_ids, suspended=suspended)


def set_buried(
    store: Store, card_ids: Iterable[int], buried: bool, now: datetime, day_starts_at_hour: int
) -> int:
    """Bury cards until the next study day (as the review's bury does), or unbury them, in one
    transaction; returns how many cards exist among them."""
    _, day_end = study_day_bounds(now, day_starts_at_hour)
    return _set_flags(store, card_ids, buried_until=day_end if buried else None)


def _set_flags(store: Store, card_ids: Iterable[int], **values: Any) -> int:
    ids = sorted(set(card_ids))
    if not ids:
        return 0
    changed = 0
    with store.write_connection() as connection:
        # Batches keep under SQLite's limit on bound parameters.
        for start in range(0, len(ids), 500):
            result = connection.execute(
                update(CARD).where(CARD.c.id.in_(ids[start : start + 500])).values(**values)
            )
            changed += result.rowcount
    return changed


# -- wording shared by the screens --------------------------------------------------------------


def describe_grade(grade: dict[str, Any] | None) -> str:
    """A grade record (automatic or final) in a few words: its rating, score and who gave it."""
    if not grade:
        return ""
    parts = []
    if "rating" in grade:
        parts.append(rating_label(grade["rating"]))
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
