"""Widgets that change how a Textual one looks, for every screen of the app.

Textual's check boxes draw the same ``▐X▌`` whether ticked or not, and tell the two apart by
colour alone: invisible on a monochrome terminal, to a colour-blind learner, or in a text
capture. These draw a tick only when ticked.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList

Value = TypeVar("Value")

TICKED = "✓"
UNTICKED = " "


class TickBox(Checkbox):
    """A Checkbox whose box holds a tick when ticked and is empty when not."""

    BUTTON_TICKED: ClassVar[str] = TICKED
    BUTTON_UNTICKED: ClassVar[str] = UNTICKED

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._show_state()

    def _show_state(self) -> None:
        # ToggleButton draws its box from BUTTON_INNER, so an instance value per state is
        # all it takes; the widths are equal, so the layout does not move.
        self.BUTTON_INNER = self.BUTTON_TICKED if self.value else self.BUTTON_UNTICKED

    def watch_value(self) -> None:
        self._show_state()
        super().watch_value()


class TickList(SelectionList[Value]):
    """A SelectionList whose rows show a tick when selected and an empty box when not."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        segments = list(line)
        # SelectionList puts its box first: left side, inner glyph, right side, a space.
        index = self.scroll_offset.y + y
        if len(segments) < 4 or index >= self.option_count:
            return line
        selected = self.get_option_at_index(index).value in self._selected
        inner = segments[1]
        segments[1] = Segment(TICKED if selected else UNTICKED, inner.style, inner.control)
        return Strip(segments, line.cell_length)
