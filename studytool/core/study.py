"""A study session: the review queue shared by the plain CLI review and the TUI.

Order: learning cards that are due, then review cards due today, then new cards, within the
learner's daily limits. Each rating is committed in its own transaction before the next card
is picked, so a crash loses at most the answer being typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import fsrs
from sqlalchemy import and_, func, or_, select, update

from studytool.config import Settings
from studytool.core.card_faces import card_faces
from studytool.core.models import Card, Deck, Note, ReviewLog
from studytool.core.scheduling import (
    NEW_STATE,
    Rating,
    apply_fsrs_card,
    make_scheduler,
    preview_intervals,
    state_of,
    to_fsrs_card,
)
from studytool.core.store import Store

LEECH_TAG = "leech"
_CARD_STATE_FIELDS = (
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
    hints: list[str]
    follow_ups: list[str]
    tags: list[str]
    demo: str | None
    source: str | None
    state: int  # 0 new, 1 learning, 2 review, 3 relearning
    reps: int
    lapses: int


@dataclass(frozen=True)
class QueueCounts:
    new: int
    learning: int
    review: int

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


@dataclass(frozen=True)
class AnswerResult:
    card_id: int
    rating: Rating
    log_id: int
    due: datetime
    interval: timedelta
    became_leech: bool


def study_day_bounds(now: datetime, day_starts_at_hour: int) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the learner's study day, which rolls over at a local hour (as Anki's 4 am)."""
    local = now.astimezone()
    start = local.replace(hour=day_starts_at_hour, minute=0, second=0, microsecond=0)
    if local < start:
        start -= timedelta(days=1)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _serialise_state(card: Card) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for name in _CARD_STATE_FIELDS:
        value = getattr(card, name)
        state[name] = value.isoformat() if isinstance(value, datetime) else value
    return state


def _restore_state(card: Card, state: dict[str, Any]) -> None:
    for name in _CARD_STATE_FIELDS:
        value = state.get(name)
        if name in ("due", "last_review", "buried_until") and value is not None:
            value = datetime.fromisoformat(value)
        setattr(card, name, value)


