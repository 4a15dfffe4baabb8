"""A study session: the review queue shared by the plain CLI review and the TUI.

Order: learning cards that are due, then review cards due today, then new cards, within the
learner's daily limits. Each rating is committed in its own transaction before the next card
is picked, so a crash loses at most the answer being typed.

Picking and rating run once per card, so they use statements prepared once
(:mod:`studytool.core.prepared`) over three partial indexes (``ix_card_learning``, ``ix_card_review``, ``ix_card_new``) rather than ORM queries: with 100,000
cards stored this keeps a pick + commit near a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import fsrs
from sqlalchemy import (
    and_,
    bindparam,
    case,
    false,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.sql.elements import ColumnClause

from studytool.config import Settings
from studytool.core.card_faces import NoteFaces, card_faces
from studytool.core.grading import GradingInputs, grading_inputs
from studytool.core.models import Card, Deck, Note, ReviewLog
from studytool.core.prepared import Cursor, Prepared
from studytool.core.ratings import CardState, Rating
from studytool.core.scheduling import make_scheduler
from studytool.core.store import Store
from studytool.core.study_day import study_day_bounds
from studytool.paths import display_source

LEECH_TAG = "leech"
_BATCH = 64

CARD = Card.__table__  # type: ignore[attr-defined]
NOTE = Note.__table__  # type: ignore[attr-defined]
DECK = Deck.__table__  # type: ignore[attr-defined]
LOG = ReviewLog.__table__  # type: ignore[attr-defined]
_STATE_COLUMNS = (
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "reps",
    "lapses",
    "suspended",
    "buried_until",
)
_DATETIME_COLUMNS = ("due", "last_review", "buried_until")


class StudyError(Exception):
    """A study action that cannot be done (unknown card, nothing to undo)."""


@dataclass(frozen=True)
class QueuedCard:
    card_id: int
    note_id: int
    ordinal: int
    key: str
    kind: str
    deck: str
    front: str
    back: str
    expected: str
    context: str
    rubric: list[str]
    rubric_applies: bool  # whether the rubric grades this card (see CardFaces)
    hints: list[str]
    follow_ups: list[str]
    mistakes: list[str]  # known wrong claims (deck field X:)
    tags: list[str]
    demo: str | None
    source: str | None
    state: int  # 0 new, 1 learning, 2 review, 3 relearning
    reps: int
    lapses: int

    def grading_inputs(self) -> GradingInputs:
        """What a typed answer to this card is graded against."""
        return grading_inputs(
            self.kind,
            self.ordinal,
            self.front,
            self.expected,
            self.rubric,
            self.rubric_applies,
            self.mistakes,
        )


@dataclass(frozen=True)
class QueueCounts:
    """What today's study offers, as Anki counts it: new cards within the daily new-card limit,
    cards in (re)learning due today, and reviews due today within the daily review limit.
    Suspended and buried cards are in none of them."""

    new: int
    learning: int
    review: int

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


@dataclass(frozen=True)
class DeckQueueCounts:
    """One deck's line on the deck list: what studying that deck today offers, and its size."""

    name: str
    today: QueueCounts
    cards: int  # every card of the deck, suspended and buried ones included


@dataclass(frozen=True)
class UndoStep:
    """One change a study session can take back, newest last on its stack."""

    kind: Literal["answer", "bury", "suspend"]
    card_id: int
    log_id: int | None = None  # the review row an answer wrote
    before: dict[str, Any] | None = None  # bury / suspend: the card's flags before the change


@dataclass(frozen=True)
class AnswerResult:
    card_id: int
    rating: Rating
    log_id: int
    due: datetime
    interval: timedelta
    became_leech: bool


def _is_buried(buried_until: datetime | None, now: datetime) -> bool:
    return buried_until is not None and buried_until > now


def _to_json_state(row: dict[str, Any]) -> dict[str, Any]:
    state = {}
    for name in _STATE_COLUMNS:
        value = row[name]
        state[name] = value.isoformat() if isinstance(value, datetime) else value
    return state


