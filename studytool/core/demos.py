"""The live demos a card can link to (``demo:`` in a deck).

A card names a demo, optionally with the example it should open with:
``demo: tokenizer | Hello, world! 🙂``. The screens live in the TUI and the engines in
``studytool.ml``; this registry is what the importer validates names against. Each demo also
names the engine function behind it (as text: core imports nothing from ``studytool.ml``) and
the command that runs it in a terminal.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class Demo:
    name: str
    title: str
    default_example: str
    # "module:function" of the engine, e.g. "studytool.ml.generation:generate_stream".
    engine: str = ""
    # The same demo on the command line, before its example: "studytool generate --greedy".
    command: str = ""

    def command_line(self, example: str | None = None) -> str:
        """The shell command that runs this demo on ``example`` (or on its default one)."""
        return f"{self.command} {shlex.quote(example or self.default_example)}"


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            "tokenizer",
            "Tokenizer: token boundaries and ids",
            "Hello, world! Tokenization splits unhappiness 🙂",
            "studytool.ml.tokenizers:tokenize",
            "studytool tokens",
        ),
        Demo(
            "generation",
            "Generation: streaming, token by token",
            "The key idea of a transformer is",
            "studytool.ml.generation:generate_stream",
            "studytool generate",
        ),
        Demo(
            "sampling",
            "Sampling controls: temperature, top-k, top-p",
            "My favourite programming language is",
            "studytool.ml.generation:generate_stream",
            "studytool generate --temperature 0.8 --top-k 40 --top-p 0.9 --seed 1",
        ),
        Demo(
            "greedy",
            "Greedy decoding is deterministic",
            "The capital of France is",
            "studytool.ml.generation:generate_stream",
            "studytool generate --greedy",
        ),
        Demo(
            "next-token",
            "Next-token probabilities and the logits' shape",
            "The cat sat on the",
            "studytool.ml.generation:generate_stream",
            "studytool generate --greedy --max-new-tokens 1",
        ),
        Demo(
            "kv-cache",
            "KV cache: generation with and without it",
            "Once upon a time",
            "studytool.ml.generation:compare_kv_cache",
            "studytool kv-cache",
        ),
        Demo(
            "attention",
            "Attention weights of one layer and head",
            "The animal didn't cross the street because it was tired",
            "studytool.ml.generation:attention_map",
            "studytool attention",
        ),
    )
}


def parse_demo_reference(text: str) -> tuple[str, str | None]:
    """``"tokenizer | Hello"`` → ``("tokenizer", "Hello")``; raises ValueError for an unknown demo."""
    name, _, example = text.partition("|")
    name = name.strip().lower()
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r} (known: {', '.join(DEMOS)})")
    example = example.strip()
    return name, example or None
