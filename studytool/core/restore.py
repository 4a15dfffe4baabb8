"""Restoring a JSON backup (``studytool export --format json``) into a collection.

A restore puts every row back exactly as it was exported (ids, FSRS state, review log, typed
answers and grades), so that exporting the restored collection gives the same document. It
goes into an empty collection; replacing a collection that holds data must be asked for, and
then the current data is backed up first. It is one transaction: a backup that fails half-way
(a damaged file, a row the schema refuses) restores nothing and changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from studytool import paths
from studytool.core.export import JSON_FORMAT, JSON_VERSION, backup_text
from studytool.core.models import (
    Card,
    Deck,
    InterviewReport,
    Note,
    ReviewLog,
    Setting,
    UTCDateTime,
)
from studytool.core.store import Store

# Parents before children for inserting; the reverse for deleting.
_TABLES: tuple[Any, ...] = (Deck, Note, Card, ReviewLog, InterviewReport, Setting)
_MAX_BACKUP_BYTES = 2 * 1024**3


class RestoreError(Exception):
    """A backup that cannot be restored (damaged, foreign, or the collection is not empty)."""


@dataclass(frozen=True)
class CollectionSize:
    decks: int
    cards: int
    reviews: int
    interview_reports: int

    @property
    def is_empty(self) -> bool:
        return not (self.decks or self.reviews or self.interview_reports)

    def describe(self) -> str:
        return (
            f"{self.decks} deck(s), {self.cards} card(s), {self.reviews} review(s) and "
            f"{self.interview_reports} interview report(s)"
        )


@dataclass(frozen=True)
class RestoreSummary:
    restored: CollectionSize
    settings: int
    # Where the replaced collection was saved first (None when nothing was replaced).
    previous_saved_to: Path | None


def looks_like_backup(path: Path) -> bool:
    """Whether ``path`` starts like a studytool JSON backup (read only its first bytes)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and f'"{JSON_FORMAT}"'.encode() in head


def read_backup(path: Path) -> dict[str, Any]:
    """The backup document in ``path``, checked to be one this version can restore."""
    try:
        if path.stat().st_size > _MAX_BACKUP_BYTES:
            raise RestoreError(f"{path}: larger than 2 GiB; this is not a studytool backup")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RestoreError(
            f"{path}: not UTF-8 text (byte {exc.start}); not a studytool backup"
        ) from exc
    except OSError as exc:
        raise RestoreError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RestoreError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); the backup is damaged"
        ) from exc
    if not isinstance(document, dict) or document.get("format") != JSON_FORMAT:
        raise RestoreError(
            f'{path}: not a studytool backup (no "format": "{JSON_FORMAT}"); deck files '
            "in markdown, text or CSV go through `studytool import`"
        )
    version = document.get("version")
    if not isinstance(version, int) or version < 1:
        raise RestoreError(f"{path}: the backup has no valid version number")
    if version > JSON_VERSION:
        raise RestoreError(
            f"{path}: written by a newer studytool (backup version {version}, this one reads "
            f"up to {JSON_VERSION}); upgrade studytool to restore it"
        )
    if not isinstance(document.get("decks"), list):
        raise RestoreError(f'{path}: the backup has no "decks" list; it is damaged')
    return document


def collection_size(store: Store) -> CollectionSize:
    with store.session() as session:

        def count(model: Any) -> int:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())

        return CollectionSize(
            decks=count(Deck),
            cards=count(Card),
            reviews=count(ReviewLog),
            interview_reports=count(InterviewReport),
        )


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _column_value(column: Any, value: Any) -> Any:
    if value is not None and isinstance(column.type, UTCDateTime):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return value


def _row(model: Any, values: Any, where: str) -> dict[str, Any]:
    """A table row from a backup object: its columns, converted; unknown keys ignored."""
    if not isinstance(values, dict):
        raise RestoreError(f"{where}: expected an object, found {type(values).__name__}")
    row = {}
    for column in _table(model).columns:
        if column.name in values:
            try:
                row[column.name] = _column_value(column, values[column.name])
            except (TypeError, ValueError) as exc:
                raise RestoreError(f"{where}: {column.name}: {exc}") from exc
    return row


