"""Import: pick a deck file or folder, read the dry run, confirm.

Choosing a path runs a dry run (nothing is written) and lists, per file, the deck it goes to,
its format and what would change, with every problem as ``file:line: message``. Confirming
imports exactly what the dry run showed; changing the options first asks for a new dry run.
Both run in a thread worker over ``studytool.core.importing.batch``, so a folder of thousands
of files keeps the screen responsive and shows progress. A path that selects more than a few
hundred files (most likely a parent folder chosen by mistake) is counted first and the dry run
asks before reading them; a running dry run can be cancelled (Esc or Cancel).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    DirectoryTree,
    Footer,
    Header,
    Input,
    Label,
    ProgressBar,
    Static,
)
from textual.worker import Worker, WorkerState, get_current_worker

from studytool.core.importing import DECK_SUFFIXES, ImportIssue, find_deck_files
from studytool.core.importing.batch import DeckFileSelection
from studytool.core.text_safety import inert
from studytool.tui.dialogs import Choice, ChoiceDialog
from studytool.tui.messages import BatchFinished, BatchProgress, ImportRequest, LargeSelection
from studytool.tui.screens.base import StudyScreen
from studytool.tui.widgets import TickBox

if TYPE_CHECKING:
    from studytool.core.importing.batch import BatchReport, FileOutcome

# More problem lines than this are summarised: a folder of broken exports could produce
# tens of thousands, and nobody reads past the first screens of them.
MAX_ISSUE_LINES = 500
# The same for table rows: a DataTable takes seconds to fill with 10,000 of them. Past this
# many files, only those with errors, warnings or changes are listed.
MAX_FILE_ROWS = 500
# Progress messages from the worker at most this often, so that a folder of small files
# does not flood the message queue.
PROGRESS_INTERVAL_S = 0.1
_NUMBER_WIDTH = 4
_FORMAT_WIDTH = 11  # "obsidian-sr"; the rare "interview-list" is cut


class DeckTree(DirectoryTree):
    """Folders and deck files only; enter chooses, space opens a folder, u goes up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Dry run"),
        Binding("space", "toggle_node", "Open"),
        Binding("u", "up", "Up a folder"),
    ]

    def on_mount(self) -> None:
        # Enter previews: opening a folder must not start a dry run of everything in it.
        self.auto_expand = False

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            path
            for path in paths
            if not path.name.startswith(".")
            and (path.suffix.lower() in DECK_SUFFIXES or self._safe_is_dir(path))
        ]

    async def watch_path(self) -> None:
        await super().watch_path()
        # The root shows as ~/… rather than as the absolute path the widget would use.
        self.root.set_label(Text(inert(display_path(Path(self.path)))))

    def action_up(self) -> None:
        parent = Path(self.path).resolve().parent
        if parent != Path(self.path).resolve():
            self.path = parent


# The widgets below only relabel enter, so that the footer says what it does where the focus is.


class PathInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "Dry run")]


class FilesTable(DataTable[Text]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Import")]


class ConfirmButton(Button):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "press", "Import")]


class CancelButton(Button):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "press", "Cancel dry run")]


