from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from studytool.config import Settings
from studytool.core.store import Store, open_store

FIXTURES = Path(__file__).parent / "fixtures"
# A fixed moment, well after the study day's 4 am rollover in any time zone's UTC offset.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own STUDYTOOL_HOME, so nothing touches the real user data."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("STUDYTOOL_HOME", str(home))
    monkeypatch.delenv("STUDYTOOL_DB", raising=False)
    monkeypatch.delenv("STUDYTOOL_NO_BUNDLED_DECKS", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    return home


# The store and study-session tests run on SQLite and on PostgreSQL (shared deployments).
# PostgreSQL needs a server: STUDYTOOL_TEST_POSTGRES is a URL to it with the right to create
# databases (.ci/run starts one and sets it); without it those cases are skipped.
POSTGRES_ENV = "STUDYTOOL_TEST_POSTGRES"
BOTH_BACKENDS = {
    "test_store",
    "test_study",
    "test_review_turn",
    "test_browse",
    "test_stats_series",
    "test_interview_core",
    "test_importing",
    "test_optimize",
    "test_export",
    "test_restore",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "store" in metafunc.fixturenames and module in BOTH_BACKENDS:
        metafunc.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL case: set {POSTGRES_ENV}=postgresql+psycopg://user@host/db")
    name = f"studytool_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def store(tmp_path: Path, backend: str) -> Iterator[Store]:
    if backend == "postgresql":
        with fresh_postgres_database() as url:
            opened = open_store(url)
            yield opened
            opened.close()
        return
    opened = open_store(f"sqlite:///{tmp_path / 'studytool.db'}")
    yield opened
    opened.close()


@pytest.fixture
def settings() -> Settings:
    """Defaults with fuzzing off, so intervals are exact."""
    return Settings(enable_fuzzing=False)
