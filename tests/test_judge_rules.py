"""The judge grader's plain logic: decision rules, clauses and word-bounded spans, long answers.

These need no model: :func:`studytool.ml.judge.decide` is arithmetic over the judge's outputs
(the model itself is tested in test_judge.py).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studytool.core.grading import RatingThresholds, Verdict
from studytool.core.ratings import Rating
from studytool.ml.judge import (
    ANSWER_WINDOW_WORDS,
    LENGTH_SLACK,
    MAX_BATCH,
    DecisionRules,
    Judged,
    answer_windows,
    clauses,
    decide,
    length_batches,
    word_bounded,
)
from studytool.ml.packing import MAX_LENGTH as PACKED_MAX_LENGTH
from studytool.ml.packing import batch_arrays, pack

RULES = DecisionRules(thresholds=RatingThresholds(0.3, 0.6, 0.9))
STATES = Judged(0.95, 0.02, 0.03, 0.95)
CONTRADICTS = Judged(0.05, 0.9, 0.05, 0.05)
UNADDRESSED = Judged(0.03, 0.02, 0.95, 0.02)


def test_every_criterion_stated_is_easy() -> None:
    decision = decide(STATES, [STATES, STATES], [UNADDRESSED], RULES)
    assert decision.verdicts == [Verdict.MET, Verdict.MET]
    assert decision.suggested_rating == Rating.EASY and not decision.unsure


def test_one_contradicted_criterion_caps_an_otherwise_perfect_answer_at_hard() -> None:
    decision = decide(STATES, [STATES, STATES, CONTRADICTS], [], RULES)
    assert decision.contradicted == [False, False, True]
    assert decision.verdicts[2] is Verdict.MISSED
    assert decision.suggested_rating == Rating.HARD


def test_a_known_mistake_is_at_most_hard_and_again_when_little_else_is_right() -> None:
    assert decide(STATES, [STATES, STATES], [STATES], RULES).suggested_rating == Rating.HARD
    assert decide(UNADDRESSED, [UNADDRESSED, UNADDRESSED], [STATES], RULES).suggested_rating == Rating.AGAIN


def test_a_contradicted_model_answer_is_never_good() -> None:
    decision = decide(CONTRADICTS, [], [], RULES)
    assert decision.suggested_rating == Rating.AGAIN and decision.ceiling == Rating.HARD


def test_criteria_and_model_answer_pulling_apart_is_not_sure() -> None:
    decision = decide(UNADDRESSED, [STATES, STATES], [], RULES)
    assert decision.unsure and decision.suggested_rating is None
    # ... but a contradiction found is a firm "at most Hard", not a shrug.
    decision = decide(UNADDRESSED, [STATES, CONTRADICTS], [], RULES)
    assert not decision.unsure and decision.suggested_rating is not None


def test_a_weak_contradiction_is_not_sure_and_a_strong_one_caps_at_hard() -> None:
    rules = DecisionRules(contradicted=0.5, sure_contradiction=0.8, thresholds=RULES.thresholds)
    weak = Judged(0.3, 0.6, 0.1, 0.3)
    decision = decide(STATES, [STATES, weak], [], rules)
    assert decision.contradicted == [False, True]
    assert decision.unsure and decision.suggested_rating is None
    decision = decide(STATES, [STATES, CONTRADICTS], [], rules)
    assert not decision.unsure and decision.suggested_rating == Rating.HARD
    # A known mistake made is never a shrug, however weak the contradiction beside it.
    decision = decide(STATES, [STATES, weak], [STATES], dataclasses.replace(rules, mistake=0.5))
    assert not decision.unsure and decision.suggested_rating is not None


def test_partial_credit_tracks_the_credit_head() -> None:
    half = Judged(0.3, 0.05, 0.65, 0.5)
    decision = decide(half, [STATES, half, UNADDRESSED], [], RULES)
    assert decision.verdicts == [Verdict.MET, Verdict.PARTLY, Verdict.MISSED]
    assert 0.3 < decision.score < 0.6
    assert decision.suggested_rating == Rating.HARD


def test_rules_round_trip_through_json() -> None:
    assert DecisionRules.from_json(RULES.to_json()) == RULES


def test_a_short_answer_is_one_window_and_a_long_one_overlapping_windows() -> None:
    assert answer_windows("keys and values") == ["keys and values"]
    words = [f"w{i}" for i in range(400)]
    windows = answer_windows(" ".join(words))
    assert len(windows) > 1
    assert all(len(w.split()) <= ANSWER_WINDOW_WORDS for w in windows)
    covered = {word for window in windows for word in window.split()}
    assert covered == set(words)


def test_clauses_split_sentences_and_contrasts() -> None:
    answer = "It stores keys and values for each layer. But it does not store queries; memory grows with length."
    parts = [answer[a:b] for a, b in clauses(answer)]
    assert parts == [
        "It stores keys and values for each layer",
        "But it does not store queries",
        "memory grows with length",
    ]


def test_a_very_short_clause_joins_its_neighbour() -> None:
    answer = "Yes. Greedy picks the argmax at every step, so it is deterministic."
    parts = [answer[a:b] for a, b in clauses(answer)]
    assert parts[0].startswith("Yes") and "argmax" in parts[0]


_WORDISH = re.compile(r"[^\W_]")


@given(st.text(max_size=200))
def test_clause_spans_start_and_end_on_word_boundaries(answer: str) -> None:
    for start, end in clauses(answer):
        assert 0 <= start < end <= len(answer)
        assert _WORDISH.match(answer[start]) and _WORDISH.match(answer[end - 1])
        assert start == 0 or not _WORDISH.match(answer[start - 1])
        assert end == len(answer) or not _WORDISH.match(answer[end])


@given(st.text(max_size=80), st.integers(0, 80), st.integers(0, 80))
def test_word_bounded_never_cuts_a_word(text: str, a: int, b: int) -> None:
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    span = word_bounded(text, start, end)
    if span is None:
        assert not any(_WORDISH.match(ch) for ch in text[start:end])
        return
    s, e = span
    assert _WORDISH.match(text[s]) and _WORDISH.match(text[e - 1])
    assert s == 0 or not _WORDISH.match(text[s - 1])
    assert e == len(text) or not _WORDISH.match(text[e])


def test_good_is_reachable_without_every_criterion() -> None:
    decision = decide(STATES, [STATES, STATES, STATES, Judged(0.2, 0.05, 0.75, 0.3)], [], RULES)
    assert decision.suggested_rating in (Rating.GOOD, Rating.EASY)


@given(st.lists(st.integers(min_value=1, max_value=256), max_size=60))
def test_length_batches_run_every_pair_once_with_similar_lengths(lengths: list[int]) -> None:
    batches = length_batches(lengths)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= MAX_BATCH
        sizes = [lengths[i] for i in batch]
        assert max(sizes) <= LENGTH_SLACK * min(sizes)


def test_a_long_model_answer_pair_does_not_pad_the_short_criteria() -> None:
    # One grade: the model-answer pair is long, the criteria pairs short and alike.
    batches = length_batches([180, 120, 118, 125, 122, 119])
    assert [0] in batches and len(batches) == 2


# --------------------------------------------------------------------------------------
# Packing: one answer against all of a card's claims in one input (scripts/train_packed_judge.py)


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    from tokenizers import Tokenizer

    from studytool.ml.judge import JUDGE_DIR

    tokenizer = Tokenizer.from_file(str(JUDGE_DIR / "tokenizer.json"))
    tokenizer.no_truncation()  # pack() cuts and pads
    tokenizer.no_padding()
    return tokenizer


def test_one_claim_packs_as_the_cross_encoder_pair(tokenizer: Any) -> None:
    packed = pack(tokenizer, "What is stored?", ["Keys and values."], "The cache keeps keys.")
    assert tokenizer.decode(packed.ids, skip_special_tokens=False) == (
        "[CLS] what is stored? [SEP] keys and values. [SEP] the cache keeps keys. [SEP]"
    )
    start, end = packed.claim_spans[0]
    assert tokenizer.decode(packed.ids[start:end], skip_special_tokens=False) == "keys and values. [SEP]"
    # What a cross-encoder reads for the pair ("question [SEP] claim", answer).
    pair = tokenizer.encode("What is stored? [SEP] Keys and values.", "The cache keeps keys.")
    assert (packed.ids, packed.type_ids) == (pair.ids, pair.type_ids)


def test_each_claim_reads_its_own_pieces(tokenizer: Any) -> None:
    claims = ["The model answer.", "says keys", "says values per layer"]
    packed = pack(tokenizer, "Q?", claims, "an answer")
    decoded = [
        tokenizer.decode(packed.ids[a:z], skip_special_tokens=True) for a, z in packed.claim_spans
    ]
    assert decoded == ["the model answer.", "says keys", "says values per layer"]
    feed = batch_arrays([packed, pack(tokenizer, "", ["c"], "a b c d")])
    assert feed["claim_mask"].shape == (2, 3, len(packed))
    assert np.allclose(feed["claim_mask"].sum(axis=2), [[1, 1, 1], [1, 0, 0]])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    st.integers(min_value=0, max_value=300),
    st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=900),
)
def test_a_packed_input_fits_the_model_and_keeps_the_answer(
    tokenizer: Any, question: int, claims: list[int], answer: int
) -> None:
    packed = pack(tokenizer, "why " * question, ["cache " * n for n in claims], "keys " * answer)
    assert len(packed) <= PACKED_MAX_LENGTH
    assert len(packed.claim_spans) == len(claims)
    kept = sum(1 for t in packed.type_ids if t == 1) - 1  # the answer's pieces, less its [SEP]
    assert kept >= min(answer, 64) or sum(min(n, 8) for n in claims) > 300
