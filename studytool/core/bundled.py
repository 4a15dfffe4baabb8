"""The decks shipped in ``decks/``: imported on first run and again whenever they change."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from studytool import paths
from studytool.core.importing import DeckParseError, ImportIssue, find_deck_files, parse_file
from studytool.core.importing.sync import SyncReport, sync_deck
from studytool.core.store import Store

DIGEST_KEY = "bundled_decks_digest"


@dataclass
class BundledImport:
    reports: list[SyncReport] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)

    def messages(self) -> list[str]:
        """What to tell the learner: a one-line first import, or each deck that changed."""
        changed = [report for report in self.reports if report.changed]
        lines: list[str] = []
        first_time = all(report.unchanged == 0 and not report.updated for report in self.reports)
        if changed and first_time:
            notes = sum(len(report.added) for report in changed)
            lines.append(
                f"Imported the bundled decks: {_count(len(changed), 'deck')}, {_count(notes, 'note')}."
            )
        elif changed:
            lines.append("Bundled decks updated:")
            lines.extend(f"  {report.deck}: {report.summary()}" for report in changed)
        lines.extend(f"warning: bundled deck not imported: {issue}" for issue in self.errors)
        return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def bundled_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in find_deck_files([folder]):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def ensure_bundled_decks(store: Store, folder: Path | None = None) -> BundledImport | None:
    """Import the bundled decks if this store has not seen their current version.

    Returns what was done, or None when nothing needed doing. Learners' history is kept:
    re-importing matches cards by their stable ids.
    """
    folder = folder or paths.bundled_decks_dir()
    if folder is None:
        return None
    digest = bundled_digest(folder)
    if store.get_value(DIGEST_KEY) == digest:
        return None
    result = BundledImport()
    for path in find_deck_files([folder]):
        try:
            parsed = parse_file(path)
        except DeckParseError as exc:
            result.errors.extend(exc.issues)
            continue
        # Bundled decks are recorded by their path relative to the decks folder, so moving
        # the checkout (or installing the wheel) does not make them look like new files.
        parsed.source = f"bundled:{path.relative_to(folder).as_posix()}"
        result.reports.append(sync_deck(store, parsed))
    if not result.errors:
        store.set_value(DIGEST_KEY, digest)
    return result
