"""The primary deck format: ``Q:``/``A:`` and ``C:`` cards with rubric, hints and follow-ups.

markdown-it-py finds the structure that matters for correctness — fenced and indented code
blocks, where a line such as ``Q: x`` is code, not a new card — while field values are kept as
the author's raw markdown. See docs/deck-format.md for the format itself.
"""

from __future__ import annotations

import functools
import re
import textwrap
import tomllib
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from studytool.core.cloze import brackets_to_cloze, has_cloze
from studytool.core.demos import parse_demo_reference
from studytool.core.importing.drafts import (
    DeckParseError,
    ImportIssue,
    NoteDraft,
    ParsedDeck,
    source_lines,
)
from studytool.core.models import NoteKind

FORMAT_NAME = "primary"

_CONTENT_FIELD = re.compile(r"^([QACRHFX]):(?:\s|$)(.*)$")
# Lower case only: "Context: ..." or "Tags: ..." inside an answer is prose, not a field.
_META_FIELD = re.compile(r"^(id|tags|demo|kind|context):(?:\s|$)(.*)$")
# Separators and headings count only at the start of a line, so that an indented line can
# carry them inside a field's text.
_SEPARATOR = re.compile(r"^(?:-{3,}|\*{3,}|_{3,})\s*$")
_ATX_HEADING = re.compile(r"^#{1,6}(?:\s|$)")
_BULLET = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+(.*)$")
# Any single word: Anki GUIDs (e.g. "f#3K!x") must survive an export and re-import.
_VALID_ID = re.compile(r"^\S+$")
_FRONT_MATTER_KEYS = {"name", "description", "tags", "kind"}
_REPEATABLE = {"R", "H", "F", "X"}
_KINDS_BY_NAME = {
    "basic": NoteKind.BASIC,
    "reversed": NoteKind.REVERSED,
    "interview": NoteKind.INTERVIEW,
}


def looks_like_primary(text: str) -> bool:
    return re.search(r"^(?:Q|C):\s", text, re.MULTILINE) is not None


@dataclass
class _FieldValue:
    line: int
    lines: list[str]

    def text(self) -> str:
        first, rest = self.lines[0], self.lines[1:]
        # Continuation lines are often indented to line up under the first; drop that
        # shared indent but keep relative indentation (nested lists, code).
        body = (
            "\n".join([first.strip(), textwrap.dedent("\n".join(rest))]) if rest else first.strip()
        )
        return body.strip("\n").strip()


@dataclass
class _CardBlock:
    line: int
    fields: dict[str, list[_FieldValue]] = field(default_factory=dict)


@functools.cache
def _markdown_parser() -> MarkdownIt:
    # Built once: constructing a parser costs more than parsing a typical deck. Only block
    # tokens (code blocks) are read, so inline parsing is off: it took most of the time on
    # ordinary decks, and tens of seconds on one hostile 200 KB line of "[" or "*_".
    # HTML blocks are off too: one runs on to the next blank line, so a fence right after a
    # "<details>" line was not seen and "Q: ..." lines in its code were read as cards. Lines
    # inside HTML are never code here either way.
    return MarkdownIt("commonmark").disable(["inline", "html_block"])


def _code_line_numbers(text: str) -> set[int]:
    """0-based numbers of lines inside fenced or indented code blocks."""
    inside: set[int] = set()
    for token in _markdown_parser().parse(text):
        if token.type in ("fence", "code_block") and token.map:
            start, end = token.map
            # The fence lines themselves are code too, not field markers.
            inside.update(range(start, end))
    return inside


