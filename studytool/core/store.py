"""Opening the database: engine set-up, schema migrations, backups and settings.

SQLite is the default; any SQLAlchemy URL works (PostgreSQL for shared deployments).
Schema versions are alembic revisions in ``studytool/core/migrations``; an older database is
backed up and upgraded on open, a newer or foreign one is refused.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlmodel import Session

from studytool import paths
from studytool.config import Settings
from studytool.core.locking import BUSY_TIMEOUT_MS, apply_lock_wait, current_lock_wait_ms
from studytool.core.models import Setting
from studytool.core.prepared import Cursor, raw_transaction

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BACKUPS_KEPT = 10
SETTINGS_KEY = "settings"


class StoreError(Exception):
    """The database cannot be opened or written; the message says what to do."""


class DatabaseLocked(StoreError):
    """Another process held the write lock for longer than this write would wait."""


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def _revision_files() -> list[str]:
    # Revisions are named NNNN_description.py with revision id NNNN (a test checks that this
    # agrees with alembic), so the usual open can check the schema without importing alembic.
    return sorted(
        path.name.split("_", 1)[0] for path in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")
    )


def head_revision() -> str:
    return _revision_files()[-1]


def _known_revisions() -> set[str]:
    return set(_revision_files())


def make_engine(url: str) -> Engine:
    """An engine with the pragmas studytool relies on (WAL, busy timeout, foreign keys)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    database = parsed.database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself, so writers can take
        # the write lock up front (BEGIN IMMEDIATE) instead of failing on lock upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if database and database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode survives application crashes (every commit is in the
            # log before COMMIT returns); only an OS crash can drop the last commits.
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        pooled = connection.connection
        apply_lock_wait(pooled.dbapi_connection, pooled.info)
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def describe_url(url: str) -> str:
    """A URL safe to show: SQLite as its file path, others without the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


class Store:
    """An open, migrated database. Create with :func:`open_store`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._writer = engine.execution_options(sqlite_begin="IMMEDIATE")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        database = make_url(self.url).database
        return Path(database) if database and database != ":memory:" else None

    def session(self) -> Session:
        """A session for reading (and ORM use where the caller commits itself)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any exception."""
        with Session(self._writer, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except OperationalError as exc:
                session.rollback()
                raise _friendly_operational_error(exc, self.url) from exc
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in a write transaction, for hot paths that skip the ORM."""
        try:
            with self._writer.begin() as connection:
                yield connection
        except OperationalError as exc:
            raise _friendly_operational_error(exc, self.url) from exc

    @contextmanager
    def raw_transaction(self, *, write: bool) -> Iterator[Cursor]:
        """A DBAPI-level transaction for the study queue's prepared statements."""
        try:
            with raw_transaction(self.engine, write=write) as cursor:
                yield cursor
        except self.engine.dialect.loaded_dbapi.OperationalError as exc:
            raise _friendly_operational_error(exc, self.url) from exc

    def load_settings(self) -> Settings:
        with self.session() as session:
            row = session.get(Setting, SETTINGS_KEY)
            return Settings.from_stored(row.value if row and row.value else {})

    def save_settings(self, settings: Settings) -> None:
        settings.validate()
        with self.transaction() as session:
            row = session.get(Setting, SETTINGS_KEY)
            if row is None:
                session.add(Setting(key=SETTINGS_KEY, value=settings.to_stored()))
            else:
                row.value = settings.to_stored()
                session.add(row)

    def get_value(self, key: str) -> Any:
        with self.session() as session:
            row = session.get(Setting, key)
            return None if row is None else row.value

    def set_value(self, key: str, value: Any) -> None:
        with self.transaction() as session:
            session.merge(Setting(key=key, value=value))

    def backup(self, reason: str) -> Path | None:
        """Copy a SQLite database aside (consistently, via SQLite's backup API)."""
        source_path = self.sqlite_path
        if source_path is None or not source_path.exists():
            return None
        return backup_sqlite_file(source_path, reason)

    def close(self) -> None:
        self.engine.dispose()


def backup_sqlite_file(source_path: Path, reason: str) -> Path:
    folder = (
        paths.backups_dir()
        if source_path == paths.default_db_path()
        else source_path.parent / "backups"
    )
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{source_path.stem}-{stamp}-{reason}.db"
    source = sqlite3.connect(source_path)
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    backups = sorted(folder.glob(f"{source_path.stem}-*.db"))
    for old in backups[:-BACKUPS_KEPT]:
        old.unlink(missing_ok=True)
    return target


def _friendly_operational_error(exc: Exception, url: str) -> StoreError:
    """Translate a driver's operational error (SQLAlchemy-wrapped or raw) into what to do."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).lower()
    where = describe_url(url)
    if "locked" in text or "busy" in text:
        return DatabaseLocked(
            f"{where}: the database is locked by another program "
            f"(waited {current_lock_wait_ms() / 1000:g} s). "
            "Close the other studytool window or process and try again."
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"{where}: the database is read-only, so nothing was saved. Check the permissions "
            "of the file and its folder, or whether the disk is mounted read-only."
        )
    if "disk is full" in text or "disk i/o" in text:
        return StoreError(
            f"{where}: the disk is full or failing; free some space and try again. Nothing was saved."
        )
    return StoreError(f"{where}: {original}")


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (creating or upgrading as needed) the database at ``url``.

    Raises StoreError, with what to do next, for a corrupt, foreign, newer or locked database.
    """
    resolved = paths.resolve_db_url(url)
    where = describe_url(resolved)
    try:
        engine = make_engine(resolved)
    except ModuleNotFoundError as exc:
        hint = (
            " (pip install 'studytool[postgres]' installs psycopg)"
            if make_url(resolved).get_backend_name() == "postgresql"
            else ""
        )
        raise StoreError(
            f"cannot use database URL {where!r}: its driver is not installed: {exc}{hint}"
        ) from exc
    except Exception as exc:  # bad URLs
        raise StoreError(f"cannot use database URL {where!r}: {exc}") from exc
    store = Store(engine, resolved)
    try:
        _check_and_migrate(store, migrate=migrate)
    except StoreError:
        engine.dispose()
        raise
    except OperationalError as exc:
        engine.dispose()
        raise _friendly_operational_error(exc, resolved) from exc
    except DatabaseError as exc:
        engine.dispose()
        raise StoreError(
            f"{where} is not a studytool database or is damaged ({exc.orig}). "
            f"Move it aside and run again to start fresh, or restore a copy from {paths.backups_dir()}."
        ) from exc
    return store


def _check_and_migrate(store: Store, *, migrate: bool) -> None:
    where = describe_url(store.url)
    with store.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        current = (
            connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            if "alembic_version" in tables
            else None
        )
        connection.rollback()

    if current is None and tables - {"alembic_version"}:
        raise StoreError(
            f"{where} holds tables ({', '.join(sorted(tables)[:5])}) but is not a studytool database. "
            "Point --db / STUDYTOOL_DB at another file, or move this one aside."
        )
    if current is not None and current not in _known_revisions():
        raise StoreError(
            f"{where} was written by a newer version of studytool (schema {current}). "
            "Upgrade studytool (`make run` in an updated checkout), or use another --db."
        )
    if current == head_revision() or not migrate:
        return
    if current is not None:
        backup = store.backup(f"before-migration-{current}")
        if backup:
            logging.getLogger(__name__).info("backed up %s to %s before migrating", where, backup)
    from alembic import command

    command.upgrade(_alembic_config(store.engine), "head")


def bulk_insert(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows with one ``executemany``, skipping SQLAlchemy's per-row machinery.

    The rows are still converted by each column's own type (JSON, UTC datetimes), through the
    dialect's paramstyle, so this works on SQLite and PostgreSQL alike. It is the fast path for
    imports: about 5× quicker than ``connection.execute(table.insert(), rows)`` here.
    """
    if not rows:
        return
    names = tuple(rows[0])
    sql, order, processors = _compiled_insert(table, names, connection.dialect)
    columns = [[row[name] for row in rows] for name in order]
    for index, name in enumerate(order):
        process = processors[name]
        if process is not None:
            # Import rows share many values (the same timestamp, empty lists): convert each once.
            converted: dict[Any, Any] = {}
            values = columns[index]
            for position, value in enumerate(values):
                try:
                    marker = (type(value), tuple(value)) if isinstance(value, list) else value
                    hash(marker)
                except TypeError:
                    marker = id(value)
                if marker not in converted:
                    converted[marker] = process(value)
                values[position] = converted[marker]
    if connection.dialect.positional:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        params = [dict(zip(order, values, strict=True)) for values in zip(*columns, strict=True)]
    connection.exec_driver_sql(sql, params)


@functools.lru_cache(maxsize=32)
def _compiled_insert(
    table: Any, names: tuple[str, ...], dialect: Any
) -> tuple[str, list[str], dict[str, Any]]:
    """SQL text, parameter order and per-column converters of an INSERT; compiling costs ~3 ms."""
    compiled = table.insert().compile(dialect=dialect, column_keys=list(names))
    processors = {
        name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    }
    order = list(compiled.positiontup) if compiled.positional else list(names)
    return compiled.string, order, processors