def _from_json_state(state: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {name: state.get(name) for name in _STATE_COLUMNS}
    for name in _DATETIME_COLUMNS:
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return values


def _from_flags(flags: dict[str, Any]) -> dict[str, Any]:
    buried_until = flags["buried_until"]
    return {
        "suspended": flags["suspended"],
        "buried_until": datetime.fromisoformat(buried_until) if buried_until else None,
    }


def _fsrs_card(card_id: int, row: dict[str, Any]) -> fsrs.Card:
    return fsrs.Card(
        card_id=card_id,
        state=fsrs.State(row["state"]),
        step=row["step"],
        stability=row["stability"],
        difficulty=row["difficulty"],
        due=row["due"],
        last_review=row["last_review"],
    )


def _state_before(row: dict[str, Any]) -> int:
    return int(CardState.NEW) if row["reps"] == 0 else int(row["state"])


def _queues(now: Any) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], Any]:
    """The conditions of the learning, review and new queues, and "not buried at ``now``"."""
    # The conditions repeat the partial indexes' WHERE clauses word for word (literals, not
    # bound parameters), which is what lets the database choose those indexes.
    active = CARD.c.suspended == false()
    zero: ColumnClause[int] = literal_column("0")
    review_state: ColumnClause[int] = literal_column(str(int(CardState.REVIEW)))
    learning = (active, CARD.c.reps > zero, CARD.c.state != review_state)
    review = (active, CARD.c.reps > zero, CARD.c.state == review_state)
    unseen = (active, CARD.c.reps == zero)
    not_buried = (CARD.c.buried_until.is_(None)) | (CARD.c.buried_until <= now)
    return learning, review, unseen, not_buried


def _statements(deck_ids: list[int] | None) -> dict[str, Any]:
    """The queue's statements; those of a deck selection name its decks' ids in the SQL."""
    zero: ColumnClause[int] = literal_column("0")
    review_state: ColumnClause[int] = literal_column(str(int(CardState.REVIEW)))
    learning, review, unseen, not_buried = _queues(bindparam("now"))

    def in_decks(query: Any) -> Any:
        if deck_ids is None:
            return query
        # Deck ids are integers from the database, written into the SQL as literals.
        chosen: list[ColumnClause[int]] = [
            literal_column(str(int(deck_id))) for deck_id in deck_ids
        ]
        return query.where(CARD.c.note_id.in_(select(NOTE.c.id).where(NOTE.c.deck_id.in_(chosen))))

    def scan(conditions: tuple[Any, ...], order: tuple[Any, ...], bounded: bool) -> Any:
        query = select(CARD.c.id, CARD.c.buried_until).where(*conditions)
        if bounded:
            query = query.where(CARD.c.due <= bindparam("until"))
        return in_decks(
            query.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset"))
        )

    def count(conditions: tuple[Any, ...], bounded: bool) -> Any:
        query = select(func.count().label("n")).select_from(CARD).where(*conditions, not_buried)
        if bounded:
            query = query.where(CARD.c.due < bindparam("until"))
        return in_decks(query)

    by_due = (CARD.c.due, CARD.c.id)
    return {
        "learning_scan": scan(learning, by_due, bounded=True),
        "review_scan": scan(review, by_due, bounded=True),
        "new_scan": scan(unseen, (CARD.c.note_id, CARD.c.ordinal), bounded=False),
        "count_learning": count(learning, bounded=True),
        "count_review": count(review, bounded=True),
        "count_new": count(unseen, bounded=False),
        "select_card": select(CARD.c.note_id, *(CARD.c[name] for name in _STATE_COLUMNS)).where(
            CARD.c.id == bindparam("card_id")
        ),
        "load_card": (
            select(
                CARD.c.id,
                CARD.c.ordinal,
                CARD.c.state,
                CARD.c.reps,
                CARD.c.lapses,
                NOTE.c.id.label("note_id"),
                NOTE.c.key,
                NOTE.c.kind,
                NOTE.c.question,
                NOTE.c.answer,
                NOTE.c.context,
                NOTE.c.rubric,
                NOTE.c.hints,
                NOTE.c.follow_ups,
                NOTE.c.mistakes,
                NOTE.c.tags,
                NOTE.c.demo,
                NOTE.c.source_file,
                NOTE.c.source_line,
                DECK.c.name.label("deck"),
            )
            .join(NOTE, NOTE.c.id == CARD.c.note_id)
            .join(DECK, DECK.c.id == NOTE.c.deck_id)
            .where(CARD.c.id == bindparam("card_id"))
        ),
        "update_card": (
            update(CARD)
            .where(CARD.c.id == bindparam("card_id"))
            .values(
                state=bindparam("new_state"),
                step=bindparam("new_step"),
                stability=bindparam("new_stability"),
                difficulty=bindparam("new_difficulty"),
                due=bindparam("new_due"),
                last_review=bindparam("new_last_review"),
                reps=bindparam("new_reps"),
                lapses=bindparam("new_lapses"),
                suspended=bindparam("new_suspended"),
                buried_until=None,
            )
        ),
        # Siblings to bury: the note's other new and review cards not already buried until
        # the end of today. Their earlier burial, if any, had expired, so undo clears it.
        "bury_siblings": (
            update(CARD)
            .where(
                CARD.c.note_id == bindparam("note_id"),
                CARD.c.id != bindparam("card_id"),
                CARD.c.suspended == false(),
                (CARD.c.reps == zero) | (CARD.c.state == review_state),
                CARD.c.buried_until.is_(None) | (CARD.c.buried_until < bindparam("day_end")),
            )
            .values(buried_until=bindparam("day_end"))
            .returning(CARD.c.id)
        ),
        "insert_log": insert(LOG).values({name: bindparam(name) for name in _LOG_COLUMNS}),
        "last_log_id": select(func.max(LOG.c.id).label("id")).where(
            LOG.c.card_id == bindparam("card_id")
        ),
    }


