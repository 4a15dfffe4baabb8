"""No library warning, log line or traceback reaches a user of the command line.

Each command of the README runs as a user runs it: the installed ``studytool`` script in a
fresh process, on the real models, with the default warning filters plus every
DeprecationWarning shown (so a deprecated call is caught here before it becomes a FutureWarning
on users' screens). pytest's own ``filterwarnings = error`` cannot see this: transformers'
deprecation notices go through its logger, and a fresh interpreter configures both anew.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from studytool import paths
from studytool.ml.lm import converted_dir, ensure_converted

from .waiting import wait_for_grade, wait_until

STUDYTOOL = Path(sys.executable).with_name("studytool")
# Our own output says "warning:" (lowercase) for problems in a deck file; library text says
# "FutureWarning", "UserWarning", "WARNING", "[transformers]", "deprecated", or is a traceback.
NOISE = re.compile(r"Warning|WARNING|[Dd]eprecat|Traceback|\[transformers\]|site-packages")

DECK = """+++
name = "Noise check"
+++

Q: What does a tokenizer turn text into?
A: A list of integer token ids, one per token from its vocabulary.
R:
- says integer ids
- says the ids index a fixed vocabulary
id: noise-tokenizer

---

C: GPT-2's context window is [1024] tokens.
id: noise-cloze
"""


@pytest.fixture(scope="module")
def user_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the converted demo model linked in, as after a user's first `generate`."""
    shared_model, _ = ensure_converted(paths.cache_dir())
    home = tmp_path_factory.mktemp("user")
    link = converted_dir(home / "cache")
    link.parent.mkdir(parents=True)
    link.symlink_to(shared_model, target_is_directory=True)
    (home / "notes.md").write_text(DECK, encoding="utf-8")
    (home / "batch.jsonl").write_text(
        json.dumps(
            {
                "question": "What does the KV cache store?",
                "reference": "The keys and values of earlier tokens, so they are not recomputed.",
                "answer": "It keeps the attention keys and values of past tokens.",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    return home


def run_as_user(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST", "PYTHONWARNINGS", "STUDYTOOL_"))
    }
    environment.update(
        STUDYTOOL_HOME=str(home),
        PYTHONWARNINGS="default::DeprecationWarning,default::PendingDeprecationWarning",
        COLUMNS="100",
    )
    return subprocess.run(
        [str(STUDYTOOL), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=home,
        env=environment,
        timeout=300,
    )


# In order: later commands use what earlier ones stored (the imported deck, a review).
COMMANDS: list[tuple[str, list[str], str]] = [
    ("where", ["where"], ""),
    ("decks (imports the bundled decks)", ["decks"], ""),
    ("import", ["import", "notes.md"], ""),
    ("import --dry-run", ["import", "--dry-run", "notes.md"], ""),
    (
        "review --plain, typed answer graded",
        ["review", "--plain", "--deck", "Noise check"],
        "integer ids from the vocabulary\n\n3\nq\n",
    ),
    ("review --plain, plain reveal", ["review", "--plain"], "\n3\nq\n"),
    ("stats", ["stats"], ""),
    ("export markdown", ["export", "--format", "markdown", "-o", "out"], ""),
    ("export json", ["export", "--format", "json", "-o", "backup.json"], ""),
    (
        "export json to stdout",
        ["export", "--format", "json", "--deck", "Noise check", "-o", "-"],
        "",
    ),
    ("export apkg", ["export", "--format", "apkg", "-o", "decks.apkg"], ""),
    ("restore into another collection", ["--db", "restored.db", "restore", "backup.json"], ""),
    ("settings", ["settings"], ""),
    ("optimize --dry-run", ["optimize", "--dry-run"], ""),
    (
        "grade --question",
        [
            "grade",
            "-q",
            "What does the KV cache store?",
            "-r",
            "The keys and values of earlier tokens.",
            "-a",
            "keys and values of past tokens",
        ],
        "",
    ),
    ("grade --card", ["grade", "--card", "noise-tokenizer", "-a", "integer token ids"], ""),
    ("grade --card, cloze", ["grade", "--card", "noise-cloze", "-a", "1024"], ""),
    ("grade --batch", ["grade", "--batch", "batch.jsonl"], ""),
    ("grade --json", ["grade", "--card", "noise-tokenizer", "-a", "ids", "--json"], ""),
    ("calibrate --dry-run", ["calibrate", "--dry-run"], ""),
    ("tokens", ["tokens", "Hello, world!", "-t", "all"], ""),
    ("generate greedy", ["generate", "The capital of France is", "--greedy", "-n", "4"], ""),
    (
        "generate sampled",
        [
            "generate",
            "Once upon a time",
            "-T",
            "0.8",
            "--top-k",
            "20",
            "--top-p",
            "0.9",
            "--seed",
            "1",
            "-n",
            "4",
        ],
        "",
    ),
    ("generate --chat --no-cache", ["generate", "Say hi", "--chat", "--no-cache", "-n", "3"], ""),
    ("kv-cache", ["kv-cache", "The KV cache", "-n", "4"], ""),
    ("attention", ["attention", "The cat sat on the mat", "-l", "2", "--head", "1"], ""),
]


def test_commands_print_no_library_noise(user_home: Path) -> None:
    noisy = []
    for label, args, stdin in COMMANDS:
        result = run_as_user(user_home, *args, stdin=stdin)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{label}: exit {result.returncode}\n{output}"
        found = NOISE.findall(output)
        if found:
            noisy.append(f"--- {label} ({', '.join(sorted(set(found)))}):\n{output}")
    assert not noisy, "library text reached the user:\n" + "\n".join(noisy)


def test_the_check_sees_library_noise() -> None:
    """The pattern catches what library noise looks like (so the test above can fail)."""
    samples = [
        "/x/torch/nn/modules/module.py:1789: FutureWarning: `past_key_values` is deprecated",
        "[transformers] `past_key_values`/`cache_params` are deprecated. Use `cache` instead.",
        "Traceback (most recent call last):",
        "UserWarning: TypedStorage is deprecated",
    ]
    assert all(NOISE.search(sample) for sample in samples)
    assert not NOISE.search("warning: notes.md:3: the second field (the back) is empty")


async def test_app_screens_print_no_library_noise(
    store: Any, isolated_home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The app's model paths (grading a typed answer, streaming a generation) write nothing
    to the terminal behind Textual's back: a library's stderr line would land on the screen."""
    from textual.widgets import Input

    from studytool.core.grading import BackgroundGrader
    from studytool.core.importing import parse_text
    from studytool.core.importing.sync import sync_deck
    from studytool.ml import load_answer_grader
    from studytool.tui.app import StudyApp
    from studytool.tui.screens.demos import GenerationScreen
    from studytool.tui.screens.review import ReviewScreen

    shared_model, _ = ensure_converted(paths.cache_dir())
    link = converted_dir(isolated_home / "cache")
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(shared_model, target_is_directory=True)
    sync_deck(store, parse_text(DECK, "noise.md"))
    capfd.readouterr()
    app = StudyApp(store, grader=BackgroundGrader(load_answer_grader))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        review = app.screen
        assert isinstance(review, ReviewScreen)
        await pilot.press(*"integer ids from a vocabulary", "ctrl+s")
        await wait_for_grade(pilot, review)
        assert review.has_class("graded")
        await pilot.press("3")
        screen = GenerationScreen("The capital of France is", None, greedy=True)
        await app.push_screen(screen)
        screen.query_one("#max-new", Input).value = "3"
        await wait_until(
            pilot,
            lambda: screen.lm is not None and not screen.generating and screen.steps,
            "the generation",
            seconds=150,
        )
    out, err = capfd.readouterr()
    assert not NOISE.search(out + err), out + err
    assert not err.strip(), f"the app wrote to stderr: {err}"
