"""Flashcard notes: ``#### Title``, ``Background context:``, ``:p question``, ``??x`` ... ``x??``.

This is the format that LLM-generated "high-quality flashcards" from books come in::

    #### Title of the section
    Background context: what the section is about.

    :p The question?
    ??x
    The answer, which may hold markdown and fenced code.
    x??

    ---

Each ``:p`` becomes a basic card; the prose between a heading and its first ``:p`` becomes the
context of every card under that heading. The heading title itself is not stored.
"""

from __future__ import annotations

import re

from studytool.core.importing.drafts import (
    DeckParseError,
    ImportIssue,
    NoteDraft,
    ParsedDeck,
    source_lines,
    trim_blank_lines,
)
from studytool.core.models import NoteKind

FORMAT_NAME = "colon-p"


_QUESTION = re.compile(r"^\s{0,3}:p(?:\s+(.*))?$")
_ANSWER_OPEN = re.compile(r"^\s{0,3}\?\?x(?:\s+(.*))?$")
_ANSWER_CLOSE = re.compile(r"^\s{0,3}x\?\?\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s|$)")
_SEPARATOR = re.compile(r"^\s{0,3}(?:-{3,}|\*{3,}|_{3,})\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_STARTING_CHAPTER = re.compile(r"^\s*\*\*Starting Chapter:?\*\*", re.IGNORECASE)
_BACKGROUND_LABEL = re.compile(r"^\s*Background context\s*:\s*", re.IGNORECASE)
# Cheap checks for detection: both markers must start a line somewhere in the file.
_DETECT_QUESTION = re.compile(r"^[ \t]{0,3}:p[ \t]", re.MULTILINE)
_DETECT_ANSWER = re.compile(r"^[ \t]{0,3}\?\?x[ \t\r]*$", re.MULTILINE)
# First characters of every line the parser treats specially; other lines skip the regexes,
# which keeps a 10 MB file to one cheap test per line.
_MARKER_STARTS = frozenset(":?x#-*_`~")


def looks_like_colon_p(text: str) -> bool:
    """True when ``text`` has at least one ``:p`` question line and one ``??x`` answer line."""
    return _DETECT_QUESTION.search(text) is not None and _DETECT_ANSWER.search(text) is not None


class _Card:
    """A card being read: where its question and answer started, and their lines."""

    def __init__(self, line: int, first: str, context: str) -> None:
        self.line = line
        self.question: list[str] = [first]
        self.answer_line = 0
        self.answer: list[str] = []
        self.context = context


def parse_colon_p(text: str, source: str) -> ParsedDeck:
    """Parse ``:p``/``??x``/``x??`` flashcard notes; raise DeckParseError listing every problem."""
    lines = source_lines(text)
    notes: list[NoteDraft] = []
    errors: list[ImportIssue] = []
    warnings: list[ImportIssue] = []

    context_lines: list[str] = []
    context = ""
    section_has_card = False
    card: _Card | None = None
    in_answer = False
    orphan_answer_line = 0
    in_fence = False

    def finish(card: _Card) -> None:
        question = trim_blank_lines(card.question).strip()
        answer = trim_blank_lines(card.answer)
        # A card closed early (by a heading or the next :p) may end with separator lines.
        while answer.endswith("\n---") or answer == "---":
            answer = answer[: -len("---")].rstrip()
        if not question:
            errors.append(
                ImportIssue(source, card.line, ":p has no question text; write it after ':p '")
            )
        elif not answer:
            errors.append(
                ImportIssue(source, card.answer_line, "the answer between ??x and x?? is empty")
            )
        else:
            notes.append(
                NoteDraft(
                    kind=NoteKind.BASIC,
                    question=question,
                    answer=answer,
                    context=card.context,
                    line=card.line,
                )
            )

    def section_context() -> str:
        body = trim_blank_lines(context_lines).strip()
        return _BACKGROUND_LABEL.sub("", body, count=1).strip()

    for index, line in enumerate(lines):
        number = index + 1
        plain = line[:4].lstrip()[:1] not in _MARKER_STARTS

        if orphan_answer_line:
            if plain:
                continue
            # The body of a ??x that had no :p: skip it so it does not spill into cards.
            if _ANSWER_CLOSE.match(line):
                orphan_answer_line, in_fence = 0, False
                continue
            if _FENCE.match(line):
                in_fence = not in_fence
            if in_fence or not (_QUESTION.match(line) or _HEADING.match(line)):
                continue
            orphan_answer_line, in_fence = 0, False

        if in_answer and card is not None:
            if plain:
                card.answer.append(line)
                continue
            if _ANSWER_CLOSE.match(line):
                # x?? always closes, even inside an unbalanced fence: a line holding only
                # "x??" is never code, and this keeps one broken fence from eating the file.
                finish(card)
                card, in_answer, in_fence = None, False, False
                continue
            if _FENCE.match(line):
                in_fence = not in_fence
            if in_fence or not (_QUESTION.match(line) or _HEADING.match(line)):
                card.answer.append(line)
                continue
            # Generated files often forget x?? before the next question or section; end the
            # answer there rather than swallowing the cards that follow.
            warnings.append(
                ImportIssue(
                    source,
                    card.answer_line,
                    f"answer opened by ??x has no x??; it was ended before line {number}",
                )
            )
            finish(card)
            card, in_answer, in_fence = None, False, False
            # fall through: the line starts the next card or section

        if card is not None:
            # Reading a question: it runs until ??x.
            if plain:
                card.question.append(line)
                continue
            answer = _ANSWER_OPEN.match(line)
            if answer:
                card.answer_line = number
                if answer.group(1):
                    card.answer.append(answer.group(1))
                in_answer, in_fence = True, False
                continue
            if _FENCE.match(line):
                in_fence = not in_fence
            if in_fence or not (
                _QUESTION.match(line)
                or _HEADING.match(line)
                or _SEPARATOR.match(line)
                or _ANSWER_CLOSE.match(line)
            ):
                card.question.append(line)
                continue
            errors.append(
                ImportIssue(
                    source,
                    card.line,
                    f":p question has no answer (no ??x before line {number}); "
                    "add ??x, the answer and x?? after it",
                )
            )
            card, in_fence = None, False
            # fall through: the line is handled as ordinary text below

        if plain:
            if not section_has_card:
                context_lines.append(line)
            continue
        question = _QUESTION.match(line)
        if question:
            if not section_has_card:
                context = section_context()
                section_has_card = True
            card = _Card(number, question.group(1) or "", context)
            in_fence = False
            continue
        if _ANSWER_OPEN.match(line):
            errors.append(
                ImportIssue(source, number, "??x with no :p question before it; add ':p question'")
            )
            orphan_answer_line = number
            continue
        if _HEADING.match(line):
            context_lines, context, section_has_card = [], "", False
            continue
        if _ANSWER_CLOSE.match(line):
            warnings.append(ImportIssue(source, number, "x?? with no ??x before it is ignored"))
            continue
        if _SEPARATOR.match(line) or _STARTING_CHAPTER.match(line):
            continue
        if not section_has_card:
            context_lines.append(line)

    if card is not None:
        if in_answer:
            errors.append(
                ImportIssue(
                    source,
                    card.answer_line,
                    "??x answer is never closed; add x?? after the answer",
                )
            )
        else:
            errors.append(
                ImportIssue(
                    source,
                    card.line,
                    ":p question has no answer; add ??x, the answer and x?? after it",
                )
            )
    if errors:
        raise DeckParseError(sorted(errors, key=lambda issue: issue.line or 0))
    if not notes:
        warnings.append(ImportIssue(source, None, "no :p cards found"))
    return ParsedDeck(source=source, format=FORMAT_NAME, notes=notes, warnings=warnings)
