"""Command-line front ends of the live demos: ``tokens``, ``generate``, ``kv-cache``, ``attention``.

Thin printers over ``studytool.ml.generation`` and ``studytool.ml.tokenizers``; the engines are
imported inside the commands, so ``studytool --help`` stays free of torch. Every engine
error (DemoError, ModelUnavailable) becomes a ClickException: a message, no traceback.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from studytool.core.wording import count_of

if TYPE_CHECKING:
    from studytool.ml.generation import AttentionMap, Candidate, Step
    from studytool.ml.lm import LanguageModel, LoadProgress
    from studytool.ml.tokenizers import Token, Tokenization

MODEL_ENV = "STUDYTOOL_DEMO_MODEL"
MODEL_SETTING = "demo_model"
# Backgrounds that alternate between neighbouring tokens, so their boundaries show.
_TOKEN_COLOURS = ("cyan", "yellow", "green", "magenta", "blue", "red")
_SHADES = " ░▒▓█"

model_option = click.option(
    "--model",
    metavar="ID|DIR",
    envvar=MODEL_ENV,
    help=(
        "A Hugging Face model id (e.g. gpt2, if the hub can be reached) or a local model "
        f"folder; default: the packaged SmolLM2-135M-Instruct (env {MODEL_ENV}, setting "
        f"{MODEL_SETTING})."
    ),
)


@contextmanager
def _demo_errors() -> Iterator[None]:
    from studytool.ml.lm import DemoError

    try:
        yield
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc


def _say_progress(report: LoadProgress) -> None:
    if sys.stderr.isatty():
        end = "\n" if report.total is None or report.done == report.total else ""
        click.echo(f"\r\x1b[2K{report.describe()}", err=True, nl=bool(end))
    elif report.total is None or report.done == report.total:
        click.echo(report.describe(), err=True)


def _model_name(obj: Any, explicit: str | None) -> str | None:
    """``--model`` (or its env var), else the ``demo_model`` setting when studytool has one."""
    if explicit:
        return explicit
    from studytool.config import Settings

    if MODEL_SETTING not in {field.name for field in dataclasses.fields(Settings)}:
        return None
    if obj is None or not hasattr(obj, "store"):
        return None
    with obj.store(with_bundled=False) as store:
        return getattr(store.load_settings(), MODEL_SETTING, None) or None


def _load(obj: Any, model: str | None) -> LanguageModel:
    from studytool.ml.lm import shared_lm

    lm = shared_lm(_model_name(obj, model), progress=_say_progress)
    if lm.converted:
        click.echo(
            f"Converted once in {lm.load_seconds:.0f} s; later runs load the copy in about a second.",
            err=True,
        )
    return lm


def _columns() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def _cell_width(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _cell_width(text))


# --- tokens --------------------------------------------------------------------------------


@click.command("tokens")
@click.argument("text")
@click.option(
    "--tokenizer",
    "-t",
    "which",
    type=click.Choice(["gpt2", "smollm2", "minilm", "all"]),
    default="all",
    show_default=True,
    help="GPT-2's BPE (r50k), SmolLM2's BPE, MiniLM's WordPiece, or all three side by side.",
)
@click.option("--width", type=click.IntRange(20, 400), help="Wrap at this many columns.")
def tokens(text: str, which: str, width: int | None) -> None:
    """Show how TEXT is cut into tokens, with their ids.

    Tokens alternate colours; a space shows as ␣, a newline as ↵, and the bytes of a
    character split over several tokens as <F0 9F>. `-` reads the text from standard input.
    """
    from studytool.ml.tokenizers import TOKENIZERS, tokenize

    if text == "-":
        text = sys.stdin.read()
    names = TOKENIZERS if which == "all" else (which,)
    columns = width or _columns()
    with _demo_errors():
        results = [tokenize(text, name, progress=_say_progress) for name in names]
    for index, result in enumerate(results):
        if index:
            click.echo()
        _print_tokenization(result, columns)


def _print_tokenization(result: Tokenization, columns: int) -> None:
    click.secho(
        f"{result.title}: {count_of(result.count, 'token')}, "
        f"{result.chars_per_token:.2f} characters per token "
        f"(vocabulary {result.vocab_size:,})",
        bold=True,
    )
    for line in _token_rows(result.tokens, columns):
        click.echo(line)


def _token_rows(tokens: Sequence[Token], columns: int) -> Iterator[str]:
    """Each token's piece over its id, in columns wrapped to ``columns``."""
    pieces: list[str] = []
    ids: list[str] = []
    used = 0
    for index, token in enumerate(tokens):
        piece = token.piece or "∅"
        cell = max(_cell_width(piece), len(str(token.id)))
        if used and used + cell + 1 > columns:
            yield "".join(pieces)
            yield "".join(ids)
            pieces, ids, used = [], [], 0
        colour = _TOKEN_COLOURS[index % len(_TOKEN_COLOURS)]
        shown = click.style(_pad(piece, cell), fg="black", bg=colour, bold=token.special)
        pieces.append(shown + " ")
        ids.append(click.style(str(token.id).ljust(cell), dim=True) + " ")
        used += cell + 1
    if pieces:
        yield "".join(pieces)
        yield "".join(ids)


