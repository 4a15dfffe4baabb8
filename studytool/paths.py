"""Where studytool keeps its files.

Everything lives in the platformdirs user directories unless ``STUDYTOOL_HOME`` is set,
in which case data, cache and backups all move under that one folder (tests use this).
``STUDYTOOL_DB`` (or ``--db``) points the store at any SQLAlchemy URL instead of the
default SQLite file.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "studytool"
HOME_ENV = "STUDYTOOL_HOME"
DB_ENV = "STUDYTOOL_DB"
DB_FILENAME = "studytool.db"


def _home() -> Path | None:
    home = os.environ.get(HOME_ENV)
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    """Folder of the default database and its backups."""
    home = _home()
    return home / "data" if home else platformdirs.user_data_path(APP_NAME)


def cache_dir() -> Path:
    """Folder for files that can be rebuilt (converted models, embeddings)."""
    home = _home()
    return home / "cache" if home else platformdirs.user_cache_path(APP_NAME)


def backups_dir() -> Path:
    return data_dir() / "backups"


def default_db_path() -> Path:
    return data_dir() / DB_FILENAME


def resolve_db_url(explicit: str | None = None) -> str:
    """The database URL: ``--db`` wins, then ``STUDYTOOL_DB``, then the default SQLite file.

    A bare filesystem path is accepted too and turned into a SQLite URL.
    """
    url = explicit or os.environ.get(DB_ENV)
    if not url:
        return f"sqlite:///{default_db_path()}"
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def bundled_decks_dir() -> Path | None:
    """The decks shipped with studytool: ``decks/`` in a source checkout, or the copy in the wheel."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir.parent / "decks", package_dir / "bundled_decks"):
        if candidate.is_dir():
            return candidate
    return None


def display_path(stored: str) -> str:
    """A stored source path as a person wants to read it: relative to the current folder when
    it is inside it, else with the home folder as ``~``."""
    if stored.startswith("bundled:"):
        return stored
    path = Path(stored)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        pass
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return stored


def display_source(stored: str | None, line: int | None) -> str | None:
    """``file:line`` of a note's source, for showing; None for notes made elsewhere."""
    if not stored:
        return None
    return display_path(stored) + (f":{line}" if line else "")
