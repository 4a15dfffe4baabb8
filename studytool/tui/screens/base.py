"""What every studytool screen shares: the app's services, and one way to write.

Every database write from the app goes through :meth:`StudyScreen.write`: it runs in a
worker thread, so the screen never freezes; when another studytool holds SQLite's write lock
the write waits for it (up to the store's busy timeout) while the screen says what it waits
for, and a write that still fails changes nothing and says why, so the learner can try again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from textual import on, work
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from studytool.core import locking
from studytool.core.store import StoreError
from studytool.core.study import StudyError

if TYPE_CHECKING:
    from studytool.core.store import Store
    from studytool.tui.app import StudyApp

ScreenResult = TypeVar("ScreenResult")
WriteResult = TypeVar("WriteResult")

# A write that takes longer than this is waiting for another process's lock: say so.
WAIT_NOTICE_AFTER_S = 0.25
WAITING_FOR_LOCK = (
    "Another studytool is writing to this database: waiting for it "
    f"(up to {locking.BUSY_TIMEOUT_MS / 1000:g} s)…"
)


def write_error_message(error: BaseException | None) -> str:
    """What to tell the learner about a write that failed."""
    if isinstance(error, StoreError | StudyError):
        return str(error)
    return repr(error)


class StudyScreen(Screen[ScreenResult]):
    """A screen of the studytool app."""

    def __init__(self) -> None:
        super().__init__()
        self._write_worker: Worker[Any] | None = None
        self._after_write: Callable[[Any], None] | None = None
        self._write_failed: Callable[[str], None] | None = None
        self._wait_notice: Timer | None = None

    @property
    def study_app(self) -> StudyApp:
        from studytool.tui.app import StudyApp

        return cast(StudyApp, self.app)

    @property
    def store(self) -> Store:
        store = self.study_app.store
        if store is None:
            raise RuntimeError("the database is not open yet")
        return store

    # -- writes ----------------------------------------------------------------------------

    @property
    def writing(self) -> bool:
        """A write is under way (screens hold back other actions until it lands)."""
        return self._write_worker is not None

    def write(
        self,
        change: Callable[[], WriteResult],
        then: Callable[[WriteResult], None] | None = None,
        *,
        failed: Callable[[str], None] | None = None,
    ) -> bool:
        """Run ``change`` (a function that writes, then returns what the screen needs) in a
        worker, then call ``then(result)`` on the UI thread.

        If it fails, nothing is saved: ``failed(message)`` is called, or the message is
        shown. Returns False (and runs nothing) while an earlier write is still under way.
        """
        if self._write_worker is not None:
            self.notify("Still saving the last change…", timeout=3)
            return False
        self._after_write = then
        self._write_failed = failed
        self._write_worker = self._write_in_background(change)
        self._wait_notice = self.set_timer(WAIT_NOTICE_AFTER_S, self._notice_wait)
        self.refresh_bindings()
        return True

    def show_write_wait(self, message: str | None) -> None:
        """Say (or stop saying, with None) that a write waits for another process.

        Screens with a status line override this; the default is a toast."""
        if message is not None:
            self.notify(message, timeout=locking.BUSY_TIMEOUT_MS / 1000)

    def _notice_wait(self) -> None:
        self._wait_notice = None
        if self._write_worker is not None:
            self.show_write_wait(WAITING_FOR_LOCK)

    @work(thread=True, group="write", exit_on_error=False)
    def _write_in_background(self, change: Callable[[], Any]) -> Any:
        with locking.lock_wait(locking.BUSY_TIMEOUT_MS):
            return change()

    @on(Worker.StateChanged)
    def _write_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker is not self._write_worker or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        then, failed = self._after_write, self._write_failed
        self._write_worker = self._after_write = self._write_failed = None
        if self._wait_notice is not None:
            self._wait_notice.stop()
            self._wait_notice = None
        self.show_write_wait(None)
        self.refresh_bindings()
        if event.state is WorkerState.SUCCESS:
            if then is not None:
                then(worker.result)
            return
        message = (
            "the change was cancelled"
            if event.state is WorkerState.CANCELLED
            else write_error_message(worker.error)
        )
        if failed is not None:
            failed(message)
        else:
            self.notify(f"Not saved: {message}", severity="error", timeout=12)
