"""Small pieces of English that every front end writes the same way."""

from __future__ import annotations


def count_of(count: int, noun: str, plural: str | None = None) -> str:
    """``1 token``, ``2 tokens``; ``plural`` for nouns that do not just take an s."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
