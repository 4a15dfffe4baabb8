"""Live demos on a local model: tokenizers, streaming generation with sampling controls,
next-token probabilities, the KV cache and attention.

The screens are thin: the engines live in ``studytool.ml`` (imported inside workers only, so
opening the app never imports torch). The model loads once per process in a thread worker,
with its progress on screen; generation runs in a thread worker that checks a cancel event
between steps, so escape stops it at once and the UI stays responsive throughout. Each
generation demo opens with the options of the command it stands for, then keeps what the
learner set in it for as long as the app runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from studytool.core.demos import DEMOS
from studytool.core.text_safety import inert
from studytool.core.wording import count_of
from studytool.tui.screens.base import StudyScreen
from studytool.tui.widgets import TickBox

if TYPE_CHECKING:
    from studytool.ml.generation import AttentionMap, Step
    from studytool.ml.lm import LanguageModel, LoadProgress
    from studytool.ml.tokenizers import Tokenization

CSS = Path(__file__).parent.parent / "css" / "demos.tcss"
# Backgrounds that alternate between neighbouring tokens, so their boundaries show. Points
# of the xterm 256-colour cube, so that a 256-colour terminal shows six different colours
# too (near ones all round to the same entry), each dark enough behind TOKEN_TEXT.
TOKEN_COLOURS = ("#005f87", "#875f00", "#005f00", "#870000", "#005f5f", "#5f0087")
TOKEN_TEXT = "#f0f0f0"


def demo_screen(name: str, example: str | None = None, model: str | None = None) -> Screen[None]:
    """The screen for demo ``name`` (a key of DEMOS), opened on ``example`` or its default."""
    demo = DEMOS[name]
    text = example or demo.default_example
    if name == "tokenizer":
        return TokenizerScreen(text)
    if name == "kv-cache":
        return KVCacheScreen(text, model)
    if name == "attention":
        return AttentionScreen(text, model)
    return GenerationScreen(text, model, demo=name, title=demo.title)


def open_card_demo(screen: Screen[Any], reference: str | None) -> None:
    """Open the demo a card names (``demo: tokenizer | Hello``), or say it has none."""
    from studytool.core.demos import parse_demo_reference

    if not reference:
        screen.notify("This card has no demo.")
        return
    try:
        name, example = parse_demo_reference(reference)
    except ValueError as exc:
        screen.notify(str(exc), severity="warning", markup=False)
        return
    screen.app.push_screen(demo_screen(name, example, _demo_model(screen)))


def _demo_model(screen: Screen[Any]) -> str | None:
    store = getattr(screen.app, "store", None)
    if store is None:
        return None
    return store.load_settings().demo_model or None


class DemoMenuScreen(StudyScreen[None]):
    """The list of demos."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            "Watch a real model (SmolLM2-135M, on this CPU) do what the cards describe.",
            id="demo-intro",
        )
        yield OptionList(
            *(Option(Text(demo.title), id=demo.name) for demo in DEMOS.values()), id="demo-menu"
        )
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Demos"
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.app.push_screen(demo_screen(event.option.id, None, _demo_model(self)))


# -- shared: loading the model ----------------------------------------------------------


