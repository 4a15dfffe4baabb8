"""What a card shows: the front and back of each card a note makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from studytool.core import cloze
from studytool.core.models import NoteKind


class NoteText(Protocol):
    """What a card's faces are made from: a Note or a NoteFaces."""

    @property
    def kind(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def answer(self) -> str: ...


@dataclass(frozen=True)
class NoteFaces:
    kind: str
    question: str
    answer: str


@dataclass(frozen=True)
class CardFaces:
    front: str
    back: str
    # What a typed answer is compared with: the answer, the question for a reverse card,
    # or the hidden words of a cloze deletion.
    expected: str
    # Whether the note's rubric describes this card's answer: the front of a basic,
    # interview or reversed note, and a cloze note's only deletion (with several deletions
    # the rubric describes the note, not any one of them; the reverse card asks for the
    # question, which the rubric does not describe).
    rubric_applies: bool = True


def card_faces(note: NoteText, ordinal: int) -> CardFaces:
    if note.kind == NoteKind.CLOZE.value:
        back = cloze.render_back(note.question, ordinal)
        if note.answer:
            back = f"{back}\n\n{note.answer}"
        return CardFaces(
            front=cloze.render_front(note.question, ordinal),
            back=back,
            expected=cloze.hidden_text(note.question, ordinal),
            rubric_applies=len(cloze.cloze_numbers(note.question)) == 1,
        )
    if note.kind == NoteKind.REVERSED.value and ordinal == 1:
        return CardFaces(
            front=note.answer, back=note.question, expected=note.question, rubric_applies=False
        )
    return CardFaces(front=note.question, back=note.answer, expected=note.answer)
