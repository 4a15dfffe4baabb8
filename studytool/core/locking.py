"""How long a write waits for another process's SQLite write lock.

SQLite lets one writer in at a time; a second studytool on the same file waits on the busy
timeout. Ten seconds suits the CLI, but the app must not sit frozen that long: it first
tries a write with a short wait (:func:`lock_wait`) and, if the database is still locked,
waits the full time in a worker thread while the screen says why.

The wait is per thread, so a worker's long wait and the UI thread's short one do not mix.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BUSY_TIMEOUT_MS = 10_000

_wait = threading.local()
_APPLIED_KEY = "studytool_busy_timeout_ms"


def current_lock_wait_ms() -> int:
    """The longest this thread's next write waits for a lock, in milliseconds."""
    return getattr(_wait, "ms", BUSY_TIMEOUT_MS)


@contextmanager
def lock_wait(ms: int) -> Iterator[None]:
    """Within the block, this thread's writes wait at most ``ms`` for another's lock."""
    previous = getattr(_wait, "ms", None)
    _wait.ms = ms
    try:
        yield
    finally:
        if previous is None:
            del _wait.ms
        else:
            _wait.ms = previous


def apply_lock_wait(dbapi_connection: Any, info: dict[str, Any]) -> None:
    """Set the SQLite connection's busy timeout to this thread's wait, if it differs.

    ``info`` is the pool's per-connection dict: it remembers the value set, so only a
    connection's first transaction and a change of wait cost a statement.
    """
    wanted = current_lock_wait_ms()
    if info.get(_APPLIED_KEY) != wanted:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(wanted)}")
        cursor.close()
        info[_APPLIED_KEY] = wanted
