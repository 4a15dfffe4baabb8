"""Anki's "Notes in Plain Text" export (``.txt``/``.tsv``/``.csv``).

The file is delimiter-separated rows under optional ``#key:value`` header lines (Anki
2.1.54+)::

    #separator:tab
    #html:true
    #guid column:1
    #notetype column:2
    #deck column:3
    #tags column:6
    a1B2c3D4e5	Basic	AI::Tokens	What is a token?	The unit a model reads.	ai basics

Column numbers are 1-based. The GUID becomes the note's stable id, so re-importing an edited
export updates the same cards. The regular columns, in order, are the front, the back and any
extra fields (kept as context).
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import PurePath

from studytool.core.cloze import has_cloze
from studytool.core.importing.drafts import DeckParseError, ImportIssue, NoteDraft, ParsedDeck
from studytool.core.models import NoteKind

FORMAT_NAME = "anki-text"

_SEPARATORS = {
    "tab": "\t",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
    "space": " ",
    "colon": ":",
}
_HEADER = re.compile(r"^#([a-z ]+):(.*)$", re.IGNORECASE)
_KNOWN_HEADERS = {
    "separator",
    "html",
    "tags",
    "columns",
    "notetype",
    "deck",
    "notetype column",
    "deck column",
    "tags column",
    "guid column",
    "if matches",
    "match scope",
}
_COLUMN_HEADERS = ("guid column", "notetype column", "deck column", "tags column")
# Before the headers existed, Anki read a first line "tags:a b" as tags for every note.
_LEGACY_TAGS = re.compile(r"^tags:(.*)$", re.IGNORECASE)
_TEXT_SUFFIXES = (".txt", ".tsv", ".csv")
_SNIFF_LINES = 20


def _head_lines(text: str) -> list[str]:
    """The first lines of ``text``, split exactly as the csv reader will see them."""
    lines: list[str] = []
    stream = io.StringIO(text, newline="")
    for line in stream:
        lines.append(line.rstrip("\r\n"))
        if len(lines) >= _SNIFF_LINES * 5:
            break
    return lines


def _header_lines(lines: list[str]) -> Iterator[tuple[int, str, str]]:
    """``(index, key, value)`` of each known header line at the top of the file."""
    for index, line in enumerate(lines):
        if index == 0:
            legacy = _LEGACY_TAGS.match(line)
            if legacy:
                yield index, "legacy tags", legacy.group(1).strip()
                continue
        header = _HEADER.match(line.strip())
        if header is None or header.group(1).strip().lower() not in _KNOWN_HEADERS:
            return
        yield index, header.group(1).strip().lower(), header.group(2).strip()


def _guess_delimiter(first_row: str, suffix: str) -> str:
    """The separator of a file without ``#separator:``, guessed from its first row as Anki does.

    Anki's own export writes tabs; spreadsheets write commas, or semicolons where the comma is
    the decimal mark.
    """
    if "\t" in first_row or suffix != ".csv":
        return "\t"
    if ";" in first_row and "," not in first_row:
        return ";"
    return ","


def looks_like_anki_text(text: str, suffix: str) -> bool:
    """True for text with Anki's ``#separator:``-style headers, or delimited rows in a text file.

    Headers decide on their own. Without them the suffix must be ``.tsv``/``.csv`` (and the
    first line split into two or more fields) or ``.txt`` with tab-separated lines throughout
    the first lines, since markdown decks saved as ``.txt`` rarely hold tabs.
    """
    head = _head_lines(text[:65536])
    if any(key != "legacy tags" for _, key, _ in _header_lines(head)):
        return True
    suffix = suffix.lower()
    if suffix not in _TEXT_SUFFIXES:
        return False
    rows = [line for line in head if line.strip() and not line.startswith("#")][:_SNIFF_LINES]
    if not rows:
        return False
    if suffix == ".txt":
        return all("\t" in line for line in rows[:5])
    return _guess_delimiter(rows[0], suffix) in rows[0]


class _HtmlToText(HTMLParser):
    """Anki field HTML to plain text with a little markdown: breaks, bold, italics, code."""

    # Anki's editor writes one <div> per line, so a block starts a new line, not a paragraph.
    _LINES = {"div", "li", "tr", "pre", "blockquote", "ul", "ol", "table"}
    _PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
    _MARKS = {"b": "**", "strong": "**", "i": "*", "em": "*", "code": "`"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def _break(self, count: int) -> None:
        """End the current line (``count`` = 2: and leave a blank line), once."""
        text = "".join(self.parts[-2:])
        have = len(text) - len(text.rstrip("\n"))
        if self.parts and have < count:
            self.parts.append("\n" * (count - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in self._LINES or tag in self._PARAGRAPHS:
            self._break(2 if tag in self._PARAGRAPHS else 1)
            if tag == "li":
                self.parts.append("- ")
        elif tag in self._MARKS:
            self.parts.append(self._MARKS[tag])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._LINES or tag in self._PARAGRAPHS:
            self._break(2 if tag in self._PARAGRAPHS else 1)
        elif tag in self._MARKS:
            self.parts.append(self._MARKS[tag])

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def convert(self, value: str) -> str:
        """The text of one field; the parser is reset first, so one instance serves a file."""
        self.reset()
        self.parts = []
        self.feed(value)
        self.close()
        return "".join(self.parts)


_TAG = re.compile(r"<[^>]*>")
_SPACE_BEFORE_BREAK = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(value: str, parser: _HtmlToText | None = None) -> str:
    """Plain text of an Anki HTML field: ``<br>``/``<div>`` → newlines, ``<b>`` → ``**``."""
    if "<" not in value and "&" not in value:
        return value.strip()
    try:
        text = (parser or _HtmlToText()).convert(value)
    except Exception:  # html.parser is lenient, but a parse failure must not stop an import
        text = html.unescape(_TAG.sub("", value))
    text = text.replace("\xa0", " ")
    # Nested blocks (<div><div>) each add a break; keep at most one blank line.
    text = _SPACE_BEFORE_BREAK.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


class _Rows:
    """Physical lines for the csv reader, counting them and skipping ``#`` comment lines.

    csv.reader pulls one line at a time, so the first line pulled after ``start_row`` is the
    first line of the next row: its number is the row's line, and only there can a ``#`` line
    be a comment rather than part of a quoted field.
    """

    def __init__(self, text: str, skip: int, delimiter: str) -> None:
        self._lines = io.StringIO(text, newline="")
        self._delimiter = delimiter
        self.line = 0
        self.offset = 0  # characters read so far
        self.row_line = 0
        self.row_offset = 0
        self.comments_with_fields: list[int] = []
        self._at_row_start = True
        for _ in range(skip):
            self._next_line()

    def _next_line(self) -> str:
        line = self._lines.readline()
        if not line:
            raise StopIteration
        self.line += 1
        self.offset += len(line)
        return line

    def start_row(self) -> None:
        self._at_row_start = True

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self._next_line()
        while self._at_row_start and (line.startswith("#") or not line.strip()):
            # Anki reads a line starting with "#" as a comment, so a note whose front starts
            # with "#" must be quoted; say so when a skipped line looks like such a note.
            if line.startswith("#") and self._delimiter in line:
                self.comments_with_fields.append(self.line)
            line = self._next_line()
        if self._at_row_start:
            self.row_line = self.line
            self.row_offset = self.offset - len(line)
            self._at_row_start = False
        return line


def _column(value: str, name: str, source: str, line: int, errors: list[ImportIssue]) -> int | None:
    # ASCII digits only: str.isdigit() is also true for "²" or "¹", which int() refuses.
    if value.isascii() and value.isdigit() and int(value) >= 1:
        return int(value) - 1
    errors.append(ImportIssue(source, line, f"#{name}:{value} is not a column number (1, 2, ...)"))
    return None


def parse_anki_text(text: str, source: str) -> ParsedDeck:
    """Parse an Anki plain-text export; raise DeckParseError listing every problem."""
    errors: list[ImportIssue] = []
    warnings: list[ImportIssue] = []
    head = _head_lines(text)
    headers: dict[str, str] = {}
    header_line: dict[str, int] = {}
    header_count = 0
    for index, key, value in _header_lines(head):
        if key == "legacy tags":
            key = "tags"
        headers[key] = value
        header_line[key] = index + 1
        header_count = index + 1

    html_fields = headers.get("html", "false").lower() == "true"
    separator_name = headers.get("separator")
    if separator_name is None:
        first = next(
            (line for line in head[header_count:] if line.strip() and not line.startswith("#")),
            "",
        )
        delimiter = _guess_delimiter(first, PurePath(source).suffix.lower())
    else:
        delimiter = _SEPARATORS.get(separator_name.lower(), separator_name)
        if len(delimiter) != 1:
            errors.append(
                ImportIssue(
                    source,
                    header_line["separator"],
                    f"#separator:{separator_name} is not one character or a known name "
                    f"({', '.join(_SEPARATORS)})",
                )
            )
            delimiter = "\t"

    columns = {
        name: _column(headers[name], name, source, header_line[name], errors)
        for name in _COLUMN_HEADERS
        if name in headers
    }
    special = {index for index in columns.values() if index is not None}
    file_tags = headers.get("tags", "").split()
    default_notetype = headers.get("notetype", "")

    rows = _Rows(text, header_count, delimiter)
    reader = csv.reader(rows, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    notes: list[NoteDraft] = []
    decks: set[str] = set()
    html_parser = _HtmlToText()
    while True:
        rows.start_row()
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(
                ImportIssue(source, rows.row_line, f"cannot read this row: {exc}; check its quotes")
            )
            break  # the reader cannot resynchronise after a broken quote
        line = rows.row_line
        if (
            rows.line > line
            and rows.offset == len(text)
            and _unclosed_quote(text[rows.row_offset :], delimiter)
        ):
            # csv.reader quietly ends an open quoted field at the end of the file.
            errors.append(
                ImportIssue(
                    source,
                    line,
                    'a quoted field in this row is never closed; add the closing "',
                )
            )
            break

        def cell(name: str, row: list[str] = row) -> str:
            index = columns.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        fields = [value for index, value in enumerate(row) if index not in special]
        if html_fields:
            fields = [html_to_text(value, html_parser) for value in fields]
        else:
            fields = [value.strip() for value in fields]
        if len(fields) < 2:
            errors.append(
                ImportIssue(
                    source,
                    line,
                    f"row has {len(fields)} field(s); a note needs a front and a back "
                    f"separated by {_separator_name(delimiter)}",
                )
            )
            continue

        notetype = cell("notetype column") or default_notetype
        if cell("deck column"):
            decks.add(cell("deck column"))
        kind = NoteKind.BASIC
        if "cloze" in notetype.lower():
            kind = NoteKind.CLOZE
        elif "reverse" in notetype.lower():
            kind = NoteKind.REVERSED
        question, answer = fields[0], fields[1]
        if kind is NoteKind.CLOZE and not has_cloze(question):
            errors.append(
                ImportIssue(
                    source,
                    line,
                    f"note type {notetype!r} is a cloze type but the text has no {{{{c1::...}}}}",
                )
            )
            continue
        if not question:
            errors.append(ImportIssue(source, line, "the first field (the front) is empty"))
            continue
        if kind is not NoteKind.CLOZE and not answer:
            warnings.append(ImportIssue(source, line, "the second field (the back) is empty"))
        extra = [value for value in fields[2:] if value]
        tags = cell("tags column").split()
        notes.append(
            NoteDraft(
                kind=kind,
                question=question,
                answer=answer,
                context="\n\n".join(extra),
                tags=list(dict.fromkeys([*file_tags, *tags])),
                explicit_key=cell("guid column") or None,
                line=line,
            )
        )

    warnings.extend(
        ImportIssue(
            source,
            number,
            "line starts with # so it is a comment, as in Anki; quote the field to make it a note",
        )
        for number in rows.comments_with_fields
    )
    if errors:
        raise DeckParseError(sorted(errors, key=lambda issue: issue.line or 0))
    if not notes:
        warnings.append(ImportIssue(source, None, "no rows found"))
    name = headers.get("deck") or (next(iter(decks)) if len(decks) == 1 else None)
    return ParsedDeck(
        source=source,
        format=FORMAT_NAME,
        notes=notes,
        name=name,
        tags=file_tags,
        warnings=warnings,
    )


def _unclosed_quote(row_text: str, delimiter: str) -> bool:
    """Whether the last row of the file, read strictly, ends inside a quoted field."""
    try:
        for _ in csv.reader(io.StringIO(row_text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error:
        return True
    return False


def _separator_name(delimiter: str) -> str:
    for name, value in _SEPARATORS.items():
        if value == delimiter:
            return f"a {name}"
    return repr(delimiter)