# --- generate ------------------------------------------------------------------------------


@click.command("generate")
@click.argument("prompt")
@click.option("--greedy", is_flag=True, help="Always take the most likely token (deterministic).")
@click.option(
    "--temperature", "-T", type=float, help="Divide the logits by T before sampling (default 1)."
)
@click.option("--top-k", type=int, help="Sample only among the K most likely tokens.")
@click.option(
    "--top-p", type=float, help="Sample among the fewest tokens holding P of the probability."
)
@click.option(
    "--max-new-tokens", "-n", type=int, default=20, show_default=True, help="Tokens to generate."
)
@click.option("--seed", type=int, help="Seed of the sampler: the same seed repeats the same text.")
@click.option("--chat", is_flag=True, help="Wrap the prompt in the model's chat template.")
@click.option(
    "--no-cache", is_flag=True, help="Recompute the whole sequence at every step (no KV cache)."
)
@click.option(
    "--truncate", is_flag=True, help="Cut a prompt too long for the context window to its end."
)
@click.option(
    "--text-only", is_flag=True, help="Stream just the text, without the per-step tables."
)
@click.option("--top", type=click.IntRange(1, 50), default=10, show_default=True,
              help="How many candidate tokens each step lists.")  # fmt: skip
@model_option
@click.pass_obj
def generate(
    obj: Any,
    prompt: str,
    greedy: bool,
    temperature: float | None,
    top_k: int | None,
    top_p: float | None,
    max_new_tokens: int,
    seed: int | None,
    chat: bool,
    no_cache: bool,
    truncate: bool,
    text_only: bool,
    top: int,
    model: str | None,
) -> None:
    """Generate text token by token from PROMPT, showing each step.

    For each new token: the model's top next-token probabilities before and after
    temperature / top-k / top-p (▶ marks the token taken), the shape of the ids going in
    and of the logits coming out. Greedy decoding repeats exactly; so does sampling with
    --seed. `studytool kv-cache` times the same generation with and without the KV cache.
    """
    from studytool.ml.generation import SamplingSettings, generate_stream

    ignored = [
        name
        for name, value in (("--temperature", temperature), ("--top-k", top_k), ("--top-p", top_p), ("--seed", seed))
        if value is not None
    ]  # fmt: skip
    with _demo_errors():
        settings = SamplingSettings(
            greedy=greedy,
            temperature=1.0 if temperature is None else temperature,
            top_k=top_k,
            top_p=1.0 if top_p is None else top_p,
            max_new_tokens=max_new_tokens,
            seed=seed,
        )
        if greedy and ignored:
            click.echo(f"Note: --greedy ignores {', '.join(ignored)}.", err=True)
        lm = _load(obj, model)
        run = generate_stream(
            lm, prompt, settings, chat=chat, use_cache=not no_cache, truncate=truncate, top=top
        )
        cache = "no KV cache" if no_cache else "KV cache"
        click.secho(
            f"{lm.name} · {settings.describe()} · up to {max_new_tokens} new tokens · {cache}",
            bold=True,
        )
        if run.truncated:
            click.echo(f"The prompt was cut: its first {run.truncated} tokens were dropped.")
        prompt_tokens = run.prompt_tokens
        click.echo(f"Prompt, {count_of(len(prompt_tokens), 'token')}:")
        for line in _token_rows(prompt_tokens, _columns()):
            click.echo("  " + line)
        if text_only:
            click.echo()
            click.echo(_styled_prompt(run.prompt_text, chat), nl=False)
        try:
            for step in run:
                if text_only:
                    click.echo(step.text, nl=False)
                    sys.stdout.flush()
                else:
                    _print_step(step, settings.greedy)
        except KeyboardInterrupt:
            run.stop_reason = "cancelled"
        if text_only:
            click.echo()
        else:
            click.echo()
            click.echo(_styled_prompt(run.prompt_text, chat) + click.style(run.text, bold=True))
    reason = {
        "eos": "the model ended its answer",
        "length": f"reached {max_new_tokens} tokens",
        "cancelled": "cancelled",
    }.get(run.stop_reason or "", run.stop_reason or "")
    click.echo()
    click.echo(
        f"{count_of(len(run.steps), 'token')} in {run.compute_seconds:.2f} s "
        f"({run.tokens_per_second:.1f} tokens/s); stopped: {reason}."
    )
    if run.seed is not None:
        click.echo(f"Sampling seed {run.seed}: --seed {run.seed} repeats this text.")


