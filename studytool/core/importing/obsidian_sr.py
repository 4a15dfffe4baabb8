"""Notes written for the Obsidian Spaced Repetition plugin (st3v3nmw/obsidian-spaced-repetition).

The plugin's default syntax, as its documentation describes it:

- ``question::answer`` is a basic card, ``question:::answer`` a reversed (bidirectional) one;
- a multi-line card is question lines, a line ``?`` (``??`` for reversed), then answer lines;
  both sides must touch the separator, and a blank line ends the card;
- a paragraph with ``==highlights==`` is a cloze card, one deletion per highlight;
  ``==text==^[hint]`` gives a hint and ``==text==[^2]`` puts deletions in group 2;
- ``#flashcards`` or ``#flashcards/deck/sub-deck`` tags assign cards to decks: a tag applies to
  the cards after it until the next tag, and tags at the start of a card's first line apply to
  that card only;
- ``<!--SR:...-->`` comments hold the plugin's scheduling and are dropped here.

Headings above a card become its context (``Heading > Subheading``), as the plugin shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studytool.core.cloze import highlights_to_cloze
from studytool.core.importing.drafts import ImportIssue, NoteDraft, ParsedDeck, source_lines
from studytool.core.models import NoteKind

FORMAT_NAME = "obsidian-sr"


# Scheduling data has no "<"; stopping at one keeps many unclosed comments on a line linear.
_SR_COMMENT = re.compile(r"<!--SR:[^<]*?-->")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})(?:[ \t]+(.*))?$")
_RULE = re.compile(r"^\s{0,3}(?:-{3,}|\*{3,}|_{3,})\s*$")
# The plugin's deck tags: #flashcards and its nested tags; "flashcard" is accepted too.
_DECK_TAG = re.compile(r"(?:(?<=\s)|^)#(flashcards?(?:/[\w\-]+)*)(?![\w\-/])")
_ANY_TAG = re.compile(r"#[^\s#]+")
_LEADING_TAGS = re.compile(r"^\s*((?:#[^\s#]+\s+)+)")
_BULLET = re.compile(r"^\s*[-*+]\s+")
# Spans where "::" is not a card separator: URLs and Anki-style cloze deletions (inline code
# is found separately). Bounded repeats keep the scan linear on long lines.
_NOT_A_SEPARATOR = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://\S*|\{\{c\d+::[^{}\n]*\}\}")
_BACKTICKS = re.compile(r"`+")
_SEPARATOR = re.compile(r":::?")
_HINT_OR_GROUP = re.compile(r"\{\{c(\d+)::([^{}\n]*?)\}\}(?:\^\[([^\]\n]*)\])?(?:\[\^(\d+)\])?")
_DETECT_PRIMARY = re.compile(r"^(?:Q|C|A):\s", re.MULTILINE)
_FENCE_STARTS = frozenset("`~")
_RULE_STARTS = frozenset("-*_")


@dataclass(slots=True)
class _Line:
    number: int
    text: str
    code: bool  # inside (or opening/closing) a fenced code block


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Inline code spans of one line: a backtick run up to the next run of the same length."""
    runs = [(match.start(), match.end()) for match in _BACKTICKS.finditer(text)]
    # For each run, the index of the next run of the same length, found right to left so
    # that the whole line is scanned once.
    next_same: list[int | None] = [None] * len(runs)
    seen: dict[int, int] = {}
    for index in range(len(runs) - 1, -1, -1):
        length = runs[index][1] - runs[index][0]
        next_same[index] = seen.get(length)
        seen[length] = index
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(runs):
        closing = next_same[index]
        if closing is None:
            index += 1
            continue
        spans.append((runs[index][0], runs[closing][1]))
        index = closing + 1
    return spans


def _mask(text: str) -> str:
    """``text`` with inline code, URLs and ``{{c1::...}}`` blanked, positions unchanged."""
    if "`" in text:
        parts: list[str] = []
        position = 0
        for start, end in _code_spans(text):
            parts.append(text[position:start])
            parts.append(" " * (end - start))
            position = end
        parts.append(text[position:])
        text = "".join(parts)
    if "://" in text or "{{" in text:
        text = _NOT_A_SEPARATOR.sub(lambda match: " " * len(match.group(0)), text)
    return text


