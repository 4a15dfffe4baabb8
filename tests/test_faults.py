"""Damaged, read-only and full storage: a clear message, no traceback, nothing else lost.

Each case runs the real CLI in a subprocess against a database that holds reviews, breaks the
storage in one way, and checks what the learner sees and that what was stored survives.
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .conftest import FIXTURES

DECK = FIXTURES / "primary" / "mixed.md"


def studytool(
    db: Path,
    *args: str,
    stdin: str = "",
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "studytool", "--db", str(db), "--no-bundled-decks", *args]
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
        env={**os.environ, "STUDYTOOL_HOME": str(db.parent / "home")},
    )


def reviewed_database(folder: Path) -> Path:
    """A database with the fixture deck imported and two cards reviewed."""
    db = folder / "studytool.db"
    assert studytool(db, "import", str(DECK)).returncode == 0
    result = studytool(db, "review", "--plain", "--no-grading", stdin="\n3\n\n1\nq\n")
    assert result.returncode == 0, result.stderr
    assert reviews(db) == 2
    return db


def reviews(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM reviewlog").fetchone()[0])


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_truncated_database_is_refused_untouched(tmp_path: Path) -> None:
    db = reviewed_database(tmp_path)
    # Fold the WAL in first, so the main file is the whole database, then cut it in half.
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    for args in (["decks"], ["review", "--plain", "--no-grading"], ["import", str(DECK)]):
        result = studytool(db, *args, stdin="\n3\nq\n")
        assert result.returncode != 0
        no_traceback(result)
        assert "damaged" in result.stderr or "not a studytool database" in result.stderr
        assert str(db) in result.stderr
    assert db.read_bytes() == data[: len(data) // 2]


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` seen read-only: a read-only bind mount as root (who ignores file modes),
    else the files' and the folder's write bits taken away."""
    if os.geteuid() == 0:
        view = folder.parent / f"{folder.name}-ro"
        view.mkdir()
        bound = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True)
        if bound.returncode != 0:
            pytest.skip("root, but cannot bind-mount here to make a read-only view")
        try:
            remounted = subprocess.run(
                ["mount", "-o", "remount,ro,bind", str(view)], capture_output=True
            )
            if remounted.returncode != 0:
                pytest.skip("cannot remount read-only here")
            yield view
        finally:
            subprocess.run(["umount", "-l", str(view)], capture_output=True)
        return
    modes = {path: path.stat().st_mode for path in folder.glob("studytool.db*")}
    for path in modes:
        path.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
        for path, mode in modes.items():
            path.chmod(mode)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_read_only_database_says_so_and_keeps_its_reviews(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = reviewed_database(folder)
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = db.read_bytes()
    with read_only(folder) as view:
        seen = view / db.name
        decks = studytool(seen, "decks")
        writes = [
            studytool(seen, "review", "--plain", "--no-grading", stdin="\n3\nq\n"),
            studytool(seen, "import", str(_big_deck(tmp_path, notes=3))),
        ]
    # Reading still works; each write says why it cannot be saved.
    assert decks.returncode == 0 and "Fixture deck" in decks.stdout, decks.stderr
    for result in writes:
        no_traceback(result)
        assert result.returncode != 0, result.stdout
        assert "read-only" in result.stderr, result.stderr
        assert str(view / db.name) in result.stderr
    assert db.read_bytes() == before
    assert reviews(db) == 2 and integrity(db) == "ok"


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        # A write past the limit then fails with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _big_deck(folder: Path, notes: int = 3000) -> Path:
    deck = folder / "big.md"
    body = "\n\n---\n\n".join(
        f"Q: Filler question {i} {'padding ' * 40}?\nA: Filler answer {i} {'text ' * 60}.\nid: big-{i}"
        for i in range(notes)
    )
    deck.write_text('+++\nname = "Big"\n+++\n' + body + "\n", encoding="utf-8")
    return deck


def test_full_disk_on_import_loses_nothing(tmp_path: Path) -> None:
    """A file-size limit stands in for a full disk: the write fails part-way."""
    db = reviewed_database(tmp_path)
    deck = _big_deck(tmp_path)
    result = studytool(db, "import", str(deck), preexec=_limit_file_size(256 * 1024))
    assert result.returncode != 0
    no_traceback(result)
    assert "disk is full" in result.stderr and "Nothing was saved" in result.stderr
    assert integrity(db) == "ok" and reviews(db) == 2
    # The import was one transaction: none of it is there, and it works once there is room.
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM deck WHERE name = 'Big'").fetchone() == (0,)
    again = studytool(db, "import", str(deck))
    assert again.returncode == 0, again.stderr


def test_full_tmpfs_on_review_keeps_every_saved_rating(tmp_path: Path) -> None:
    """A real full filesystem (a 1 MiB tmpfs), where the machine allows mounting one."""
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the file-size case covers this")
    try:
        db = reviewed_database(mount)
        # Fill the rest of the filesystem.
        filler = mount / "filler"
        with filler.open("wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass
        deck = _big_deck(tmp_path, notes=200)
        result = studytool(db, "import", str(deck))
        no_traceback(result)
        assert result.returncode != 0
        assert "disk is full" in result.stderr
        assert integrity(db) == "ok" and reviews(db) == 2
        filler.unlink()
        assert studytool(db, "import", str(deck)).returncode == 0
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
