"""The studytool Textual app.

Services (the store, and later the grader) are handed in, so that tests can build the app on
temporary databases. Nothing here imports an ML package.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from studytool.core.store import Store
from studytool.tui.screens.home import HomeScreen


class StudyApp(App[None]):
    # Absolute, because Textual resolves a relative CSS_PATH next to the module of the
    # subclass being run (tests and benchmarks subclass the app).
    CSS_PATH = Path(__file__).with_name("studytool.tcss")
    TITLE = "studytool"
    SUB_TITLE = "spaced repetition for AI-engineering interviews"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]

    def __init__(self, store: Store, *, start_review: list[str] | None = None) -> None:
        super().__init__()
        self.store = store
        self._start_review = start_review

    def on_mount(self) -> None:
        settings = self.store.load_settings()
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        self.push_screen(HomeScreen())
        if self._start_review is not None:
            from studytool.tui.screens.review import ReviewScreen

            self.push_screen(ReviewScreen(self._start_review or None))