class StudySession:
    """Review queue over some decks (all decks when ``deck_names`` is None)."""

    def __init__(
        self, store: Store, deck_names: list[str] | None = None, settings: Settings | None = None
    ) -> None:
        self.store = store
        self.settings = settings or store.load_settings()
        self.scheduler = make_scheduler(self.settings)
        self._preview_scheduler = make_scheduler(self.settings, fuzz=False)
        self._answered: list[int] = []  # review log ids, newest last, for undo
        self.deck_ids: list[int] | None = None
        if deck_names:
            with store.session() as session:
                rows = session.execute(
                    select(Deck.id, Deck.name).where(Deck.name.in_(deck_names))
                ).all()  # type: ignore[attr-defined]
            missing = sorted(set(deck_names) - {row.name for row in rows})
            if missing:
                raise StudyError(
                    f"no deck named {', '.join(repr(m) for m in missing)}; `studytool decks` lists them"
                )
            self.deck_ids = [row.id for row in rows]

    # -- queue ---------------------------------------------------------------------------

    def _eligible(self, now: datetime) -> Any:
        condition = and_(
            Card.suspended == False,  # noqa: E712
            or_(Card.buried_until.is_(None), Card.buried_until <= now),  # type: ignore[union-attr]
        )
        if self.deck_ids is not None:
            condition = and_(
                condition, Card.note_id.in_(select(Note.id).where(Note.deck_id.in_(self.deck_ids)))
            )  # type: ignore[attr-defined]
        return condition

    def _done_today(self, session: Any, day_start: datetime) -> tuple[int, int]:
        """(new cards introduced, review cards answered) since the day started, across all decks."""
        rows = session.execute(
            select(ReviewLog.state_before, func.count(func.distinct(ReviewLog.card_id)))
            .where(ReviewLog.reviewed_at >= day_start, ReviewLog.state_before.in_((NEW_STATE, 2)))  # type: ignore[attr-defined]
            .group_by(ReviewLog.state_before)
        ).all()
        done = dict(rows)
        return done.get(NEW_STATE, 0), done.get(2, 0)

    def _limits_left(self, session: Any, now: datetime) -> tuple[int, int, datetime]:
        day_start, day_end = study_day_bounds(now, self.settings.day_starts_at_hour)
        new_done, reviews_done = self._done_today(session, day_start)
        return (
            max(0, self.settings.new_cards_per_day - new_done),
            max(0, self.settings.reviews_per_day - reviews_done),
            day_end,
        )

    def _due_condition(self, now: datetime, day_end: datetime, include_reviews: bool) -> Any:
        learning = and_(Card.reps > 0, Card.state != 2, Card.due <= now)
        if not include_reviews:
            return learning
        return or_(learning, and_(Card.reps > 0, Card.state == 2, Card.due < day_end))

    def counts(self, now: datetime) -> QueueCounts:
        """Cards left today: new (within the daily limit), learning due now, reviews due today."""
        with self.store.session() as session:
            new_left, reviews_left, day_end = self._limits_left(session, now)
            eligible = self._eligible(now)
            learning = session.scalar(
                select(func.count())
                .select_from(Card)
                .where(eligible, Card.reps > 0, Card.state != 2, Card.due < day_end)
            )
            review = session.scalar(
                select(func.count())
                .select_from(Card)
                .where(eligible, Card.reps > 0, Card.state == 2, Card.due < day_end)
            )
            new = session.scalar(
                select(func.count()).select_from(Card).where(eligible, Card.reps == 0)
            )
        return QueueCounts(
            new=min(new or 0, new_left),
            learning=learning or 0,
            review=min(review or 0, reviews_left),
        )

    def next_card(self, now: datetime) -> QueuedCard | None:
        """The card to show now, or None when the day's work is done."""
        with self.store.session() as session:
            new_left, reviews_left, day_end = self._limits_left(session, now)
            eligible = self._eligible(now)
            card_id = session.scalar(
                select(Card.id)
                .where(eligible, self._due_condition(now, day_end, reviews_left > 0))
                .order_by(Card.due)
                .limit(1)
            )
            if card_id is None and new_left > 0:
                card_id = session.scalar(
                    select(Card.id).where(eligible, Card.reps == 0).order_by(Card.id).limit(1)
                )
            if card_id is None and self.settings.learn_ahead_minutes:
                # Nothing else left today: show learning cards a little early rather than stop.
                ahead = now + timedelta(minutes=self.settings.learn_ahead_minutes)
                card_id = session.scalar(
                    select(Card.id)
                    .where(eligible, Card.reps > 0, Card.state != 2, Card.due <= ahead)
                    .order_by(Card.due)
                    .limit(1)
                )
            return None if card_id is None else self._load(session, card_id)

    def get(self, card_id: int) -> QueuedCard:
        with self.store.session() as session:
            return self._load(session, card_id)

    def _load(self, session: Any, card_id: int) -> QueuedCard:
        row = session.execute(
            select(Card, Note, Deck.name)
            .join(Note, Note.id == Card.note_id)
            .join(Deck, Deck.id == Note.deck_id)
            .where(Card.id == card_id)  # type: ignore[arg-type]
        ).first()
        if row is None:
            raise StudyError(f"no card with id {card_id}")
        card, note, deck_name = row
        faces = card_faces(note, card.ordinal)
        return QueuedCard(
            card_id=card_id,
            note_id=note.id,
            ordinal=card.ordinal,
            key=note.key,
            kind=note.kind,
            deck=deck_name,
            front=faces.front,
            back=faces.back,
            expected=faces.expected,
            context=note.context,
            rubric=list(note.rubric),
            hints=list(note.hints),
            follow_ups=list(note.follow_ups),
            tags=list(note.tags),
            demo=note.demo,
            source=f"{note.source_file}:{note.source_line}" if note.source_file else None,
            state=state_of(card),
            reps=card.reps,
            lapses=card.lapses,
        )

    def preview(self, card_id: int, now: datetime) -> dict[Rating, timedelta]:
        """The next interval for each rating, as Anki shows above its answer buttons."""
        with self.store.session() as session:
            card = session.get(Card, card_id)
            if card is None:
                raise StudyError(f"no card with id {card_id}")
            return preview_intervals(self._preview_scheduler, card, now)

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
        with self.store.transaction() as session:
            card = session.get(Card, card_id)
            if card is None:
                raise StudyError(f"no card with id {card_id}")
            before = _serialise_state(card)
            state_before = state_of(card)
            scheduled, _ = self.scheduler.review_card(
                to_fsrs_card(card), fsrs.Rating(int(chosen)), now, duration_ms
            )
            apply_fsrs_card(card, scheduled)
            card.reps += 1
            card.buried_until = None
            if chosen is Rating.AGAIN and state_before == 2:
                card.lapses += 1
            undo: dict[str, Any] = {"card": before}

            became_leech = False
            if card.lapses >= self.settings.leech_threshold and not card.suspended:
                note = session.get(Note, card.note_id)
                assert note is not None
                if LEECH_TAG not in note.tags:
                    note.tags = [*note.tags, LEECH_TAG]
                    session.add(note)
                    undo["added_leech_tag"] = True
                card.suspended = True
                became_leech = True
            session.add(card)

            if self.settings.bury_siblings:
                undo["buried_siblings"] = self._bury_siblings(session, card, now)

            log = ReviewLog(
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
            session.add(log)
            session.flush()
            assert log.id is not None
            log_id = log.id
        self._answered.append(log_id)
        return AnswerResult(
            card_id=card_id,
            rating=chosen,
            log_id=log_id,
            due=scheduled.due,
            interval=scheduled.due - now,
            became_leech=became_leech,
        )

    def _bury_siblings(self, session: Any, card: Card, now: datetime) -> list[list[Any]]:
        """Hide the note's other new and review cards until tomorrow, remembering their old burial."""
        _, day_end = study_day_bounds(now, self.settings.day_starts_at_hour)
        siblings = session.execute(
            select(Card.id, Card.buried_until).where(
                Card.note_id == card.note_id,
                Card.id != card.id,
                Card.suspended == False,  # noqa: E712
                or_(Card.reps == 0, Card.state == 2),
                or_(Card.buried_until.is_(None), Card.buried_until < day_end),  # type: ignore[union-attr]
            )
        ).all()
        if siblings:
            session.execute(
                update(Card)
                .where(Card.id.in_([s.id for s in siblings]))
                .values(buried_until=day_end)  # type: ignore[union-attr]
            )
        return [[s.id, s.buried_until.isoformat() if s.buried_until else None] for s in siblings]

    @property
    def can_undo(self) -> bool:
        return bool(self._answered)

    def undo(self) -> QueuedCard:
        """Take back the last rating of this session: card state restored, log row removed."""
        if not self._answered:
            raise StudyError("nothing to undo in this session")
        log_id = self._answered[-1]
        with self.store.transaction() as session:
            log = session.get(ReviewLog, log_id)
            if log is None:
                self._answered.pop()
                raise StudyError("that review is no longer in the log (deleted elsewhere)")
            card = session.get(Card, log.card_id)
            assert card is not None
            _restore_state(card, log.undo["card"])
            session.add(card)
            if log.undo.get("added_leech_tag"):
                note = session.get(Note, card.note_id)
                assert note is not None
                note.tags = [tag for tag in note.tags if tag != LEECH_TAG]
                session.add(note)
            for sibling_id, buried_until in log.undo.get("buried_siblings", []):
                session.execute(
                    update(Card)
                    .where(Card.id == sibling_id)
                    .values(
                        buried_until=datetime.fromisoformat(buried_until) if buried_until else None
                    )
                )
            session.delete(log)
            card_id = log.card_id
        self._answered.pop()
        return self.get(card_id)

    # -- bury / suspend ------------------------------------------------------------------

    def bury(self, card_id: int, now: datetime) -> None:
        """Hide a card until the next study day."""
        _, day_end = study_day_bounds(now, self.settings.day_starts_at_hour)
        with self.store.transaction() as session:
            session.execute(update(Card).where(Card.id == card_id).values(buried_until=day_end))

    def set_suspended(self, card_id: int, suspended: bool = True) -> None:
        with self.store.transaction() as session:
            session.execute(update(Card).where(Card.id == card_id).values(suspended=suspended))
