from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'studytool.db'}")
    yield opened
    opened.close()


@pytest.fixture
def settings() -> Settings:
    """Defaults with fuzzing off, so intervals are exact."""
    return Settings(enable_fuzzing=False)
