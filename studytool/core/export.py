"""Exporting decks: primary-format markdown, a JSON backup, and Anki packages (``.apkg``).

Markdown is for editing and sharing: it parses back (``studytool import``) to the same notes,
with their ids, so re-importing keeps review history. JSON is a faithful backup of everything
stored about a deck, scheduling state and review log included. ``.apkg`` files open in Anki,
and re-exports update the notes imported before (GUIDs come from the notes' stable keys).

Text is cleaned of terminal escape sequences and control characters on the way out (JSON
escapes them instead, so the backup stays exact): an exported file is safe to ``cat``. Where
removing them would leave markdown that cannot import (an empty question), they are written
as visible ``\\xNN`` text instead.
Nothing here prints or prompts; errors are :class:`ExportError` or :class:`FileExistsError`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import html
import itertools
import json
import logging
import os
import re
import sqlite3
import tempfile
import textwrap
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from studytool.core.cloze import brackets_to_cloze, cloze_to_brackets, has_cloze
from studytool.core.demos import parse_demo_reference
from studytool.core.importing import parse_text
from studytool.core.importing.drafts import DeckParseError, NoteDraft
from studytool.core.importing.primary import parse_primary
from studytool.core.models import (
    Card,
    Deck,
    InterviewReport,
    Note,
    NoteKind,
    ReviewLog,
    Setting,
    utcnow,
)
from studytool.core.store import Store

logger = logging.getLogger(__name__)

JSON_FORMAT = "studytool-export"
# Version 2 added the collection's settings and interview reports to a whole-collection export.
JSON_VERSION = 2


class ExportError(Exception):
    """An export that cannot be done (unknown deck, nothing selected); the message says why."""


# -- cleaning ----------------------------------------------------------------------------

# Whole escape sequences go, not just the ESC byte: "\x1b[31m" must not leave "[31m" behind
# (which a cloze card would even read as a deletion).
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: window titles, hyperlinks
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]"  # two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """``text`` without escape sequences or control characters other than newline and tab."""
    text = (
        text.replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n")
    )
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def _clean_value(text: str) -> str:
    """A field value as the primary format can hold it: clean, no trailing or blank-line spaces."""
    lines = [line.rstrip() for line in clean_text(text).split("\n")]
    return "\n".join(lines).strip()


def _visible_value(text: str) -> str:
    """``text`` with control characters shown as ``\\xNN`` instead of removed (as ``inert`` does)."""
    text = (
        text.replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n")
    )
    shown = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return "\n".join(line.rstrip() for line in shown.split("\n")).strip()


def _clean_item(text: str) -> str:
    """A list item (rubric criterion, follow-up), which the format holds on one line."""
    return " ".join(clean_text(text).split())


def _clean_tags(tags: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(tag for tag in (clean_text(t).strip() for t in tags) if tag))


# -- selection ---------------------------------------------------------------------------


def _select_decks(session: Session, deck_names: Sequence[str] | None) -> list[Deck]:
    """The decks to export, in the order asked for (all decks by name when ``None``)."""
    if deck_names is None:
        decks = list(session.exec(select(Deck).order_by(col(Deck.name))).all())
        if not decks:
            raise ExportError("there are no decks to export; import a deck file first")
        return decks
    names = list(dict.fromkeys(deck_names))
    if not names:
        raise ExportError("no decks selected; name at least one deck, or select none to export all")
    found = {
        deck.name: deck for deck in session.exec(select(Deck).where(col(Deck.name).in_(names)))
    }
    missing = [name for name in names if name not in found]
    if missing:
        named = ", ".join(repr(name) for name in missing)
        word = "deck" if len(missing) == 1 else "decks"
        raise ExportError(f"no {word} named {named}; `studytool decks` lists them")
    return [found[name] for name in names]


def _deck_notes(session: Session, deck: Deck, include_removed: bool) -> list[Note]:
    """A deck's notes in file order (the order they were imported in)."""
    query = select(Note).where(Note.deck_id == deck.id)
    if not include_removed:
        query = query.where(col(Note.removed_from_source).is_(False))
    notes = list(session.exec(query).all())
    notes.sort(
        key=lambda n: (n.source_file is None, n.source_file or "", n.source_line or 0, n.id or 0)
    )
    return notes


