"""The decks that ship in ``decks/`` and the graded sample answers that go with them.

The decks must import cleanly through the real importer, every card must carry a model answer
and a usable rubric, demo links must resolve, and ``tests/data/sample_answers/<deck>.jsonl``
must hold a good, a partial and a wrong answer for every card that has a rubric: that file is
the grader's regression set.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from studytool.core.demos import DEMOS, parse_demo_reference
from studytool.core.importing import parse_file
from studytool.core.importing.drafts import NoteDraft, ParsedDeck
from studytool.core.models import NoteKind

ROOT = Path(__file__).resolve().parent.parent
DECKS_DIR = ROOT / "decks"
SAMPLES_DIR = Path(__file__).resolve().parent / "data" / "sample_answers"

DECK_FILES = sorted(DECKS_DIR.glob("*.md"))
DECK_IDS = [path.stem for path in DECK_FILES]

MIN_REVIEW_CARDS = 80
MIN_ASYNC_CARDS = 20
MIN_INTERVIEW_CARDS = 15
SAMPLE_GRADES = ("good", "partial", "wrong")


@cache
def parsed(path: Path) -> ParsedDeck:
    return parse_file(path)


def all_notes() -> list[tuple[Path, NoteDraft]]:
    return [(path, note) for path in DECK_FILES for note in parsed(path).notes]


def graded_ordinals(note: NoteDraft) -> list[int]:
    """The cards of a note that the rubric grades.

    A reversed note's back card (ordinal 1) asks for the term given the definition, which the
    rubric does not describe, so only its front card is graded; a cloze note has one graded
    card per deletion.
    """
    if note.kind is NoteKind.REVERSED:
        return [0]
    return note.card_ordinals()


@dataclass(frozen=True)
class Sample:
    file: str
    line: int
    record: dict


def load_samples(stem: str) -> list[Sample]:
    path = SAMPLES_DIR / f"{stem}.jsonl"
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            samples.append(Sample(path.name, number, json.loads(line)))
    return samples


def test_there_are_decks() -> None:
    assert DECK_FILES, f"no decks in {DECKS_DIR}"


@pytest.mark.parametrize("path", DECK_FILES, ids=DECK_IDS)
def test_deck_imports_without_errors_or_warnings(path: Path) -> None:
    deck = parsed(path)  # raises DeckParseError listing every problem
    assert deck.format == "primary"
    assert not deck.warnings, "\n".join(str(warning) for warning in deck.warnings)
    assert deck.notes


@pytest.mark.parametrize("path", DECK_FILES, ids=DECK_IDS)
def test_deck_has_front_matter(path: Path) -> None:
    deck = parsed(path)
    assert deck.name, f"{path.name}: front matter needs a name"
    assert deck.description, f"{path.name}: front matter needs a description"
    assert deck.tags, f"{path.name}: front matter needs tags"


def test_every_card_has_an_answer_an_id_and_a_rubric() -> None:
    problems = []
    for path, note in all_notes():
        where = f"{path.name}:{note.line}"
        if not note.answer.strip():
            problems.append(f"{where}: no answer")
        if not note.explicit_key:
            problems.append(f"{where}: no id")
        if not 2 <= len(note.rubric) <= 6:
            problems.append(f"{where}: rubric has {len(note.rubric)} criteria (want 2-6)")
        if any(not criterion.strip() for criterion in note.rubric):
            problems.append(f"{where}: empty rubric criterion")
        if len(set(note.rubric)) != len(note.rubric):
            problems.append(f"{where}: repeated rubric criterion")
    assert not problems, "\n".join(problems)


def test_ids_are_unique_across_decks() -> None:
    counts = Counter(note.key for _, note in all_notes())
    duplicates = sorted(key for key, count in counts.items() if count > 1)
    assert not duplicates, f"ids used more than once: {duplicates}"


def test_questions_are_unique_across_decks() -> None:
    counts = Counter(" ".join(note.question.split()).casefold() for _, note in all_notes())
    duplicates = sorted(question for question, count in counts.items() if count > 1)
    assert not duplicates, f"questions asked more than once: {duplicates}"


def test_demo_references_resolve() -> None:
    used = set()
    for _path, note in all_notes():
        if note.demo:
            name, _example = parse_demo_reference(note.demo)  # ValueError for an unknown demo
            used.add(name)
    missing = sorted(set(DEMOS) - used)
    assert not missing, f"no card opens these demos: {missing}"


def test_review_card_counts() -> None:
    review = [(path, note) for path, note in all_notes() if note.kind is not NoteKind.INTERVIEW]
    assert len(review) >= MIN_REVIEW_CARDS
    on_async = [
        note for path, note in review if "async" in note.tags or path.stem.startswith("async")
    ]
    assert len(on_async) >= MIN_ASYNC_CARDS
    decks_with_review_cards = {path for path, _ in review}
    assert len(decks_with_review_cards) >= 4, "review cards should be split into several decks"


def test_interview_deck() -> None:
    interview = [note for _, note in all_notes() if note.kind is NoteKind.INTERVIEW]
    assert len(interview) >= MIN_INTERVIEW_CARDS
    problems = [
        f"{note.key}: {len(note.follow_ups)} follow-ups (want 1-3)"
        for note in interview
        if not 1 <= len(note.follow_ups) <= 3
    ]
    assert not problems, "\n".join(problems)


def test_every_deck_has_a_sample_answer_file_and_no_file_is_orphaned() -> None:
    files = {path.stem for path in SAMPLES_DIR.glob("*.jsonl")}
    decks = set(DECK_IDS)
    assert decks - files == set(), f"decks without sample answers: {sorted(decks - files)}"
    assert files - decks == set(), f"sample answers without a deck: {sorted(files - decks)}"


@pytest.mark.parametrize("path", DECK_FILES, ids=DECK_IDS)
def test_sample_answers_cover_every_rubric_card(path: Path) -> None:
    notes = {note.key: note for note in parsed(path).notes}
    wanted = {
        (key, ordinal)
        for key, note in notes.items()
        if note.rubric
        for ordinal in graded_ordinals(note)
    }
    samples = load_samples(path.stem)
    seen = Counter((sample.record.get("id"), sample.record.get("ordinal")) for sample in samples)

    repeated = sorted(card for card, count in seen.items() if count > 1)
    assert not repeated, f"cards with more than one sample entry: {repeated}"
    missing = sorted(wanted - set(seen))
    assert not missing, f"cards without sample answers: {missing}"
    stale = sorted(set(seen) - wanted, key=str)
    assert not stale, f"sample answers for cards that do not exist (or are not graded): {stale}"


@pytest.mark.parametrize("path", DECK_FILES, ids=DECK_IDS)
def test_sample_answers_are_well_formed_and_graded_in_order(path: Path) -> None:
    notes = {note.key: note for note in parsed(path).notes}
    problems = []
    for sample in load_samples(path.stem):
        where = f"{sample.file}:{sample.line}"
        record = sample.record
        note = notes.get(str(record.get("id")))
        if note is None:
            continue  # reported by the coverage test
        if set(record) != {"id", "ordinal", *SAMPLE_GRADES}:
            problems.append(f"{where}: keys {sorted(record)}")
            continue
        met: dict[str, set[int]] = {}
        for grade in SAMPLE_GRADES:
            entry = record[grade]
            answer, meets = entry.get("answer"), entry.get("meets")
            if not isinstance(answer, str) or not answer.strip():
                problems.append(f"{where}: {grade} answer is empty")
            elif " ".join(answer.split()) == " ".join(note.answer.split()):
                problems.append(f"{where}: {grade} answer copies the model answer")
            if not isinstance(meets, list) or not all(isinstance(i, int) for i in meets):
                problems.append(f"{where}: {grade} meets must be a list of integers")
                continue
            if len(set(meets)) != len(meets):
                problems.append(f"{where}: {grade} meets repeats an index")
            bad = [i for i in meets if not 0 <= i < len(note.rubric)]
            if bad:
                problems.append(
                    f"{where}: {grade} meets {bad}, but the rubric has {len(note.rubric)} criteria"
                )
            met[grade] = set(meets)
        if len(met) == len(SAMPLE_GRADES):
            good, partial, wrong = (len(met[grade]) for grade in SAMPLE_GRADES)
            if not good > partial > wrong:
                problems.append(
                    f"{where}: want good > partial > wrong, got {good}/{partial}/{wrong} met"
                )
            if good < len(note.rubric) - 1:
                problems.append(
                    f"{where}: the good answer meets only {good} of {len(note.rubric)} criteria"
                )
            if len(met["wrong"]) > 1:
                problems.append(f"{where}: the wrong answer should meet at most one criterion")
    assert not problems, "\n".join(problems)