class ImportScreen(StudyScreen[None]):
    """Import deck files; ``start_path`` is where the file browser opens (the current folder)."""

    CSS_PATH = Path(__file__).parent.parent / "css" / "import.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm_by_enter", "Import"),
        Binding("ctrl+r", "dry_run", "Refresh"),
        # Esc stops a running dry run first (see check_action); the next one leaves.
        Binding("escape", "cancel_dry_run", "Cancel dry run"),
        Binding("escape", "back", "Back"),
        Binding("q", "back", "Back", show=False),
    ]

    def __init__(self, start_path: Path | None = None) -> None:
        super().__init__()
        self.start_path = (start_path or Path.cwd()).resolve()
        self.preview: BatchReport | None = None
        self.previewed: ImportRequest | None = None
        self.result: BatchReport | None = None  # of the last real import
        self.running: str | None = None  # "dry run" or "import" while a worker works
        self._running_label = ""
        self._running_where = ""
        self._progress: tuple[int, int | None] = (0, None)  # the last BatchProgress
        self.batch_worker: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="import-path-row"):
            yield Label("Path", classes="import-label")
            yield PathInput(
                placeholder="a deck file or folder (enter runs a dry run)",
                id="import-path",
                compact=True,
            )
        with Horizontal(id="import-body"):
            yield DeckTree(self.start_path, id="import-tree")
            with Vertical(id="import-results"):
                yield Static("", id="import-summary")
                yield FilesTable(id="import-files", cursor_type="row", zebra_stripes=True)
                with VerticalScroll(id="import-issues"):
                    yield Static("", id="import-issue-lines")
        with Horizontal(id="import-options"):
            yield Label("Deck", classes="import-label")
            yield PathInput(placeholder="from each file", id="import-deck", compact=True)
            yield TickBox("Prune", id="import-prune", compact=True)
            yield ProgressBar(id="import-progress", show_eta=False)
            yield CancelButton("Cancel (esc)", id="import-cancel", compact=True)
            yield ConfirmButton("Import", id="import-confirm", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Import decks"
        self.query_one("#import-tree").border_title = "Files"
        self.query_one("#import-issues").border_title = "Problems"
        self.query_one("#import-prune", Checkbox).tooltip = (
            "Delete cards whose questions are gone from their file (a backup is made first); "
            "otherwise they are suspended"
        )
        self.query_one("#import-progress").visible = False
        self.query_one("#import-cancel").display = False
        self.query_one("#import-issues").display = False
        self.query_one("#import-files").display = False
        self._show_idle()
        # The screen says "type a path above": typed letters must go there, not to the tree
        # (where u goes up a folder and enter dry-runs whatever folder it is on).
        self.query_one("#import-path", Input).focus()

    def on_resize(self) -> None:
        shown = self.result or self.preview
        if shown is not None:
            self._fill_table(shown)

    # -- choosing --------------------------------------------------------------------------

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._choose(event.path)

    def on_directory_tree_directory_selected(self, event: DirectoryTree.DirectorySelected) -> None:
        event.stop()
        self._choose(event.path)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "import-path" and not event.value.strip():
            self.notify("Type the path of a deck file or folder, or choose one under Files.")
            return
        self.action_dry_run()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        # The dry run shown must be the one a confirmation would do.
        if self.previewed is not None and self.running is None:
            self.action_dry_run()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # The table takes enter for itself; enter imports wherever the focus is.
        event.stop()
        self.action_confirm_by_enter()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "import-confirm":
            event.stop()
            self.action_confirm()
        elif event.button.id == "import-cancel":
            event.stop()
            self.action_cancel_dry_run()

    def _choose(self, path: Path) -> None:
        self.query_one("#import-path", Input).value = display_path(path, self.start_path)
        self.action_dry_run()

    def resolve(self, text: str) -> Path:
        """A typed path, relative ones taken from the folder the browser started in."""
        path = Path(text.strip()).expanduser()
        if not path.is_absolute():
            path = self.start_path / path
        return path.resolve()

    def current_request(self) -> ImportRequest | None:
        text = self.query_one("#import-path", Input).value
        if not text.strip():
            return None
        deck = self.query_one("#import-deck", Input).value.strip()
        return ImportRequest(
            path=self.resolve(text),
            deck_name=deck or None,
            prune=self.query_one("#import-prune", Checkbox).value,
        )

    # -- actions ---------------------------------------------------------------------------

    def action_confirm_by_enter(self) -> None:
        """Enter imports a clean dry run; after one with errors only the Import button does,
        so that a stray enter never imports a half-broken selection."""
        if self.preview is not None and self.preview.failed and self.running is None:
            failed = len(self.preview.failed)
            self.notify(
                f"This dry run found errors in {failed} file{'s' if failed != 1 else ''} "
                "(they would be skipped). To import the rest, tab to Import and press it.",
                severity="warning",
            )
            return
        self.action_confirm()

    def action_dry_run(self) -> None:
        request = self.current_request()
        if request is None:
            self.notify("Pick a deck file or folder first.")
            return
        if not self._can_start():
            return
        if not request.path.exists():
            self.notify(
                f"No such file or folder: {inert(display_path(request.path, self.start_path))}",
                severity="error",
            )
            return
        self._start(request, dry_run=True)

    def action_confirm(self) -> None:
        request = self.current_request()
        if request is None or self.preview is None:
            self.notify("Pick a deck file or folder first: its dry run comes before the import.")
            return
        if not self._can_start():
            return
        if self.running is not None:
            self.notify("Wait for the dry run to finish, then confirm.")
            return
        if request != self.previewed:
            self.notify("The path or options changed: here is the new dry run; confirm again.")
            self._start(request, dry_run=True)
            return
        if not self.preview.reports:
            self.notify("Nothing to import: no file in the dry run has cards that can be read.")
            return
        self._start(request, dry_run=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # One Esc binding at a time is live (and shown): cancel while a dry run runs, else back.
        if action == "cancel_dry_run":
            return self.running == "dry run"
        if action == "back":
            return self.running != "dry run"
        return True

    def action_cancel_dry_run(self) -> None:
        """Stop the running dry run between two files; nothing was written."""
        if self.running != "dry run" or self.batch_worker is None:
            return
        self.batch_worker.cancel()  # the worker stops at its next should_stop check
        self.batch_worker = None  # and what it still posts is ignored
        done, total = self._progress
        self._set_running(None)
        self.preview = self.previewed = None
        self.query_one("#import-files").display = False
        self.query_one("#import-issues").display = False
        where = self._running_where
        checked = (
            f"after {done:,} of {total:,} files"
            if total is not None
            else f"while looking for deck files ({done:,} found)"
        )
        self._set_summary(
            Text(
                f"Dry run of {where} cancelled {checked}; nothing was written. Type the path "
                "of one deck file or a smaller folder, or press enter in the path box to "
                "start again.",
                style="yellow",
            ),
            idle=True,
        )
        self.query_one("#import-path", Input).focus()

    def action_back(self) -> None:
        if self.running == "import":
            self.notify("The import is still running; wait for it to finish.")
            return
        self.workers.cancel_group(self, "import")
        self.app.pop_screen()

    def _can_start(self) -> bool:
        if self.study_app.store is None:
            self.notify("Still opening your decks…")
            return False
        if self.running == "import":
            self.notify("An import is running; wait for it to finish.")
            return False
        return True

    # -- the worker ------------------------------------------------------------------------

    def _set_running(self, running: str | None) -> None:
        """Show what runs: the progress bar, and Cancel in Import's place during a dry run."""
        self.running = running
        self.query_one("#import-progress").visible = running is not None
        dry_run = running == "dry run"
        self.query_one("#import-cancel").display = dry_run
        self.query_one("#import-confirm").display = not dry_run
        self.refresh_bindings()

    def _start(
        self, request: ImportRequest, *, dry_run: bool, files: list[Path] | None = None
    ) -> None:
        """Run a dry run or an import in a worker; ``files`` are the deck files of
        ``request.path`` when already found (a large selection the learner agreed to)."""
        verb = "Checking" if dry_run else "Importing"
        self._running_where = inert(display_path(request.path, self.start_path))
        self._running_label = f"{verb} {self._running_where}"
        self._progress = (0, None)
        self._set_summary(Text(f"{self._running_label}…"))
        self.query_one("#import-progress", ProgressBar).update(total=None, progress=0)
        self._set_running("dry run" if dry_run else "import")
        self.batch_worker = self._run_batch(request, dry_run, files, ask_if_large=files is None)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False)
    def _run_batch(
        self,
        request: ImportRequest,
        dry_run: bool,
        files: list[Path] | None,
        ask_if_large: bool,
    ) -> None:
        from studytool.core.importing.batch import import_paths

        worker = get_current_worker()
        store = self.study_app.store
        assert store is not None
        last = 0.0

        def stopped() -> bool:
            return worker.is_cancelled

        def progress(done: int, total: int | None) -> None:
            nonlocal last
            now = time.monotonic()
            if done == total or now - last >= PROGRESS_INTERVAL_S:
                last = now
                self.post_message(BatchProgress(worker, done, total))

        if files is None:
            # Only listed, not read: cheap next to parsing, and it tells how much the
            # path selects before any file is opened.
            files = []
            for path in find_deck_files([request.path], should_stop=stopped):
                files.append(path)
                progress(len(files), None)
            if stopped():
                return
            selection = DeckFileSelection(files)
            if dry_run and ask_if_large and selection.large:
                self.post_message(LargeSelection(worker, request, selection))
                return

        report = import_paths(
            store,
            files,
            request.deck_name,
            prune=request.prune,
            dry_run=dry_run,
            on_file=lambda done, total, _outcome: progress(done, total),
            should_stop=stopped,
        )
        if not stopped():
            self.post_message(BatchFinished(worker, request, report))

    def on_batch_progress(self, message: BatchProgress) -> None:
        if message.worker is not self.batch_worker:
            return  # from a dry run that a newer one replaced, or one cancelled
        self._progress = (message.done, message.total)
        self.query_one("#import-progress", ProgressBar).update(
            total=message.total, progress=message.done if message.total is not None else 0
        )
        if message.total is None:
            found = f"{message.done:,} deck file{'' if message.done == 1 else 's'} found"
            text = f"{self._running_label}: looking for deck files, {found}…"
        else:
            text = f"{self._running_label}: {message.done:,} of {message.total:,} files…"
        if self.running == "dry run":
            text += " Esc cancels."
        self._set_summary(Text(text))

    def on_large_selection(self, message: LargeSelection) -> None:
        if message.worker is not self.batch_worker:
            return
        self.batch_worker = None
        self._set_running(None)
        selection, request = message.selection, message.request
        where = inert(display_path(request.path, self.start_path))
        self._set_summary(
            Text(f"{where} holds {selection.describe()}; none read yet.", style="yellow"),
            idle=self.preview is None,
        )
        files = len(selection.files)
        question = (
            f"{where} holds {selection.describe()} — dry-run them all?\n\n"
            "The dry run reads every one of them (nothing is written until you import), and "
            "Esc cancels it. To check one deck, type its file's path instead."
        )
        choices = [
            Choice("cancel", "Cancel", "n"),
            Choice("run", f"Dry-run all {files:,}", "y", "primary"),
        ]

        def answered(choice: str | None) -> None:
            if choice != "run":
                self._set_summary(
                    Text(
                        f"Not checked: {where} holds {selection.describe()}. Type the path of "
                        "one deck file or a smaller folder.",
                        style="yellow",
                    ),
                    idle=self.preview is None,
                )
                self.query_one("#import-path", Input).focus()
                return
            if self.current_request() != request or not self._can_start():
                self.notify("The path or options changed: press enter in the path box again.")
                return
            self._start(request, dry_run=True, files=selection.files)

        self.app.push_screen(ChoiceDialog(question, choices), answered)

    def on_batch_finished(self, message: BatchFinished) -> None:
        if message.worker is not self.batch_worker:
            return
        report = message.report
        self._set_running(None)
        if report.dry_run:
            self.preview, self.previewed, self.result = report, message.request, None
        else:
            self.preview, self.previewed, self.result = None, None, report
        self._fill_table(report)
        self._fill_issues(report)
        self._set_summary(self._summary(message.request, report))
        if report.dry_run and report.reports:
            if report.failed:
                # Import is never one enter away after a dry run that found errors: the
                # focus goes to the problems, and Import must be chosen on purpose.
                self.query_one("#import-issues").focus()
            else:
                self.query_one("#import-confirm", Button).focus()
        if not report.dry_run:
            self.notify(
                f"Imported: {report.summary()}",
                severity="warning" if report.failed else "information",
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.batch_worker or event.state != WorkerState.ERROR:
            return
        what = self.running or "import"
        self._set_running(None)
        error = event.worker.error
        self._set_summary(Text(f"The {what} failed: {inert(str(error))}", style="bold red"))
        self.notify(f"The {what} failed: {inert(str(error))}", severity="error", timeout=10)

    # -- showing results -------------------------------------------------------------------

    def _show_idle(self) -> None:
        # Until a dry run has results, the file browser may take the room they would use.
        self._set_summary(
            Text(
                "Choose a deck file or folder under Files (enter; space opens a folder), or "
                "type a path above. A dry run shows what would change; nothing is written "
                "until you confirm."
            ),
            idle=True,
        )

    def _set_summary(self, text: Text, *, idle: bool = False) -> None:
        self.set_class(idle, "idle")
        self.query_one("#import-summary", Static).update(text)

    def _summary(self, request: ImportRequest, report: BatchReport) -> Text:
        where = inert(display_path(request.path, self.start_path))
        if not report.files:
            return Text(
                f"No deck files in {where} (looked for {', '.join(DECK_SUFFIXES)}).",
                style="yellow",
            )
        count = len(report.files)
        files = f"{count} file{'' if count == 1 else 's'}"
        text = Text()
        if report.dry_run:
            text.append(f"Dry run of {where}: {files}. ", style="bold")
            text.append(f"Would make {report.summary()}.")
        else:
            text.append(f"Imported {where}: {files}. ", style="bold")
            text.append(f"{report.summary()}.")
        if report.failed:
            failed = len(report.failed)
            text.append(
                f" {failed} file{' has' if failed == 1 else 's have'} errors and "
                f"{'is' if failed == 1 else 'are'} {'skipped' if report.dry_run else 'not imported'}.",
                style="red",
            )
        if report.backup is not None:
            text.append(f" Backup: {inert(display_path(report.backup))}.", style="dim")
        if report.dry_run:
            if report.reports:
                text.append(" Enter imports.", style="bold")
            else:
                text.append(" Nothing to import.", style="bold")
        return text

    def _fill_table(self, report: BatchReport) -> None:
        table = self.query_one("#import-files", DataTable)
        table.display = True
        table.clear(columns=True)
        name_width = self._name_width()
        table.add_column("File", key="file", width=name_width)
        table.add_column("Deck", key="deck", width=name_width)
        table.add_column("Format", key="format", width=_FORMAT_WIDTH)
        for label in ("Add", "Upd", "Same", "Del"):
            table.add_column(label, key=label.lower(), width=_NUMBER_WIDTH)
        shown, hidden = rows_to_show(report.files)
        table.add_rows(_row(outcome, self.start_path, name_width) for outcome in shown)
        if hidden:
            table.add_row(
                Text(f"… {hidden} more", style="dim"),
                Text("not listed", style="dim"),
                *(Text("") for _ in range(5)),
            )

    def _name_width(self) -> int:
        # What the file and deck columns share once format, counts, the padding of seven
        # columns and a scroll bar are placed.
        width = self.query_one("#import-files").size.width or self.size.width - 4
        spare = width - _FORMAT_WIDTH - 4 * _NUMBER_WIDTH - 7 * 2 - 2
        return max(8, spare // 2)

    def _fill_issues(self, report: BatchReport) -> None:
        issues: list[tuple[str, ImportIssue]] = [("error", issue) for issue in report.errors] + [
            ("warning", issue) for issue in report.warnings
        ]
        box = self.query_one("#import-issues")
        box.display = bool(issues)
        if not issues:
            return
        text = Text()
        for index, (kind, issue) in enumerate(issues[:MAX_ISSUE_LINES]):
            if index:
                text.append("\n")
            text.append(f"{kind}: ", style="bold red" if kind == "error" else "yellow")
            text.append(inert(format_issue(issue, self.start_path)))
        if len(issues) > MAX_ISSUE_LINES:
            text.append(f"\n… and {len(issues) - MAX_ISSUE_LINES} more", style="dim")
        self.query_one("#import-issue-lines", Static).update(text)
        box.border_title = (
            f"Problems ({len(report.errors)} errors, {len(report.warnings)} warnings)"
        )


def rows_to_show(files: list[FileOutcome]) -> tuple[list[FileOutcome], int]:
    """The files to list (at most MAX_FILE_ROWS) and how many are left out."""
    if len(files) <= MAX_FILE_ROWS:
        return files, 0
    notable = [
        outcome
        for outcome in files
        if outcome.failed or outcome.warnings or (outcome.report and outcome.report.changed)
    ][:MAX_FILE_ROWS]
    return notable, len(files) - len(notable)


def display_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` when inside it, else with the home folder as ``~``."""
    if base is not None and path != base:
        try:
            return str(path.relative_to(base))
        except ValueError:
            pass
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):
        return str(path)


def format_issue(issue: ImportIssue, base: Path) -> str:
    """``file:line: message`` with the file shown relative to ``base``."""
    return str(ImportIssue(display_path(Path(issue.file), base), issue.line, issue.message))


def _row(outcome: FileOutcome, base: Path, width: int) -> list[Text]:
    name = Text(_shorten(inert(display_path(outcome.path, base)), width), no_wrap=True)
    if outcome.failed:
        name.stylize("bold red")
        errors = len(outcome.errors)
        return [
            name,
            Text(f"{errors} error{'' if errors == 1 else 's'}", style="red"),
            Text(""),
            *(Text("–", style="dim", justify="right") for _ in range(4)),
        ]
    if outcome.warnings:
        name.stylize("yellow")
    report = outcome.report
    if report is None:
        return [
            name,
            Text("no cards", style="dim"),
            Text(outcome.format, style="dim"),
            *(Text("0", style="dim", justify="right") for _ in range(4)),
        ]
    counts = [
        (len(report.added), "green"),
        (len(report.updated), "yellow"),
        (report.unchanged, ""),
        (len(report.removed), "red"),
    ]
    return [
        name,
        Text(_shorten(inert(report.deck), width), no_wrap=True),
        Text(_shorten(report.format, _FORMAT_WIDTH)),
        *(
            Text(str(value), style=style if value else "dim", justify="right")
            for value, style in counts
        ),
    ]


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