def _split_front_matter(
    lines: list[str], source: str
) -> tuple[dict[str, object], int, list[ImportIssue]]:
    """Parse TOML front matter between ``+++`` (or ``---``) lines at the top of the file.

    Returns the values, the number of lines it took, and any problems.
    """
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() not in ("+++", "---"):
        return {}, 0, []
    fence = lines[first].strip()
    closing = next((i for i in range(first + 1, len(lines)) if lines[i].strip() == fence), None)
    if closing is None:
        if fence == "---":
            return {}, 0, []  # a leading separator, not front matter
        return (
            {},
            0,
            [ImportIssue(source, first + 1, "front matter opened with +++ is never closed")],
        )
    body = "\n".join(lines[first + 1 : closing])
    try:
        values = tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        if fence == "---" and not re.search(r"^\s*\w+\s*=", body, re.MULTILINE):
            return {}, 0, []  # a YAML block or a plain separator pair: not ours to read
        match = re.search(r"line (\d+)", str(exc))
        # tomllib counts lines within the front matter; "end of document" means the closing fence.
        line = first + 1 + int(match.group(1)) if match else closing + 1
        return (
            {},
            closing + 1,
            [ImportIssue(source, line, f"front matter is not valid TOML: {exc}")],
        )
    issues = [
        ImportIssue(
            source,
            first + 1,
            f"unknown front matter key {key!r} ignored (known: {', '.join(sorted(_FRONT_MATTER_KEYS))})",
        )
        for key in values
        if key not in _FRONT_MATTER_KEYS
    ]
    return values, closing + 1, issues


def _split_list(values: list[_FieldValue]) -> list[str]:
    """Bullet items (or plain lines) of repeatable list fields such as ``R:`` and ``F:``."""
    items: list[str] = []
    for value in values:
        text = value.text()
        if not text:
            continue
        lines = source_lines(text)
        if any(_BULLET.match(line) for line in lines):
            current: list[str] | None = None
            for line in lines:
                bullet = _BULLET.match(line)
                if bullet:
                    if current is not None:
                        items.append(" ".join(current).strip())
                    current = [bullet.group(1).strip()]
                elif current is not None and line.strip():
                    current.append(line.strip())
                elif line.strip():
                    items.append(line.strip())
            if current is not None:
                items.append(" ".join(current).strip())
        else:
            items.extend(line.strip() for line in lines if line.strip())
    return [item for item in items if item]


def _split_tags(text: str) -> list[str]:
    return [tag.lstrip("#") for tag in re.split(r"[,\s]+", text) if tag.strip("#")]


def parse_primary(text: str, source: str) -> ParsedDeck:
    """Parse a deck in the primary format; raise DeckParseError listing every problem."""
    lines = source_lines(text)
    front, body_start, issues = _split_front_matter(lines, source)
    errors = [issue for issue in issues if "unknown front matter key" not in issue.message]
    warnings = [issue for issue in issues if issue not in errors]

    default_kind = NoteKind.BASIC
    if "kind" in front:
        kind_name = str(front["kind"]).lower()
        if kind_name in _KINDS_BY_NAME:
            default_kind = _KINDS_BY_NAME[kind_name]
        else:
            errors.append(
                ImportIssue(
                    source,
                    1,
                    f"front matter kind {front['kind']!r} is not one of {', '.join(_KINDS_BY_NAME)}",
                )
            )
    deck_tags = front.get("tags", [])
    if isinstance(deck_tags, str):
        deck_tags = _split_tags(deck_tags)
    if not isinstance(deck_tags, list) or not all(isinstance(tag, str) for tag in deck_tags):
        errors.append(ImportIssue(source, 1, "front matter tags must be a list of strings"))
        deck_tags = []

    code_lines = _code_line_numbers(text)
    blocks: list[_CardBlock] = []
    current: _CardBlock | None = None
    current_field: _FieldValue | None = None
    stray_reported = False

    for index in range(body_start, len(lines)):
        line = lines[index]
        number = index + 1
        if index not in code_lines:
            if _SEPARATOR.match(line) or _ATX_HEADING.match(line):
                current, current_field, stray_reported = None, None, False
                continue
            content = _CONTENT_FIELD.match(line)
            meta = None if content else _META_FIELD.match(line)
            if content or meta:
                match = content or meta
                assert match is not None
                name = match.group(1)
                if name in ("Q", "C"):
                    current = _CardBlock(line=number)
                    blocks.append(current)
                elif current is None:
                    errors.append(
                        ImportIssue(
                            source,
                            number,
                            f"{match.group(1)}: field with no Q: or C: card before it",
                        )
                    )
                    current_field = None
                    continue
                elif name in current.fields and name not in _REPEATABLE:
                    first_line = current.fields[name][0].line
                    errors.append(
                        ImportIssue(
                            source,
                            number,
                            f"second {match.group(1)}: in one card (the first is on line {first_line})",
                        )
                    )
                current_field = _FieldValue(line=number, lines=[match.group(2)])
                current.fields.setdefault(name, []).append(current_field)
                continue
        if current_field is not None:
            current_field.lines.append(line)
        elif line.strip() and not stray_reported:
            warnings.append(
                ImportIssue(
                    source, number, "text outside any card is ignored (cards start with Q: or C:)"
                )
            )
            stray_reported = True

    notes: list[NoteDraft] = []
    for block in blocks:
        note = _build_note(block, default_kind, source, errors)
        if note is not None:
            note.tags = list(dict.fromkeys([*deck_tags, *note.tags]))
            notes.append(note)

    if errors:
        raise DeckParseError(sorted(errors, key=lambda issue: issue.line or 0))
    name = front.get("name")
    description = front.get("description", "")
    return ParsedDeck(
        source=source,
        format=FORMAT_NAME,
        notes=notes,
        name=str(name) if name else None,
        description=str(description),
        tags=list(deck_tags),
        warnings=warnings,
    )