def _refuse_existing(paths: Sequence[Path], overwrite: bool) -> None:
    if overwrite:
        return
    existing = [path for path in paths if path.exists()]
    if existing:
        listed = ", ".join(str(path) for path in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        raise FileExistsError(
            f"{listed} already {verb}; choose another destination (-o), "
            "or allow replacing it (--overwrite)"
        )


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def _require_folder(folder: Path) -> None:
    """Refuse a destination whose folder is missing: creating folders from a typo hides it."""
    if not folder.is_dir():
        if folder.exists():
            raise ExportError(f"{folder} is not a folder; choose another -o")
        raise ExportError(
            f"the folder {folder} does not exist; create it first (mkdir -p {folder}), "
            "or choose another -o"
        )


# Where a -o that names a folder puts a one-file export (json, apkg).
EXPORT_FILE_STEM = "studytool-export"
MARKDOWN_SUFFIXES = (".md", ".markdown")


def _names_file(out: Path, suffixes: Sequence[str]) -> bool:
    """``out`` names the export file itself: it ends in the format's extension (``rag.md``,
    ``backup.json``) and is not a folder. Any other path is a folder: guessing a file from
    any dot (``notes.v2``) wrote files where a folder was meant, and the other way round."""
    return out.suffix.lower() in suffixes and not out.is_dir()


def _check_folder_destination(out: Path, suffixes: Sequence[str]) -> None:
    """``out`` can be the folder an export goes in: it is one, or its parent folder exists
    (it is then created as the files are written)."""
    if out.is_dir():
        return
    if out.exists():
        raise ExportError(
            f"{out} is a file, not a folder; to write the export to a file, give a name ending "
            f"in {' or '.join(suffixes)} (e.g. -o {out.with_name(out.name + suffixes[0])})"
        )
    _require_folder(out.parent)


def _make_folder(folder: Path) -> None:
    # Only the last level: its parent was checked, and a missing parent is the user's to make.
    if not folder.is_dir():
        folder.mkdir()


def markdown_destinations(out: Path, stems: Sequence[str]) -> list[Path]:
    """Where each deck's markdown goes: ``out`` itself when it names a file, else ``out/<stem>.md``.

    A path ending in ``.md`` or ``.markdown`` that is not an existing folder names a file and
    can hold one deck only; anything else is a folder, created if its parent exists.
    """
    if _names_file(out, MARKDOWN_SUFFIXES):
        if len(stems) != 1:
            raise ExportError(
                f"{out} names one file, but {len(stems)} decks are selected (one deck per "
                "markdown file); give a folder to -o, or choose one deck with --deck"
            )
        _require_folder(out.parent)
        return [out]
    _check_folder_destination(out, MARKDOWN_SUFFIXES)
    return [out / f"{stem}.md" for stem in stems]


def file_destination(out: Path, suffix: str) -> Path:
    """Where a one-file export (``.json``, ``.apkg``) goes: ``out`` when it ends in ``suffix``,
    else ``out/studytool-export<suffix>`` (``out`` a folder, created if its parent exists)."""
    if _names_file(out, (suffix,)):
        _require_folder(out.parent)
        return out
    _check_folder_destination(out, (suffix,))
    return out / f"{EXPORT_FILE_STEM}{suffix}"


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file beside ``path``, so a failed export leaves no half file."""
    _require_folder(path.parent)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    try:
        write(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


# -- markdown ----------------------------------------------------------------------------

# Must accept no more than primary.py's _VALID_ID, or the exported file would not import.
_VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_BULLET_LIKE = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+")
_INDENT = "    "
# Written for a card whose answer is empty (Anki notes may have an empty back); see _prepare_note.
_NO_ANSWER = "(no answer)"
_KIND_LINES = {NoteKind.REVERSED.value: "reversed", NoteKind.INTERVIEW.value: "interview"}
_WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def deck_file_stem(name: str) -> str:
    """A file-name-safe slug of a deck name: ``"LLM: Tokens & ids"`` → ``llm-tokens-ids``."""
    slug = re.sub(r"\W+", "-", unicodedata.normalize("NFKC", clean_text(name)).casefold())
    slug = slug.strip("-_")[:80].rstrip("-_") or "deck"
    return f"{slug}-deck" if slug in _WINDOWS_RESERVED else slug


@dataclass(frozen=True)
class _Expected:
    """What a note must parse back to, compared field by field."""

    key: str | None
    kind: str
    question: str
    answer: str
    context: str
    rubric: tuple[str, ...]
    hints: tuple[str, ...]
    follow_ups: tuple[str, ...]
    mistakes: tuple[str, ...]
    tags: frozenset[str]
    demo: str | None

    @classmethod
    def of_draft(cls, draft: NoteDraft, *, with_key: bool) -> _Expected:
        return cls(
            key=draft.key if with_key else None,
            kind=draft.kind.value,
            question=draft.question,
            answer=draft.answer,
            context=draft.context,
            rubric=tuple(draft.rubric),
            hints=tuple(draft.hints),
            follow_ups=tuple(draft.follow_ups),
            mistakes=tuple(draft.mistakes),
            tags=frozenset(draft.tags),
            demo=draft.demo,
        )


@dataclass(frozen=True)
class _MarkdownNote:
    """A note's values cleaned for the primary format, and what they should parse back to."""

    note: Note
    kind: str
    question: str
    answer: str
    context: str
    rubric: list[str]
    hints: list[str]
    follow_ups: list[str]
    mistakes: list[str]
    own_tags: list[str]
    demo: str | None
    key_written: bool
    exact: bool = True  # False when a value had to be written otherwise than stored

    @property
    def expected(self) -> _Expected:
        return _Expected(
            key=self.note.key if self.key_written else None,
            kind=self.kind,
            question=self.question,
            answer=self.answer,
            context=self.context,
            rubric=tuple(self.rubric),
            hints=tuple(self.hints),
            follow_ups=tuple(self.follow_ups),
            mistakes=tuple(self.mistakes),
            tags=frozenset(_clean_tags(self.note.tags)),
            demo=self.demo,
        )


def _prepare_note(note: Note, deck_tags: list[str]) -> _MarkdownNote:
    demo = _clean_item(note.demo or "") or None
    if demo:
        try:
            parse_demo_reference(demo)
        except ValueError:
            demo = None  # a demo no longer offered would make the whole file fail to import
    kind = note.kind if note.kind in {k.value for k in NoteKind} else NoteKind.BASIC.value
    question, answer = _clean_value(note.question), _clean_value(note.answer)
    is_cloze = kind == NoteKind.CLOZE.value
    # The format refuses an empty question, a non-cloze card without an answer and a cloze
    # card without a deletion, and one such card makes the whole file fail to import. Removing
    # escape sequences can leave exactly that ("\x1b[2J" as the question, "\x1b[}" eating the
    # "}}" of a deletion), and Anki notes may have an empty back: write those values with
    # their control characters shown as \xNN, or a placeholder answer, and log the note.
    exact = True
    if not question or (is_cloze and not has_cloze(question)):
        question, exact = _visible_value(note.question), False
    if not answer and not is_cloze:
        answer, exact = _visible_value(note.answer) or _NO_ANSWER, False
    return _MarkdownNote(
        note=note,
        kind=kind,
        question=question,
        answer=answer,
        context=_clean_value(note.context),
        rubric=[item for item in map(_clean_item, note.rubric) if item],
        hints=[hint for hint in map(_clean_value, note.hints) if hint],
        follow_ups=[item for item in map(_clean_item, note.follow_ups) if item],
        mistakes=[item for item in map(_clean_item, note.mistakes) if item],
        own_tags=[tag for tag in _clean_tags(note.tags) if tag not in deck_tags],
        demo=demo,
        key_written=_VALID_ID.match(note.key) is not None,
        exact=exact,
    )


def _cloze_source(question: str) -> str:
    """Cloze text as ``[...]`` deletions when that reads back the same, else in Anki syntax."""
    brackets = cloze_to_brackets(question)
    if brackets is not None and brackets_to_cloze(brackets) == question:
        return brackets
    return question


# How carefully a note's values are written, in the order markdown_for_deck tries them.
_PLAIN, _GUARDED, _INDENTED = 0, 1, 2

_RISKY_LINE = re.compile(
    r"^(?: {0,3}(?:[`~]{3}|#|[-*_]{3}|[-*_] [-*_] [-*_])|(?:[QACRHFX]|id|tags|demo|kind|context):)",
    re.IGNORECASE,
)


def _is_risky(lines: list[str]) -> bool:
    """Whether a line could end its field, or open or close a code fence, on a line of its own."""
    return any(_RISKY_LINE.match(line) for line in lines)


def _field(marker: str, value: str, care: int) -> list[str]:
    """``marker value`` as lines, the value indented under the marker where it must be.

    The parser dedents continuation lines, so a value indented by four spaces (more than a
    separator or heading may have), starting on the line after the marker so that its first
    line is dedented with the others, reads back exactly and cannot end its field early.
    """
    lines = value.split("\n")
    if len(lines) == 1:
        return [f"{marker} {value}"]
    rest = "\n".join(lines[1:])
    if (
        care == _INDENTED
        or (care == _GUARDED and _is_risky(lines))
        or textwrap.dedent(rest) != rest
    ):
        return [marker, *(_INDENT + line if line else "" for line in lines)]
    if _FENCE.match(lines[0]) or _BULLET_LIKE.match(lines[0]) or lines[0].startswith("|"):
        # After "A: " these would be plain text; on a line of their own they keep their meaning.
        return [marker, *lines]
    return [f"{marker} {lines[0]}", *lines[1:]]


def _list_field(marker: str, items: list[str]) -> list[str]:
    if len(items) == 1 and not _BULLET_LIKE.match(items[0]):
        return [f"{marker} {items[0]}"]
    return [marker, *(f"- {item}" for item in items)]


def _render_note(prepared: _MarkdownNote, care: int) -> str:
    lines: list[str] = []
    if prepared.kind == NoteKind.CLOZE.value:
        lines += _field("C:", _cloze_source(prepared.question), care)
    else:
        lines += _field("Q:", prepared.question, care)
    if prepared.answer:
        lines += _field("A:", prepared.answer, care)
    if prepared.rubric:
        lines += _list_field("R:", prepared.rubric)
    for hint in prepared.hints:
        lines += _field("H:", hint, care)
    if prepared.follow_ups:
        lines += _list_field("F:", prepared.follow_ups)
    if prepared.mistakes:
        lines += _list_field("X:", prepared.mistakes)
    if prepared.context:
        lines += _field("context:", prepared.context, care)
    if prepared.own_tags:
        lines.append("tags: " + ", ".join(prepared.own_tags))
    if prepared.key_written:
        lines.append(f"id: {prepared.note.key}")
    if prepared.demo:
        lines.append(f"demo: {prepared.demo}")
    if prepared.kind in _KIND_LINES:
        lines.append(f"kind: {_KIND_LINES[prepared.kind]}")
    return "\n".join(lines)


def _front_matter(deck: Deck, deck_tags: list[str]) -> str:
    # JSON string syntax is valid TOML basic-string syntax for cleaned text.
    lines = ["+++", f"name = {json.dumps(clean_text(deck.name), ensure_ascii=False)}"]
    description = clean_text(deck.description).strip()
    if description:
        lines.append(f"description = {json.dumps(description, ensure_ascii=False)}")
    if deck_tags:
        lines.append(f"tags = {json.dumps(deck_tags, ensure_ascii=False)}")
    lines.append("+++")
    return "\n".join(lines)


def _render_deck(
    deck: Deck, prepared: list[_MarkdownNote], deck_tags: list[str], care: list[int]
) -> str:
    front = _front_matter(deck, deck_tags)
    blocks = [_render_note(note, level) for note, level in zip(prepared, care, strict=True)]
    # A blank line before "---" keeps markdown viewers from reading it as a heading underline.
    return f"{front}\n\n" + "\n\n---\n\n".join(blocks) + "\n" if blocks else f"{front}\n"


def _first_safe_care(note: _MarkdownNote) -> int:
    """The least care with which the note, followed by another, parses back the same."""
    values = (note.question, note.answer, note.context, *note.hints)
    # The first line counts too: a fence there is written on a line of its own.
    if not any("\n" in value and _is_risky(value.split("\n")) for value in values):
        return _PLAIN
    expected = dataclasses.replace(note.expected, tags=frozenset(note.own_tags))
    for care in (_PLAIN, _GUARDED):
        text = f"{_render_note(note, care)}\n\n---\n\nQ: next?\nA: next\n"
        try:
            parsed = parse_primary(text, "check.md")
        except DeckParseError:
            continue
        if (
            len(parsed.notes) == 2
            and _Expected.of_draft(parsed.notes[0], with_key=note.key_written) == expected
        ):
            return care
    return _INDENTED


def _mismatches(text: str, source: str, prepared: list[_MarkdownNote]) -> list[int] | None:
    """Indices of notes that do not parse back as written; None when the whole file fails."""
    try:
        parsed = parse_text(text, source, ".md")
    except DeckParseError:
        return None
    if parsed.format != "primary" and prepared:
        return None
    if len(parsed.notes) != len(prepared):
        return None
    return [
        index
        for index, (draft, note) in enumerate(zip(parsed.notes, prepared, strict=True))
        if _Expected.of_draft(draft, with_key=note.key_written) != note.expected
    ]


def markdown_for_deck(deck: Deck, notes: Sequence[Note], source: str = "deck.md") -> str:
    """One deck in the primary format, checked to parse back to the same notes.

    Field values are written as they are where that reads back exactly. Values that would
    not (a line such as ``Q: x``, ``---`` or ``# x`` outside code, an unclosed code fence,
    indentation the parser would take off) are indented under their field, which the parser
    undoes. Content the format cannot hold at all (an id with characters ``id:`` refuses, a
    tag with a space) is written as closely as possible and logged as a warning.
    """
    # Deck tags go in the front matter, which adds them to every note: only hoist the ones
    # every note has, so that no note gains a tag on re-import.
    deck_tags = [
        tag
        for tag in _clean_tags(deck.tags)
        if all(tag in _clean_tags(note.tags) for note in notes)
    ]
    prepared = [_prepare_note(note, deck_tags) for note in notes]
    care = [_first_safe_care(note) for note in prepared]
    text = _render_deck(deck, prepared, deck_tags, care)
    bad = _mismatches(text, source, prepared)
    if bad:
        # Notes that read back alone can still disturb each other in one file (rare).
        care = [_INDENTED if index in bad else level for index, level in enumerate(care)]
        text = _render_deck(deck, prepared, deck_tags, care)
        bad = _mismatches(text, source, prepared)
    if bad != []:
        care = [_INDENTED] * len(prepared)
        text = _render_deck(deck, prepared, deck_tags, care)
        bad = _mismatches(text, source, prepared)
    lossy = {index for index, note in enumerate(prepared) if not (note.key_written and note.exact)}
    lossy |= set(range(len(prepared)) if bad is None else bad)
    if lossy:
        keys = ", ".join(repr(prepared[index].note.key) for index in sorted(lossy)[:10])
        more = f" and {len(lossy) - 10} more" if len(lossy) > 10 else ""
        logger.warning(
            "%s: %d note(s) of deck %r will not import back exactly "
            "(ids or text the markdown format cannot hold): %s%s",
            source,
            len(lossy),
            deck.name,
            keys,
            more,
        )
    return text


def export_markdown(
    store: Store,
    deck_names: list[str] | None,
    out: Path,
    *,
    overwrite: bool = False,
    include_removed: bool = False,
) -> list[Path]:
    """Write each deck to ``out/<deck-slug>.md`` (or to the file ``out`` when it ends in
    ``.md``, for one deck) in the primary format; return the paths.

    ``deck_names=None`` exports every deck. A missing parent folder is an :class:`ExportError`
    (only ``out`` itself is ever created). Notes that left their source file (suspended by
    import) are skipped unless ``include_removed``. Existing files are never replaced unless
    ``overwrite``: FileExistsError names them, and nothing is written.
    """
    with store.session() as session:
        decks = _select_decks(session, deck_names)
        contents = [(deck, _deck_notes(session, deck, include_removed)) for deck in decks]

    stems: list[str] = []
    for deck, _ in contents:
        stem = deck_file_stem(deck.name)
        candidate, number = stem, 1
        while candidate in stems:
            number += 1
            candidate = f"{stem}-{number}"
        stems.append(candidate)
    paths = markdown_destinations(out, stems)
    _refuse_existing(paths, overwrite)

    _make_folder(paths[0].parent)
    for path, (deck, notes) in zip(paths, contents, strict=True):
        text = markdown_for_deck(deck, notes, str(path))
        _write_atomically(path, functools.partial(_write_text, text=text))
    return paths


def markdown_text(
    store: Store, deck_names: list[str] | None, *, include_removed: bool = False
) -> str:
    """One deck in the primary format, as text (what ``export -o -`` prints).

    The selection (``None``: every deck) must come to one deck, since a markdown document
    holds one; otherwise :class:`ExportError` says how to choose.
    """
    with store.session() as session:
        decks = _select_decks(session, deck_names)
        if len(decks) != 1:
            raise ExportError(
                f"markdown on standard output holds one deck, and {len(decks)} are selected; "
                "choose one with --deck NAME, or give a folder to -o"
            )
        deck = decks[0]
        notes = _deck_notes(session, deck, include_removed)
    return markdown_for_deck(deck, notes, f"{deck_file_stem(deck.name)}.md")


# -- JSON --------------------------------------------------------------------------------

# Characters json.dumps(ensure_ascii=False) leaves raw that terminals may act on. They can only
# occur inside JSON strings, so escaping them after dumping keeps the document valid and exact.
_RAW_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat()
    return value


def _row(model: Any) -> dict[str, Any]:
    """Every column of a table row, in the table's order."""
    return {
        column.name: _json_value(getattr(model, column.name)) for column in model.__table__.columns
    }


def backup_document(
    store: Store, deck_names: list[str] | None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Everything stored about the decks, as the JSON backup document (see :func:`export_json`)."""
    document: dict[str, Any] = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "exported_at": _json_value(now or utcnow()),
        "decks": [],
    }
    with store.session() as session:
        decks = _select_decks(session, deck_names)
        for deck in decks:
            notes = session.exec(
                select(Note).where(Note.deck_id == deck.id).order_by(col(Note.id))
            ).all()
            cards = session.exec(
                select(Card)
                .join(Note, col(Note.id) == col(Card.note_id))
                .where(Note.deck_id == deck.id)
                .order_by(col(Card.note_id), col(Card.ordinal))
            ).all()
            reviews = session.exec(
                select(ReviewLog)
                .join(Card, col(Card.id) == col(ReviewLog.card_id))
                .join(Note, col(Note.id) == col(Card.note_id))
                .where(Note.deck_id == deck.id)
                .order_by(col(ReviewLog.reviewed_at), col(ReviewLog.id))
            ).all()
            reviews_by_card: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for review in reviews:
                reviews_by_card[review.card_id].append(_row(review))
            cards_by_note: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for card in cards:
                assert card.id is not None
                cards_by_note[card.note_id].append(
                    {**_row(card), "reviews": reviews_by_card[card.id]}
                )
            document["decks"].append(
                {
                    **_row(deck),
                    "notes": [
                        {**_row(note), "cards": cards_by_note[note.id or 0]} for note in notes
                    ],
                }
            )
        if deck_names is None:
            # The whole collection: what else it holds, so that a restore brings all of it back.
            document["settings"] = [
                _row(row) for row in session.exec(select(Setting).order_by(col(Setting.key)))
            ]
            document["interview_reports"] = [
                _row(row)
                for row in session.exec(select(InterviewReport).order_by(col(InterviewReport.id)))
            ]
    return document


def backup_text(store: Store, deck_names: list[str] | None, *, now: datetime | None = None) -> str:
    """The JSON backup as text, safe to print to a terminal."""
    text = json.dumps(backup_document(store, deck_names, now=now), ensure_ascii=False, indent=2)
    return _RAW_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text + "\n")


def export_json(
    store: Store,
    deck_names: list[str] | None,
    out_path: Path,
    *,
    overwrite: bool = False,
    now: datetime | None = None,
) -> Path:
    """Write a full backup of the decks to ``out_path``: every note, card and review, exactly.

    The document is ``{"format": "studytool-export", "version": 2, "exported_at": ...,
    "decks": [{...deck, "notes": [{...note, "cards": [{...card, "reviews": [...]}]}]}]}``;
    columns appear under their table's names, datetimes as ISO 8601 strings in UTC. An export
    of every deck (``deck_names=None``) also holds ``"settings"`` and ``"interview_reports"``.
    ``studytool restore`` (:mod:`studytool.core.restore`) reads it back. ``out_path`` not
    ending in ``.json`` is a folder, to hold ``studytool-export.json``.
    """
    out_path = file_destination(out_path, ".json")
    _refuse_existing([out_path], overwrite)
    text = backup_text(store, deck_names, now=now)
    _make_folder(out_path.parent)
    _write_atomically(out_path, functools.partial(_write_text, text=text))
    return out_path


# -- Anki --------------------------------------------------------------------------------

# Anki knows note types by id: these must never change, or re-imports would add a second
# copy of each note type. A change to the fields or templates needs new ids.
BASIC_MODEL_ID = 1_607_392_319
REVERSED_MODEL_ID = 1_607_392_320
CLOZE_MODEL_ID = 1_607_392_321
_ANKI_ID_BASE = 1 << 30  # genanki's recommended range for deck and model ids: [2**30, 2**31)

_CSS = """.card { font-family: sans-serif; font-size: 20px; text-align: left; background: white; }
.cloze { font-weight: bold; color: blue; }
pre { background: #f4f4f4; padding: 0.5em; text-align: left; overflow-x: auto; }
.rubric, .extra { margin-top: 1em; font-size: 16px; }
"""
_ANSWER_EXTRAS = (
    '{{#Rubric}}<div class="rubric"><b>Rubric</b>{{Rubric}}</div>{{/Rubric}}'
    '{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.DOTALL)


def anki_deck_id(name: str) -> int:
    """A stable Anki deck id for a deck name."""
    digest = hashlib.sha256(name.encode()).digest()
    return _ANKI_ID_BASE + int.from_bytes(digest[:8], "big") % _ANKI_ID_BASE


def anki_tag(tag: str) -> str:
    """A tag Anki accepts: no whitespace (spaces become ``_``)."""
    return "_".join(clean_text(tag).split())


_LEADING_SPACES = re.compile(r"^ +", re.MULTILINE)


def _inline_html(text: str) -> str:
    # HTML collapses spaces: keep the indentation of continued lines and nested lists.
    text = _LEADING_SPACES.sub(lambda match: "\u00a0" * len(match.group()), text)
    parts: list[str] = []
    position = 0
    for code in _CODE_SPAN.finditer(text):
        parts.append(_BOLD.sub(r"<b>\1</b>", html.escape(text[position : code.start()])))
        parts.append(f"<code>{html.escape(code.group(2))}</code>")
        position = code.end()
    parts.append(_BOLD.sub(r"<b>\1</b>", html.escape(text[position:])))
    return "".join(parts).replace("\n", "<br>")


def markdown_to_html(text: str) -> str:
    """Simple, safe HTML for Anki: all text escaped; fenced and inline code, bold, line breaks."""
    lines = clean_text(text).strip("\n").split("\n")
    blocks: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        joined = "\n".join(paragraph).strip("\n")
        if joined:
            blocks.append(_inline_html(joined))
        paragraph.clear()

    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None or (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            paragraph.append(lines[index])
            index += 1
            continue
        flush()
        marker = fence.group(1)
        closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
        body: list[str] = []
        index += 1
        while index < len(lines) and not closing.match(lines[index]):
            body.append(lines[index])
            index += 1
        index += 1  # the closing fence (or the end of the text)
        blocks.append(f"<pre><code>{html.escape(chr(10).join(body))}</code></pre>")
    flush()
    # Consecutive text merges into one block, so blocks alternate with <pre>, itself a block.
    return "".join(blocks)


def _html_list(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{markdown_to_html(item)}</li>" for item in items) + "</ul>"


def _extra_html(note: Note) -> str:
    parts: list[str] = []
    if note.context.strip():
        parts.append(f'<div class="context">{markdown_to_html(note.context)}</div>')
    hints = [hint for hint in note.hints if hint.strip()]
    if hints:
        parts.append(f'<div class="hints"><b>Hints</b>{_html_list(hints)}</div>')
    follow_ups = [item for item in note.follow_ups if item.strip()]
    if follow_ups:
        parts.append(f'<div class="follow-ups"><b>Follow-ups</b>{_html_list(follow_ups)}</div>')
    mistakes = [item for item in note.mistakes if item.strip()]
    if mistakes:
        parts.append(f'<div class="mistakes"><b>Common mistakes</b>{_html_list(mistakes)}</div>')
    return "".join(parts)


def _anki_models(genanki: Any) -> dict[str, Any]:
    """Fresh model objects (genanki mutates and caches on them while writing)."""
    fields = [{"name": "Front"}, {"name": "Back"}, {"name": "Rubric"}, {"name": "Extra"}]
    front_card = {
        "name": "Card 1",
        "qfmt": "{{Front}}",
        "afmt": '{{FrontSide}}<hr id="answer">{{Back}}' + _ANSWER_EXTRAS,
    }
    basic = genanki.Model(
        BASIC_MODEL_ID,
        "studytool Basic",
        fields=[dict(f) for f in fields],
        templates=[dict(front_card)],
        css=_CSS,
    )
    reversed_ = genanki.Model(
        REVERSED_MODEL_ID,
        "studytool Basic (and reversed card)",
        fields=[dict(f) for f in fields],
        templates=[
            dict(front_card),
            {
                "name": "Card 2",
                "qfmt": "{{Back}}",
                "afmt": '{{FrontSide}}<hr id="answer">{{Front}}'
                + '{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}',
            },
        ],
        css=_CSS,
    )
    cloze = genanki.Model(
        CLOZE_MODEL_ID,
        "studytool Cloze",
        fields=[dict(f) for f in fields],
        templates=[
            {
                "name": "Cloze",
                "qfmt": "{{cloze:Front}}",
                "afmt": "{{cloze:Front}}{{#Back}}<br>{{Back}}{{/Back}}" + _ANSWER_EXTRAS,
            }
        ],
        css=_CSS,
        model_type=genanki.Model.CLOZE,
    )
    return {
        NoteKind.BASIC.value: basic,
        NoteKind.INTERVIEW.value: basic,
        NoteKind.REVERSED.value: reversed_,
        NoteKind.CLOZE.value: cloze,
    }


def _our_ordinal(kind: str, anki_ordinal: int) -> int:
    """Anki's card ordinal as ours: Anki counts cloze deletions from 0, studytool from 1."""
    return anki_ordinal + 1 if kind == NoteKind.CLOZE.value else anki_ordinal


def export_apkg(
    store: Store,
    deck_names: list[str] | None,
    out_path: Path,
    *,
    overwrite: bool = False,
    include_removed: bool = False,
    now: datetime | None = None,
) -> Path:
    """Write the decks as an Anki package; importing it again into Anki updates the same notes.

    Notes keep their content (markdown turned into simple HTML) and tags, not their scheduling:
    cards arrive in Anki as new, in file order; suspended cards stay suspended. Anki takes an
    update only from a package newer than its copy of the note, so ``now`` (the notes'
    modification time) must move forward between exports; it is the current time by default.
    ``out_path`` not ending in ``.apkg`` is a folder, to hold ``studytool-export.apkg``.
    """
    out_path = file_destination(out_path, ".apkg")
    import genanki  # imported here: only this export needs it, and it is slow to import

    models = _anki_models(genanki)
    anki_decks: list[Any] = []
    used_guids: set[str] = set()
    with store.session() as session:
        decks = _select_decks(session, deck_names)
        _refuse_existing([out_path], overwrite)
        for deck in decks:
            notes = _deck_notes(session, deck, include_removed)
            suspended = {
                (card.note_id, card.ordinal)
                for card in session.exec(
                    select(Card)
                    .join(Note, col(Note.id) == col(Card.note_id))
                    .where(Note.deck_id == deck.id, col(Card.suspended).is_(True))
                ).all()
            }
            anki_deck = genanki.Deck(
                anki_deck_id(deck.name), clean_text(deck.name), markdown_to_html(deck.description)
            )
            for position, note in enumerate(notes):
                kind = note.kind if note.kind in models else NoteKind.BASIC.value
                guid = genanki.guid_for(note.key)
                if guid in used_guids:
                    # Keys are unique within a deck only; one package must not repeat a GUID.
                    guid = genanki.guid_for(note.key, deck.name)
                used_guids.add(guid)
                rubric = [item for item in note.rubric if item.strip()]
                anki_note = genanki.Note(
                    model=models[kind],
                    fields=[
                        markdown_to_html(note.question),
                        markdown_to_html(note.answer),
                        _html_list(rubric) if rubric else "",
                        _extra_html(note),
                    ],
                    tags=list(dict.fromkeys(t for t in map(anki_tag, note.tags) if t)),
                    guid=guid,
                    due=position,
                )
                for card in anki_note.cards:
                    card.suspend = (note.id, _our_ordinal(kind, card.ord)) in suspended
                anki_deck.add_note(anki_note)
            anki_decks.append(anki_deck)

    timestamp = (now or utcnow()).timestamp()

    def write(partial: Path) -> None:
        # genanki's own write_to_file leaves its temporary database behind; write it here.
        with tempfile.TemporaryDirectory() as folder:
            database = Path(folder) / "collection.anki2"
            connection = sqlite3.connect(database)
            try:
                genanki.Package(anki_decks).write_to_db(
                    connection.cursor(), timestamp, itertools.count(int(timestamp * 1000))
                )
                connection.commit()
            finally:
                connection.close()
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.write(database, "collection.anki2")
                archive.writestr("media", "{}")

    _make_folder(out_path.parent)
    _write_atomically(out_path, write)
    return out_path
