"""What a card shows: the front and back of each card a note makes."""

from __future__ import annotations

from dataclasses import dataclass

from studytool.core import cloze
from studytool.core.models import Note, NoteKind


@dataclass(frozen=True)
class CardFaces:
    front: str
    back: str
    # What a typed answer is compared with: the answer, the question for a reverse card,
    # or the hidden words of a cloze deletion.
    expected: str


def card_faces(note: Note, ordinal: int) -> CardFaces:
    if note.kind == NoteKind.CLOZE.value:
        back = cloze.render_back(note.question, ordinal)
        if note.answer:
            back = f"{back}\n\n{note.answer}"
        return CardFaces(
            front=cloze.render_front(note.question, ordinal),
            back=back,
            expected=cloze.hidden_text(note.question, ordinal),
        )
    if note.kind == NoteKind.REVERSED.value and ordinal == 1:
        return CardFaces(front=note.answer, back=note.question, expected=note.question)
    return CardFaces(front=note.question, back=note.answer, expected=note.answer)
