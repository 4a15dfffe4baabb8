"""Writing parsed decks into the store, keeping review history across re-imports.

Notes are matched by stable key within a deck. New notes are added with new cards, changed
ones are updated in place (their cards, and so their FSRS state and review log, stay),
and notes gone from the file are suspended, or deleted with ``prune``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session, col

from studytool.core.importing.drafts import ImportIssue, NoteDraft, ParsedDeck
from studytool.core.models import Card, Deck, Note, utcnow
from studytool.core.store import Store, bulk_insert

_INSERT_BATCH = 5000


@dataclass(frozen=True)
class RemovedNote:
    """A note gone from its file, as a dry run lists it: by its question, not its key."""

    key: str
    question: str


@dataclass
class SyncReport:
    deck: str
    source: str
    format: str
    added: list[NoteDraft] = field(default_factory=list)
    updated: list[NoteDraft] = field(default_factory=list)
    unchanged: int = 0
    removed: list[RemovedNote] = field(default_factory=list)
    restored: int = 0
    pruned: bool = False
    dry_run: bool = False
    warnings: list[ImportIssue] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.restored)

    def summary(self) -> str:
        removed_word = "deleted" if self.pruned else "removed (suspended)"
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {self.unchanged} unchanged, "
            f"{len(self.removed)} {removed_word}"
        )


def deck_name_for(parsed: ParsedDeck, override: str | None = None) -> str:
    if override:
        return override
    if parsed.name:
        return parsed.name
    return Path(parsed.source).stem.replace("_", " ").replace("-", " ").strip() or "Default"


def stored_source(source: str) -> str:
    """How a file is recorded on its notes: an absolute path, so that importing it again from
    another folder, or from the app instead of the command line, is still the same file."""
    if source.startswith("bundled:"):
        return source
    return str(Path(source).expanduser().resolve())


def _without_nul(text: str) -> str:
    # PostgreSQL text cannot hold NUL (SQLite can); it never means anything in a card, so
    # both stores keep the same text without it.
    return text.replace("\x00", "")


def _note_values(draft: NoteDraft, source: str) -> dict[str, Any]:
    return {
        "key": _without_nul(draft.key),
        "kind": draft.kind.value,
        "question": _without_nul(draft.question),
        "answer": _without_nul(draft.answer),
        "context": _without_nul(draft.context),
        "rubric": [_without_nul(item) for item in draft.rubric],
        "hints": [_without_nul(item) for item in draft.hints],
        "follow_ups": [_without_nul(item) for item in draft.follow_ups],
        "tags": [_without_nul(item) for item in draft.tags],
        "demo": None if draft.demo is None else _without_nul(draft.demo),
        "mistakes": [_without_nul(item) for item in draft.mistakes],
        "source_file": source,
        "source_line": draft.line,
        "content_hash": draft.content_hash(),
        "removed_from_source": False,
    }


def _new_card(note_id: int, ordinal: int, now: datetime) -> dict[str, Any]:
    return {
        "note_id": note_id,
        "ordinal": ordinal,
        "state": 1,
        "step": 0,
        "due": now,
        "reps": 0,
        "lapses": 0,
        "suspended": False,
    }


def _get_or_create_deck(session: Session, name: str, parsed: ParsedDeck, now: datetime) -> Deck:
    deck = session.exec(select(Deck).where(col(Deck.name) == name)).scalars().first()  # type: ignore[call-overload]
    if deck is None:
        deck = Deck(name=name, description=parsed.description, tags=parsed.tags, created_at=now)
        session.add(deck)
        session.flush()
    else:
        # Front matter, when given, is the truth for the deck's description and tags.
        if parsed.description and deck.description != parsed.description:
            deck.description = parsed.description
        if parsed.tags and deck.tags != parsed.tags:
            deck.tags = list(parsed.tags)
        session.add(deck)
    return deck


def sync_deck(
    store: Store,
    parsed: ParsedDeck,
    deck_name: str | None = None,
    *,
    prune: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> SyncReport:
    """Write ``parsed`` into its deck in one transaction (all or nothing) and report what changed."""
    now = now or utcnow()
    name = _without_nul(deck_name_for(parsed, deck_name))
    source = stored_source(parsed.source)
    report = SyncReport(
        deck=name, source=source, format=parsed.format, pruned=prune, dry_run=dry_run
    )
    report.warnings = list(parsed.warnings)

    with store.transaction() as session:
        deck = _get_or_create_deck(session, name, parsed, now)
        assert deck.id is not None
        # Only the notes this import can touch: those with the incoming keys, and those this
        # file made before (to find the ones gone from it). Reading the whole deck instead
        # made a 10,000-note import into a 100,000-note deck four times slower.
        keys = [_without_nul(draft.key) for draft in parsed.notes]
        existing = {row.key: row for row in _existing_notes(session, deck.id, keys, source)}
        to_add: list[NoteDraft] = []
        to_update: list[tuple[int, NoteDraft, bool]] = []
        seen_keys: set[str] = set()
        for draft, key in zip(parsed.notes, keys, strict=True):
            seen_keys.add(key)
            row = existing.get(key)
            if row is None:
                to_add.append(draft)
                continue
            content_changed = row.content_hash != draft.content_hash()
            if content_changed:
                report.updated.append(draft)
            else:
                report.unchanged += 1
            if row.removed_from_source:
                report.restored += 1
            if (
                content_changed
                or row.removed_from_source
                or row.source_file != source
                or row.source_line != draft.line
            ):
                to_update.append((row.id, draft, content_changed or row.removed_from_source))
        report.added = to_add
        gone = [
            row
            for key, row in existing.items()
            if key not in seen_keys and row.source_file == source
        ]
        report.removed = _removed_notes(
            session, [row for row in gone if prune or not row.removed_from_source]
        )

        if dry_run:
            session.rollback()
            return report

        _insert_notes(session, deck.id, to_add, source, now)
        for note_id, draft, refresh_cards in to_update:
            session.execute(
                update(Note)
                .where(col(Note.id) == note_id)
                .values(**_note_values(draft, source), updated_at=now)
            )
            if refresh_cards:
                _sync_card_ordinals(session, note_id, draft, now)
        gone_ids = [row.id for row in gone]
        for start in range(0, len(gone_ids), _INSERT_BATCH):
            chunk = gone_ids[start : start + _INSERT_BATCH]
            if prune:
                session.execute(delete(Note).where(col(Note.id).in_(chunk)))
            else:
                session.execute(
                    update(Note).where(col(Note.id).in_(chunk)).values(removed_from_source=True)
                )
                session.execute(
                    update(Card).where(col(Card.note_id).in_(chunk)).values(suspended=True)
                )
    return report


_NOTE_COLUMNS = (
    col(Note.id),
    col(Note.key),
    col(Note.content_hash),
    col(Note.source_file),
    col(Note.source_line),
    col(Note.removed_from_source),
)
# Keys per IN (...) lookup: far below SQLite's and PostgreSQL's parameter limits.
_KEY_CHUNK = 500


def _existing_notes(session: Session, deck_id: int, keys: list[str], source: str) -> list[Any]:
    """The deck's notes that have one of ``keys`` or came from ``source`` (each once)."""
    rows: dict[int, Any] = {}
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        query = select(*_NOTE_COLUMNS).where(col(Note.deck_id) == deck_id, col(Note.key).in_(chunk))
        rows.update((row.id, row) for row in session.execute(query))
    from_source = select(*_NOTE_COLUMNS).where(
        col(Note.deck_id) == deck_id, col(Note.source_file) == source
    )
    rows.update((row.id, row) for row in session.execute(from_source))
    return list(rows.values())


