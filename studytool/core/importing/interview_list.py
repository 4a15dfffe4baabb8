"""Interview question lists: ``Q1. question``, ``Model answer:``, ``Rubric:``, ``Follow-ups:``.

The format of interview-prep books and generated chapter notes::

    Q1. Why do language models work on tokens rather than characters?

    Model answer: Tokens keep sequences short ...

    Rubric: Mentions sequence length.; Mentions the vocabulary.

    Follow-ups: What is byte-pair encoding? Why not whole words?

Each ``Qn.`` becomes an interview card. Prose around the questions (chapter text, headings)
is ignored.
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

FORMAT_NAME = "interview-list"


_QUESTION = re.compile(r"^\s{0,3}Q(\d+)\s*[.):]\s+(\S.*)$")
_LABEL = re.compile(
    r"^\s{0,3}(model answer|rubric|follow[- ]?ups?|(?:common |known )?mistakes)\s*:\s*(.*)$",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# One follow-up question: text up to and including its question mark(s).
_FOLLOW_UP = re.compile(r"[^?]*\?+")
# Quotes and list punctuation left at the edges of a follow-up after splitting at "?".
_EDGE_PUNCTUATION = "\"'“”‘’ \t,;"

_DETECT_QUESTION = re.compile(r"^[ \t]{0,3}Q\d+[ \t]*[.):][ \t]+\S", re.MULTILINE)
_DETECT_ANSWER = re.compile(r"^[ \t]{0,3}model answer[ \t]*:", re.MULTILINE | re.IGNORECASE)
# First characters of question, label and fence lines; other lines skip the regexes.
_MARKER_STARTS = frozenset("QMmRrFfCcKk`~")

_ANSWER, _RUBRIC, _FOLLOW_UPS, _QUESTION_TEXT = "answer", "rubric", "follow-ups", "question"
_MISTAKES = "mistakes"
_LABEL_NAMES = {
    _ANSWER: "Model answer:",
    _RUBRIC: "Rubric:",
    _FOLLOW_UPS: "Follow-ups:",
    _MISTAKES: "Common mistakes:",
}


def looks_like_interview_list(text: str) -> bool:
    """True when ``text`` has a ``Q<number>.`` question line and a ``Model answer:`` line."""
    return _DETECT_QUESTION.search(text) is not None and _DETECT_ANSWER.search(text) is not None


def _field_name(label: str) -> str:
    label = label.lower()
    if label.startswith("model"):
        return _ANSWER
    if label.startswith("rubric"):
        return _RUBRIC
    if label.endswith("mistakes"):
        return _MISTAKES
    return _FOLLOW_UPS


def _items(lines: list[str]) -> list[str] | None:
    """One item per ``-`` bullet when the field is written as a list; None when it is not."""
    if not any(_BULLET.match(line) for line in lines if line.strip()):
        return None
    items: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        bullet = _BULLET.match(line)
        if bullet:
            items.append([line[bullet.end() :].strip()])
        elif items:
            items[-1].append(line.strip())
        else:
            items.append([line.strip()])
    return [" ".join(parts) for parts in items]


def split_rubric(lines: list[str]) -> list[str]:
    """Rubric criteria from ``a.; b.; c.`` or ``-`` bullets, trimmed, one final '.' dropped."""
    items = _items(lines)
    if items is None:
        items = " ".join(line.strip() for line in lines).split(";")
    criteria: list[str] = []
    for item in items:
        item = item.strip()
        # Criteria are written as sentences ("Defines X."); drop the full stop so that they
        # read the same whichever way the author punctuated, but keep an ellipsis.
        if item.endswith(".") and not item.endswith(".."):
            item = item[:-1].rstrip()
        if item:
            criteria.append(item)
    return criteria


def split_follow_ups(lines: list[str]) -> list[str]:
    """Follow-up questions: ``Why X? How Y?`` split after each question mark (kept)."""
    items = _items(lines)
    if items is None:
        items = [" ".join(line.strip() for line in lines)]
    questions: list[str] = []
    for item in items:
        # Split only up to the last "?": a long tail without one would make every start
        # position of the pattern scan to the end of the text.
        end = item.rfind("?") + 1
        questions.extend(match.group(0) for match in _FOLLOW_UP.finditer(item, 0, end))
        questions.append(item[end:])  # trailing text without a question mark
    result: list[str] = []
    for question in questions:
        question = _BULLET.sub("", question.strip(_EDGE_PUNCTUATION)).strip(_EDGE_PUNCTUATION)
        if question:
            result.append(question)
    return result


class _Question:
    """A question being read, with the lines of each of its fields."""

    def __init__(self, line: int, number: str, text: str) -> None:
        self.line = line
        self.number = number
        self.question = [text]
        self.fields: dict[str, list[str]] = {}
        self.field_lines: dict[str, int] = {}


def parse_interview_list(text: str, source: str) -> ParsedDeck:
    """Parse a ``Q1.``/``Model answer:`` list; raise DeckParseError listing every problem."""
    notes: list[NoteDraft] = []
    errors: list[ImportIssue] = []
    warnings: list[ImportIssue] = []
    current: _Question | None = None
    field: str | None = None
    fence_line = 0  # where the open code block of a model answer started; 0 when none

    def finish(question: _Question) -> None:
        answer = trim_blank_lines(question.fields.get(_ANSWER, []))
        if _ANSWER not in question.fields:
            errors.append(
                ImportIssue(
                    source,
                    question.line,
                    f"Q{question.number}. has no 'Model answer:'; add one below the question",
                )
            )
            return
        if not answer:
            errors.append(
                ImportIssue(
                    source,
                    question.field_lines[_ANSWER],
                    "'Model answer:' is empty; write the answer after it",
                )
            )
            return
        notes.append(
            NoteDraft(
                kind=NoteKind.INTERVIEW,
                question=" ".join(part.strip() for part in question.question if part.strip()),
                answer=answer,
                rubric=split_rubric(question.fields.get(_RUBRIC, [])),
                follow_ups=split_follow_ups(question.fields.get(_FOLLOW_UPS, [])),
                mistakes=split_rubric(question.fields.get(_MISTAKES, [])),
                line=question.line,
            )
        )

    for index, line in enumerate(source_lines(text)):
        number = index + 1
        marker = line[:4].lstrip()[:1] in _MARKER_STARTS
        # A model answer may hold fenced code, where "Q1." or "Rubric:" is code, not a field.
        if marker and field == _ANSWER and _FENCE.match(line):
            fence_line = 0 if fence_line else number
        if fence_line and current is not None:
            current.fields[_ANSWER].append(line)
            continue

        question = _QUESTION.match(line) if marker else None
        if question:
            if current is not None:
                finish(current)
            current = _Question(number, question.group(1), question.group(2))
            field = _QUESTION_TEXT
            continue

        label = _LABEL.match(line) if marker else None
        if label:
            name = _field_name(label.group(1))
            if current is None:
                errors.append(
                    ImportIssue(
                        source,
                        number,
                        f"{_LABEL_NAMES[name]} with no question before it; "
                        "start the card with a line like 'Q1. question'",
                    )
                )
                field = None
                continue
            if name in current.fields:
                errors.append(
                    ImportIssue(
                        source,
                        number,
                        f"second {_LABEL_NAMES[name]} for Q{current.number}. "
                        f"(the first is on line {current.field_lines[name]}); merge them",
                    )
                )
                field = None
                continue
            current.fields[name] = [label.group(2)]
            current.field_lines[name] = number
            field = name
            continue

        if current is None or field is None:
            continue  # prose outside any question
        if field == _ANSWER:
            # The model answer runs on over paragraphs until the next field or question.
            current.fields[_ANSWER].append(line)
        elif not line.strip():
            # The question, rubric and follow-ups are one paragraph each; what follows a
            # blank line is chapter prose, not part of the card. A label alone on its line
            # may still have its list after a blank line.
            if field == _QUESTION_TEXT or any(part.strip() for part in current.fields[field]):
                field = None
        elif field == _QUESTION_TEXT:
            current.question.append(line)
        else:
            current.fields[field].append(line)

    if fence_line:
        errors.append(
            ImportIssue(
                source,
                fence_line,
                "code block in the model answer is never closed; add the closing ``` line",
            )
        )
    if current is not None:
        finish(current)
    if errors:
        raise DeckParseError(sorted(errors, key=lambda issue: issue.line or 0))
    if not notes:
        warnings.append(ImportIssue(source, None, "no 'Q1.' questions found"))
    return ParsedDeck(source=source, format=FORMAT_NAME, notes=notes, warnings=warnings)