def _find_separator(text: str) -> tuple[int, int] | None:
    """Start and length of the ``::``/``:::`` card separator in ``text``, if it has one."""
    match = _SEPARATOR.search(_mask(text))
    if match is None:
        return None
    return match.start(), len(match.group(0))


def _is_tag_line(text: str) -> bool:
    tokens = text.split()
    return bool(tokens) and all(_ANY_TAG.fullmatch(token) for token in tokens)


def _deck_tags(text: str) -> list[str]:
    return [match.group(1).rstrip("/") for match in _DECK_TAG.finditer(text)]


def _split_leading_tags(text: str) -> tuple[list[str], str]:
    """Deck tags written at the start of a card's first line, and the text after them."""
    match = _LEADING_TAGS.match(text)
    if not match:
        return [], text
    tags = _deck_tags(match.group(1))
    return (tags, text[match.end() :]) if tags else ([], text)


def _frontmatter(lines: list[str]) -> tuple[int, list[str]]:
    """Lines taken by a leading ``---`` YAML block, and the deck tags in its ``tags:`` key.

    Only the two shapes Obsidian writes are read (``tags: [a, b]``/``tags: a b`` and a ``- a``
    list below ``tags:``), which saves a YAML dependency for one key.
    """
    if not lines or lines[0].strip() != "---":
        return 0, []
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        return 0, []  # a lone rule at the top, not front matter
    tags: list[str] = []
    in_tags = False
    for line in lines[1:end]:
        key = re.match(r"^(tags?)\s*:\s*(.*)$", line)
        if key:
            in_tags = True
            tags.extend(re.split(r"[,\s]+", key.group(2).strip("[] ")))
        elif in_tags and re.match(r"^\s+-\s+|^-\s+", line):
            tags.append(line.strip()[1:].strip())
        elif not line.startswith((" ", "\t")):
            in_tags = False
    cleaned = (tag.strip("'\"# ") for tag in tags)
    return end + 1, [tag for tag in cleaned if re.fullmatch(r"flashcards?(?:/[\w\-]+)*", tag)]


def _blocks(lines: list[str], start: int) -> list[tuple[list[str], list[_Line]]]:
    """Paragraphs of the file, each with the headings above it.

    Blank lines, headings and rules end a paragraph, except inside fenced code, which stays
    whole so that a code block in an answer is not cut at its first blank line.
    """
    blocks: list[tuple[list[str], list[_Line]]] = []
    headings: list[tuple[int, str]] = []
    current: list[_Line] = []
    in_fence = False
    fence_marker = ""

    def close() -> None:
        nonlocal current
        if current:
            blocks.append(([title for _, title in headings], current))
            current = []

    for index in range(start, len(lines)):
        text = lines[index]
        if "<!--SR:" in text:
            text = _SR_COMMENT.sub("", text)
        text = text.rstrip()
        # Only lines starting with these characters can be fences, headings or rules; the
        # test keeps the regexes off the bulk of a large file.
        head = text.lstrip()[:1]
        fence = _FENCE.match(text) if head in _FENCE_STARTS else None
        if in_fence:
            current.append(_Line(index + 1, text, True))
            if (
                fence
                and fence.group(1)[0] == fence_marker[0]
                and len(fence.group(1)) >= len(fence_marker)
            ):
                in_fence = False
            continue
        if fence:
            in_fence, fence_marker = True, fence.group(1)
            current.append(_Line(index + 1, text, True))
            continue
        heading = _HEADING.match(text) if head == "#" else None
        if heading:
            close()
            level = len(heading.group(1))
            title = (heading.group(2) or "").strip().rstrip("#").strip()
            headings = [(lvl, name) for lvl, name in headings if lvl < level]
            if title:
                headings.append((level, title))
            continue
        if not head or (head in _RULE_STARTS and _RULE.match(text)):
            close()
            continue
        current.append(_Line(index + 1, text, False))
    close()
    return blocks


