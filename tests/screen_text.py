"""What a widget shows, as plain text, whatever it renders (a string, Rich Text, a table)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static


def shown_text(widget: Static, width: int = 200) -> str:
    return renderable_text(widget.content, width)


def renderable_text(renderable: object, width: int = 200) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()
