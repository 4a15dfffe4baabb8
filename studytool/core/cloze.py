"""Cloze deletions.

Notes store cloze text in Anki's syntax, ``{{c1::hidden text}}`` or ``{{c1::hidden::hint}}``,
whatever format they were imported from: it numbers deletions (one card per number, so
several deletions can share a card) and exports to Anki unchanged.
"""

from __future__ import annotations

import re

CLOZE_PATTERN = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
# ``[text]`` deletions (hashcards style), but not markdown links ``[text](url)``,
# reference links ``[text][ref]``, task boxes ``[ ]``/``[x]`` or footnotes ``[^1]``.
_BRACKET_PATTERN = re.compile(r"(?<![\\!\]])\[(?!\^)([^\[\]\n]*[^\[\]\s][^\[\]\n]*)\](?![(\[:])")
_CODE_SPAN_PATTERN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def cloze_numbers(text: str) -> list[int]:
    """The distinct deletion numbers in ``text``, ascending."""
    return sorted({int(m.group(1)) for m in CLOZE_PATTERN.finditer(text)})


def has_cloze(text: str) -> bool:
    return CLOZE_PATTERN.search(text) is not None


def render_front(text: str, number: int) -> str:
    """The question side: deletion ``number`` hidden as ``[...]`` (or its hint), others shown."""

    def replace(match: re.Match[str]) -> str:
        if int(match.group(1)) == number:
            hint = match.group(3)
            return f"[{hint}]" if hint else "[...]"
        return match.group(2)

    return CLOZE_PATTERN.sub(replace, text)


def render_back(text: str, number: int) -> str:
    """The answer side: everything shown, deletion ``number`` in bold."""

    def replace(match: re.Match[str]) -> str:
        if int(match.group(1)) == number:
            return f"**{match.group(2)}**"
        return match.group(2)

    return CLOZE_PATTERN.sub(replace, text)


def hidden_text(text: str, number: int) -> str:
    """What deletion ``number`` hides (the expected answer), joined if it appears twice."""
    return " … ".join(m.group(2) for m in CLOZE_PATTERN.finditer(text) if int(m.group(1)) == number)


def _outside_code(text: str, convert: re.Pattern[str]) -> str:
    """Apply ``convert`` only outside inline code spans, numbering deletions in order."""
    counter = [cloze_numbers(text)[-1] if has_cloze(text) else 0]

    def substitute(segment: str) -> str:
        def replace(match: re.Match[str]) -> str:
            counter[0] += 1
            return f"{{{{c{counter[0]}::{match.group(1)}}}}}"

        return convert.sub(replace, segment)

    parts: list[str] = []
    position = 0
    for code in _CODE_SPAN_PATTERN.finditer(text):
        parts.append(substitute(text[position : code.start()]))
        parts.append(code.group(0))
        position = code.end()
    parts.append(substitute(text[position:]))
    return "".join(parts)


def brackets_to_cloze(text: str) -> str:
    """``The [KV cache] stores [keys and values]`` → ``{{c1::KV cache}} ... {{c2::...}}``."""
    return _outside_code(text, _BRACKET_PATTERN)


_HIGHLIGHT_PATTERN = re.compile(r"==(?!=)(.+?)==")


def highlights_to_cloze(text: str) -> str:
    """Obsidian ``==highlight==`` deletions → numbered cloze deletions."""
    return _outside_code(text, _HIGHLIGHT_PATTERN)


def cloze_to_brackets(text: str) -> str | None:
    """Back to ``[...]`` form when each deletion number appears once, in order; else None."""
    numbers = [int(m.group(1)) for m in CLOZE_PATTERN.finditer(text)]
    if numbers != list(range(1, len(numbers) + 1)):
        return None
    if any(m.group(3) for m in CLOZE_PATTERN.finditer(text)):
        return None
    return CLOZE_PATTERN.sub(lambda m: f"[{m.group(2)}]", text)