class _Parser:
    """Turns the paragraphs of one file into note drafts."""

    def __init__(self, source: str, file_tags: list[str]) -> None:
        self.source = source
        self.current_tags = list(file_tags)
        self.notes: list[NoteDraft] = []
        self.warnings: list[ImportIssue] = []
        # The deck tags in effect when the first card was read: the file's deck.
        self.first_deck_tags: list[str] | None = None

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(ImportIssue(self.source, line, message))

    def add(
        self, kind: NoteKind, question: str, answer: str, tags: list[str], context: str, line: int
    ) -> None:
        if self.first_deck_tags is None:
            self.first_deck_tags = list(self.current_tags)
        self.notes.append(
            NoteDraft(
                kind=kind,
                question=question,
                answer=answer,
                context=context,
                tags=list(dict.fromkeys(tags or self.current_tags)),
                line=line,
            )
        )

    def block(self, headings: list[str], lines: list[_Line]) -> None:
        context = " > ".join(headings)
        pending: list[_Line] = []
        for position, line in enumerate(lines):
            if line.code:
                pending.append(line)
                continue
            head = line.text.lstrip()[:1]
            if head == "?" and line.text.strip() in ("?", "??"):
                self.multi_line(pending, lines[position + 1 :], line, context)
                return
            if head == "#" and _is_tag_line(line.text):
                # A line of tags only marks the deck of the cards after it.
                tags = _deck_tags(line.text)
                if tags:
                    self.current_tags = tags
                continue
            separator = _find_separator(line.text) if "::" in line.text else None
            if separator is not None:
                self.prose(pending, context)
                pending = []
                self.single_line(line, separator, context)
                continue
            pending.append(line)
        self.prose(pending, context)

    def single_line(self, line: _Line, separator: tuple[int, int], context: str) -> None:
        start, length = separator
        tags, question = _split_leading_tags(line.text[:start])
        question = _BULLET.sub("", question, count=1).strip()
        answer = line.text[start + length :].strip()
        if not question or not answer:
            self.warn(
                line.number,
                f"'{'::' if length == 2 else ':::'}' card with an empty side is ignored",
            )
            return
        kind = NoteKind.REVERSED if length == 3 else NoteKind.BASIC
        self.add(kind, question, answer, tags, context, line.number)

    def multi_line(
        self, question: list[_Line], answer: list[_Line], separator: _Line, context: str
    ) -> None:
        mark = separator.text.strip()
        if not question:
            self.warn(
                separator.number, f"'{mark}' with no question lines directly above it is ignored"
            )
            return
        if not answer:
            self.warn(
                separator.number, f"'{mark}' with no answer lines directly below it is ignored"
            )
            return
        tags, first = _split_leading_tags(question[0].text)
        text = "\n".join([first, *(line.text for line in question[1:])]).strip()
        body = "\n".join(line.text for line in answer).strip()
        kind = NoteKind.REVERSED if mark == "??" else NoteKind.BASIC
        self.add(kind, text, body, tags, context, question[0].number)

    def prose(self, lines: list[_Line], context: str) -> None:
        """A paragraph that is not a Q&A card: a cloze card if it has highlights, else notes."""
        if not lines:
            return
        tags, first = _split_leading_tags(lines[0].text) if not lines[0].code else ([], "")
        texts = [first if index == 0 and tags else line.text for index, line in enumerate(lines)]
        cloze = _to_cloze(texts, [line.code for line in lines])
        if cloze is None:
            # Plain prose; a deck tag in it still applies to the cards that follow.
            for line in lines:
                if not line.code and "#flashcard" in line.text:
                    found = _deck_tags(line.text)
                    if found:
                        self.current_tags = found
            return
        question, problem = cloze
        if problem:
            self.warn(lines[0].number, problem)
        self.add(NoteKind.CLOZE, question, "", tags, context, lines[0].number)