def _children(values: dict[str, Any], key: str, where: str) -> list[Any]:
    children = values.get(key, [])
    if not isinstance(children, list):
        raise RestoreError(f"{where}: {key!r} should be a list")
    return children


def _rows_by_table(document: dict[str, Any]) -> dict[Any, list[dict[str, Any]]]:
    rows: dict[Any, list[dict[str, Any]]] = {model: [] for model in _TABLES}
    for deck_index, deck in enumerate(document["decks"]):
        deck_where = f"decks[{deck_index}]"
        rows[Deck].append(_row(Deck, deck, deck_where))
        for note_index, note in enumerate(_children(deck, "notes", deck_where)):
            note_where = f"{deck_where}.notes[{note_index}]"
            rows[Note].append(_row(Note, note, note_where))
            for card_index, card in enumerate(_children(note, "cards", note_where)):
                card_where = f"{note_where}.cards[{card_index}]"
                rows[Card].append(_row(Card, card, card_where))
                for review_index, review in enumerate(_children(card, "reviews", card_where)):
                    review_where = f"{card_where}.reviews[{review_index}]"
                    rows[ReviewLog].append(_row(ReviewLog, review, review_where))
    for model, key in ((InterviewReport, "interview_reports"), (Setting, "settings")):
        for index, values in enumerate(_children(document, key, "backup")):
            rows[model].append(_row(model, values, f"{key}[{index}]"))
    return rows


def _save_previous(store: Store) -> Path:
    """Keep the collection about to be replaced: a file copy (SQLite) or a JSON backup."""
    copy = store.backup("before-restore")
    if copy is not None:
        return copy
    folder = paths.backups_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"collection-{stamp}-before-restore.json"
    target.write_text(backup_text(store, None), encoding="utf-8")
    return target


def _reset_id_sequences(connection: Any) -> None:
    """PostgreSQL hands out ids from sequences, which explicit ids do not advance."""
    if connection.dialect.name != "postgresql":
        return
    for model in _TABLES:
        table = _table(model)
        if "id" not in table.c:
            continue
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
        )


def restore_backup(
    store: Store, document: dict[str, Any], *, replace: bool = False
) -> RestoreSummary:
    """Put the backup's rows into ``store``, all or nothing.

    An empty collection (no decks, reviews or interview reports) is filled; settings in the
    backup replace those stored, others stay. A collection with data is refused unless
    ``replace``, which saves the current collection first and then deletes its decks (with
    their cards and reviews) and interview reports.
    """
    rows = _rows_by_table(document)
    current = collection_size(store)
    previous_saved_to = None
    if not current.is_empty:
        if not replace:
            raise RestoreError(
                f"the collection already holds {current.describe()}; restore into an empty one "
                "(another --db or STUDYTOOL_HOME), or pass --replace to replace it (the current "
                "collection is saved to the backups folder first)"
            )
        previous_saved_to = _save_previous(store)
    try:
        with store.write_connection() as connection:
            if replace:
                for model in reversed(_TABLES):
                    if model is not Setting:
                        connection.execute(delete(_table(model)))
            # Settings the backup holds replace the stored ones; the others stay.
            keys = [row["key"] for row in rows[Setting] if "key" in row]
            if keys:
                connection.execute(delete(_table(Setting)).where(_table(Setting).c.key.in_(keys)))
            for model in _TABLES:
                if rows[model]:
                    connection.execute(insert(_table(model)), rows[model])
            _reset_id_sequences(connection)
    except (IntegrityError, StatementError, DBAPIError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise RestoreError(
            f"the backup does not fit the database ({detail}); it may be damaged or edited. "
            "Nothing was restored."
        ) from exc
    restored = CollectionSize(
        decks=len(rows[Deck]),
        cards=len(rows[Card]),
        reviews=len(rows[ReviewLog]),
        interview_reports=len(rows[InterviewReport]),
    )
    return RestoreSummary(
        restored=restored, settings=len(rows[Setting]), previous_saved_to=previous_saved_to
    )