class ModelScreen(StudyScreen[None]):
    """A demo screen that needs the language model: loads it in a worker, with progress."""

    CSS_PATH = CSS

    def __init__(self, model: str | None) -> None:
        super().__init__()
        self.model_name = model
        self.lm: LanguageModel | None = None

    def load_model(self) -> None:
        self.set_status("Loading the model…")
        self._load()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self) -> LanguageModel:
        from studytool.ml.lm import shared_lm

        def progress(report: LoadProgress) -> None:
            self.app.call_from_thread(self.set_status, f"Loading the model: {report.describe()}")

        return shared_lm(self.model_name, progress=progress)

    @on(Worker.StateChanged)
    def _loaded(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "load":
            return
        if event.state is WorkerState.SUCCESS:
            self.lm = event.worker.result
            assert self.lm is not None
            self.set_status(
                f"{self.lm.name}: {self.lm.num_layers} layers, {self.lm.num_heads} heads, "
                f"context {self.lm.context_length:,} tokens (loaded in {self.lm.load_seconds:.1f} s)"
            )
            self.model_ready()
        elif event.state is WorkerState.ERROR:
            self.set_status(Text(f"The model cannot be used: {event.worker.error}", style="red"))

    def set_status(self, text: str | Text) -> None:
        self.query_one("#demo-status", Static).update(
            text if isinstance(text, Text) else Text(text, style="dim")
        )

    def model_ready(self) -> None:
        """Called once the model is loaded."""


def _error_text(error: BaseException | None) -> Text:
    return Text(str(error) if error is not None else "failed", style="red")


# -- tokenizer --------------------------------------------------------------------------


def render_tokenization(result: Tokenization) -> Text:
    """Tokens as coloured spans, with their ids underneath in the same colours."""
    text = Text()
    text.append(f"{result.title}", style="bold")
    text.append(
        f"  ·  {count_of(result.count, 'token')} · {result.chars_per_token:.2f} characters per token"
        f" · vocabulary {result.vocab_size:,}\n",
        style="dim",
    )
    for index, token in enumerate(result.tokens):
        style = f"{TOKEN_TEXT} on {TOKEN_COLOURS[index % len(TOKEN_COLOURS)]}"
        text.append(inert(token.piece), style=style + (" italic" if token.special else ""))
    text.append("\n")
    # The ids on the same backgrounds as their tokens: as text colours these would be too
    # dark to read on a dark theme.
    for index, token in enumerate(result.tokens):
        style = f"{TOKEN_TEXT} on {TOKEN_COLOURS[index % len(TOKEN_COLOURS)]}"
        text.append(str(token.id), style=style)
        text.append(" ")
    return text


class TokenizerScreen(StudyScreen[None]):
    """Type text; see how GPT-2, SmolLM2 and MiniLM cut it into tokens, side by side."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(self.text, id="tokenizer-input", placeholder="Type any text")
        with VerticalScroll(id="tokenizer-results"):
            for name in ("gpt2", "smollm2", "minilm"):
                yield Static(
                    Text(f"{name}: working…", style="dim"), id=f"tokens-{name}", classes="tokens"
                )
        yield Static(
            "␣ marks a space, ↵ a newline; <0xF0> is a raw byte (an emoji split into bytes).",
            id="demo-status",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = DEMOS["tokenizer"].title
        self.query_one(Input).focus()
        self.tokenize(self.text)

    @on(Input.Changed, "#tokenizer-input")
    def _changed(self, event: Input.Changed) -> None:
        self.tokenize(event.value)

    def tokenize(self, text: str) -> None:
        for name in ("gpt2", "smollm2", "minilm"):
            self._tokenize(name, text)

    @work(thread=True, exclusive=False, exit_on_error=False)
    def _tokenize(self, name: str, text: str) -> None:
        from studytool.ml.lm import DemoError
        from studytool.ml.tokenizers import tokenize

        target = f"#tokens-{name}"
        try:
            result: Text = render_tokenization(tokenize(text, name))
        except DemoError as exc:
            result = Text(f"{name}: {exc}", style="red")
        if self.query_one(Input).value == text:  # drop results of text already changed
            self.app.call_from_thread(self.query_one(target, Static).update, result)


# -- generation -------------------------------------------------------------------------


def render_candidates(step: Step) -> Table:
    """The top tokens before and after temperature / top-k / top-p, the chosen one marked."""
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=False)
    table.add_column("model's top tokens", no_wrap=True)
    table.add_column("p", justify="right")
    table.add_column(" ")
    table.add_column("after temperature / top-k / top-p", no_wrap=True)
    table.add_column("p", justify="right")
    rows = max(len(step.top_before), len(step.top_after))
    for row in range(rows):
        cells: list[Text | str] = []
        for candidates in (step.top_before, step.top_after):
            if row < len(candidates):
                candidate = candidates[row]
                style = "bold reverse" if candidate.chosen else ""
                cells += [
                    Text(("▶ " if candidate.chosen else "  ") + inert(candidate.piece), style=style),
                    f"{candidate.probability:.3f}",
                ]
            else:
                cells += ["", ""]
            if len(cells) == 2:
                cells.append("")
        table.add_row(*cells)
    return table


@dataclass(frozen=True)
class SamplingForm:
    """What the generation demo's controls hold, as typed. The defaults are those of
    ``studytool generate`` without options."""

    greedy: bool = False
    temperature: str = "1"
    top_k: str = ""
    top_p: str = "1"
    max_new_tokens: str = "20"
    seed: str = ""
    chat: bool = False


# Each generation demo opens with the options of the command it stands for (Demo.command).
SAMPLING_PRESETS = {
    "generation": SamplingForm(),
    "sampling": SamplingForm(temperature="0.8", top_k="40", top_p="0.9", seed="1"),
    "greedy": SamplingForm(greedy=True),
    "next-token": SamplingForm(greedy=True, max_new_tokens="1"),
}
# The controls as the learner last left them in each demo, for as long as the app runs.
_sampling_forms: WeakKeyDictionary[App[Any], dict[str, SamplingForm]] = WeakKeyDictionary()


def remembered_sampling(app: App[Any], demo: str) -> SamplingForm:
    """The sampling controls of ``demo`` as last left in ``app``, else its preset."""
    preset = SAMPLING_PRESETS.get(demo, SamplingForm())
    return _sampling_forms.get(app, {}).get(demo, preset)


class GenerationScreen(ModelScreen):
    """Streaming generation with sampling controls and each step's next-token probabilities.

    ``demo`` (a key of SAMPLING_PRESETS) picks the controls it opens with: as the learner
    last left them in that demo, else its preset; ``greedy`` overrides the greedy box."""

    BINDINGS = [
        Binding("ctrl+s", "generate", "Generate", priority=True),
        Binding("escape", "stop_or_back", "Stop/Back"),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(
        self,
        prompt: str,
        model: str | None,
        *,
        demo: str | None = None,
        greedy: bool | None = None,
        title: str = "",
    ) -> None:
        super().__init__(model)
        self.prompt = prompt
        self.demo = demo or ("greedy" if greedy else "generation")
        self.greedy = greedy
        self.title_text = title or DEMOS[self.demo].title
        self.cancel = threading.Event()
        self.steps: list[Step] = []
        self.generating = False

    def compose(self) -> ComposeResult:
        form = remembered_sampling(self.app, self.demo)
        if self.greedy is not None:
            form = replace(form, greedy=self.greedy)
        yield Header()
        yield Input(self.prompt, id="prompt", placeholder="A prompt for the model to continue")
        # A label and its box stay together, so that below 110 columns the controls can
        # wrap onto a second row (Textual has no flex-wrap: the row is a grid).
        with Container(id="sampling"):
            yield TickBox("greedy", form.greedy, id="greedy", compact=True)
            for label, widget_id, value, placeholder in (
                ("temperature", "temperature", form.temperature, ""),
                ("top-k", "top-k", form.top_k, "all"),
                ("top-p", "top-p", form.top_p, ""),
                ("tokens", "max-new", form.max_new_tokens, ""),
                ("seed", "seed", form.seed, "any"),
            ):
                with Horizontal(classes="control"):
                    yield Label(label, classes="control-label")
                    yield Input(
                        value, id=widget_id, classes="number", placeholder=placeholder, compact=True
                    )
            yield TickBox("chat", form.chat, id="chat", compact=True)
        with VerticalScroll(id="generation-body"):
            yield Static("", id="generated")
            yield Static("", id="step-info")
            yield Static("", id="candidates")
        yield Static("", id="demo-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.title_text
        self.query_one("#prompt", Input).focus()
        self.load_model()

    def model_ready(self) -> None:
        self.action_generate()

    def sampling_form(self) -> SamplingForm:
        """The controls as they stand."""

        def typed(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value

        return SamplingForm(
            greedy=self.query_one("#greedy", TickBox).value,
            temperature=typed("temperature"),
            top_k=typed("top-k"),
            top_p=typed("top-p"),
            max_new_tokens=typed("max-new"),
            seed=typed("seed"),
            chat=self.query_one("#chat", TickBox).value,
        )

    @on(Input.Changed, "#sampling Input")
    @on(TickBox.Changed, "#sampling TickBox")
    def _remember_sampling(self) -> None:
        _sampling_forms.setdefault(self.app, {})[self.demo] = self.sampling_form()

    def settings(self) -> Any:
        """The sampling settings from the form (DemoError names the bad field)."""
        from studytool.ml.generation import SamplingSettings
        from studytool.ml.lm import DemoError

        def number(widget_id: str, kind: type, label: str) -> Any:
            raw = self.query_one(f"#{widget_id}", Input).value.strip()
            if not raw:
                return None
            try:
                return kind(raw)
            except ValueError as exc:
                raise DemoError(f"{label}: {raw!r} is not a number.") from exc

        def unless_empty(value: Any, default: Any) -> Any:
            # An empty box means the CLI's default; 0 is passed on, to be refused with a reason.
            return default if value is None else value

        defaults = SamplingSettings()
        return SamplingSettings(
            greedy=self.query_one("#greedy", TickBox).value,
            temperature=unless_empty(
                number("temperature", float, "temperature"), defaults.temperature
            ),
            top_k=number("top-k", int, "top-k"),
            top_p=unless_empty(number("top-p", float, "top-p"), defaults.top_p),
            max_new_tokens=unless_empty(number("max-new", int, "tokens"), defaults.max_new_tokens),
            seed=number("seed", int, "seed"),
        )

    def action_generate(self) -> None:
        from studytool.ml.lm import DemoError

        if self.lm is None:
            self.notify("The model is still loading.")
            return
        if self.generating:
            return
        try:
            settings = self.settings()
        except DemoError as exc:
            self.set_status(Text(str(exc), style="red"))
            return
        self.steps = []
        self.cancel = threading.Event()
        self.generating = True
        self.query_one("#generated", Static).update("")
        self.query_one("#candidates", Static).update("")
        self.set_status("Generating… escape stops")
        self._generate(
            self.lm,
            self.query_one("#prompt", Input).value,
            settings,
            self.query_one("#chat", TickBox).value,
            self.cancel,
        )

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False)
    def _generate(
        self, lm: LanguageModel, prompt: str, settings: Any, chat: bool, cancel: threading.Event
    ) -> Any:
        from studytool.ml.generation import generate_stream

        run = generate_stream(lm, prompt, settings, chat=chat, cancel=cancel)
        self.app.call_from_thread(self._started, run.prompt_text, run.seed)
        for step in run:
            self.app.call_from_thread(self._show_step, step)
        return run

    def _started(self, prompt_text: str, seed: int | None) -> None:
        self.prompt_shown = prompt_text
        self.seed_used = seed

    def _show_step(self, step: Step) -> None:
        self.steps.append(step)
        generated = Text(inert(getattr(self, "prompt_shown", "")), style="dim")
        generated.append(inert("".join(s.text for s in self.steps)), style="bold")
        self.query_one("#generated", Static).update(generated)
        info = Text()
        info.append(f"step {step.index + 1}: ", style="bold")
        info.append(f"chose {inert(step.piece)!s} (id {step.token_id}), ")
        info.append(
            f"p {step.probability_before:.3f} → {step.probability_after:.3f}, rank {step.rank_before}; "
        )
        info.append(
            f"input {tuple(step.input_shape)} → logits {tuple(step.logits_shape)}; "
            f"{step.kept:,} tokens could be drawn; {step.seconds * 1000:.0f} ms",
            style="dim",
        )
        self.query_one("#step-info", Static).update(info)
        self.query_one("#candidates", Static).update(render_candidates(step))

    @on(Worker.StateChanged)
    def _generation_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "generate" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        self.generating = False
        if event.state is WorkerState.SUCCESS:
            run = event.worker.result
            assert run is not None
            seed = f", seed {run.seed}" if run.seed is not None else ""
            reason = {"eos": "end of sequence", "length": "token limit", "cancelled": "stopped"}
            self.set_status(
                f"{count_of(len(run.steps), 'token')} at {run.tokens_per_second:.1f} tokens/s "
                f"({run.settings.describe()}{seed}); {reason.get(run.stop_reason, run.stop_reason)}. "
                "ctrl+s generates again."
            )
        elif event.state is WorkerState.ERROR:
            self.set_status(_error_text(event.worker.error))

    def action_stop_or_back(self) -> None:
        if self.generating:
            self.cancel.set()
            return
        self.cancel.set()
        self.app.pop_screen()


# -- KV cache ---------------------------------------------------------------------------


class KVCacheScreen(ModelScreen):
    """The same greedy generation with and without the KV cache, timed live."""

    BINDINGS = [
        Binding("ctrl+s", "compare", "Run", priority=True),
        Binding("escape", "stop_or_back", "Stop/Back"),
    ]

    def __init__(self, prompt: str, model: str | None) -> None:
        super().__init__(model)
        self.prompt = prompt
        self.cancel = threading.Event()
        self.running = False
        self.counts = {True: 0, False: 0}
        self.elapsed = {True: 0.0, False: 0.0}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(self.prompt, id="prompt")
        with Horizontal(id="sampling"):
            yield Label("new tokens", classes="control-label")
            # As `studytool kv-cache` without options.
            yield Input("32", id="max-new", classes="number", compact=True)
        yield Static("", id="kv-result")
        yield Static("", id="demo-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = DEMOS["kv-cache"].title
        self.load_model()

    def model_ready(self) -> None:
        self.action_compare()

    def action_compare(self) -> None:
        if self.lm is None or self.running:
            return
        raw = self.query_one("#max-new", Input).value.strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 1024:
            self.set_status(Text("new tokens: a whole number from 1 to 1024", style="red"))
            return
        self.cancel = threading.Event()
        self.running = True
        self.counts = {True: 0, False: 0}
        self.elapsed = {True: 0.0, False: 0.0}
        self.set_status("Generating with the cache, then without… escape stops")
        self._compare(self.lm, self.query_one("#prompt", Input).value, int(raw), self.cancel)

    @work(thread=True, exclusive=True, group="kv", exit_on_error=False)
    def _compare(self, lm: LanguageModel, prompt: str, new: int, cancel: threading.Event) -> Any:
        from studytool.ml.generation import compare_kv_cache

        def on_step(use_cache: bool, step: Step) -> None:
            self.counts[use_cache] = step.index + 1
            self.elapsed[use_cache] += step.seconds
            self.app.call_from_thread(self._show_progress)

        return compare_kv_cache(lm, prompt, max_new_tokens=new, cancel=cancel, on_step=on_step)

    def _show_progress(self) -> None:
        text = Text()
        for use_cache, label in ((True, "with the KV cache   "), (False, "without (recompute)")):
            count, seconds = self.counts[use_cache], self.elapsed[use_cache]
            rate = count / seconds if seconds else 0.0
            text.append(f"{label}  {count_of(count, 'token'):>11}  {rate:6.1f} tokens/s\n")
        self.query_one("#kv-result", Static).update(text)

    @on(Worker.StateChanged)
    def _done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "kv" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.running = False
        if event.state is WorkerState.SUCCESS:
            result = event.worker.result
            assert result is not None
            self._show_progress()
            same = "identical" if result.same_tokens else "different"
            self.set_status(
                f"Speed-up {result.speedup:.1f}× with the cache ({result.prompt_tokens} prompt "
                f"tokens); the two outputs are {same}. ctrl+s runs again."
            )
        else:
            self.set_status(_error_text(event.worker.error))

    def action_stop_or_back(self) -> None:
        if self.running:
            self.cancel.set()
            return
        self.app.pop_screen()


# -- attention --------------------------------------------------------------------------


def _heat(weight: float) -> str:
    """A background colour from dark (0) to bright yellow (1); the square root lifts small
    weights so that they stay visible beside an attention sink that takes most of a row."""
    level = max(0.0, min(1.0, weight)) ** 0.5
    red, green, blue = (int(30 + (255 - 30) * level), int(30 + (215 - 30) * level), 40)
    return f"on rgb({red},{green},{blue})"


def render_attention(result: AttentionMap, label_width: int = 12) -> Text:
    """A heatmap: one row per token, one coloured cell per token it attends to."""
    text = Text()
    text.append(
        f"layer {result.layer} of 0–{result.num_layers - 1}, head {result.head} of "
        f"0–{result.num_heads - 1}: row = the token attending, column = the token attended "
        "to (brighter = more weight)\n\n",
        style="dim",
    )
    labels = [inert(token.piece)[:label_width] for token in result.tokens]
    text.append(" " * (label_width + 1))
    for column in range(len(labels)):
        text.append(f"{column:<3d}"[:3], style="dim")
    text.append("\n")
    for row, weights in enumerate(result.weights):
        text.append(f"{labels[row]:>{label_width}} ")
        for weight in weights:
            text.append("   ", style=_heat(weight))
        strongest = max(range(len(weights)), key=weights.__getitem__)
        text.append(f" {row:>2} → {labels[strongest]} {weights[strongest]:.2f}\n", style="dim")
    return text


class AttentionScreen(ModelScreen):
    """Attention weights of one layer and head over a short sentence."""

    BINDINGS = [
        Binding("ctrl+s", "show", "Show", priority=True),
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, text: str, model: str | None) -> None:
        super().__init__(model)
        self.text = text

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(self.text, id="prompt")
        with Horizontal(id="sampling"):
            yield Label("layer", classes="control-label")
            yield Input("", id="layer", classes="number", placeholder="middle", compact=True)
            yield Label("head", classes="control-label")
            yield Input("0", id="head", classes="number", compact=True)
        with VerticalScroll(id="generation-body"):
            yield Static("", id="attention-map")
        yield Static("", id="demo-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = DEMOS["attention"].title
        self.load_model()

    def model_ready(self) -> None:
        self.action_show()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_show()

    def action_show(self) -> None:
        if self.lm is None:
            return

        def number(widget_id: str) -> int | None:
            raw = self.query_one(widget_id, Input).value.strip()
            return int(raw) if raw.lstrip("-").isdigit() else None

        self._attention(
            self.lm, self.query_one("#prompt", Input).value, number("#layer"), number("#head")
        )

    @work(thread=True, exclusive=True, group="attention", exit_on_error=False)
    def _attention(
        self, lm: LanguageModel, text: str, layer: int | None, head: int | None
    ) -> AttentionMap:
        from studytool.ml.generation import attention_map

        return attention_map(lm, text, layer=layer, head=head)

    @on(Worker.StateChanged)
    def _done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "attention":
            return
        if event.state is WorkerState.SUCCESS:
            result = event.worker.result
            assert result is not None
            self.query_one("#attention-map", Static).update(render_attention(result))
        elif event.state is WorkerState.ERROR:
            self.query_one("#attention-map", Static).update(_error_text(event.worker.error))
