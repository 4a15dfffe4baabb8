"""The graded answer sets (the judge's deck data, tests/graded_answers.py) agree with the decks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graded_answers import GRADED_DIR, MORE_DIR, load, problems

DECKS = Path(__file__).resolve().parent.parent / "decks"
FILES = sorted(GRADED_DIR.glob("*.jsonl")) + sorted(MORE_DIR.glob("*.jsonl"))


@pytest.mark.parametrize("path", FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_graded_file_fits_its_deck(path: Path) -> None:
    complete = path.parent == GRADED_DIR
    assert problems(DECKS / f"{path.stem}.md", path, complete=complete) == []


def test_more_answers_are_new_answers_to_graded_cards() -> None:
    for path in sorted(MORE_DIR.glob("*.jsonl")):
        first = {(card.id, card.ordinal): card for card in load(GRADED_DIR / path.name)}
        for card in load(path):
            original = first[(card.id, card.ordinal)]
            assert card.known_mistakes == original.known_mistakes, card.id
            seen = {answer.answer for answer in original.answers}
            assert not [a.answer for a in card.answers if a.answer in seen], card.id
