"""Importing files and folders in one go: the loop shared by the command line and the app.

Each file is parsed and synced on its own (one transaction per file), so a file with errors
is skipped without holding back the others, and a dry run reports what each file would
change without writing anything. Progress and cancellation are callbacks, so that a caller
running this in a thread can report and stop between files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from studytool.core.importing import DeckParseError, ImportIssue, find_deck_files, parse_file
from studytool.core.importing.sync import SyncReport, sync_deck
from studytool.core.store import Store

NO_DECK_FILES = "no deck files found (looked for .md, .markdown, .txt, .tsv, .csv)"
# A selection of more deck files than this is most likely a mistake (a parent folder, the
# home folder, /): front ends ask before reading them all.
LARGE_SELECTION_FILES = 200


@dataclass(frozen=True)
class DeckFileSelection:
    """The deck files a path selects, found before any of them is read."""

    files: list[Path]
    stopped: bool = False  # should_stop said so before the walk was done

    @property
    def folders(self) -> int:
        """How many folders hold the files."""
        return len({path.parent for path in self.files})

    @property
    def large(self) -> bool:
        return len(self.files) > LARGE_SELECTION_FILES

    def describe(self) -> str:
        """``312 deck files in 14 folders``."""
        files, folders = len(self.files), self.folders
        return (
            f"{files:,} deck file{'' if files == 1 else 's'} in "
            f"{folders:,} folder{'' if folders == 1 else 's'}"
        )


def select_deck_files(
    paths: Iterable[Path], should_stop: Callable[[], bool] | None = None
) -> DeckFileSelection:
    """List the deck files under ``paths`` without reading them (see ``find_deck_files``)."""
    files = list(find_deck_files(paths, should_stop))
    return DeckFileSelection(files, stopped=should_stop is not None and should_stop())


@dataclass
class FileOutcome:
    """What happened to one file: its sync report, or the errors that kept it out."""

    path: Path
    format: str = ""
    report: SyncReport | None = None
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def deck(self) -> str | None:
        return self.report.deck if self.report is not None else None


@dataclass
class BatchReport:
    """Every file's outcome, in the order the files were read."""

    files: list[FileOutcome]
    dry_run: bool
    prune: bool
    backup: Path | None = None
    stopped: bool = False  # should_stop said so before every file was read

    @property
    def failed(self) -> list[FileOutcome]:
        return [outcome for outcome in self.files if outcome.failed]

    @property
    def reports(self) -> list[SyncReport]:
        return [outcome.report for outcome in self.files if outcome.report is not None]

    @property
    def added(self) -> int:
        return sum(len(report.added) for report in self.reports)

    @property
    def updated(self) -> int:
        return sum(len(report.updated) for report in self.reports)

    @property
    def unchanged(self) -> int:
        return sum(report.unchanged for report in self.reports)

    @property
    def removed(self) -> int:
        return sum(len(report.removed) for report in self.reports)

    @property
    def warnings(self) -> list[ImportIssue]:
        return [warning for outcome in self.files for warning in outcome.warnings]

    @property
    def errors(self) -> list[ImportIssue]:
        return [error for outcome in self.files for error in outcome.errors]

    def summary(self) -> str:
        removed_word = "deleted" if self.prune else "removed (suspended)"
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} {removed_word}"
        )


def import_paths(
    store: Store,
    paths: Iterable[Path],
    deck_name: str | None = None,
    *,
    prune: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    on_file: Callable[[int, int, FileOutcome], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> BatchReport:
    """Import every deck file under ``paths`` (see ``find_deck_files``) and report per file.

    ``on_file(done, total, outcome)`` is called after each file; ``should_stop()`` is asked
    before each one. A real import with ``prune`` backs the database up first. Files with
    parse errors are skipped (nothing from them is stored); files without cards are not
    synced, so that emptying a file by accident does not remove its cards.
    """
    files = list(find_deck_files(paths))
    report = BatchReport(files=[], dry_run=dry_run, prune=prune)
    if prune and not dry_run and files:
        report.backup = store.backup("before-prune")
    for index, path in enumerate(files, 1):
        if should_stop is not None and should_stop():
            report.stopped = True
            break
        outcome = FileOutcome(path)
        try:
            parsed = parse_file(path)
        except DeckParseError as exc:
            outcome.errors = list(exc.issues)
        else:
            outcome.format = parsed.format
            outcome.warnings = list(parsed.warnings)
            if parsed.notes:
                outcome.report = sync_deck(
                    store, parsed, deck_name, prune=prune, dry_run=dry_run, now=now
                )
        report.files.append(outcome)
        if on_file is not None:
            on_file(index, len(files), outcome)
    return report
