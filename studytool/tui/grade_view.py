"""How a grade is drawn: the answer with its evidence underlined, and the rubric's verdicts
as a list the learner can flip. The Review and interview screens show grades the same way."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import OptionList

from studytool.core.grading import GradeResult, Verdict
from studytool.core.text_safety import inert
from studytool.tui.card_text import card_line

VERDICT_STYLES = {
    Verdict.MET: ("✓", "bold green"),
    Verdict.PARTLY: ("~", "bold yellow"),
    Verdict.MISSED: ("✗", "bold red"),
}
EVIDENCE_STYLES = {Verdict.MET: "green underline", Verdict.PARTLY: "yellow underline"}
WRONG_EVIDENCE_STYLE = "red underline"  # words that contradict a criterion or make a known mistake


def answer_with_evidence(
    answer: str, result: GradeResult, verdicts: list[Verdict], focus: int | None
) -> Text:
    """The typed answer with each criterion's supporting span underlined in its verdict's
    colour; the focused criterion's span is shown reversed."""
    shown = inert(answer)
    if shown != answer:
        # The spans are offsets into the answer as typed; once control characters are made
        # inert they no longer line up, so such an answer is shown without highlights.
        return Text(shown)
    text = Text(answer)
    for mistake in result.mistakes:
        if mistake.evidence_span is not None:
            text.stylize(WRONG_EVIDENCE_STYLE, *mistake.evidence_span)
    for index, (criterion, verdict) in enumerate(zip(result.criteria, verdicts, strict=True)):
        span = criterion.evidence_span
        if span is None:
            continue
        if verdict is Verdict.MISSED:
            if not criterion.contradicted:
                continue
            style = WRONG_EVIDENCE_STYLE
        else:
            style = EVIDENCE_STYLES[verdict]
        text.stylize(style + (" reverse" if index == focus else ""), span[0], span[1])
    return text


def criterion_prompt(
    criterion: str, verdict: Verdict, evidence: str | None, contradicted: bool = False
) -> Table:
    """One rubric line: its verdict (or "contradicted", until the learner flips it) and the
    words of the answer the verdict rests on, wrapping under the criterion's first word."""
    mark, style = VERDICT_STYLES[verdict]
    contradicted = contradicted and verdict is Verdict.MISSED
    label = Text(f"{mark} contradicted " if contradicted else f"{mark} {verdict.value:<7}", style)
    body = card_line(criterion)
    if evidence and (verdict is not Verdict.MISSED or contradicted):
        shown = " ".join(evidence.split())
        if len(shown) > 60:
            shown = shown[:59] + "…"
        body.append(f"\n“{inert(shown)}”", style="dim italic")
    row = Table.grid(padding=0)
    row.add_column(width=label.cell_len, no_wrap=True)
    row.add_column(ratio=1)
    row.add_row(label, body)
    return row


class CriteriaList(OptionList):
    """The graded rubric: enter or space flips the highlighted criterion."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "select", "Flip", show=False)]
