"""Card text as shown: LaTeX as Unicode (falling back to the source), inline markdown
rendered without its backticks, and code left alone."""

from __future__ import annotations

import pytest

from studytool.core.math_text import math_to_unicode, replace_math
from studytool.tui.card_text import card_line, card_markdown


@pytest.mark.parametrize(
    ("latex", "shown"),
    [
        (r"\sqrt{d_k}", "√dₖ"),
        (r"\mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)V", "softmax(QKᵀ/√dₖ)V"),
        (r"O(n^2)", "O(n²)"),
        (r"O(n^2 \cdot d)", "O(n² · d)"),
        (r"x_{t+1} \sim p_\theta(x \mid x_{\le t})", "xₜ₊₁ ∼ p_θ(x | x_(≤ t))"),
        (r"\frac{e^{z_i/T}}{\sum_j e^{z_j/T}}", "(e^(zᵢ/T))/(∑ⱼ e^(zⱼ/T))"),
        (r"2 \times 10^{9}", "2 × 10⁹"),
        (r"10^{-3}", "10⁻³"),
        (r"\hat{y}", "ŷ"),
        (r"\text{tokens/s}", "tokens/s"),
    ],
)
def test_math_reads_as_unicode(latex: str, shown: str) -> None:
    assert math_to_unicode(latex) == shown


@pytest.mark.parametrize("latex", [r"\foo", r"\frac{a}", "x^", r"\sqrt[3]{x}", r"\hat{xy}", "{"])
def test_math_it_cannot_render_faithfully_is_left_alone(latex: str) -> None:
    assert math_to_unicode(latex) is None
    assert replace_math(f"see ${latex}$ here") == f"see ${latex}$ here"


def test_only_math_spans_are_converted() -> None:
    text = r"Costs $5 and $10; scale by $\sqrt{d_k}$, \(O(n^2)\) and $$x^2$$; not \$x\$."
    assert replace_math(text) == r"Costs $5 and $10; scale by √dₖ, O(n²) and x²; not \$x\$."


def test_card_markdown_keeps_code_as_written() -> None:
    source = "Divide by $\\sqrt{d_k}$:\n\n```python\nprice = \"$x^2$\"\n```\nand `$HOME` stays."
    shown = card_markdown(source)
    assert "Divide by √dₖ:" in shown
    assert 'price = "$x^2$"' in shown and "`$HOME`" in shown


def test_card_line_renders_inline_markdown() -> None:
    line = card_line("says `await` yields to the **event loop**, with $O(1)$ cost")
    assert line.plain == "says await yields to the event loop, with O(1) cost"
    code = next(span for span in line.spans if line.plain[span.start : span.end] == "await")
    assert code.style.bold  # type: ignore[union-attr]
    bold = next(span for span in line.spans if line.plain[span.start : span.end] == "event loop")
    assert bold.style.bold  # type: ignore[union-attr]


def test_card_line_shows_markup_and_html_as_written() -> None:
    line = card_line("[red]x[/red] <b>y</b> \x1b[2J")
    assert "[red]x[/red]" in line.plain and "<b>y</b>" in line.plain
    assert "\x1b" not in line.plain


async def test_review_shows_math_and_code_rendered(store) -> None:
    from textual.widgets import Markdown, Static

    from studytool.core.importing import parse_text
    from studytool.core.importing.sync import sync_deck
    from studytool.tui.app import StudyApp

    from .screen_text import shown_text

    deck = (
        "Q: Why are attention scores divided by $\\sqrt{d_k}$?\n"
        "A: So that `softmax` does not saturate: the dot products grow like $\\sqrt{d_k}$.\n"
        "R:\n- says `softmax` would saturate\n- says the scores grow with $d_k$\n"
        "H: Think of the variance of $q \\cdot k$.\n"
    )
    sync_deck(store, parse_text(deck, "math.md"))
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert "√dₖ" in screen.query_one("#question", Markdown).source
        await pilot.press("ctrl+g", "ctrl+r")
        await pilot.pause()
        assert "variance of q · k" in shown_text(screen.query_one("#hint", Static))
        assert "`softmax`" in screen.query_one("#back", Markdown).source  # code stays code
        rubric = shown_text(screen.query_one("#rubric", Static))
        assert "says softmax would saturate" in rubric and "grow with dₖ" in rubric
        assert "`" not in rubric and "$" not in rubric
