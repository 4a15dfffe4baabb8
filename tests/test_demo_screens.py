"""The demo screens on the real model: tokenizer, streaming generation (and stopping it),
attention, and opening a card's demo from review with its example preloaded."""

from __future__ import annotations

import itertools
import shlex

import pytest
from rich.color import Color, ColorSystem
from textual.widgets import Checkbox, Input

from studytool.core.demos import DEMOS
from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.tui.app import StudyApp
from studytool.tui.screens.demos import (
    SAMPLING_PRESETS,
    TOKEN_COLOURS,
    TOKEN_TEXT,
    AttentionScreen,
    DemoMenuScreen,
    GenerationScreen,
    TokenizerScreen,
    demo_screen,
)
from studytool.tui.widgets import TICKED

from .waiting import wait_until


async def _until(pilot, condition) -> None:
    await wait_until(pilot, condition, "the demo", seconds=150)


async def test_demo_menu_and_tokenizer(store) -> None:
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DemoMenuScreen)
        await pilot.press("enter")  # the first demo: the tokenizer
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TokenizerScreen)
        box = screen.query_one(Input)
        box.value = "Hello, world!"
        gpt2 = screen.query_one("#tokens-gpt2")
        await _until(pilot, lambda: "15496 11 995 0" in str(gpt2.render()))
        assert "4 tokens" in str(gpt2.render())
        minilm = screen.query_one("#tokens-minilm")
        await _until(pilot, lambda: "WordPiece" in str(minilm.render()))


def _contrast(first: Color, second: Color) -> float:
    """WCAG contrast ratio of two colours."""

    def luminance(colour: Color) -> float:
        def channel(value: int) -> float:
            value_01 = value / 255
            return value_01 / 12.92 if value_01 <= 0.03928 else ((value_01 + 0.055) / 1.055) ** 2.4

        red, green, blue = colour.get_truecolor()
        return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("system", [ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT])
def test_token_colours_stay_distinct_and_readable(system: ColorSystem) -> None:
    """Neighbouring tokens must not merge on a 256-colour terminal (#2b4f81 and #2b6b7a both
    became colour 24), and their text must stay readable on every background."""
    shown = [Color.parse(colour).downgrade(system) for colour in TOKEN_COLOURS]
    text = Color.parse(TOKEN_TEXT).downgrade(system)
    assert len({colour.get_truecolor() for colour in shown}) == len(TOKEN_COLOURS)
    for colour in shown:
        assert _contrast(colour, text) >= 4.5, colour
    # Alike colours (in RGB distance) must not be neighbours, the last one next to the first.
    for first, second in itertools.pairwise([*shown, shown[0]]):
        pairs = zip(first.get_truecolor(), second.get_truecolor(), strict=True)
        assert sum((a - b) ** 2 for a, b in pairs) ** 0.5 > 100, (first, second)


def _cli_sampling(command: str, prompt: str) -> tuple[object, bool]:
    """The SamplingSettings and chat flag that ``studytool generate …`` runs with."""
    from studytool.cli_demos import generate
    from studytool.ml.generation import SamplingSettings

    arguments = shlex.split(command)[2:] + [prompt]
    params = generate.make_context("generate", arguments).params
    defaults = SamplingSettings()  # what the command passes for an option left out
    settings = SamplingSettings(
        greedy=params["greedy"],
        temperature=params["temperature"] or defaults.temperature,
        top_k=params["top_k"],
        top_p=params["top_p"] or defaults.top_p,
        max_new_tokens=params["max_new_tokens"],
        seed=params["seed"],
    )
    return settings, params["chat"]


async def test_each_generation_demo_opens_with_the_options_of_its_command(store) -> None:
    """The generation demo's defaults are `studytool generate`'s (temperature 1, not 0.8);
    the sampling, greedy and next-token demos open as their commands run."""
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for name in SAMPLING_PRESETS:
            screen = demo_screen(name)
            assert isinstance(screen, GenerationScreen)
            await app.push_screen(screen)
            await pilot.pause()
            expected = _cli_sampling(DEMOS[name].command, DEMOS[name].default_example)
            assert (screen.settings(), screen.query_one("#chat", Checkbox).value) == expected
            app.pop_screen()
            await pilot.pause()


async def test_sampling_settings_are_kept_while_the_app_runs(store) -> None:
    """Set temperature, top-k and greedy in the generation demo, leave, come back: they are
    as left. Another generation demo keeps its own."""
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 40)) as pilot:

        async def open_demo(title: str) -> GenerationScreen:
            await pilot.press("d")
            await pilot.pause()
            assert isinstance(app.screen, DemoMenuScreen)
            titles = [demo.title for demo in DEMOS.values()]
            await pilot.press(*["down"] * titles.index(title), "enter")
            await pilot.pause()
            assert isinstance(app.screen, GenerationScreen)
            return app.screen

        async def leave(screen: GenerationScreen) -> None:
            while app.screen is screen:  # a first escape may stop a generation under way
                await pilot.press("escape")
                await pilot.pause(0.1)
            await pilot.press("escape")  # the menu, back home
            await pilot.pause()

        screen = await open_demo(DEMOS["generation"].title)
        assert screen.query_one("#temperature", Input).value == "1"
        greedy = screen.query_one("#greedy", Checkbox)
        assert not greedy.value and TICKED not in str(greedy.render())
        await pilot.press("tab", "space")  # the prompt, then the greedy box
        assert screen.focused is greedy and greedy.value and TICKED in str(greedy.render())
        await pilot.press("tab", *"0.7", "tab", *"40")
        await leave(screen)

        screen = await open_demo(DEMOS["generation"].title)
        assert screen.query_one("#temperature", Input).value == "0.7"
        assert screen.query_one("#top-k", Input).value == "40"
        assert screen.query_one("#greedy", Checkbox).value
        await leave(screen)

        screen = await open_demo(DEMOS["sampling"].title)
        assert screen.query_one("#temperature", Input).value == "0.8"
        assert not screen.query_one("#greedy", Checkbox).value
        await leave(screen)

    # A new app (a new session) starts from the defaults again.
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = demo_screen("generation")
        await app.push_screen(screen)
        await pilot.pause()
        assert screen.query_one("#temperature", Input).value == "1"


