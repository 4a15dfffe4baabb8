"""Card and deck text holding terminal escape sequences, control characters or Rich/Textual
markup is shown inert everywhere: on every screen of the app and in the CLI's output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.tui.app import StudyApp

# What a terminal would act on: ESC, BEL, the C1 controls (CSI, OSC, ...), other C0 controls.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# In TOML front matter the escapes are written as \u escapes, as an attacker would.
FRONT_MATTER = (
    '+++\nname = "Evil \\u001b]0;pwned\\u0007deck [bold]x[/bold]"\nkind = "interview"\n+++\n'
)
CARD = """Q: Clear \x1b[2J the screen [red]now[/red] \x9b31m?
A: Bell\x07 and title \x1b]2;owned\x1b\\ and [link=http://x]link[/link].
R:
- mentions [b]bold[/b] markup \x1b[5m
H: hint \x1b[8mhidden\x1b[0m
F: follow-up \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\?
id: evil-1
"""
DECK = FRONT_MATTER + CARD


@pytest.fixture
def hostile_app(store) -> StudyApp:
    sync_deck(store, parse_text(DECK, "evil.md"))
    return StudyApp(store, grading=False)


def _visible(app: StudyApp) -> str:
    """Everything the screen shows, as text (the SVG screenshot's text runs)."""
    svg = app.export_screenshot()
    return svg


async def test_every_screen_shows_hostile_text_inert(hostile_app: StudyApp) -> None:
    app = hostile_app
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screens = {}
        screens["home"] = _visible(app)
        for name, keys in (
            ("review", ["a"]),
            ("review revealed", ["ctrl+g", "ctrl+r"]),
        ):
            await pilot.press(*keys)
            await pilot.pause()
            screens[name] = _visible(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        screens["browse"] = _visible(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        screens["interview"] = _visible(app)
    for name, shown in screens.items():
        assert not RAW_CONTROL.search(shown), f"{name}: raw control character on screen"
    # Markup is shown as written, not applied.
    assert "[bold]x[/bold]" in screens["home"].replace("&#160;", " ")
    assert "[red]now[/red]" in screens["review"].replace("&#160;", " ")


def test_cli_output_is_inert(tmp_path: Path) -> None:
    deck = tmp_path / "evil.md"
    deck.write_text(DECK, encoding="utf-8")
    db = tmp_path / "evil.db"

    def cli(*args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [sys.executable, "-m", "studytool", "--db", str(db), "--no-bundled-decks", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout + done.stderr

    outputs = {
        "import": cli("import", str(deck)),
        "decks": cli("decks"),
        "review": cli("review", "--plain", "--no-grading", stdin="\nh\n\n3\nq\n"),
        "stats": cli("stats"),
    }
    for name, shown in outputs.items():
        assert not RAW_CONTROL.search(shown.replace("\n", "").replace("\t", "")), name
    assert "[bold]x[/bold]" in outputs["decks"]
