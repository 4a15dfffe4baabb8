"""The demo commands (`tokens`, `generate`, `kv-cache`, `attention`) through click's CliRunner.

Each test has its own STUDYTOOL_HOME; its cache folder gets a link to the converted model in
the user cache folder (built once, see test_demos_engine.py), so no test converts it again.
"""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from studytool import paths
from studytool.cli import main
from studytool.core.demos import DEMOS
from studytool.ml.lm import converted_dir, ensure_converted

COMMANDS = ["tokens", "generate", "kv-cache", "attention"]


@pytest.fixture(scope="module")
def shared_model() -> Path:
    folder, _ = ensure_converted(paths.cache_dir())
    return folder


@pytest.fixture(autouse=True)
def linked_model(isolated_home: Path, shared_model: Path) -> Path:
    link = converted_dir(isolated_home / "cache")
    link.parent.mkdir(parents=True)
    link.symlink_to(shared_model, target_is_directory=True)
    return link


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--no-bundled-decks", *args], input=stdin)


def ok(*args: str, stdin: str | None = None) -> str:
    result = run(*args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def _without_timing(out: str) -> list[str]:
    return [line for line in out.splitlines() if "tokens/s" not in line]


def fails(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_demo_command_has_help(command: str) -> None:
    assert "Usage:" in ok(command, "--help")
    assert command in ok("--help")


def test_tokens_shows_ids_and_pieces_of_each_tokenizer() -> None:
    out = ok("tokens", "Hello, world!", "--tokenizer", "gpt2")
    assert "GPT-2" in out and "4 tokens, 3.25 characters per token" in out
    assert "15496 11 995    0" in out
    assert "␣world" in out

    out = ok("tokens", "Hello, world!")
    assert out.count("4 tokens") == 3
    assert "19556 28 905    17" in out  # SmolLM2
    assert "hello" in out and "7592" in out  # MiniLM, lower-cased


def test_tokens_reads_standard_input_and_shows_emoji_bytes() -> None:
    out = ok("tokens", "-", "-t", "gpt2", stdin="hi 🦜")
    assert "<F0 9F>" in out and "<A6>" in out


def test_tokens_rejects_empty_text() -> None:
    assert "The text is empty" in fails("tokens", "")


def test_generate_greedy_shows_steps_and_repeats() -> None:
    args = ("generate", "The capital of France is", "--greedy", "-n", "3")
    out = ok(*args)
    assert "step 1: ids (1, 5) → logits (1, 1, 49152); took '␣Paris'" in out
    assert "step 2: ids (1, 1)" in out
    assert "▶ '␣Paris'" in out
    assert "model's own probabilities" in out and "after greedy (argmax)" in out
    assert "The capital of France is Paris." in out
    assert "3 tokens in" in out and "stopped: reached 3 tokens" in out
    final = [line for line in out.splitlines() if line.startswith("The capital")]
    again = [line for line in ok(*args).splitlines() if line.startswith("The capital")]
    assert final == again


def test_generate_sampling_with_a_seed_repeats() -> None:
    args = ("generate", "Once upon a time", "-T", "0.9", "--top-k", "40", "--top-p", "0.95",
            "--seed", "5", "-n", "6", "--text-only")  # fmt: skip
    first = ok(*args)
    assert "sampling, temperature 0.9, top-k 40, top-p 0.95" in first
    assert "--seed 5 repeats this text" in first
    assert "step 1" not in first  # --text-only
    assert _without_timing(ok(*args)) == _without_timing(first)


def test_generate_chat_shows_the_template_and_no_cache_works() -> None:
    out = ok("generate", "Say hi.", "--chat", "--greedy", "-n", "2", "--no-cache", "--text-only")
    assert "<|im_start|>user\nSay hi.<|im_end|>" in out
    assert "no KV cache" in out
    assert "<|im_start|>" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hi", "-T", "0"], "temperature must be above 0"),
        (["hi", "-T", "-0.5"], "temperature must be above 0"),
        (["hi", "--top-p", "0"], "top-p must be above 0 and at most 1"),
        (["hi", "--top-p", "1.01"], "top-p must be above 0 and at most 1"),
        (["hi", "--top-k", "0"], "top-k must be at least 1"),
        (["hi", "-n", "0"], "must be at least 1"),
        (["hi", "-n", "9000"], "At most 8,191 new tokens"),
        (["  "], "The prompt is empty"),
        (["word " * 9000], "Shorten it, or truncate it (--truncate)"),
    ],
)
def test_generate_rejects_bad_input_with_a_message(args: list[str], message: str) -> None:
    assert message in fails("generate", *args)


def test_greedy_notes_the_options_it_ignores() -> None:
    result = run("generate", "The capital of France is", "--greedy", "-T", "0", "-n", "1")
    assert result.exit_code == 0, result.output
    assert "--greedy ignores --temperature" in result.stderr


def test_kv_cache_compares_speeds() -> None:
    out = ok("kv-cache", "Once upon a time", "-n", "4")
    assert "with KV cache" in out and "without" in out
    assert "Speed-up from the cache:" in out
    assert "Both runs chose the same tokens." in out


def test_attention_prints_a_causal_heatmap() -> None:
    out = ok("attention", "The cat sat on the mat", "--layer", "0", "--head", "1")
    assert "Layer 0 of 0–29, head 1 of 0–8" in out
    rows = [line for line in out.splitlines() if line[:2].strip().isdigit()]
    assert len(rows) == 6
    assert rows[0].startswith(" 0 'The'")
    assert "'␣mat'" in rows[-1]
    # Row 0 attends only to itself: its first cell is full, the rest blank.
    first_cells = rows[0][len(" 0 'The'") :].split("→")[0]
    assert first_cells.strip() == "██"


def test_attention_rejects_a_missing_layer() -> None:
    assert "numbered 0 to 29" in fails("attention", "hi", "--layer", "30")


def test_model_option_takes_a_folder_and_explains_a_bad_one(shared_model: Path) -> None:
    out = ok(
        "generate", "The capital of France is", "--greedy", "-n", "2", "--model", str(shared_model)
    )
    assert out.startswith(f"{shared_model.name} · greedy")
    assert "Paris" in out
    assert "is not a model folder" in fails("attention", "hi", "--model", "./nowhere")


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_every_demo_names_its_engine_and_a_working_command(name: str) -> None:
    demo = DEMOS[name]
    module, _, function = demo.engine.partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    words = shlex.split(demo.command_line())
    assert words[0] == "studytool" and words[-1] == demo.default_example
    assert "Usage:" in ok(*words[1:-1], "--help")  # click checks the option names