async def test_every_sampling_control_is_on_screen_at_80_columns(store) -> None:
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = demo_screen("generation")
        await app.push_screen(screen)
        await pilot.pause()
        for widget in screen.query("#sampling Input, #sampling Checkbox"):
            region = widget.region
            assert region.width and region.right <= 80, widget.id


async def test_generation_streams_greedily_and_can_be_stopped(store) -> None:
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GenerationScreen("The capital of France is", None, greedy=True)
        await app.push_screen(screen)
        screen.query_one("#max-new", Input).value = "5"
        await _until(pilot, lambda: screen.lm is not None and not screen.generating and screen.steps)
        first = [step.token_id for step in screen.steps]
        assert len(first) <= 5
        assert "tokens/s" in str(screen.query_one("#demo-status").render())
        assert "logits (1, 1, 49152)" in str(screen.query_one("#step-info").render())
        # Greedy again gives the same tokens.
        await pilot.press("ctrl+s")
        await _until(pilot, lambda: not screen.generating and len(screen.steps) == len(first))
        assert [step.token_id for step in screen.steps] == first
        # A long run stopped with escape: the screen stays and can generate again. At
        # temperature 3 with every token kept (top-k and top-p off) the text is near-uniform
        # noise, so an end of sequence within 400 tokens is vanishingly unlikely whatever the
        # model and seed. It must be: Pilot delivers a key only once the process looks idle
        # (up to a few seconds while the model runs), and a run that had already ended would
        # make escape leave the screen instead.
        screen.query_one("#greedy", Checkbox).value = False
        screen.query_one("#temperature", Input).value = "3"
        screen.query_one("#top-k", Input).value = ""
        screen.query_one("#top-p", Input).value = "1"
        screen.query_one("#seed", Input).value = "1"
        screen.query_one("#max-new", Input).value = "400"
        await pilot.press("ctrl+s")
        await _until(pilot, lambda: len(screen.steps) >= 1)
        await pilot.press("escape")
        await _until(pilot, lambda: not screen.generating)
        assert app.screen is screen and len(screen.steps) < 400
        assert "stopped" in str(screen.query_one("#demo-status").render())


async def test_bad_sampling_settings_are_refused_with_a_message(store) -> None:
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = GenerationScreen("Hi", None)
        await app.push_screen(screen)
        screen.query_one("#max-new", Input).value = "2"
        await _until(pilot, lambda: screen.lm is not None and not screen.generating and screen.steps)
        screen.query_one("#top-p", Input).value = "1.5"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "top-p must be above 0 and at most 1" in str(screen.query_one("#demo-status").render())
        assert not screen.generating
        # 0 is refused with the reason, not quietly read as "the default".
        screen.query_one("#top-p", Input).value = ""
        screen.query_one("#temperature", Input).value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "temperature must be above 0" in str(screen.query_one("#demo-status").render())
        assert not screen.generating


async def test_attention_map(store) -> None:
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = AttentionScreen("The cat sat", None)
        await app.push_screen(screen)
        shown = screen.query_one("#attention-map")
        await _until(pilot, lambda: "head 0" in str(shown.render()))
        assert "row = the token attending" in str(shown.render())


async def test_a_card_opens_its_demo_with_its_example(store) -> None:
    deck = "Q: How is emoji tokenized?\nA: As several byte tokens.\ndemo: tokenizer | Hi 🙂\n"
    sync_deck(store, parse_text(deck, "demo.md"))
    app = StudyApp(store, grading=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("ctrl+r", "d")
        await pilot.pause()
        assert isinstance(app.screen, TokenizerScreen)
        assert app.screen.query_one(Input).value == "Hi 🙂"


def test_snapshot_demo_menu(snap_compare, store) -> None:
    app = StudyApp(store, grading=False)
    assert snap_compare(app, terminal_size=(80, 24), press=["d"])


def test_snapshot_tokenizer(snap_compare, store) -> None:
    """The three tokenizers side by side (tokenizer files only: no model weights load)."""
    app = StudyApp(store, grading=False)

    async def run_before(pilot) -> None:
        await pilot.press("d", "enter")
        await pilot.pause()
        screen = app.screen
        box = screen.query_one(Input)
        box.cursor_blink = False
        box.value = "Hello, world! Tokenization splits unhappiness 🦀"
        minilm = screen.query_one("#tokens-minilm")
        smollm = screen.query_one("#tokens-smollm2")
        await _until(pilot, lambda: "WordPiece" in str(minilm.render()))
        await _until(pilot, lambda: "token" in str(smollm.render()))
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
