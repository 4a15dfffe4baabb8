"""The judge's training script: its data builders and the resumable cross-validation.

Training itself takes hours on this CPU and is not run here; these are the parts whose mistakes
would silently spoil a run (a fold that splits a card, SNLI read the wrong way round, a resumed
run that loses or mismatches a finished fold).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from scripts import export_judge
from scripts import train_judge as tj


def _pair(group: str, answer: str, label: int = tj.STATES) -> tj.Pair:
    return tj.Pair(
        source="deck", group=group, question="q", claim="c", answer=answer, label=label, score=1.0
    )


def test_folds_never_split_a_group_and_spread_the_groups() -> None:
    pairs = [_pair(f"g{i % 30}", f"answer {i}") for i in range(300)]
    fold_of = tj.folds_of(pairs, 3)
    by_group: dict[str, set[int]] = {}
    for pair, fold in zip(pairs, fold_of, strict=True):
        by_group.setdefault(pair.group, set()).add(fold)
    assert all(len(folds) == 1 for folds in by_group.values())
    assert sorted(fold_of.count(f) for f in range(3)) == [100, 100, 100]


def test_a_resumed_run_keeps_exactly_the_finished_folds(tmp_path: Path) -> None:
    pairs = [_pair(f"g{i % 6}", f"answer {i}") for i in range(24)]
    fold_of = tj.folds_of(pairs, 3)
    predictions: list[list[float] | None] = [
        [0.1 * i, 0.2, 0.3, 0.4] if fold_of[i] == 0 else None for i in range(len(pairs))
    ]
    tj.write_cv_predictions(tmp_path, pairs, fold_of, predictions)
    again = tj.earlier_predictions(tmp_path, pairs, fold_of)
    assert again == predictions
    # Another fold assignment (the data changed): nothing is taken for the wrong fold.
    shifted = [(f + 1) % 3 for f in fold_of]
    assert all(row is None for row in tj.earlier_predictions(tmp_path, pairs, shifted))
    assert tj.earlier_predictions(tmp_path / "none", pairs, fold_of) == [None] * len(pairs)


def _snli_archive(path: Path, rows: list[dict[str, str]]) -> Path:
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(tj.SNLI_MEMBER)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_snli_reads_the_premise_as_the_answer_and_skips_disputed_pairs(tmp_path: Path) -> None:
    rows = [
        {"gold_label": "entailment", "captionID": "1", "sentence1": "A dog runs.", "sentence2": "An animal moves."},
        {"gold_label": "contradiction", "captionID": "2", "sentence1": "A dog runs.", "sentence2": "A dog sleeps."},
        {"gold_label": "neutral", "captionID": "3", "sentence1": "A dog runs.", "sentence2": "A dog runs home."},
        {"gold_label": "-", "captionID": "4", "sentence1": "A dog runs.", "sentence2": "It is sunny."},
    ]
    pairs = tj.snli_pairs(_snli_archive(tmp_path / "snli.tar.gz", rows), limit=10)
    by_claim = {pair.claim: pair for pair in pairs}
    assert set(by_claim) == {"An animal moves.", "A dog sleeps.", "A dog runs home."}
    assert all(pair.answer == "A dog runs." and pair.question == "" for pair in pairs)
    assert (by_claim["An animal moves."].label, by_claim["An animal moves."].score) == (tj.STATES, 1.0)
    assert by_claim["A dog sleeps."].label == tj.CONTRADICTS
    assert by_claim["A dog runs home."].label == tj.UNADDRESSED
    assert len(tj.snli_pairs(tmp_path / "snli.tar.gz", limit=2)) == 2


def test_the_exported_licences_name_snli_only_when_a_first_stage_used_it() -> None:
    without = export_judge.licences({"base": tj.BASE_NAME, "first_stage": None})
    assert not any("SNLI" in line for line in without["data"])
    assert any("SemEval" in line for line in without["data"])
    with_stage = export_judge.licences({"first_stage": {"pairs": {"snli": 50000}}})
    assert any("SNLI" in line and "CC BY-SA 4.0" in line for line in with_stage["data"])


def test_a_changed_snli_download_is_refused(tmp_path: Path) -> None:
    (tmp_path / tj.SNLI_ARCHIVE).write_bytes(b"not the sdist")
    with pytest.raises(SystemExit, match="sha256"):
        tj.snli_archive(tmp_path)


@pytest.mark.parametrize(
    ("text", "flipped"),
    [
        ("the cache does not store queries", "the cache does store queries"),
        ("it isn't deterministic", "it is deterministic"),
        ("decoding is sequential", "decoding is not sequential"),
        ("batching makes it faster", "batching makes it slower"),
    ],
)
def test_a_flipped_clause_reverses_one_thing(text: str, flipped: str) -> None:
    assert tj.flip_clause(text) == flipped


def test_fold_comparison_matches_pairs_by_answer_and_order_within_it() -> None:
    from scripts import compare_judge_folds as compare

    def row(group: str, role: str, answer: str, states: float, label: int = tj.STATES, fold: int = 0) -> dict:
        return {
            "source": "deck", "group": group, "role": role, "answer": answer, "label": label,
            "score": 1.0, "fold": fold, "prediction": [states, 0.0, 1 - states, states],
        }

    old = [row("deck/a", "criterion", "k1", 0.9), row("deck/a", "criterion", "k1", 0.1, tj.UNADDRESSED)]
    new = [*old, row("deck/a", "criterion", "k2", 0.5), row("deck/b", "criterion", "k3", 0.5, fold=1)]
    old_keys, new_keys = compare.keyed(old, 0), compare.keyed(new, 0)
    # The two criteria of one answer stay apart (by their order); another fold is left out.
    assert sorted(old_keys) == [("deck", "deck/a", "criterion", "k1", 0), ("deck", "deck/a", "criterion", "k1", 1)]
    assert set(new_keys) - set(old_keys) == {("deck", "deck/a", "criterion", "k2", 0)}
    figures = compare.pair_figures(old)
    assert figures["deck criteria, P(states) met vs missed"] == 1.0
