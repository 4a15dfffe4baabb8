"""Card text as the learner should see it: markdown rendered, LaTeX as Unicode.

Cards are written in markdown with inline code and some math (``$\\sqrt{d_k}$``). Blocks of
card text (a question, a model answer) go to Textual's ``Markdown`` widget through
:func:`card_markdown`; single lines (a rubric criterion, a hint, a table cell) become a Rich
``Text`` through :func:`card_line`, with code spans styled and their backticks gone. Math is
converted by :func:`studytool.core.math_text.replace_math` (outside code; what is not valid
math is shown as written). Control characters are made inert first, as everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from markdown_it import MarkdownIt
from rich.cells import cell_len
from rich.style import Style
from rich.table import Table
from rich.text import Text

from studytool.core.math_text import replace_math
from studytool.core.text_safety import inert

CODE_STYLE = Style(bold=True)


def card_markdown(source: str) -> str:
    """Markdown source for a ``Markdown`` widget showing card text."""
    return replace_math(inert(source))


@lru_cache(maxsize=1)
def _inline_parser() -> MarkdownIt:
    # CommonMark without raw HTML: a "<b>" in a card is text, as the learner wrote it.
    return MarkdownIt("commonmark", {"html": False})


def card_line(source: str, style: str | Style = "") -> Text:
    """One line of card text: inline markdown (code, emphasis, links) rendered, math as
    Unicode, line breaks kept as spaces."""
    source = replace_math(inert(source))
    text = Text(style=style)
    tokens = _inline_parser().parseInline(source)
    if not tokens or tokens[0].children is None:
        return Text(source, style=style)
    active: list[Style] = []
    for token in tokens[0].children:
        current = Style.combine(active) if active else None
        if token.type == "text":
            text.append(token.content, style=current)
        elif token.type == "code_inline":
            text.append(token.content, style=Style.combine([*active, CODE_STYLE]))
        elif token.type in ("softbreak", "hardbreak"):
            text.append(" ")
        elif token.type == "strong_open":
            active.append(Style(bold=True))
        elif token.type == "em_open":
            active.append(Style(italic=True))
        elif token.type == "link_open":
            active.append(Style(underline=True))
        elif token.type in ("strong_close", "em_close", "link_close"):
            if active:
                active.pop()
        elif token.type == "image":
            text.append(token.content or "[image]", style=current)
        else:
            text.append(token.content, style=current)
    return text


def bulleted(items: Iterable[Text], bullet: str = "  • ") -> Table:
    """Items one under another, each wrapping under its own first word (a hanging indent),
    as a Rich table a ``Static`` can show."""
    table = Table.grid(padding=0)
    table.add_column(width=cell_len(bullet), no_wrap=True)
    table.add_column(ratio=1)
    for item in items:
        table.add_row(bullet, item)
    return table