_LOG_COLUMNS = (
    "card_id",
    "rating",
    "state_before",
    "reviewed_at",
    "duration_ms",
    "typed_answer",
    "auto_score",
    "auto_rating",
    "auto_grade",
    "final_grade",
    "undo",
)


class StudySession:
    """Review queue over some decks (all decks when ``deck_names`` is None)."""

    def __init__(
        self, store: Store, deck_names: list[str] | None = None, settings: Settings | None = None
    ) -> None:
        self.store = store
        self.settings = settings or store.load_settings()
        self.scheduler = make_scheduler(self.settings)
        self._preview_scheduler = make_scheduler(self.settings, fuzz=False)
        self._undo: list[UndoStep] = []  # this session's changes, newest last
        # Cards introduced / reviews done today, counted once per study day and then kept
        # up to date by answer() and undo(), instead of re-counting the log on every pick.
        self._today: tuple[datetime, int, int] | None = None
        self.deck_ids: list[int] | None = None
        if deck_names:
            with store.engine.connect() as connection:
                rows = connection.execute(
                    select(DECK.c.id, DECK.c.name).where(DECK.c.name.in_(deck_names))
                ).all()
            missing = sorted(set(deck_names) - {row.name for row in rows})
            if missing:
                raise StudyError(
                    f"no deck named {', '.join(repr(m) for m in missing)}; `studytool decks` lists them"
                )
            self.deck_ids = sorted(row.id for row in rows)
        self._sql = {
            name: Prepared(statement, store.engine)
            for name, statement in _statements(self.deck_ids).items()
        }

    # -- daily limits --------------------------------------------------------------------

    def _done_today(self, day_start: datetime) -> tuple[int, int]:
        if self._today is None or self._today[0] != day_start:
            with self.store.engine.connect() as connection:
                rows = connection.execute(
                    select(LOG.c.state_before, func.count(func.distinct(LOG.c.card_id)))
                    .where(
                        LOG.c.reviewed_at >= day_start,
                        LOG.c.state_before.in_((int(CardState.NEW), int(CardState.REVIEW))),
                    )
                    .group_by(LOG.c.state_before)
                ).all()
            done = {state: count for state, count in rows}
            self._today = (day_start, done.get(CardState.NEW, 0), done.get(CardState.REVIEW, 0))
        return self._today[1], self._today[2]

    def _count_today(self, state_before: int, delta: int) -> None:
        if self._today is None:
            return
        day_start, new_done, reviews_done = self._today
        if state_before == CardState.NEW:
            new_done += delta
        elif state_before == CardState.REVIEW:
            reviews_done += delta
        self._today = (day_start, max(0, new_done), max(0, reviews_done))

    def _limits_left(self, now: datetime) -> tuple[int, int, datetime]:
        day_start, day_end = study_day_bounds(now, self.settings.day_starts_at_hour)
        new_done, reviews_done = self._done_today(day_start)
        return (
            max(0, self.settings.new_cards_per_day - new_done),
            max(0, self.settings.reviews_per_day - reviews_done),
            day_end,
        )

    # -- queue ---------------------------------------------------------------------------

    def counts(self, now: datetime) -> QueueCounts:
        """Cards left today: new (within the daily limit), learning, and reviews due today."""
        new_left, reviews_left, day_end = self._limits_left(now)
        sql = self._sql
        with self.store.raw_transaction(write=False) as cursor:
            learning = cursor.execute(sql["count_learning"], until=day_end, now=now).scalar()
            review = cursor.execute(sql["count_review"], until=day_end, now=now).scalar()
            new = cursor.execute(sql["count_new"], now=now).scalar()
        return QueueCounts(
            new=min(new, new_left), learning=learning, review=min(review, reviews_left)
        )

    def counts_by_deck(self, now: datetime) -> list[DeckQueueCounts]:
        """Each of the session's decks (every deck, by name, empty ones too) with what a review
        of that deck alone would offer today: the same counts as :meth:`counts`, each capped by
        the daily limits that are left (shared by all decks, as in Anki)."""
        new_left, reviews_left, day_end = self._limits_left(now)
        learning, review, unseen, not_buried = _queues(now)

        def number(*conditions: Any) -> Any:
            return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

        query = (
            select(
                DECK.c.name,
                func.count(CARD.c.id).label("cards"),
                number(*learning, not_buried, CARD.c.due < day_end).label("learning"),
                number(*review, not_buried, CARD.c.due < day_end).label("review"),
                number(*unseen, not_buried).label("new"),
            )
            .select_from(
                DECK.outerjoin(NOTE, NOTE.c.deck_id == DECK.c.id).outerjoin(
                    CARD, CARD.c.note_id == NOTE.c.id
                )
            )
            .group_by(DECK.c.id, DECK.c.name)
            .order_by(DECK.c.name)
        )
        if self.deck_ids is not None:
            query = query.where(DECK.c.id.in_(self.deck_ids))
        with self.store.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            DeckQueueCounts(
                name=row.name,
                today=QueueCounts(
                    new=min(int(row.new), new_left),
                    learning=int(row.learning),
                    review=min(int(row.review), reviews_left),
                ),
                cards=int(row.cards),
            )
            for row in rows
        ]

    def next_card(self, now: datetime) -> QueuedCard | None:
        """The card to show now, or None when the day's work is done.

        Learning cards due now come first, then reviews due today, then new cards; when
        nothing else is left, a learning card due within the learn-ahead window.
        """
        new_left, reviews_left, day_end = self._limits_left(now)
        sql = self._sql
        with self.store.raw_transaction(write=False) as cursor:
            card_id = self._first(cursor, sql["learning_scan"], now, until=now)
            if card_id is None and reviews_left > 0:
                card_id = self._first(cursor, sql["review_scan"], now, until=day_end)
            if card_id is None and new_left > 0:
                card_id = self._first(cursor, sql["new_scan"], now)
            if card_id is None and self.settings.learn_ahead_minutes:
                ahead = now + timedelta(minutes=self.settings.learn_ahead_minutes)
                card_id = self._first(cursor, sql["learning_scan"], now, until=ahead)
            return None if card_id is None else self._load(cursor, card_id)

    @staticmethod
    def _first(cursor: Cursor, scan: Prepared, now: datetime, **bounds: Any) -> int | None:
        """The first card of ``scan`` that is not buried (buried cards are few: page past them)."""
        offset = 0
        while True:
            rows = cursor.execute(scan, limit=_BATCH, offset=offset, **bounds).all()
            for row in rows:
                if not _is_buried(row["buried_until"], now):
                    return int(row["id"])
            if len(rows) < _BATCH:
                return None
            offset += _BATCH

    def get(self, card_id: int) -> QueuedCard:
        with self.store.raw_transaction(write=False) as cursor:
            return self._load(cursor, card_id)

    def _load(self, cursor: Cursor, card_id: int) -> QueuedCard:
        row = cursor.execute(self._sql["load_card"], card_id=card_id).first()
        if row is None:
            raise StudyError(f"no card with id {card_id}")
        faces = card_faces(NoteFaces(row["kind"], row["question"], row["answer"]), row["ordinal"])
        return QueuedCard(
            card_id=card_id,
            note_id=row["note_id"],
            ordinal=row["ordinal"],
            key=row["key"],
            kind=row["kind"],
            deck=row["deck"],
            front=faces.front,
            back=faces.back,
            expected=faces.expected,
            context=row["context"],
            rubric=list(row["rubric"]),
            rubric_applies=faces.rubric_applies,
            hints=list(row["hints"]),
            follow_ups=list(row["follow_ups"]),
            mistakes=list(row["mistakes"]),
            tags=list(row["tags"]),
            demo=row["demo"],
            source=display_source(row["source_file"], row["source_line"]),
            state=int(CardState.NEW) if row["reps"] == 0 else int(row["state"]),
            reps=row["reps"],
            lapses=row["lapses"],
        )

    def _card_state(self, cursor: Cursor, card_id: int) -> dict[str, Any]:
        row = cursor.execute(self._sql["select_card"], card_id=card_id).first()
        if row is None:
            raise StudyError(f"no card with id {card_id}")
        return row

    def preview(self, card_id: int, now: datetime) -> dict[Rating, timedelta]:
        """The next interval for each rating, as Anki shows above its answer buttons."""
        with self.store.raw_transaction(write=False) as cursor:
            row = self._card_state(cursor, card_id)
        current = _fsrs_card(card_id, row)
        previews: dict[Rating, timedelta] = {}
        for rating in Rating:
            scheduled, _ = self._preview_scheduler.review_card(
                current, fsrs.Rating(int(rating)), now
            )
            previews[rating] = scheduled.due - now
        return previews

    # -- answering -----------------------------------------------------------------------

    def answer(
        self,
        card_id: int,
        rating: int,
        now: datetime,
        *,
        duration_ms: int | None = None,
        typed_answer: str | None = None,
        auto_score: float | None = None,
        auto_rating: int | None = None,
        auto_grade: dict[str, Any] | None = None,
        final_grade: dict[str, Any] | None = None,
    ) -> AnswerResult:
        """Rate a card and commit the new state and the log row in one transaction."""
        chosen = Rating(rating)
        sql = self._sql
        if typed_answer:
            # PostgreSQL text cannot hold NUL (SQLite can); it never means anything in an
            # answer, so both stores keep the same text without it.
            typed_answer = typed_answer.replace("\x00", "")
        with self.store.raw_transaction(write=True) as cursor:
            row = self._card_state(cursor, card_id)
            state_before = _state_before(row)
            scheduled, _ = self.scheduler.review_card(
                _fsrs_card(card_id, row), fsrs.Rating(int(chosen)), now, duration_ms
            )
            lapsed = chosen is Rating.AGAIN and state_before == CardState.REVIEW
            lapses = row["lapses"] + int(lapsed)
            became_leech = (
                lapsed and lapses >= self.settings.leech_threshold and not row["suspended"]
            )
            undo: dict[str, Any] = {"card": _to_json_state(row)}
            if became_leech:
                undo["added_leech_tag"] = self._tag_leech(cursor, row["note_id"])
            cursor.execute(
                sql["update_card"],
                card_id=card_id,
                new_state=int(scheduled.state),
                new_step=scheduled.step,
                new_stability=scheduled.stability,
                new_difficulty=scheduled.difficulty,
                new_due=scheduled.due,
                new_last_review=scheduled.last_review,
                new_reps=row["reps"] + 1,
                new_lapses=lapses,
                new_suspended=bool(row["suspended"]) or became_leech,
            )
            if self.settings.bury_siblings:
                _, day_end = study_day_bounds(now, self.settings.day_starts_at_hour)
                buried = cursor.execute(
                    sql["bury_siblings"], note_id=row["note_id"], card_id=card_id, day_end=day_end
                ).all()
                if buried:
                    undo["buried_siblings"] = [sibling["id"] for sibling in buried]
            cursor.execute(
                sql["insert_log"],
                card_id=card_id,
                rating=int(chosen),
                state_before=state_before,
                reviewed_at=now,
                duration_ms=duration_ms,
                typed_answer=typed_answer,
                auto_score=auto_score,
                auto_rating=auto_rating,
                auto_grade=auto_grade,
                final_grade=final_grade,
                undo=undo,
            )
            # Portable across drivers (RETURNING and lastrowid differ): the newest log row
            # of this card, inside the same write transaction.
            log_id = int(cursor.execute(sql["last_log_id"], card_id=card_id).scalar())
        self._undo.append(UndoStep("answer", card_id, log_id=log_id))
        self._count_today(state_before, +1)
        return AnswerResult(
            card_id=card_id,
            rating=chosen,
            log_id=log_id,
            due=scheduled.due,
            interval=scheduled.due - now,
            became_leech=became_leech,
        )

    def _tag_leech(self, cursor: Cursor, note_id: int) -> bool:
        """Tag the note ``leech``; False when it already was (so undo must not untag it)."""
        with self.store.engine.connect() as connection:
            tags = connection.execute(select(NOTE.c.tags).where(NOTE.c.id == note_id)).scalar_one()
        if LEECH_TAG in tags:
            return False
        statement = Prepared(
            update(NOTE).where(NOTE.c.id == note_id).values(tags=bindparam("tags")),
            self.store.engine,
        )
        cursor.execute(statement, tags=[*tags, LEECH_TAG])
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def undo_steps(self) -> tuple[UndoStep, ...]:
        """This session's changes that undo can take back, newest last."""
        return tuple(self._undo)

    def undo(self) -> QueuedCard:
        """Take back this session's last change exactly: a rating (card state restored, log
        row removed, leech tag and buried siblings put back), a bury or a suspend (the card's
        flags as they were). Returns the card it concerned."""
        if not self._undo:
            raise StudyError("nothing to undo in this session")
        step = self._undo[-1]
        if step.kind == "answer":
            self._undo_answer(step)
        else:
            assert step.before is not None
            with self.store.write_connection() as connection:
                values = _from_flags(step.before)
                changed = connection.execute(
                    update(CARD).where(CARD.c.id == step.card_id).values(**values)
                )
            if changed.rowcount == 0:
                self._undo.pop()
                raise StudyError("that card is no longer stored (deleted elsewhere)")
        self._undo.pop()
        return self.get(step.card_id)

    def _undo_answer(self, step: UndoStep) -> None:
        with self.store.write_connection() as connection:
            log = connection.execute(
                select(LOG.c.card_id, LOG.c.state_before, LOG.c.undo).where(LOG.c.id == step.log_id)
            ).first()
            if log is None:
                self._undo.pop()
                raise StudyError("that review is no longer in the log (deleted elsewhere)")
            connection.execute(
                update(CARD)
                .where(CARD.c.id == log.card_id)
                .values(**_from_json_state(log.undo["card"]))
            )
            if log.undo.get("added_leech_tag"):
                note_id = connection.execute(
                    select(CARD.c.note_id).where(CARD.c.id == log.card_id)
                ).scalar_one()
                tags = connection.execute(
                    select(NOTE.c.tags).where(NOTE.c.id == note_id)
                ).scalar_one()
                connection.execute(
                    update(NOTE)
                    .where(NOTE.c.id == note_id)
                    .values(tags=[tag for tag in tags if tag != LEECH_TAG])
                )
            buried = log.undo.get("buried_siblings", [])
            if buried:
                connection.execute(
                    update(CARD).where(CARD.c.id.in_(buried)).values(buried_until=None)
                )
            connection.execute(sql_delete(LOG).where(LOG.c.id == step.log_id))
        self._count_today(log.state_before, -1)

    # -- bury / suspend ------------------------------------------------------------------

    def bury(self, card_id: int, now: datetime) -> None:
        """Hide a card until the next study day (undo brings it back as it was)."""
        _, day_end = study_day_bounds(now, self.settings.day_starts_at_hour)
        self._set(card_id, "bury", buried_until=day_end)

    def set_suspended(self, card_id: int, suspended: bool = True) -> None:
        self._set(card_id, "suspend", suspended=suspended)

    def _set(self, card_id: int, kind: Literal["bury", "suspend"], **values: Any) -> None:
        with self.store.write_connection() as connection:
            before = connection.execute(
                select(CARD.c.suspended, CARD.c.buried_until).where(CARD.c.id == card_id)
            ).first()
            if before is None:
                raise StudyError(f"no card with id {card_id}")
            connection.execute(update(CARD).where(CARD.c.id == card_id).values(**values))
        flags = {
            "suspended": bool(before.suspended),
            "buried_until": before.buried_until.isoformat() if before.buried_until else None,
        }
        self._undo.append(UndoStep(kind, card_id, before=flags))
