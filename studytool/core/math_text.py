"""LaTeX in card text, shown as readable Unicode: ``$\\sqrt{d_k}$`` reads √dₖ.

A terminal cannot typeset math, and raw LaTeX is hard to read in the middle of a question.
pylatexenc parses the math and knows the Unicode for symbols and Greek letters; the layout
it leaves as plain text (``x_{t+1}`` would read "x_t+1") is done here: sub- and superscripts
become Unicode sub/superscript characters where every character has one (``dₖ``, ``n²``),
otherwise they keep their ``_``/``^`` with parentheses (``e^(z/T)``), and fractions and roots
get the parentheses their meaning needs. Anything it does not understand is left as the
learner wrote it: wrong math is worse than raw math.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import (
    LatexCharsNode,
    LatexCommentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexNode,
    LatexSpecialsNode,
    LatexWalker,
    LatexWalkerError,
)

SUPERSCRIPTS = dict(
    zip(
        "0123456789+-=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθιφχ⊤",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᶥᵠᵡᵀ",
        strict=True,
    )
)
SUBSCRIPTS = dict(
    zip("0123456789+-=()aehijklmnoprstuvxβγρφχ", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ", strict=True)
)
# Macros whose argument is just shown (fonts, text, operator names).
PASS_THROUGH = {
    "mathrm", "text", "textrm", "mathit", "mathbf", "mathsf", "mathtt", "mathcal",
    "operatorname", "boldsymbol", "textbf", "textit", "emph", "mbox",
}  # fmt: skip
# Spacing and sizing macros that show as nothing (or a space).
SPACING = {",": " ", ";": " ", ":": " ", "!": "", "quad": " ", "qquad": "  ", " ": " "}
SIZING = {"left", "right", "big", "Big", "bigg", "Bigg", "displaystyle", "textstyle"}
# Accents over one letter, as combining characters: \hat{y} reads ŷ.
ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307"}

# $…$ as pandoc reads it: no space just inside the dollars and no digit right after the closing
# one, so "$5 and $10" stays money. $$…$$ and \(…\) too.
MATH_SPAN = re.compile(
    r"\$\$(?P<display>.+?)\$\$"
    r"|(?<![\\$\w])\$(?P<inline>[^\s$](?:[^$\n]*?[^\s\\$])?)\$(?![\d$])"
    r"|\\\((?P<paren>.+?)\\\)",
    re.DOTALL,
)

# Markdown code: fenced blocks first (they may hold backticks), then spans of any backtick run.
CODE = re.compile(r"(?ms)^(?P<fence>`{3,}|~{3,}).*?^(?P=fence)[ \t]*$|(?P<ticks>`+).+?(?P=ticks)")


class UnsupportedMath(ValueError):
    """The math uses something this renderer would get wrong."""


def math_to_unicode(latex: str) -> str | None:
    """The math ``latex`` (without its dollars) as Unicode text; None when it cannot be
    converted faithfully (the caller shows the source)."""
    try:
        nodes, _, _ = LatexWalker(latex, tolerant_parsing=False).get_latex_nodes()
        text = _Renderer().render(nodes)
    except (LatexWalkerError, UnsupportedMath, IndexError):
        return None
    # NFC: a letter with its accent as one character where Unicode has one (ŷ).
    return unicodedata.normalize("NFC", " ".join(text.split())) or None


def replace_math(text: str) -> str:
    """``text`` (markdown) with each math span turned into Unicode, except inside code (a
    code span may well hold a dollar sign); spans that cannot be converted stay as they were."""

    def converted(match: re.Match[str]) -> str:
        latex = match.group("display") or match.group("inline") or match.group("paren")
        unicode = math_to_unicode(latex)
        return match.group(0) if unicode is None else unicode

    pieces: list[str] = []
    last = 0
    for code in CODE.finditer(text):
        pieces += [MATH_SPAN.sub(converted, text[last : code.start()]), code.group(0)]
        last = code.end()
    pieces.append(MATH_SPAN.sub(converted, text[last:]))
    return "".join(pieces)


class _Renderer:
    def __init__(self) -> None:
        self._symbols = LatexNodes2Text(math_mode="text")

    def render(self, nodes: list[LatexNode] | None) -> str:
        return "".join(self._pieces(list(nodes or [])))

    def _pieces(self, nodes: list[LatexNode]) -> Iterator[str]:
        # Sub/superscripts: the walker gives "x_" as characters and the script as the next
        # node (a group, or the next characters), so the nodes are read as a stream.
        pending: str | None = None  # "^" or "_" waiting for its script
        for node in nodes:
            if pending is not None:
                if isinstance(node, LatexCharsNode):
                    script, rest = node.chars[:1], node.chars[1:]
                    yield _script(pending, script)
                    pending = None
                    yield from self._chars(rest)
                    if rest and rest[-1] in "^_":
                        pending = rest[-1]
                    continue
                yield _script(pending, self.render([node]))
                pending = None
                continue
            if isinstance(node, LatexCharsNode):
                chars = node.chars
                if chars and chars[-1] in "^_":
                    pending, chars = chars[-1], chars[:-1]
                yield from self._chars(chars)
            elif isinstance(node, LatexSpecialsNode):
                if node.specials_chars in ("^", "_"):
                    pending = node.specials_chars
                elif node.specials_chars == "&":
                    yield " "
                else:
                    yield self._symbols.node_to_text(node)
            elif isinstance(node, LatexGroupNode):
                yield self.render(node.nodelist)
            elif isinstance(node, LatexMathNode):
                yield self.render(node.nodelist)
            elif isinstance(node, LatexMacroNode):
                yield self._macro(node)
            elif isinstance(node, LatexCommentNode):
                continue
            else:
                raise UnsupportedMath(type(node).__name__)
        if pending is not None:
            raise UnsupportedMath(f"a dangling {pending}")

    def _chars(self, chars: str) -> Iterator[str]:
        # "^" or "_" inside the characters (x_i+y_j): split them into scripts here.
        parts = re.split(r"([\^_])", chars)
        index = 0
        while index < len(parts):
            part = parts[index]
            if part in ("^", "_"):
                following = parts[index + 1] if index + 1 < len(parts) else ""
                if not following:
                    raise UnsupportedMath(f"{part} with nothing after it")
                yield _script(part, following[0])
                parts[index + 1] = following[1:]
            else:
                yield part
            index += 1

    def _macro(self, node: LatexMacroNode) -> str:
        name = node.macroname
        args = [arg for arg in (node.nodeargd.argnlist if node.nodeargd else []) if arg]
        if name in SPACING:
            return SPACING[name]
        if name in SIZING:
            return ""
        if name in PASS_THROUGH:
            return "".join(self.render([arg]) for arg in args)
        if name in ("frac", "dfrac", "tfrac"):
            if len(args) != 2:
                raise UnsupportedMath("\\frac needs two arguments")
            top, bottom = (self.render([arg]) for arg in args)
            return f"{_atom(top)}/{_atom(bottom)}"
        if name == "sqrt":
            if len(args) != 1:
                raise UnsupportedMath("\\sqrt with an index")
            return "√" + _atom(self.render(args))
        if name in ACCENTS:
            letter = self.render(args).strip()
            if len(args) != 1 or len(letter) != 1:
                raise UnsupportedMath(f"\\{name} over more than one letter")
            return letter + ACCENTS[name]
        if args:
            raise UnsupportedMath(f"\\{name} with arguments")
        symbol = self._symbols.node_to_text(node).strip()
        if not symbol or symbol.startswith("\\"):
            raise UnsupportedMath(f"unknown \\{name}")
        # The space after a macro belongs to the macro in LaTeX; here it separates the symbol
        # from what follows ("x \sim p" reads "x ∼ p").
        return symbol + (" " if node.macro_post_space else "")


def _atom(text: str) -> str:
    """``text`` as one operand: parenthesised unless it is a single symbol or word."""
    text = text.strip()
    if re.fullmatch(r"√?(\w+|\(.*\))|[^\s+\-*/=<>]", text):
        return text
    return f"({text})"


def _script(kind: str, text: str) -> str:
    table = SUPERSCRIPTS if kind == "^" else SUBSCRIPTS
    text = text.strip()
    if text and all(char in table for char in text):
        return "".join(table[char] for char in text)
    return f"{kind}{_atom(text)}"
