"""Reading deck files: format detection, input checks, and parsing into note drafts.

``parse_file`` never touches the database; ``studytool.core.importing.sync`` writes the
result. Every problem is reported as ``file:line: what is wrong``.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from studytool.core.importing.drafts import DeckParseError, ImportIssue, NoteDraft, ParsedDeck

__all__ = [
    "DECK_SUFFIXES",
    "MAX_FILE_BYTES",
    "DeckParseError",
    "ImportIssue",
    "NoteDraft",
    "ParsedDeck",
    "detect_format",
    "find_deck_files",
    "parse_file",
    "parse_text",
    "read_deck_text",
]

DECK_SUFFIXES = (".md", ".markdown", ".txt", ".tsv", ".csv")
# Real decks are kilobytes; a file this large is almost certainly not a deck, and refusing it
# up front keeps an accidental import of a log or data dump fast and harmless.
MAX_FILE_BYTES = 10 * 1024 * 1024
_BINARY_SNIFF_BYTES = 8192


def read_deck_text(path: Path) -> str:
    """The file's text, or DeckParseError saying why it cannot be a deck."""
    source = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DeckParseError(
            [ImportIssue(source, None, f"cannot read: {exc.strerror or exc}")]
        ) from exc
    if size > MAX_FILE_BYTES:
        raise DeckParseError(
            [
                ImportIssue(
                    source,
                    None,
                    f"file is {size / 1e6:.1f} MB; decks over {MAX_FILE_BYTES // (1024 * 1024)} MB are refused. "
                    "Split it into smaller deck files.",
                )
            ]
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeckParseError(
            [ImportIssue(source, None, f"cannot read: {exc.strerror or exc}")]
        ) from exc
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise DeckParseError([ImportIssue(source, None, "binary file, not a text deck")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig drops a BOM before decoding, so exc.start does not count it; and lines end
        # at \r\n, \r or \n, as the parsers count them (drafts.source_lines).
        offset = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        line = len(re.split(rb"\r\n|\r|\n", data[:offset]))
        raise DeckParseError(
            [
                ImportIssue(
                    source,
                    line,
                    f"not UTF-8 (byte 0x{data[offset]:02x} at offset {offset}); save the file as UTF-8",
                )
            ]
        ) from exc


def detect_format(text: str, suffix: str = ".md") -> str:
    """Name of the format ``text`` is written in (``primary`` when nothing else fits)."""
    from studytool.core.importing.anki_text import looks_like_anki_text
    from studytool.core.importing.colon_p_format import looks_like_colon_p
    from studytool.core.importing.interview_list import looks_like_interview_list
    from studytool.core.importing.obsidian_sr import looks_like_obsidian
    from studytool.core.importing.primary import looks_like_primary

    if looks_like_anki_text(text, suffix):
        return "anki-text"
    if looks_like_colon_p(text):
        return "colon-p"
    if looks_like_primary(text):
        return "primary"
    if looks_like_interview_list(text):
        return "interview-list"
    if looks_like_obsidian(text):
        return "obsidian-sr"
    return "primary"


def _parser_for(format_name: str) -> Callable[[str, str], ParsedDeck]:
    if format_name == "anki-text":
        from studytool.core.importing.anki_text import parse_anki_text

        return parse_anki_text
    if format_name == "colon-p":
        from studytool.core.importing.colon_p_format import parse_colon_p

        return parse_colon_p
    if format_name == "interview-list":
        from studytool.core.importing.interview_list import parse_interview_list

        return parse_interview_list
    if format_name == "obsidian-sr":
        from studytool.core.importing.obsidian_sr import parse_obsidian

        return parse_obsidian
    from studytool.core.importing.primary import parse_primary

    return parse_primary


def parse_text(
    text: str, source: str, suffix: str = ".md", format_name: str | None = None
) -> ParsedDeck:
    """Parse deck text; raises DeckParseError with every problem found."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return ParsedDeck(
            source=source,
            format="empty",
            notes=[],
            warnings=[ImportIssue(source, None, "empty file, no cards")],
        )
    chosen = format_name or detect_format(text, suffix)
    parsed = _parser_for(chosen)(text, source)
    _check_duplicates(parsed)
    if not parsed.notes:
        # A file without cards is most likely prose: one clear line beats a warning per paragraph.
        parsed.warnings = [
            w for w in parsed.warnings if not w.message.startswith(("text outside", "no cards"))
        ]
        parsed.warnings.append(
            ImportIssue(
                source, None, "no cards found (cards start with Q: or C:; see docs/deck-format.md)"
            )
        )
    return parsed


def parse_file(path: Path) -> ParsedDeck:
    """Read and parse one deck file; raises DeckParseError naming file and line."""
    return parse_text(read_deck_text(path), str(path), path.suffix.lower())


def _check_duplicates(parsed: ParsedDeck) -> None:
    first_seen: dict[str, NoteDraft] = {}
    issues: list[ImportIssue] = []
    for note in parsed.notes:
        earlier = first_seen.get(note.key)
        if earlier is None:
            first_seen[note.key] = note
        elif note.explicit_key:
            issues.append(
                ImportIssue(
                    parsed.source,
                    note.line,
                    f"duplicate id {note.explicit_key!r} (first used on line {earlier.line})",
                )
            )
        else:
            issues.append(
                ImportIssue(
                    parsed.source,
                    note.line,
                    f"same question as the card on line {earlier.line}; give one of them an id: to keep both",
                )
            )
    if issues:
        raise DeckParseError(issues)


def find_deck_files(
    paths: Iterable[Path], should_stop: Callable[[], bool] | None = None
) -> Iterator[Path]:
    """Deck files under ``paths`` (files as given; folders walked, hidden entries skipped), sorted.

    ``should_stop()`` is asked before each folder is listed: walking a whole disk takes long
    even where no folder holds a deck file, and a caller in a thread must be able to stop it.
    """
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                if should_stop is not None and should_stop():
                    return
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and name.lower().endswith(DECK_SUFFIXES):
                        yield Path(root) / name
        else:
            yield path
