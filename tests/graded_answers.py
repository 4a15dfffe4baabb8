"""The graded answer set: learner-like answers to every bundled card, labelled by a careful human.

``tests/data/graded_answers/<deck file stem>.jsonl`` holds one JSON object per card direction:

    {"id": "kv-cache-what", "ordinal": 0,
     "criteria": ["says the cache stores keys and values", ...],   # the card's rubric, verbatim
     "known_mistakes": ["the cache stores the attention weights", ...],
     "answers": [
        {"kind": "negated", "answer": "...", "verdicts": ["contradicted", "missed"],
         "score": 0.0, "rating": 1, "mistake": null, "note": "why, in a few words"},
        ...]}

kinds: see ``KINDS``. verdicts: one per criterion, ``met`` / ``partly`` / ``missed`` /
``contradicted``. score: a human's partial credit in quarters. rating: what a careful human
would rate the answer (1 Again, 2 Hard, 3 Good, 4 Easy). mistake: the index of the known
mistake the answer makes, or null. The reverse card of a reversed note and the deletions of a
cloze note with several have no criteria (their verdicts are empty); a cloze note's only
deletion is graded by the note's rubric. ``expected`` may name a cloze card's hidden words.

Run ``python tests/graded_answers.py decks/<deck>.md tests/data/graded_answers/<deck>.jsonl``
to check a file against its deck.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studytool.core.card_faces import card_faces  # noqa: E402
from studytool.core.cloze import cloze_numbers  # noqa: E402
from studytool.core.importing import parse_file  # noqa: E402
from studytool.core.models import NoteKind  # noqa: E402

GRADED_DIR = Path(__file__).resolve().parent / "data" / "graded_answers"
# More answers to the same cards (right ones in other words and terse, misconceptions and
# partial ones), written later: same format, any kinds, the cards with a rubric only.
MORE_DIR = GRADED_DIR.with_name("graded_answers_more")
GRADED_DIRS = (GRADED_DIR, MORE_DIR)
KINDS = {
    "correct_own_words",  # right, complete, in the learner's own words (not the model answer's)
    "terse_correct",  # a short line a fair grader accepts for this question
    "partial",  # some criteria met, others missing (nothing false)
    "misconception",  # confident, uses the right terms, but a wrong relation, number or name
    "negated",  # states the opposite of the model answer
    "keyword_salad",  # the right terms with no claim linking them
    "off_topic",  # fluent, but answers another question
    "dont_know",  # "no idea", a guess with nothing in it
}
REQUIRED_KINDS = KINDS - {"dont_know"}
VERDICTS = {"met", "partly", "missed", "contradicted"}
SCORES = {0.0, 0.25, 0.5, 0.75, 1.0}


@dataclass
class GradedAnswer:
    kind: str
    answer: str
    verdicts: list[str]
    score: float
    rating: int
    mistake: int | None = None
    note: str = ""


@dataclass
class GradedCard:
    id: str
    ordinal: int
    criteria: list[str]
    known_mistakes: list[str] = field(default_factory=list)
    answers: list[GradedAnswer] = field(default_factory=list)


def load(path: Path) -> list[GradedCard]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [load_line(line) for line in lines if line.strip()]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _shared_run(answer: str, reference: str, length: int = 7) -> str | None:
    """A run of ``length`` words the answer copies from the model answer, if any."""
    words = _words(reference)
    runs = {" ".join(words[i : i + length]) for i in range(len(words) - length + 1)}
    mine = _words(answer)
    for i in range(len(mine) - length + 1):
        run = " ".join(mine[i : i + length])
        if run in runs:
            return run
    return None


def problems(deck_path: Path, graded_path: Path, complete: bool = True) -> list[str]:
    """Everything wrong with a graded file, as ``file:line: message`` strings. A complete
    file (``GRADED_DIR``) has every card direction and every required kind of answer."""
    deck = parse_file(deck_path)
    notes = {note.key: note for note in deck.notes}
    found: list[str] = []
    seen: set[tuple[str, int]] = set()
    lines = graded_path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        where = f"{graded_path}:{number}"
        if not line.strip():
            continue
        try:
            card = load_line(line)
        except (ValueError, TypeError, KeyError) as exc:
            found.append(f"{where}: not a valid card object ({exc})")
            continue
        note = notes.get(card.id)
        if note is None:
            found.append(f"{where}: no card with id {card.id!r} in {deck_path}")
            continue
        seen.add((card.id, card.ordinal))
        is_cloze = note.kind == NoteKind.CLOZE
        valid_ordinals = (
            cloze_numbers(note.question)
            if is_cloze
            else [0, 1]
            if note.kind == NoteKind.REVERSED
            else [0]
        )
        if card.ordinal not in valid_ordinals:
            found.append(f"{where}: ordinal {card.ordinal} not in {valid_ordinals}")
        faces = card_faces(note, card.ordinal)
        expected_criteria = list(note.rubric) if faces.rubric_applies else []
        if card.criteria != expected_criteria:
            found.append(f"{where}: criteria differ from the card's rubric {expected_criteria}")
        kinds = {answer.kind for answer in card.answers}
        wanted = REQUIRED_KINDS
        if is_cloze or not faces.rubric_applies:
            wanted = {"correct_own_words", "misconception", "off_topic"}
        missing = wanted - kinds
        if missing and complete:
            found.append(f"{where}: no answer of kind {sorted(missing)}")
        reference = faces.expected
        for index, answer in enumerate(card.answers):
            at = f"{where}: answers[{index}] ({answer.kind})"
            if answer.kind not in KINDS:
                found.append(f"{at}: unknown kind")
            if not answer.answer.strip():
                found.append(f"{at}: empty answer")
            if len(answer.verdicts) != len(card.criteria):
                found.append(
                    f"{at}: {len(answer.verdicts)} verdicts for {len(card.criteria)} criteria"
                )
            if set(answer.verdicts) - VERDICTS:
                found.append(f"{at}: verdicts must be one of {sorted(VERDICTS)}")
            if answer.score not in SCORES:
                found.append(f"{at}: score {answer.score} is not a quarter")
            if answer.rating not in (1, 2, 3, 4):
                found.append(f"{at}: rating must be 1-4")
            if answer.mistake is not None and not 0 <= answer.mistake < len(card.known_mistakes):
                found.append(f"{at}: mistake {answer.mistake} is not an index of known_mistakes")
            if answer.kind in ("negated", "misconception") and answer.rating > 2:
                found.append(f"{at}: a {answer.kind} answer rated {answer.rating}")
            if answer.kind == "keyword_salad" and answer.rating > 2:
                found.append(f"{at}: keyword salad rated {answer.rating}")
            copied = _shared_run(answer.answer, reference)
            if copied and answer.kind in ("correct_own_words", "terse_correct", "partial"):
                found.append(f"{at}: copies the model answer ({copied!r}); use your own words")
    for note in deck.notes:
        if note.kind == NoteKind.CLOZE:
            ordinals = cloze_numbers(note.question)
        elif note.kind == NoteKind.REVERSED:
            ordinals = [0, 1]
        else:
            ordinals = [0]
        for ordinal in ordinals:
            if (note.key, ordinal) not in seen and complete:
                found.append(f"{graded_path}: card {note.key!r} ordinal {ordinal} has no answers")
    return found


def load_line(line: str) -> GradedCard:
    raw = json.loads(line)
    answers = [GradedAnswer(**answer) for answer in raw.pop("answers")]
    raw.pop("question", None)
    raw.pop("expected", None)
    return GradedCard(**raw, answers=answers)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    graded = Path(sys.argv[2])
    issues = problems(Path(sys.argv[1]), graded, complete=graded.parent.resolve() != MORE_DIR.resolve())
    print("\n".join(issues) or "ok")
    raise SystemExit(1 if issues else 0)
