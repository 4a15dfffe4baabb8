"""A small modal question: "Leave the review?", "End the interview?", "Discard changes?".

Each choice has a key of its own (shown on its button), Esc always picks the safe choice
(the first one, which keeps the learner where they were), and the focus starts on it, so
a stray Enter never throws work away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    key: str  # one printable key, e.g. "y"
    variant: str = "default"  # a Button variant: "default", "primary", "error", …


class ChoiceDialog(ModalScreen[str]):
    """Asks ``question`` and returns the chosen ``Choice.value``; the first choice is the safe
    one (Esc and the initial focus)."""

    DEFAULT_CSS = """
    ChoiceDialog {
        align: center middle;
        background: $background 60%;
    }
    ChoiceDialog #choice-dialog {
        width: 64;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: round $primary;
        background: $surface;
    }
    ChoiceDialog #choice-question {
        width: 100%;
        margin-bottom: 1;
    }
    ChoiceDialog #choice-buttons {
        width: auto;
        height: auto;
    }
    ChoiceDialog #choice-buttons Button {
        margin-right: 2;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "choose_safe", "Cancel"),
        Binding("left,shift+tab", "app.focus_previous", show=False),
        Binding("right,tab", "app.focus_next", show=False),
    ]

    def __init__(self, question: str, choices: list[Choice]) -> None:
        if not choices:
            raise ValueError("a dialog needs at least one choice")
        super().__init__()
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="choice-dialog"):
            yield Static(self.question, id="choice-question", markup=False)
            with Horizontal(id="choice-buttons"):
                for choice in self.choices:
                    yield Button(
                        f"{choice.label} ({choice.key})",
                        id=f"choice-{choice.value}",
                        variant=choice.variant,  # type: ignore[arg-type]
                        compact=True,
                    )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.choices[0].value}", Button).focus()

    def on_key(self, event: events.Key) -> None:
        for choice in self.choices:
            if event.character is not None and event.character.lower() == choice.key:
                event.stop()
                self.dismiss(choice.value)
                return

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        assert event.button.id is not None
        self.dismiss(event.button.id.removeprefix("choice-"))

    def action_choose_safe(self) -> None:
        self.dismiss(self.choices[0].value)
