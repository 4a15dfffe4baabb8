from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from studytool import paths
from studytool.config import SettingError, Settings
from studytool.core.store import StoreError, _alembic_config, head_revision, make_engine, open_store


def test_new_database_is_created_at_head_with_pragmas(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == head_revision()
    store.close()


def test_default_location_follows_studytool_home(isolated_home: Path) -> None:
    store = open_store()
    assert store.sqlite_path == isolated_home / "data" / "studytool.db"
    assert store.sqlite_path.exists()
    store.close()


def test_db_accepts_a_plain_path_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere.db"
    monkeypatch.setenv("STUDYTOOL_DB", str(target))
    assert paths.resolve_db_url() == f"sqlite:///{target}"
    assert paths.resolve_db_url("sqlite:///x.db") == "sqlite:///x.db"


def test_older_database_is_backed_up_and_upgraded_keeping_data(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{db}")
    command.upgrade(_alembic_config(engine), "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO deck (name, description, tags, created_at) VALUES ('Old', '', '[]', '2025-01-01 00:00:00')"
            )
        )
    engine.dispose()

    store = open_store(f"sqlite:///{db}")
    with store.engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            == head_revision()
        )
        assert connection.execute(text("SELECT name FROM deck")).scalar() == "Old"
        columns = {row[1] for row in connection.execute(text("PRAGMA table_info(reviewlog)"))}
    assert {"auto_score", "auto_rating", "auto_grade", "final_grade"} <= columns
    backups = list((tmp_path / "backups").glob("old-*-before-migration-0001.db"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0001"
    store.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    open_store(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer version of studytool"):
        open_store(f"sqlite:///{db}")


def test_foreign_database_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "foreign.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError, match="not a studytool database"):
        open_store(f"sqlite:///{db}")
    with sqlite3.connect(db) as connection:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert tables == {"invoices"}


def test_corrupt_file_gives_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "corrupt.db"
    db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a studytool database or is damaged"):
        open_store(f"sqlite:///{db}")


def test_settings_round_trip_and_validation(store) -> None:
    assert store.load_settings() == Settings()
    changed = store.load_settings().replace(
        desired_retention=0.85, learning_steps_minutes=(2.0, 15.0)
    )
    store.save_settings(changed)
    assert store.load_settings() == changed
    with pytest.raises(SettingError, match="desired_retention"):
        changed.replace(desired_retention=1.5)


def test_write_transaction_rolls_back_on_error(store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as session:
            session.execute(
                text(
                    "INSERT INTO deck (name, description, tags, created_at) VALUES ('X', '', '[]', '2025-01-01')"
                )
            )
            raise RuntimeError("boom")
    with store.session() as session:
        assert session.execute(text("SELECT count(*) FROM deck")).scalar() == 0


def test_locked_database_waits_then_reports(tmp_path: Path) -> None:
    from studytool.core.locking import lock_wait
    from studytool.core.store import DatabaseLocked

    db = tmp_path / "locked.db"
    store = open_store(f"sqlite:///{db}")
    store.close()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        store = open_store(f"sqlite:///{db}")
        started = time.monotonic()
        with (
            lock_wait(200),
            pytest.raises(DatabaseLocked, match=r"locked by another program \(waited 0.2 s\)"),
        ):
            store.set_value("x", 1)
        assert time.monotonic() - started < 5
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.set_value("x", 1)
    assert store.get_value("x") == 1
    # The short wait was for that block only: the next write set the full wait back.
    pooled = store.engine.raw_connection()
    try:
        assert pooled.dbapi_connection.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    finally:
        pooled.close()
    store.close()


def test_revision_file_names_agree_with_alembic() -> None:
    from alembic.script import ScriptDirectory

    from studytool.core.store import MIGRATIONS_DIR, _known_revisions

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    assert head_revision() == script.get_current_head()
    assert _known_revisions() == {rev.revision for rev in script.walk_revisions()}