def _removed_notes(session: Session, rows: list[Any]) -> list[RemovedNote]:
    """The notes of ``rows`` with their questions, in file order.

    Read only for the notes that go: the matching above needs no question text, and most
    imports remove nothing."""
    questions: dict[int, str] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), _KEY_CHUNK):
        chunk = ids[start : start + _KEY_CHUNK]
        query = select(col(Note.id), col(Note.question)).where(col(Note.id).in_(chunk))
        questions.update((note_id, question) for note_id, question in session.execute(query))
    ordered = sorted(rows, key=lambda row: (row.source_line or 0, row.id))
    return [RemovedNote(row.key, questions.get(row.id, "")) for row in ordered]


def _insert_notes(
    session: Session, deck_id: int, drafts: list[NoteDraft], source: str, now: datetime
) -> None:
    if not drafts:
        return
    # One executemany per batch rather than ORM objects: adding 10,000 notes is an order of
    # magnitude faster this way, and nothing here needs identity-map bookkeeping.
    connection = session.connection()
    note_table = Note.__table__  # type: ignore[attr-defined]
    for start in range(0, len(drafts), _INSERT_BATCH):
        batch = drafts[start : start + _INSERT_BATCH]
        rows = [
            {**_note_values(d, source), "deck_id": deck_id, "created_at": now, "updated_at": now}
            for d in batch
        ]
        bulk_insert(connection, note_table, rows)
    keys = [_without_nul(d.key) for d in drafts]
    note_ids: dict[str, int] = {}
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        note_ids.update(
            (key, note_id)
            for note_id, key in connection.execute(
                select(note_table.c.id, note_table.c.key).where(
                    note_table.c.deck_id == deck_id, note_table.c.key.in_(chunk)
                )
            )
        )
    cards = [
        _new_card(note_ids[key], ordinal, now)
        for d, key in zip(drafts, keys, strict=True)
        for ordinal in d.card_ordinals()
    ]
    card_table = Card.__table__  # type: ignore[attr-defined]
    for start in range(0, len(cards), _INSERT_BATCH):
        bulk_insert(connection, card_table, cards[start : start + _INSERT_BATCH])


def _sync_card_ordinals(session: Session, note_id: int, draft: NoteDraft, now: datetime) -> None:
    """Give an edited note the cards it now needs; cards it no longer makes are suspended, not deleted."""
    wanted = set(draft.card_ordinals())
    have = {
        row.ordinal: row
        for row in session.execute(
            select(col(Card.id), col(Card.ordinal), col(Card.suspended)).where(
                col(Card.note_id) == note_id
            )
        )
    }
    missing = [_new_card(note_id, ordinal, now) for ordinal in sorted(wanted - have.keys())]
    if missing:
        session.execute(insert(Card), missing)
    extra = [row.id for ordinal, row in have.items() if ordinal not in wanted]
    if extra:
        session.execute(update(Card).where(col(Card.id).in_(extra)).values(suspended=True))
    back = [row.id for ordinal, row in have.items() if ordinal in wanted and row.suspended]
    if back:
        # Cards suspended because the note left its file come back with it.
        session.execute(update(Card).where(col(Card.id).in_(back)).values(suspended=False))
