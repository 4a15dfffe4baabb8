"""The live demos a card can link to (``demo:`` in a deck).

A card names a demo, optionally with the example it should open with:
``demo: tokenizer | Hello, world! 🙂``. The screens live in the TUI and the engines in
``studytool.ml``; this registry is what the importer validates names against.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Demo:
    name: str
    title: str
    default_example: str


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            "tokenizer",
            "Tokenizer: token boundaries and ids",
            "Hello, world! Tokenization splits unhappiness 🙂",
        ),
        Demo(
            "generation",
            "Generation: streaming, token by token",
            "The key idea of a transformer is",
        ),
        Demo(
            "sampling",
            "Sampling controls: temperature, top-k, top-p",
            "My favourite programming language is",
        ),
        Demo("greedy", "Greedy decoding is deterministic", "The capital of France is"),
        Demo("next-token", "Next-token probabilities and the logits' shape", "The cat sat on the"),
        Demo("kv-cache", "KV cache: generation with and without it", "Once upon a time"),
        Demo(
            "attention",
            "Attention weights of one layer and head",
            "The animal didn't cross the street because it was tired",
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
