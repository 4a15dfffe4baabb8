from __future__ import annotations

import pytest

from studytool.core.importing import DeckParseError, parse_file, parse_text
from studytool.core.importing.drafts import question_key
from studytool.core.models import NoteKind

from .conftest import FIXTURES


def parse(text: str):
    return parse_text(text, "deck.md")


def messages(exc: pytest.ExceptionInfo[DeckParseError]) -> list[str]:
    return [str(issue) for issue in exc.value.issues]


def test_fixture_deck_reads_every_field() -> None:
    deck = parse_file(FIXTURES / "primary" / "mixed.md")
    assert deck.format == "primary"
    assert deck.name == "Fixture deck"
    assert deck.description == "Small deck covering every field"
    assert deck.warnings == []
    token, coroutine, gpt2 = deck.notes

    assert token.kind is NoteKind.BASIC
    assert token.question == "What is a token id?"
    assert (
        token.answer
        == "The integer a tokenizer assigns to a token;\nthe model looks it up in its embedding table."
    )
    assert token.rubric == ["says it is an integer", "says it indexes the embedding table"]
    assert token.hints == ["Think of a dictionary lookup."]
    assert token.follow_ups == [
        "How big is GPT-2's vocabulary?",
        "Why can one word be several ids?",
    ]
    assert token.mistakes == [
        "a token id is the token's position in the text",
        "every word has exactly one id",
    ]
    assert token.tags == ["fixture", "tokens", "basics"]
    assert token.key == "token-id"
    assert token.demo == "tokenizer | Hello, world!"
    assert token.line == 9
    assert coroutine.mistakes == [] and gpt2.mistakes == []

    assert coroutine.kind is NoteKind.REVERSED
    assert "    Q: this is code, not a card" in coroutine.answer
    assert coroutine.answer.startswith("Like this:\n\n```python")
    assert coroutine.key == question_key("show a   COROUTINE.")
    assert coroutine.card_ordinals() == [0, 1]

    assert gpt2.kind is NoteKind.CLOZE
    assert gpt2.question.startswith("GPT-2 reads at most {{c1::1024}} tokens")
    assert "[the paper](https://example.com)" in gpt2.question and "`x[0]`" in gpt2.question
    assert gpt2.answer == "Extra context shown after reveal."


def test_cards_split_on_new_question_without_separator() -> None:
    deck = parse("Q: one?\nA: first\nQ: two?\nA: second\n")
    assert [(n.question, n.answer, n.line) for n in deck.notes] == [
        ("one?", "first", 1),
        ("two?", "second", 3),
    ]


def test_cloze_with_several_deletions_and_anki_syntax() -> None:
    deck = parse(
        "C: [Keys] and [values] are cached.\n\nC: {{c1::RoPE}} and {{c1::ALiBi}} encode {{c2::position}}.\n"
    )
    first, second = deck.notes
    assert first.card_ordinals() == [1, 2]
    assert second.card_ordinals() == [1, 2]


def test_anki_cloze_syntax_keeps_square_brackets_literal() -> None:
    (note,) = parse("C: {{c1::x[i]}} indexes the array; arr[0] is the first.\n").notes
    assert note.question == "{{c1::x[i]}} indexes the array; arr[0] is the first."
    assert note.card_ordinals() == [1]


def test_front_matter_kind_and_tags() -> None:
    text = '+++\nname = "Interview"\nkind = "interview"\ntags = ["ai"]\n+++\nQ: Explain attention.\nA: Weighted mixing.\nF: What is GQA?\n'
    deck = parse(text)
    assert deck.name == "Interview"
    assert deck.notes[0].kind is NoteKind.INTERVIEW
    assert deck.notes[0].tags == ["ai"]
    assert deck.notes[0].line == 6


def test_latex_and_tables_are_kept_verbatim() -> None:
    answer = "$$\\mathrm{softmax}(QK^T/\\sqrt{d_k})V$$\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    deck = parse(f"Q: Attention formula?\nA: {answer}\n")
    assert deck.notes[0].answer == answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A: orphan answer\n", "deck.md:1: A: field with no Q: or C: card before it"),
        ("Q: no answer here\n\n---\n", "deck.md:1: card has no answer; add an A: line"),
        ("C: nothing hidden\n", "deck.md:1: cloze card has no [deletion]"),
        ("Q: q\nA: a\nA: again\n", "deck.md:3: second A: in one card (the first is on line 2)"),
        ("Q: q\nA: a\ndemo: telepathy\n", "deck.md:3: unknown demo 'telepathy'"),
        ("Q: q\nA: a\nkind: sideways\n", "deck.md:3: kind 'sideways' is not one of"),
        ("Q: q\nA: a\nid: has space\n", "deck.md:3: id 'has space' must be one word"),
        ("+++\nname = \n+++\nQ: q\nA: a\n", "deck.md:3: front matter is not valid TOML"),
        (
            '+++\nname = "x"\ntags = [1 2]\n+++\nQ: q\nA: a\n',
            "deck.md:3: front matter is not valid TOML",
        ),
        (
            "Q: q\nA: a\nid: x\n\nQ: r\nA: b\nid: x\n",
            "deck.md:5: duplicate id 'x' (first used on line 1)",
        ),
        ("Q: Same?\nA: a\n\nQ: same?\nA: b\n", "deck.md:4: same question as the card on line 1"),
    ],
)
def test_errors_name_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(DeckParseError) as exc:
        parse(text)
    assert any(message.startswith(expected) for message in messages(exc)), messages(exc)


def test_all_errors_of_a_file_are_reported_at_once() -> None:
    with pytest.raises(DeckParseError) as exc:
        parse("A: orphan\nQ: fine\nA: ok\nQ: broken\n\nC: none\n")
    assert [issue.line for issue in exc.value.issues] == [1, 4, 6]


def test_stray_text_is_a_warning_not_an_error() -> None:
    deck = parse("Some intro prose.\n\nQ: q\nA: a\n")
    assert len(deck.notes) == 1
    assert [str(w) for w in deck.warnings] == [
        "deck.md:1: text outside any card is ignored (cards start with Q: or C:)"
    ]


def test_key_ignores_case_and_whitespace_only() -> None:
    assert question_key("What is  a token?") == question_key("what is a TOKEN?")
    assert question_key("What is a token?") != question_key("What is a tokenizer?")
