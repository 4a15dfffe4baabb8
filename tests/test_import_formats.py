"""The four detected deck formats: ``:p`` flashcard notes, interview lists, Obsidian SR, Anki text.

Each parser is run on small fixture files in tests/fixtures/formats, written for these tests
in the shape of the real formats.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studytool.core.importing.anki_text import html_to_text, looks_like_anki_text, parse_anki_text
from studytool.core.importing.colon_p_format import looks_like_colon_p, parse_colon_p
from studytool.core.importing.drafts import DeckParseError, ParsedDeck
from studytool.core.importing.interview_list import (
    looks_like_interview_list,
    parse_interview_list,
    split_follow_ups,
    split_rubric,
)
from studytool.core.importing.obsidian_sr import looks_like_obsidian, parse_obsidian
from studytool.core.models import NoteKind

from .conftest import FIXTURES

FORMATS = FIXTURES / "formats"

PRIMARY_DECK = """\
+++
name = "Primary"
tags = ["flashcards"]
+++

## Tokens

Q: What is a token?
A: A piece of text with an integer id; `std::string` holds the text in C++.
R:
- says it is a piece of text
F: Why not whole words?

---

C: GPT-2 has a [50257]-token vocabulary and {{c2::1024}} positions.
"""


def parse_fixture(parser: Callable[[str, str], ParsedDeck], name: str) -> ParsedDeck:
    path = FORMATS / name
    return parser(path.read_text(encoding="utf-8"), str(path))


def error_lines(
    parser: Callable[[str, str], ParsedDeck], name: str
) -> list[tuple[str, int | None, str]]:
    path = FORMATS / name
    with pytest.raises(DeckParseError) as raised:
        parser(path.read_text(encoding="utf-8"), str(path))
    for issue in raised.value.issues:
        assert issue.file == str(path)
    return [(Path(issue.file).name, issue.line, issue.message) for issue in raised.value.issues]


# --- :p / ??x / x?? flashcard notes -------------------------------------------------------


def test_colon_p_reads_cards_context_and_code() -> None:
    deck = parse_fixture(parse_colon_p, "colon_p.md")
    assert deck.format == "colon-p"
    assert deck.warnings == []
    assert deck.name is None
    assert [note.kind for note in deck.notes] == [NoteKind.BASIC] * 4
    assert [note.line for note in deck.notes] == [13, 20, 36, 53]
    greedy, loops, temperature, top_k = deck.notes

    assert greedy.question == "What does greedy decoding pick at every step?"
    assert greedy.answer == "The token with the highest probability, with no randomness."
    # The background paragraph, label removed, is the context of every card of the heading.
    background = (
        "Greedy decoding always keeps the single most likely token at each step.\n"
        "It is simple and deterministic, but it can loop."
    )
    assert greedy.context == background
    assert loops.context == background
    # A question may run over lines; blank lines around the answer are dropped, inner kept.
    assert loops.question == "Why can greedy decoding\nrepeat itself?"
    assert loops.answer == (
        "Once a phrase is the most likely continuation, it stays the most likely,\n"
        "so the output can fall into a loop.\n\nBeam search and sampling both help."
    )
    assert temperature.context == "Temperature rescales the logits before the softmax."
    assert temperature.answer == (
        "Divide the logits by the temperature before the softmax:\n\n"
        "```python\n"
        "def apply_temperature(logits, t):\n"
        "    # --- low t sharpens, high t flattens ---\n"
        "    return logits / t\n"
        "```\n\n"
        "A temperature below 1 makes the distribution sharper."
    )
    # A heading without background gives no context; titles are never stored.
    assert top_k.context == ""
    assert all("Greedy Decoding" not in note.context for note in deck.notes)
    assert all(note.tags == [] for note in deck.notes)


def test_colon_p_missing_x_close_ends_at_next_question_or_heading() -> None:
    deck = parse_fixture(parse_colon_p, "colon_p_unclosed.md")
    assert [(warning.line, warning.message) for warning in deck.warnings] == [
        (6, "answer opened by ??x has no x??; it was ended before line 9"),
        (17, "answer opened by ??x has no x??; it was ended before line 20"),
    ]
    nucleus, versus, beam, penalty = deck.notes
    assert nucleus.answer == (
        "The smallest set of most likely tokens whose total probability reaches p."
    )
    assert versus.question == "How does top-p differ from top-k?"
    assert versus.context == nucleus.context
    assert beam.answer == "The few highest-scoring partial sequences."
    assert penalty.line == 22
    assert penalty.answer == "Without it, beam search prefers short outputs."


def test_colon_p_errors_name_file_and_line() -> None:
    assert error_lines(parse_colon_p, "colon_p_broken.md") == [
        ("colon_p_broken.md", 3, "??x with no :p question before it; add ':p question'"),
        (
            "colon_p_broken.md",
            7,
            ":p question has no answer (no ??x before line 9); add ??x, the answer and x?? after it",
        ),
        ("colon_p_broken.md", 17, "??x answer is never closed; add x?? after the answer"),
    ]


def test_colon_p_question_without_answer_at_end_of_file() -> None:
    with pytest.raises(DeckParseError) as raised:
        parse_colon_p("#### T\n\n:p Last question?\n", "end.md")
    assert [str(issue) for issue in raised.value.issues] == [
        "end.md:3: :p question has no answer; add ??x, the answer and x?? after it"
    ]


def test_colon_p_empty_question_or_answer_is_an_error() -> None:
    with pytest.raises(DeckParseError) as raised:
        parse_colon_p(":p\n??x\nanswer\nx??\n\n:p Question?\n??x\n\nx??\n", "empty.md")
    assert [(issue.line, issue.message) for issue in raised.value.issues] == [
        (1, ":p has no question text; write it after ':p '"),
        (7, "the answer between ??x and x?? is empty"),
    ]


def test_colon_p_background_without_colon_and_stray_close() -> None:
    text = (
        "# Book title\n\n**Starting Chapter:** One\n\n#### Caching\n"
        "Background context explaining why caches help.\n"
        ":p Why cache keys?\n??x\nTo reuse them.\nx??\nx??\n"
    )
    deck = parse_colon_p(text, "cache.md")
    (note,) = deck.notes
    assert note.context == "Background context explaining why caches help."
    assert [(warning.line, warning.message) for warning in deck.warnings] == [
        (11, "x?? with no ??x before it is ignored")
    ]


def test_colon_p_answer_text_on_the_open_line_and_x_close_inside_code() -> None:
    text = ":p Q?\n??x First line\n```\nunclosed fence\nx??\n:p Next?\n??x\nA\nx??\n"
    deck = parse_colon_p(text, "f.md")
    assert [(note.question, note.answer) for note in deck.notes] == [
        ("Q?", "First line\n```\nunclosed fence"),
        ("Next?", "A"),
    ]


# --- Q1. / Model answer: interview lists ----------------------------------------------------


def test_interview_list_reads_answers_rubrics_and_follow_ups() -> None:
    deck = parse_fixture(parse_interview_list, "interview.txt")
    assert deck.format == "interview-list"
    assert deck.warnings == []
    assert [note.kind for note in deck.notes] == [NoteKind.INTERVIEW] * 3
    assert [note.line for note in deck.notes] == [13, 26, 41]
    recurrence, formula, cheaper = deck.notes

    assert recurrence.question == (
        "What problem does self-attention solve compared with a recurrent network?"
    )
    # The model answer runs on over lines and paragraphs until the next labelled line.
    assert recurrence.answer == (
        "It lets every token read every other token in one step, so long-range\n"
        "dependencies do not have to survive many recurrent updates.\n\n"
        "It also runs in parallel across the sequence."
    )
    assert recurrence.rubric == [
        "Mentions direct access to all positions",
        "Mentions parallelism",
        "Contrasts with recurrence",
    ]
    assert recurrence.follow_ups == [
        "What does attention cost in sequence length?",
        "Why is that a problem for long documents?",
    ]
    assert recurrence.mistakes == [
        "attention only looks at the previous token",
        "attention is sequential like an RNN",
    ]

    # "Rubric:" inside a code block is code; the fence stays verbatim.
    assert formula.answer.endswith(
        "```python\nscores = q @ k.T / math.sqrt(d_k)\n"
        "Rubric: str = 'a field name inside code'\nweights = scores.softmax(dim=-1)\n```"
    )
    assert formula.rubric == [
        "Gives the formula",
        "Explains why the scores are scaled...",
        "Names d_k",
    ]
    assert formula.follow_ups == [
        "What happens without the scaling?",
        "What does the softmax output represent?",
    ]

    # Any question number; bullet lists work for rubric and follow-ups too.
    assert cheaper.question == "Name two ways to make attention cheaper."
    assert cheaper.answer == "Sparse or windowed attention, and linear-attention approximations."
    assert cheaper.rubric == [
        "Names a sparse or local pattern",
        "Names a low-rank or linear approximation",
    ]
    assert cheaper.follow_ups == [
        "Which one does a sliding-window model use?",
        "What do you lose with linear attention",
    ]
    # Chapter prose before the questions and after the last one is not part of any card.
    assert all("chapter" not in note.answer.lower() for note in deck.notes)
    assert all("positional encodings" not in " ".join(note.follow_ups) for note in deck.notes)


def test_interview_list_errors_name_file_and_line() -> None:
    assert error_lines(parse_interview_list, "interview_broken.txt") == [
        (
            "interview_broken.txt",
            3,
            "Rubric: with no question before it; start the card with a line like 'Q1. question'",
        ),
        ("interview_broken.txt", 5, "Q1. has no 'Model answer:'; add one below the question"),
    ]


def test_interview_list_second_model_answer_is_an_error() -> None:
    text = "Q1. What?\nModel answer: One.\nModel answer: Two.\n"
    with pytest.raises(DeckParseError) as raised:
        parse_interview_list(text, "twice.txt")
    assert [str(issue) for issue in raised.value.issues] == [
        "twice.txt:3: second Model answer: for Q1. (the first is on line 2); merge them"
    ]


def test_interview_list_unclosed_code_block_is_an_error() -> None:
    text = "Q1. Show it.\nModel answer: Like this:\n```python\nprint(1)\n\nQ2. Next?\n"
    with pytest.raises(DeckParseError) as raised:
        parse_interview_list(text, "fence.txt")
    assert [str(issue) for issue in raised.value.issues] == [
        "fence.txt:3: code block in the model answer is never closed; add the closing ``` line"
    ]


def test_interview_list_label_alone_may_have_its_list_after_a_blank_line() -> None:
    text = "Q3: What?\n\nModel answer: This.\n\nRubric:\n\n- one\n- two\n\nLater prose.\n"
    (note,) = parse_interview_list(text, "r.txt").notes
    assert note.line == 1
    assert note.rubric == ["one", "two"]
    assert note.follow_ups == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Why X? How Y?", ["Why X?", "How Y?"]),
        ("Why X?How Y??  ", ["Why X?", "How Y??"]),
        ("What changes with longer inputs", ["What changes with longer inputs"]),
        ("Why X? and then some words", ["Why X?", "and then some words"]),
        ("", []),
    ],
)
def test_follow_ups_split_after_each_question_mark(text: str, expected: list[str]) -> None:
    assert split_follow_ups([text]) == expected


def test_rubric_drops_empty_items_and_one_final_period() -> None:
    assert split_rubric(["a.; b ;; c..; d...;  e"]) == ["a", "b", "c..", "d...", "e"]


# --- Obsidian Spaced Repetition --------------------------------------------------------------


def test_obsidian_reads_every_card_style() -> None:
    deck = parse_fixture(parse_obsidian, "obsidian.md")
    assert deck.format == "obsidian-sr"
    # Front matter tags name the file's deck; tags that are not deck tags are left out.
    assert deck.tags == ["flashcards/ai/tokens"]
    cards = [(note.line, note.kind, note.question, note.answer) for note in deck.notes]
    assert cards == [
        (15, NoteKind.BASIC, "What does BPE stand for", "Byte-pair encoding"),
        (16, NoteKind.REVERSED, "Token id", "An integer index into the vocabulary"),
        (
            19,
            NoteKind.BASIC,
            "Why do tokenizers work on bytes\nin GPT-2?",
            "So that any string can be encoded,\nwith no unknown tokens.",
        ),
        (
            26,
            NoteKind.REVERSED,
            "Vocabulary size",
            "The number of distinct tokens a tokenizer can produce.",
        ),
        (
            32,
            NoteKind.CLOZE,
            "A tokenizer maps text to {{c1::token ids}} and back with {{c2::decode}}.",
            "",
        ),
        (34, NoteKind.CLOZE, "The GPT-2 vocabulary has {{c1::50257::a number}} entries.", ""),
        (
            45,
            NoteKind.BASIC,
            "How do you count tokens with tiktoken?",
            '```python\nenc = tiktoken.get_encoding("cl100k_base")\n\n'
            "n = len(enc.encode(text))\n```",
        ),
        (53, NoteKind.BASIC, "The first BPE paper was about", "data compression"),
        (
            55,
            NoteKind.CLOZE,
            "Merges are learned {{c1::most frequent pair}} first, {{c2::one pair}} at a time, "
            "{{c1::greedily}}.",
            "",
        ),
    ]
    assert [note.card_ordinals() for note in deck.notes if note.kind is NoteKind.CLOZE] == [
        [1, 2],
        [1],
        [1, 2],
    ]
    # Scheduling comments are gone everywhere.
    assert all("<!--SR" not in note.question + note.answer for note in deck.notes)


def test_obsidian_tags_apply_until_the_next_tag_and_per_question() -> None:
    deck = parse_fixture(parse_obsidian, "obsidian.md")
    tags = {note.line: note.tags for note in deck.notes}
    assert tags[15] == ["flashcards/ai/tokens"]
    assert tags[45] == ["flashcards/ai/code"]
    # A tag at the start of a card's first line is that card's only, and is not question text.
    assert tags[53] == ["flashcards/ai/trivia"]
    assert tags[55] == ["flashcards/ai/code"]


def test_obsidian_headings_become_context_and_broken_cards_warn() -> None:
    deck = parse_fixture(parse_obsidian, "obsidian.md")
    contexts = {note.line: note.context for note in deck.notes}
    assert contexts[15] == "Tokenizers > Basics"
    assert contexts[32] == "Tokenizers > Basics > Cloze"
    assert contexts[45] == "Tokenizers > Code"
    assert [(warning.line, warning.message) for warning in deck.warnings] == [
        (57, "'::' card with an empty side is ignored")
    ]


def test_obsidian_ignores_code_urls_and_multi_line_ends_at_blank_line() -> None:
    text = (
        "#flashcards\n"
        "Use `a::b` and see http://host/x::y today\n"
        "```\nq::a\n?\n```\n\n"
        "Question\n?\nAnswer line\n\nNot part of the answer\n"
        "A dangling\n?\n"
    )
    deck = parse_obsidian(text, "n.md")
    assert [(note.question, note.answer) for note in deck.notes] == [("Question", "Answer line")]
    assert deck.tags == ["flashcards"]
    assert [(warning.line, warning.message) for warning in deck.warnings] == [
        (14, "'?' with no answer lines directly below it is ignored")
    ]


def test_obsidian_highlights_in_fenced_code_are_not_deletions() -> None:
    text = "Compare ==equal== values:\n```python\nok = a == b == c\n```\n"
    (note,) = parse_obsidian(text, "n.md").notes
    assert note.kind is NoteKind.CLOZE
    assert note.question == "Compare {{c1::equal}} values:\n```python\nok = a == b == c\n```"


def test_obsidian_front_matter_inline_tags_and_no_cards() -> None:
    deck = parse_obsidian("---\ntags: [flashcards/ml, reading]\n---\nJust prose.\n", "p.md")
    assert deck.notes == []
    assert deck.tags == ["flashcards/ml"]
    assert [warning.message for warning in deck.warnings] == [
        "no flashcards found (question::answer, ?, or ==cloze==)"
    ]


# --- Anki "Notes in Plain Text" ------------------------------------------------------------


def test_anki_text_export_with_headers() -> None:
    deck = parse_fixture(parse_anki_text, "anki_export.txt")
    assert deck.format == "anki-text"
    assert deck.warnings == []
    assert deck.name == "AI::Tokens"  # every row is in one deck
    assert [note.line for note in deck.notes] == [7, 8, 9, 10]
    basic, reversed_, cloze, quoted = deck.notes

    assert basic.explicit_key == "a1B2c3D4e5"
    assert basic.key == "a1B2c3D4e5"
    assert basic.kind is NoteKind.BASIC
    assert basic.question == "What is a **token**?"
    assert basic.answer == "The unit a model reads.\nEach has an integer id."
    assert basic.tags == ["ai", "basics"]

    assert reversed_.kind is NoteKind.REVERSED
    assert reversed_.answer == "The component that turns text into token ids & back"

    assert cloze.kind is NoteKind.CLOZE
    assert cloze.question == "GPT-2 uses a vocabulary of {{c1::50257}} tokens."
    assert cloze.answer == "Byte-level BPE\nsince 2019"
    assert cloze.tags == []

    # A quoted field may hold newlines, quotes and the separator; extra fields become context.
    assert quoted.question == 'A question with a "quoted" word\nand a second line'
    assert quoted.answer == "An answer\twith a tab"
    assert quoted.context == "Extra note"


def test_anki_text_csv_with_file_tags_comments_and_plain_fields() -> None:
    deck = parse_fixture(parse_anki_text, "anki_export.csv")
    assert deck.name == "Sampling"
    assert deck.tags == ["imported", "anki"]
    assert [(note.line, note.question, note.answer) for note in deck.notes] == [
        (5, "What does temperature scale?", "The logits"),
        (6, "Top-k, top-p: which adapts?", "Top-p"),
        (9, "# Not a comment", "because it is quoted"),
    ]
    assert all(note.tags == ["imported", "anki"] for note in deck.notes)
    assert all(note.explicit_key is None for note in deck.notes)


def test_anki_text_without_headers_defaults_to_tabs() -> None:
    deck = parse_fixture(parse_anki_text, "anki_headerless.tsv")
    assert [(note.question, note.answer) for note in deck.notes] == [
        ("Greedy", "Always the most likely token"),
        ("Beam search", "Keeps several candidates"),
    ]


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("front;back\n", "semi.csv"),
        ("front,back\n", "comma.csv"),
        ("front\tback\n", "tabs.csv"),
        ("front\tback\n", "tabs.txt"),
        ("front\tback\n", "no-suffix"),
    ],
)
def test_anki_text_guesses_the_separator_without_headers(text: str, source: str) -> None:
    deck = parse_anki_text(text, source)
    assert [(note.question, note.answer) for note in deck.notes] == [("front", "back")]


def test_anki_text_errors_name_file_and_line() -> None:
    assert error_lines(parse_anki_text, "anki_broken.txt") == [
        (
            "anki_broken.txt",
            3,
            "row has 1 field(s); a note needs a front and a back separated by a semicolon",
        ),
        (
            "anki_broken.txt",
            4,
            "note type 'Cloze' is a cloze type but the text has no {{c1::...}}",
        ),
        ("anki_broken.txt", 6, 'a quoted field in this row is never closed; add the closing "'),
    ]


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("pipe", "front|back"),
        ("Semicolon", "front;back"),
        ("|", "front|back"),
        ("Space", "front back"),
    ],
)
def test_anki_text_separator_names_and_characters(header: str, row: str) -> None:
    deck = parse_anki_text(f"#separator:{header}\n{row}\n", "s.txt")
    assert [(note.question, note.answer) for note in deck.notes] == [("front", "back")]


def test_anki_text_bad_headers_are_errors() -> None:
    with pytest.raises(DeckParseError) as raised:
        parse_anki_text("#separator:tab\n#guid column:zero\na\tb\n", "h.txt")
    assert [str(issue) for issue in raised.value.issues] == [
        "h.txt:2: #guid column:zero is not a column number (1, 2, ...)"
    ]


def test_anki_text_comment_that_looks_like_a_row_warns() -> None:
    deck = parse_anki_text("#separator:tab\n#include\tthe header\nfront\tback\n", "c.txt")
    assert [note.line for note in deck.notes] == [3]
    assert [warning.line for warning in deck.warnings] == [2]


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<div>one</div><div>two</div>", "one\ntwo"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("<b>bold</b> <i>it</i> <code>x</code>", "**bold** *it* `x`"),
        ("x &lt;y&gt; &amp;&nbsp;z", "x <y> & z"),
        ('<span style="color: red">red</span><img src="a.png">', "red"),
        ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
        ("plain", "plain"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


# --- detection ------------------------------------------------------------------------------

DETECTORS: dict[str, Callable[[str, str], bool]] = {
    "colon-p": lambda text, suffix: looks_like_colon_p(text),
    "interview-list": lambda text, suffix: looks_like_interview_list(text),
    "obsidian-sr": lambda text, suffix: looks_like_obsidian(text),
    "anki-text": looks_like_anki_text,
}

DETECTION_CASES = {
    "colon_p.md": "colon-p",
    "colon_p_unclosed.md": "colon-p",
    "colon_p_broken.md": "colon-p",
    "interview.txt": "interview-list",
    "interview_broken.txt": "interview-list",
    "obsidian.md": "obsidian-sr",
    "obsidian_plain.md": "obsidian-sr",
    "anki_export.txt": "anki-text",
    "anki_export.csv": "anki-text",
    "anki_headerless.tsv": "anki-text",
    "anki_broken.txt": "anki-text",
}


@pytest.mark.parametrize(("name", "expected"), sorted(DETECTION_CASES.items()))
def test_each_detector_accepts_only_its_own_format(name: str, expected: str) -> None:
    path = FORMATS / name
    text = path.read_text(encoding="utf-8")
    found = {fmt for fmt, detect in DETECTORS.items() if detect(text, path.suffix)}
    assert found == {expected}


@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_no_detector_claims_a_primary_deck(suffix: str) -> None:
    assert not any(detect(PRIMARY_DECK, suffix) for detect in DETECTORS.values())


def test_every_fixture_is_covered() -> None:
    assert {path.name for path in FORMATS.iterdir()} == set(DETECTION_CASES)


# --- robustness -----------------------------------------------------------------------------

PARSERS = [parse_colon_p, parse_interview_list, parse_obsidian, parse_anki_text]
PIECES = [
    ":p ", "??x", "x??", "#### ", "# ", "---", "```", "Background context: ", "Q1. ", "Q7) ",
    "Model answer: ", "Rubric: ", "Follow-ups: ", "?", "??", "::", ":::", "==", "==x==",
    "^[h]", "[^1]", "#flashcards/a ", "<!--SR:!2024-01-01,1,250-->", "`", "http://a::b",
    "{{c1::", "}}", "\t", ",", ";", '"', "#separator:", "tab", "#html:true", "#guid column:",
    "#notetype column:", "1", "2", "Cloze", "<b>", "<div>", "&amp;", "\r", "\r\n", "\n", "\n\n",
    " ", "word", "- ", "\x0c", "\u2028",
]  # fmt: skip


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_parsers_either_parse_or_raise_deck_parse_error(text: str) -> None:
    for suffix in (".md", ".txt", ".csv"):
        for detect in DETECTORS.values():
            detect(text, suffix)
    for parser in PARSERS:
        try:
            deck = parser(text, "fuzz.txt")
        except DeckParseError as error:
            assert error.issues
            assert all(issue.file == "fuzz.txt" for issue in error.issues)
            assert all(issue.line is None or issue.line >= 1 for issue in error.issues)
        else:
            assert all(note.line >= 1 and note.question.strip() for note in deck.notes)


@pytest.mark.parametrize("parser", PARSERS)
def test_parsers_stay_fast_on_large_and_odd_input(parser: Callable[[str, str], ParsedDeck]) -> None:
    # About 1 MB of each kind of line at once, plus long single lines that would expose a
    # quadratic regular expression. The bound is loose: it catches blow-ups, not slowness.
    unit = (
        "#### T\nBackground context: c\n:p q?\n??x\nanswer ```x``` ==y==\nx??\n---\n"
        "Q1. q?\nModel answer: a\nRubric: a.; b.\nFollow-ups: Why? How?\n\n"
        "#flashcards/x\nq::a\nq:::a <!--SR:!2024-01-01,1,250-->\nm\n?\nn\n\n"
        "front <b>x</b>\tback<br>y\n"
    )
    odd_lines = ["`a " * 20000, "a." * 40000 + "://", "{{c1::" * 20000, "==" * 40000, '"' * 50000]
    text = unit * (1_000_000 // len(unit)) + "\n".join(odd_lines)
    started = time.perf_counter()
    try:
        parser(text, "big.txt")
    except DeckParseError:
        pass
    assert time.perf_counter() - started < 30