def _single(block: _CardBlock, name: str) -> str:
    values = block.fields.get(name)
    return values[0].text() if values else ""


def _build_note(
    block: _CardBlock, default_kind: NoteKind, source: str, errors: list[ImportIssue]
) -> NoteDraft | None:
    def fail(message: str, line: int | None = None) -> None:
        errors.append(ImportIssue(source, line or block.line, message))

    is_cloze = "C" in block.fields
    question = _single(block, "C" if is_cloze else "Q")
    answer = _single(block, "A")
    kind = NoteKind.CLOZE if is_cloze else default_kind

    if "kind" in block.fields:
        kind_line = block.fields["kind"][0].line
        kind_name = _single(block, "kind").lower()
        if kind_name not in _KINDS_BY_NAME:
            fail(f"kind {kind_name!r} is not one of {', '.join(_KINDS_BY_NAME)}", kind_line)
        elif is_cloze:
            fail("a C: cloze card cannot also have a kind:", kind_line)
        else:
            kind = _KINDS_BY_NAME[kind_name]

    if not question:
        fail("the card's question is empty" if not is_cloze else "the cloze text is empty")
        return None
    if is_cloze:
        # Written in Anki's {{c1::...}} syntax, square brackets are literal text (code, indexes).
        if not has_cloze(question):
            question = brackets_to_cloze(question)
        if not has_cloze(question):
            fail("cloze card has no [deletion]; wrap the hidden part in square brackets")
            return None
    elif not answer:
        fail("card has no answer; add an A: line")
        return None

    explicit_key = _single(block, "id") or None
    if explicit_key and not _VALID_ID.match(explicit_key):
        fail(
            f"id {explicit_key!r} must be one word, without spaces",
            block.fields["id"][0].line,
        )

    demo = _single(block, "demo") or None
    if demo:
        try:
            parse_demo_reference(demo)
        except ValueError as exc:
            fail(str(exc), block.fields["demo"][0].line)

    return NoteDraft(
        kind=kind,
        question=question,
        answer=answer,
        context=_single(block, "context"),
        rubric=_split_list(block.fields.get("R", [])),
        hints=[value.text() for value in block.fields.get("H", []) if value.text()],
        follow_ups=_split_list(block.fields.get("F", [])),
        mistakes=_split_list(block.fields.get("X", [])),
        tags=_split_tags(_single(block, "tags")),
        demo=demo,
        explicit_key=explicit_key,
        line=block.line,
    )
