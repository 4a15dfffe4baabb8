"""Compare two judges' out-of-fold predictions on the pairs both predicted.

A training experiment (``train_judge.py --cv 3 --folds-to-run 1``) finishes one fold in about
an hour here, far sooner than ``make judge``; this says whether it beats the shipped judge on
that fold before the rest is spent on it. Both files are ``train_judge.py --cv`` output (full
JSONL rows) or the compact copy the benchmark reads (``bench/data/judge_cv.jsonl.gz``, the
default baseline). Pairs are matched by source, question or card, role, answer and their order
within those, so a baseline made before new graded answers were written is compared on the
answers it has.

Printed per judge: pair-level AUCs and correlations (deck criteria, model answers, SemEval,
SAF), then the decks' table by answer kind with the decision rules fitted on one half of the
fold's cards and measured on the other (and the other way round), the same procedure for both.

Usage: python scripts/compare_judge_folds.py build/judge_cv/cv_predictions.jsonl [--baseline B] [--fold 0]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.judge_cv import (  # noqa: E402
    COMPACT,
    CONTRADICTS,
    STATES,
    UNADDRESSED,
    WRONG_KINDS,
    GradedAnswer,
    _pool,
    deck_answers,
    evaluate,
    fit,
    kind_table,
    read_rows,
)


def keyed(rows: Sequence[dict[str, Any]], fold: int) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The fold's rows by (source, group, role, answer, n-th such row)."""
    seen: Counter[tuple[Any, ...]] = Counter()
    out = {}
    for row in rows:
        if int(row["fold"]) != fold or row.get("prediction") is None:
            continue
        base = (row["source"], row["group"], row["role"], row["answer"])
        out[(*base, seen[base])] = row
        seen[base] += 1
    return out


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    from sklearn.metrics import roc_auc_score

    if not positive or not negative:
        return float("nan")
    return float(roc_auc_score([1] * len(positive) + [0] * len(negative), [*positive, *negative]))


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    import numpy as np

    return (
        float(np.corrcoef(np.asarray(x, float), np.asarray(y, float))[0, 1])
        if len(x) > 2
        else float("nan")
    )


def pair_figures(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    def of(source: str, role: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["source"] == source and r["role"] == role]

    criteria = of("deck", "criterion")
    reference = of("deck", "reference")
    figures = {
        "deck criteria, P(states) met vs missed": auc(
            [r["prediction"][0] for r in criteria if r["label"] == STATES],
            [r["prediction"][0] for r in criteria if r["label"] in (UNADDRESSED, CONTRADICTS)],
        ),
        "deck criteria, P(contradicts) contradicted vs met": auc(
            [r["prediction"][1] for r in criteria if r["label"] == CONTRADICTS],
            [r["prediction"][1] for r in criteria if r["label"] == STATES],
        ),
        "deck model answer, credit r with human score": pearson(
            [r["prediction"][3] for r in reference], [r["score"] for r in reference]
        ),
    }
    for source, name in (("beetle", "Beetle"), ("sciEntsBank", "SciEntsBank")):
        items = of(source, "reference")
        figures[f"{name}, AUC correct vs not"] = auc(
            [r["prediction"][0] for r in items if r["label"] == STATES],
            [r["prediction"][0] for r in items if r["label"] != STATES],
        )
        figures[f"{name}, AUC correct vs contradictory"] = auc(
            [r["prediction"][0] for r in items if r["label"] == STATES],
            [r["prediction"][0] for r in items if r["label"] == CONTRADICTS],
        )
    saf = of("saf", "reference")
    figures["SAF, credit r with partial credit"] = pearson(
        [r["prediction"][3] for r in saf], [r["score"] for r in saf]
    )
    return figures


def half_of(card: str) -> int:
    return hashlib.sha256(card.encode()).digest()[0] % 2


def two_halves(answers: Sequence[GradedAnswer]) -> Any:
    """Rules fitted on one half of the cards, measured on the other; both ways, pooled."""
    pooled = None
    for half in (0, 1):
        rules, _ = fit([a for a in answers if half_of(a.card) != half])
        figures = evaluate([a for a in answers if half_of(a.card) == half], rules)
        pooled = figures if pooled is None else _pool(pooled, figures)
    return pooled


def report(name: str, rows: Sequence[dict[str, Any]]) -> None:
    print(f"== {name}: {len(rows)} pairs")
    for label, value in pair_figures(rows).items():
        print(f"  {label:<52} {value:6.3f}")
    answers = deck_answers(rows)
    if not answers:
        return
    figures = two_halves(answers)
    print("\n".join("  " + line for line in kind_table(figures)))
    wrong = {k: figures.kinds[k].good_or_easy for k in WRONG_KINDS if k in figures.kinds}
    print(
        f"  wrong answers Good/Easy {figures.wrong_good} {wrong}; right answers Good/Easy "
        f"{figures.right_good_share:.1%}; salad above Hard {figures.salad_above_hard}; verdicts "
        f"{figures.verdict_accuracy:.1%}; r {figures.pearson_r:.3f}; contradicted found "
        f"{figures.contradicted_found}/{figures.contradicted_total} ({figures.contradicted_false} false)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path)
    parser.add_argument("--baseline", type=Path, default=COMPACT)
    parser.add_argument("--fold", type=int, default=0)
    options = parser.parse_args()
    new = keyed(read_rows(options.predictions), options.fold)
    old = keyed(read_rows(options.baseline), options.fold)
    common = sorted(set(new) & set(old))
    only_new = [new[k] for k in sorted(set(new) - set(old))]
    print(
        f"fold {options.fold}: {len(common)} pairs in both, {len(only_new)} only in {options.predictions}"
    )
    report(f"baseline {options.baseline}", [old[k] for k in common])
    report(f"new {options.predictions}", [new[k] for k in common])
    if only_new:
        report("new, on the pairs the baseline never predicted", only_new)


if __name__ == "__main__":
    main()
