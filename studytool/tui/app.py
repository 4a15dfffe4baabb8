"""The studytool Textual app.

Services are handed in, so that tests can build the app on temporary databases: either an
open store, or a function that opens one. In the second case the store is opened in a worker
thread after the first screen is up, because the database libraries take longer to import
than Textual itself. Nothing here imports an ML package.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding

from studytool.tui.messages import StoreReady
from studytool.tui.screens.home import HomeScreen

if TYPE_CHECKING:
    from studytool.core.grading import BackgroundGrader
    from studytool.core.store import Store


class StudyApp(App[None]):
    # Absolute, because Textual resolves a relative CSS_PATH next to the module of the
    # subclass being run (tests and benchmarks subclass the app).
    CSS_PATH = Path(__file__).with_name("studytool.tcss")
    TITLE = "studytool"
    SUB_TITLE = "spaced repetition for AI-engineering interviews"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    def __init__(
        self,
        store: Store | None = None,
        *,
        open_store: Callable[..., Store] | None = None,
        start_review: list[str] | None = None,
        grader: BackgroundGrader | None = None,
        grading: bool = True,
    ) -> None:
        super().__init__()
        if store is None and open_store is None:
            raise ValueError("StudyApp needs a store or a function that opens one")
        self.store: Store | None = store
        self.failure: str | None = None  # why the app could not start, if it could not
        self._open_store = open_store
        self._start_review = start_review
        self._grader = grader
        self._grading = grading  # False: `studytool review --no-grading`

    def answer_grader(self) -> BackgroundGrader | None:
        """The grader for typed answers (loading in the background), or None when turned off.

        One per app, so the model is loaded once however many sessions are studied.
        """
        from studytool.core.grading import BackgroundGrader, thresholds_from_setting
        from studytool.ml import load_answer_grader

        assert self.store is not None
        settings = self.store.load_settings()
        if not (settings.auto_grading and self._grading):
            return None
        if self._grader is None:
            self._grader = BackgroundGrader(
                functools.partial(load_answer_grader, settings.grader_backend)
            )
        self._grader.set_thresholds(thresholds_from_setting(settings.grade_thresholds))
        return self._grader

    def on_mount(self) -> None:
        self.push_screen(HomeScreen())
        if self.store is not None:
            self._store_ready(refresh=False)  # the home screen reads it when it mounts
        else:
            # After the first paint: the worker's imports would otherwise hold the GIL
            # while the first screen is being drawn.
            self.call_after_refresh(self._open_in_background)

    @work(thread=True, exclusive=True, group="store", exit_on_error=False)
    def _open_in_background(self) -> None:
        from studytool.core.store import StoreError

        messages: list[str] = []
        assert self._open_store is not None
        try:
            store = self._open_store(say=messages.append)
        except StoreError as exc:
            # Nothing can be shown without the database: leave with the reason on the terminal.
            self.failure = str(exc)
            self.call_from_thread(self.exit, None, 1, f"studytool: {exc}")
            return
        self.post_message(StoreReady(store, messages))

    def on_store_ready(self, message: StoreReady) -> None:
        self.store = message.store
        if message.messages:
            # One toast: deck names are shown as written (markup off).
            self.notify("\n".join(message.messages), timeout=8, markup=False)
        self._store_ready()

    def _store_ready(self, refresh: bool = True) -> None:
        assert self.store is not None
        settings = self.store.load_settings()
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        if refresh:
            for screen in self.screen_stack:
                if isinstance(screen, HomeScreen) and screen.is_mounted:
                    screen.refresh_decks()
        if self._start_review is not None:
            from studytool.tui.screens.review import ReviewScreen

            self.push_screen(ReviewScreen(self._start_review or None))

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()
