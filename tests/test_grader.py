"""The shipped answer grader on its real weights (no mocks): meaning over keywords, evidence,
the held-out sample answers, both backends, bad input and damaged files.

The answers written here are not in the judge's training data (tests/data/graded_answers).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studytool.core.card_faces import card_faces
from studytool.core.grading import (
    BackgroundGrader,
    GradeResult,
    GraderUnavailable,
    GradingInputs,
    Verdict,
    grading_inputs,
)
from studytool.core.importing import parse_file
from studytool.core.ratings import Rating
from studytool.ml import load_answer_grader
from studytool.ml.judge import JUDGE_DIR, JUDGE_DIR_ENV

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).parent / "data" / "sample_answers"
_WORDISH = re.compile(r"[^\W_]")


def _notes() -> dict[str, object]:
    notes = {}
    for path in sorted((ROOT / "decks").glob("*.md")):
        for note in parse_file(path).notes:
            notes[note.key] = note
    return notes


NOTES = _notes()


def card(key: str, ordinal: int = 0) -> GradingInputs:
    note = NOTES[key]
    faces = card_faces(note, ordinal)  # type: ignore[arg-type]
    return grading_inputs(
        note.kind.value,  # type: ignore[attr-defined]
        ordinal,
        faces.front,
        faces.expected,
        note.rubric,  # type: ignore[attr-defined]
        faces.rubric_applies,
        note.mistakes,  # type: ignore[attr-defined]
    )


@pytest.fixture(scope="module")
def grader() -> BackgroundGrader:
    background = BackgroundGrader(load_answer_grader)
    background.wait(timeout=120)
    return background


def _check_evidence(answer: str, result: GradeResult) -> None:
    """Evidence quotes the answer exactly, on word boundaries, and only where it counts."""
    for item in [*result.criteria, *result.mistakes]:
        if item.evidence_span is None:
            assert item.evidence is None
            continue
        start, end = item.evidence_span
        assert 0 <= start < end <= len(answer)
        assert answer[start:end] == item.evidence
        assert _WORDISH.match(answer[start]) and _WORDISH.match(answer[end - 1])
        assert start == 0 or not _WORDISH.match(answer[start - 1])
        assert end == len(answer) or not _WORDISH.match(answer[end])
    for criterion in result.criteria:
        if criterion.verdict is Verdict.MISSED and not criterion.contradicted:
            assert criterion.evidence is None


def _good(result: GradeResult) -> bool:
    return result.suggested_rating in (Rating.GOOD, Rating.EASY)


# -- meaning, not keywords ------------------------------------------------------------------


def test_a_paraphrase_gets_the_credit_a_fair_human_gives(grader: BackgroundGrader) -> None:
    inputs = card("async-concurrency-vs-parallelism")
    answer = (
        "Concurrency is juggling: several jobs are under way during the same stretch of time and "
        "their steps take turns. Parallelism is several jobs literally executing at once on "
        "separate cores. asyncio gives you the first on one thread, one coroutine at a time; you "
        "win because the waiting overlaps, not because anything computes faster."
    )
    result = grader.grade(inputs, answer)
    assert _good(result), result
    assert sum(c.verdict is Verdict.MET for c in result.criteria) >= 3
    _check_evidence(answer, result)


@pytest.mark.xfail(
    strict=False,
    reason="issue #13, open: contradictions found for 468 of 770 contradicted criteria out of fold; "
    "this reversed answer is not Good but no criterion is marked contradicted",
)
def test_the_opposite_of_the_truth_is_never_good_and_says_what_it_contradicts(
    grader: BackgroundGrader,
) -> None:
    inputs = card("async-concurrency-vs-parallelism")
    answer = (
        "asyncio gives true parallelism: the event loop spreads coroutines over several threads "
        "so they execute at the same instant on different cores."
    )
    result = grader.grade(inputs, answer)
    assert not _good(result), result
    flagged = result.contradicted or result.mistakes
    assert flagged, "neither a contradicted criterion nor a known mistake was found"
    _check_evidence(answer, result)


def test_a_negated_answer_is_not_good(grader: BackgroundGrader) -> None:
    inputs = card("gen-greedy-determinism")
    answer = (
        "The greedy runs come out different each time, because greedy decoding is random; the "
        "sampled runs are always identical even without a seed."
    )
    result = grader.grade(inputs, answer)
    assert not _good(result), result
    assert result.suggested_rating in (Rating.AGAIN, Rating.HARD, None)
    _check_evidence(answer, result)


def test_a_terse_correct_line_is_good(grader: BackgroundGrader) -> None:
    inputs = card("kv-cache-contents")
    result = grader.grade(inputs, "the keys and values of all previous tokens, for every layer")
    assert _good(result), result


def test_keyword_salad_is_at_most_hard(grader: BackgroundGrader) -> None:
    inputs = card("gen-greedy-determinism")
    result = grader.grade(inputs, "greedy sampling seed argmax logits GPU batching identical random")
    assert result.suggested_rating in (Rating.AGAIN, Rating.HARD, None), result


def test_a_wrong_number_is_a_known_mistake(grader: BackgroundGrader) -> None:
    inputs = card("ctx-length")
    answer = "GPT-2 can read 2,048 tokens at once and Llama 3 reads 8,192 tokens per sequence."
    result = grader.grade(inputs, answer)
    assert not _good(result), result
    _check_evidence(answer, result)


@pytest.mark.xfail(
    strict=False, reason="issue #13, open: 14 of 110 off-topic answers are Hard out of fold"
)
def test_an_off_topic_answer_is_again(grader: BackgroundGrader) -> None:
    inputs = card("kv-cache-contents")
    result = grader.grade(inputs, "Tokenizers split text into subword pieces with BPE merges.")
    assert result.suggested_rating in (Rating.AGAIN, None) and result.score < 0.3


# -- the new-user trial's ad-hoc items (../shared/reviews/new-user-trial-2026-12.md, §3) ---------

# Out of fold, 49% of terse correct answers are suggested Good/Easy (target 90%).
TERSE_GAP = "issue #13, open: terse correct answers are often suggested Hard or Again"
KV_ADHOC = GradingInputs(
    "What does the KV cache store?",
    "The keys and values of all previous tokens, for every layer, so they are not recomputed.",
    ["says it stores keys and values", "says it avoids recomputation"],
)
GREEDY_ADHOC = GradingInputs(
    "Is greedy decoding deterministic?",
    "Yes: it takes the argmax at every step, so the same input always gives the same output.",
    [],
)
GPT2_ADHOC = GradingInputs(
    "What is GPT-2's context length?", "GPT-2's context length is 1024 tokens.", []
)
TEMPERATURE_ADHOC = GradingInputs(
    "What does a temperature above 1 do to the next-token distribution?",
    "It flattens the distribution: lower-probability tokens become more likely.",
    [],
)


@pytest.mark.parametrize(
    ("inputs", "answer", "good"),
    [
        (KV_ADHOC, "It does not store keys or values, and it does not avoid recomputation.", False),
        (KV_ADHOC, "The queries of the previous tokens.", False),
        (dataclasses.replace(KV_ADHOC, criteria=[]), "keys values tokens layer recomputed cache store", False),
        (GREEDY_ADHOC, "No, it is random.", False),
        pytest.param(
            GREEDY_ADHOC, "Yes, argmax every step so same input same output.", True,
            marks=pytest.mark.xfail(strict=False, reason=TERSE_GAP),
        ),
        (GPT2_ADHOC, "2048 tokens.", False),
        pytest.param(GPT2_ADHOC, "1024", True, marks=pytest.mark.xfail(strict=False, reason=TERSE_GAP)),
        (TEMPERATURE_ADHOC, "Sharper: it makes the top token more likely.", False),
    ],
    ids=["negated", "queries", "salad", "no-random", "terse-yes", "wrong-number", "right-number", "antonym"],
)
def test_the_trials_ad_hoc_items_are_graded_as_a_tutor_would(
    grader: BackgroundGrader, inputs: GradingInputs, answer: str, good: bool
) -> None:
    result = grader.grade(inputs, answer)
    if good:
        assert _good(result), result
    else:
        assert result.suggested_rating in (Rating.AGAIN, Rating.HARD, None), result
    _check_evidence(answer, result)


# -- true negations: "does not" is not the same as "wrong" ---------------------------------

# Right answers that state one of the card's negative facts ("async does not make the model
# faster"), each with a wrong twin that reverses it; written for these tests, not trained on.
NEGATION_TWINS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "negation_twins.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


@pytest.fixture(scope="module")
def twin_grades(grader: BackgroundGrader) -> list[tuple[dict[str, object], GradeResult, GradeResult]]:
    graded = []
    for twin in NEGATION_TWINS:
        inputs = card(str(twin["id"]), int(twin["ordinal"]))  # type: ignore[call-overload]
        graded.append((twin, grader.grade(inputs, str(twin["right"])), grader.grade(inputs, str(twin["wrong"]))))
    return graded


def test_no_wrong_twin_is_good(
    twin_grades: list[tuple[dict[str, object], GradeResult, GradeResult]],
) -> None:
    wrong_good = [twin["id"] for twin, _, wrong in twin_grades if _good(wrong)]
    assert not wrong_good, f"reversed answers suggested Good/Easy: {wrong_good}"


@pytest.mark.xfail(
    strict=False,
    reason="issue #13, open: the shipped judge suggests Again for 7 of these 20 right answers "
    "and marks the negative criterion contradicted in 10 (it reads a true 'not' as a contradiction)",
)
def test_a_true_negation_is_not_read_as_a_contradiction(
    twin_grades: list[tuple[dict[str, object], GradeResult, GradeResult]],
) -> None:
    graded = twin_grades
    harsh = [twin["id"] for twin, right, _ in graded if right.suggested_rating == Rating.AGAIN]
    flagged = [
        twin["id"] for twin, right, _ in graded if right.criteria[int(twin["criterion"])].contradicted  # type: ignore[call-overload]
    ]
    assert not harsh, f"right answers with a true negation suggested Again: {harsh}"
    assert len(flagged) <= len(graded) // 10, f"their negative criterion marked contradicted: {flagged}"


# -- the held-out sample answers ------------------------------------------------------------


def _sample_cards() -> list[tuple[GradingInputs, dict[str, str]]]:
    cards = []
    for path in sorted(SAMPLES.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry["id"] not in NOTES:
                continue
            inputs = card(entry["id"], int(entry.get("ordinal", 0)))
            cards.append((inputs, {level: entry[level]["answer"] for level in ("good", "partial", "wrong")}))
    return cards


ORDERED_SHARE = 0.90


@pytest.mark.xfail(
    strict=False,
    reason="issue #13, open: 87 of 107 cards in order (81%, target 90%); no wrong answer is Good",
)
def test_sample_answers_are_ordered(grader: BackgroundGrader) -> None:
    """good > partial > wrong on most cards (the part not met yet; the rest is checked below)."""
    sample_answers_are_ordered_and_no_wrong_answer_is_good(grader)


def test_no_held_out_wrong_answer_is_suggested_good_and_evidence_is_honest(
    grader: BackgroundGrader,
) -> None:
    wrong_but_good = []
    for inputs, answers in _sample_cards():
        for level, text in answers.items():
            result = grader.grade(inputs, text)
            _check_evidence(text, result)
            if level == "wrong" and _good(result):
                wrong_but_good.append(inputs.question)
    assert wrong_but_good == []


def sample_answers_are_ordered_and_no_wrong_answer_is_good(grader: BackgroundGrader) -> None:
    """good > partial > wrong on most cards, and no wrong answer suggested Good or Easy."""
    cards = _sample_cards()
    assert len(cards) >= 100
    ordered = 0
    wrong_but_good = []
    for inputs, answers in cards:
        results = {level: grader.grade(inputs, text) for level, text in answers.items()}
        ordered += results["good"].score > results["partial"].score > results["wrong"].score
        if _good(results["wrong"]):
            wrong_but_good.append(inputs.question)
        for level, text in answers.items():
            _check_evidence(text, results[level])
    assert ordered / len(cards) >= ORDERED_SHARE, f"{ordered} of {len(cards)} cards in order"
    assert wrong_but_good == []


# -- runtime ------------------------------------------------------------------------------


def test_grading_runs_on_onnx_runtime_without_importing_torch() -> None:
    code = (
        "import sys\n"
        "from studytool.ml import load_answer_grader\n"
        "g = load_answer_grader()\n"
        "r = g.grade('What is a token?', 'A piece of text.', ['says piece of text'], 'a piece of text')\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "print(g.version, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]"), out.stdout
    assert out.stdout.startswith("judge-1:")
    assert out.stderr == ""


@pytest.mark.xfail(
    strict=False,
    reason="issue #13, open: int8 quantisation moves some pairs by up to 0.56; "
    "score r between the backends is 0.958 (target 0.99)",
)
def test_the_reference_backend_agrees_with_onnx_runtime(grader: BackgroundGrader) -> None:
    import numpy as np

    reference = load_answer_grader("sentence-transformers")
    onnx = grader.wait()
    assert reference.version == onnx.version  # same weights and rules
    scores_onnx, scores_reference = [], []
    for inputs, answers in _sample_cards()[::3]:
        for text in answers.values():
            args = (inputs.question, inputs.reference, inputs.criteria, text, inputs.mistakes)
            scores_onnx.append(onnx.grade(*args).score)
            scores_reference.append(reference.grade(*args).score)
    r = float(np.corrcoef(scores_onnx, scores_reference)[0, 1])
    assert len(scores_onnx) >= 90
    assert r >= 0.99, f"score r {r:.4f} between the backends"


@pytest.mark.parametrize(
    "answer",
    [
        "def kv(x):\n    cache[k] = (K @ x, V @ x)  # keys & values\n    return cache",
        "KV缓存存储每一层之前所有词元的键和值。",
        "ذاكرة التخزين المؤقت تخزن المفاتيح والقيم",
        "🔑 + 📦 per layer 🚀🚀🚀",
        "?!?! ... ---",
        "\u200b\u200b\u200b",
        "x" * 5000,
    ],
    ids=["code", "chinese", "arabic", "emoji", "punctuation", "zero-width", "one-long-word"],
)
def test_unusual_answers_do_not_crash(grader: BackgroundGrader, answer: str) -> None:
    inputs = card("kv-cache-contents")
    result = grader.grade(inputs, answer)
    assert result.suggested_rating in (None, 1, 2, 3, 4) and 0.0 <= result.score <= 1.0
    assert len(result.criteria) == len(inputs.criteria)
    _check_evidence(answer, result)


def test_a_ten_thousand_word_answer_is_truncated_and_the_learner_told(
    grader: BackgroundGrader,
) -> None:
    inputs = card("kv-cache-contents")
    answer = " ".join(["the keys and values of every layer are cached"] * 1000)  # 10,000 words
    result = grader.grade(inputs, answer)
    assert result.truncated
    assert any("only the first 1,000 were graded" in note for note in result.notes)
    _check_evidence(answer, result)


def test_blank_answer_is_again(grader: BackgroundGrader) -> None:
    result = grader.grade(card("kv-cache-contents"), "   ")
    assert result.suggested_rating == Rating.AGAIN and result.score == 0.0


def test_a_card_without_rubric_or_reference_is_not_sure(grader: BackgroundGrader) -> None:
    result = grader.grade(GradingInputs("Name a sampler.", "", []), "top-p")
    assert result.criteria == [] and result.suggested_rating is None and result.unsure


# -- damaged files ----------------------------------------------------------------------


def _judge_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "judge"
    shutil.copytree(JUDGE_DIR, copy)
    return copy


def test_a_corrupt_model_file_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _judge_copy(tmp_path)
    model = copy / "judge.int8.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    monkeypatch.setenv(JUDGE_DIR_ENV, str(copy))
    from studytool.ml.judge import load_judge_grader

    with pytest.raises(GraderUnavailable, match=r"judge.int8.onnx is corrupt or not the shipped one.*Reinstall"):
        load_judge_grader()
    background = BackgroundGrader(load_judge_grader)
    with pytest.raises(GraderUnavailable, match="corrupt"):
        background.grade(card("kv-cache-contents"), "keys and values")
    # Blank answers are still graded, without the model.
    assert background.grade(card("kv-cache-contents"), "").suggested_rating == Rating.AGAIN


def test_missing_files_give_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from studytool.ml.judge import load_judge_grader

    monkeypatch.setenv(JUDGE_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(GraderUnavailable, match="grader's files are missing"):
        load_judge_grader()
    copy = _judge_copy(tmp_path)
    (copy / "tokenizer.json").unlink()
    monkeypatch.setenv(JUDGE_DIR_ENV, str(copy))
    with pytest.raises(GraderUnavailable, match="tokenizer.json cannot be read"):
        load_judge_grader()


def test_an_unknown_backend_names_the_choices() -> None:
    from studytool.ml.judge import load_judge_grader

    with pytest.raises(GraderUnavailable, match="onnx, sentence-transformers"):
        load_judge_grader("tensorflow")