def _to_cloze(texts: list[str], code: list[bool]) -> tuple[str, str] | None:
    """The paragraph with ``==highlights==`` as ``{{cN::...}}`` deletions and a warning, or None.

    Fenced code is set aside first: ``a == b == c`` in code is not a deletion, and
    ``highlights_to_cloze`` only knows about inline code.
    """
    code_blocks: list[str] = []
    kept: list[str] = []
    block: list[str] = []
    for text, is_code in zip(texts, code, strict=True):
        if is_code:
            block.append(text)
            continue
        if block:
            kept.append(f"\ue000{len(code_blocks)}\ue001")
            code_blocks.append("\n".join(block))
            block = []
        kept.append(text)
    if block:
        kept.append(f"\ue000{len(code_blocks)}\ue001")
        code_blocks.append("\n".join(block))
    text = "\n".join(kept).strip()
    if "==" not in text:
        return None
    converted = highlights_to_cloze(text)
    if converted == text:
        return None
    converted, problem = _hints_and_groups(converted)
    for index, code_text in enumerate(code_blocks):
        converted = converted.replace(f"\ue000{index}\ue001", code_text)
    return converted, problem


def _hints_and_groups(text: str) -> tuple[str, str]:
    """Fold the plugin's ``^[hint]`` and ``[^N]`` group markers into the deletions."""
    matches = list(_HINT_OR_GROUP.finditer(text))
    grouped = [match for match in matches if match.group(4)]
    problem = ""
    use_groups = bool(grouped) and len(grouped) == len(matches)
    if grouped and not use_groups:
        problem = "some cloze deletions have a [^N] group number and some do not; groups ignored"

    def replace(match: re.Match[str]) -> str:
        number = match.group(4) if use_groups else match.group(1)
        hint = f"::{match.group(3)}" if match.group(3) else ""
        return f"{{{{c{number}::{match.group(2)}{hint}}}}}"

    return _HINT_OR_GROUP.sub(replace, text), problem


def looks_like_obsidian(text: str) -> bool:
    """True for notes with the plugin's tags or scheduling comments, or with its card syntax.

    ``#flashcards`` tags and ``<!--SR:`` comments decide at once. Otherwise a ``::`` card line
    (outside code) or a ``?``/``??`` line between two text lines is needed, and a file with
    ``Q:``/``A:``/``C:`` lines is left to the primary format.
    """
    if "<!--SR:" in text or ("#flashcard" in text and _DECK_TAG.search(text)):
        return True
    if ("::" not in text and "?" not in text) or _DETECT_PRIMARY.search(text):
        return False
    lines = source_lines(text)
    start, _ = _frontmatter(lines)
    for _, block in _blocks(lines, start):
        for position, line in enumerate(block):
            if line.code:
                continue
            if line.text.strip() in ("?", "??"):
                if 0 < position < len(block) - 1:
                    return True
                continue
            # A tab inside the line means delimited rows (Anki's "Deck::Sub" names), not notes.
            if "::" not in line.text or "\t" in line.text.strip():
                continue
            separator = _find_separator(line.text)
            if separator is not None:
                start_at, length = separator
                if line.text[:start_at].strip() and line.text[start_at + length :].strip():
                    return True
    return False


def parse_obsidian(text: str, source: str) -> ParsedDeck:
    """Parse Obsidian Spaced Repetition notes; broken cards become warnings, never errors."""
    lines = source_lines(text)
    start, file_tags = _frontmatter(lines)
    parser = _Parser(source, file_tags)
    for headings, block in _blocks(lines, start):
        parser.block(headings, block)
    if not parser.notes:
        parser.warnings.append(
            ImportIssue(source, None, "no flashcards found (question::answer, ?, or ==cloze==)")
        )
    deck_tags = parser.first_deck_tags if parser.first_deck_tags is not None else file_tags
    return ParsedDeck(
        source=source,
        format=FORMAT_NAME,
        notes=parser.notes,
        tags=list(dict.fromkeys(deck_tags)),
        warnings=parser.warnings,
    )