def _styled_prompt(prompt_text: str, chat: bool) -> str:
    return click.style(prompt_text, fg="cyan" if chat else None, dim=not chat)


def _print_step(step: Step, greedy: bool) -> None:
    click.echo()
    click.secho(
        f"step {step.index + 1}: ids {_shape(step.input_shape)} → logits "
        f"{_shape(step.logits_shape)}; took {_quoted(step.piece)} (id {step.token_id}), "
        f"p {step.probability_before:.3f} → {step.probability_after:.3f}, "
        f"rank {step.rank_before}, {step.seconds * 1000:.0f} ms"
        + (" [end of sequence]" if step.is_eos else ""),
        bold=True,
    )
    after_title = (
        "after greedy (argmax)" if greedy else f"after the sampling controls ({step.kept:,} left)"
    )
    left = ["model's own probabilities", *(_candidate(c) for c in step.top_before)]
    right = [after_title, *(_candidate(c) for c in step.top_after)]
    width = max(_cell_width(line) for line in left) + 4
    for index in range(max(len(left), len(right))):
        first = left[index] if index < len(left) else ""
        second = right[index] if index < len(right) else ""
        click.echo("  " + _pad(first, width) + second)


def _candidate(candidate: Candidate) -> str:
    bar = "█" * round(candidate.probability * 10)
    marker = "▶" if candidate.chosen else " "
    return (
        f"{marker} {_pad(_quoted(candidate.piece), 14)} {candidate.probability * 100:5.1f}% {bar}"
    )


def _quoted(piece: str) -> str:
    return f"'{piece}'" if len(piece) <= 12 else f"'{piece[:11]}…'"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")"


# --- kv-cache ------------------------------------------------------------------------------


