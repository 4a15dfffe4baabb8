"""What every deck parser produces: plain note drafts, no database access.

Parsers turn a file's text into a :class:`ParsedDeck`; :mod:`studytool.core.importing.sync`
then writes it to the store. A parser that finds problems raises :class:`DeckParseError`
carrying every problem with its ``file:line``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from studytool.core.cloze import cloze_numbers
from studytool.core.models import NoteKind


@dataclass(frozen=True)
class ImportIssue:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line
            else f"{self.file}: {self.message}"
        )


class DeckParseError(Exception):
    """A file could not be parsed; ``issues`` holds every problem found, each with file:line."""

    def __init__(self, issues: list[ImportIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


def source_lines(text: str) -> list[str]:
    """Lines as editors count them: only \\n, \\r\\n and \\r end a line.

    ``str.splitlines`` also breaks at form feeds and Unicode separators, which would shift
    every line number reported after one.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def trim_blank_lines(lines: list[str]) -> str:
    """Join ``lines`` without the blank lines at either end; inner text stays verbatim."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(line.rstrip() for line in lines[start:end])


_WHITESPACE = re.compile(r"\s+")


def normalise_question(text: str) -> str:
    """Case, Unicode form and whitespace differences do not change a card's identity."""
    text = unicodedata.normalize("NFKC", text)
    return _WHITESPACE.sub(" ", text).strip().casefold()


def question_key(text: str) -> str:
    return "q-" + hashlib.sha256(normalise_question(text).encode()).hexdigest()[:16]


@dataclass
class NoteDraft:
    """One note as written in a deck file. ``line`` is 1-based in the source file."""

    kind: NoteKind
    question: str
    answer: str = ""
    context: str = ""
    rubric: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    # Known mistakes: common wrong claims about this card, each one short sentence; an
    # answer that makes one is flagged with it by name.
    mistakes: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    demo: str | None = None
    explicit_key: str | None = None
    line: int = 0
    _question_key: str | None = field(default=None, init=False, repr=False, compare=False)
    _keyed_question: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> str:
        if self.explicit_key:
            return self.explicit_key
        if self._question_key is None or self._keyed_question != self.question:
            self._question_key, self._keyed_question = question_key(self.question), self.question
        return self._question_key

    def content_hash(self) -> str:
        """Changes whenever anything the learner sees changes (not the line number)."""
        # Separator characters that cannot appear in deck text keep fields from running together.
        parts = [
            self.kind.value,
            self.question,
            self.answer,
            self.context,
            "\x1e".join(self.rubric),
            "\x1e".join(self.hints),
            "\x1e".join(self.follow_ups),
            "\x1e".join(sorted(self.tags)),
            self.demo or "",
        ]
        if self.mistakes:
            # Only when present, so that notes without any keep the hash they had before
            # the field existed (and are not all reported as changed).
            parts.append("\x1e".join(self.mistakes))
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()

    def card_ordinals(self) -> list[int]:
        """Which cards this note makes: 0 = front, 1 = reverse, N = cloze deletion N."""
        if self.kind is NoteKind.CLOZE:
            return cloze_numbers(self.question)
        if self.kind is NoteKind.REVERSED:
            return [0, 1]
        return [0]


@dataclass
class ParsedDeck:
    source: str
    format: str
    notes: list[NoteDraft]
    name: str | None = None
    description: str = ""
    tags: list[str] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