@click.command("kv-cache")
@click.argument("prompt")
@click.option(
    "--max-new-tokens", "-n", type=int, default=32, show_default=True, help="Tokens to generate."
)
@click.option("--chat", is_flag=True, help="Wrap the prompt in the model's chat template.")
@model_option
@click.pass_obj
def kv_cache(obj: Any, prompt: str, max_new_tokens: int, chat: bool, model: str | None) -> None:
    """Time the same greedy generation with and without the KV cache.

    With the cache, each step feeds only the newest token and reuses the keys and values
    of the earlier ones; without it, every step recomputes the whole sequence, so it slows
    down as the text grows.
    """
    from studytool.ml.generation import compare_kv_cache

    with _demo_errors():
        lm = _load(obj, model)
        click.echo(f"{lm.name}: {max_new_tokens} new tokens, greedy, with the cache then without…")
        result = compare_kv_cache(lm, prompt, max_new_tokens=max_new_tokens, chat=chat)
    click.echo(f"Prompt: {result.prompt_tokens} tokens.")
    for label, run in (("with KV cache", result.with_cache), ("without", result.without_cache)):
        click.echo(
            f"  {label:14} {run.tokens_per_second:7.1f} tokens/s  "
            f"({count_of(len(run.token_ids), 'token')} in {run.seconds:.2f} s)"
        )
    click.secho(f"Speed-up from the cache: {result.speedup:.2f}×", bold=True)
    click.echo(
        "Both runs chose the same tokens."
        if result.same_tokens
        else "The runs chose different tokens (rounding differences between the two paths)."
    )
    click.echo(f"Text: {result.with_cache.text}")


# --- attention -----------------------------------------------------------------------------


@click.command("attention")
@click.argument("text")
@click.option(
    "--layer", "-l", type=int, help="Layer, from 0 (default: the middle one; -1 the last)."
)
@click.option("--head", type=int, help="Attention head, from 0 (default 0).")
@model_option
@click.pass_obj
def attention(obj: Any, text: str, layer: int | None, head: int | None, model: str | None) -> None:
    """Show one attention head's weights over the tokens of a short TEXT.

    Row i is the token doing the attending, column j the token attended to; darker is more
    weight (each row sums to 1). The model is causal, so a token never attends to a later
    one: the upper-right triangle stays blank.
    """
    from studytool.ml.generation import attention_map

    with _demo_errors():
        lm = _load(obj, model)
        result = attention_map(lm, text, layer=layer, head=head)
    _print_attention(result)


def _shade(weight: float) -> str:
    if weight < 0.02:
        return "  " if weight == 0 else "··"
    level = min(len(_SHADES) - 1, 1 + int(weight * (len(_SHADES) - 1) / 0.6))
    return _SHADES[level] * 2


def _print_attention(result: AttentionMap) -> None:
    click.secho(
        f"Layer {result.layer} of 0–{result.num_layers - 1}, head {result.head} of "
        f"0–{result.num_heads - 1}: row = attending token, column = attended token",
        bold=True,
    )
    labels = [f"{index:>2} {_quoted(token.piece)}" for index, token in enumerate(result.tokens)]
    label_width = max(_cell_width(label) for label in labels) + 1
    header = "".join(f"{index % 100:<2}" for index in range(len(result.tokens)))
    click.echo(" " * label_width + header)
    for label, row in zip(labels, result.weights, strict=True):
        cells = "".join(_shade(weight) for weight in row)
        strongest = max(range(len(row)), key=row.__getitem__)
        note = f"  → {_quoted(result.tokens[strongest].piece)} {row[strongest]:.2f}"
        click.echo(_pad(label, label_width) + cells + click.style(note, dim=True))
    click.echo(
        f"Shades: '··' < 0.02, then {' '.join(repr(s * 2) for s in _SHADES[1:])} "
        "up to ≥ 0.6; blank = 0 (a later token)."
    )


COMMANDS = (tokens, generate, kv_cache, attention)


def register(group: click.Group) -> None:
    """Add the demo commands to the ``studytool`` command group."""
    for command in COMMANDS:
        group.add_command(command)
