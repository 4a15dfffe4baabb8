"""Score the judge's out-of-fold predictions (``train_judge.py --cv``) against the targets.

Usage: python scripts/judge_report.py build/judge/cv_predictions.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from statistics import mean

from scipy.stats import pearsonr
from sklearn.metrics import roc_auc_score

STATES, CONTRADICTS, UNADDRESSED = 0, 1, 2


def main(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    by_source: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_source[row["source"] + ("/criterion" if row["role"] == "criterion" else "")].append(row)

    for source in ("beetle", "sciEntsBank"):
        items = by_source.get(source, [])
        if not items:
            continue
        correct = [1.0 if r["label"] == STATES else 0.0 for r in items]
        p_states = [r["prediction"][0] for r in items]
        score = [r["prediction"][3] for r in items]
        contra = [r for r in items if r["label"] in (STATES, CONTRADICTS)]
        auc = roc_auc_score(
            [1 if r["label"] == STATES else 0 for r in contra],
            [r["prediction"][0] - r["prediction"][1] for r in contra],
        )
        print(
            f"{source:12s} n={len(items):5d}  r(P states)={pearsonr(p_states, correct)[0]:.3f}"
            f"  r(score)={pearsonr(score, correct)[0]:.3f}  AUC correct-vs-contradictory={auc:.3f}"
        )
    saf = by_source.get("saf", [])
    if saf:
        human = [r["score"] for r in saf]
        print(
            f"{'saf':12s} n={len(saf):5d}  r(score, partial credit)="
            f"{pearsonr([r['prediction'][3] for r in saf], human)[0]:.3f}"
        )

    criteria = by_source.get("deck/criterion", [])
    if criteria:
        labelled = [r for r in criteria if r["label"] >= 0]
        hits = sum(
            1
            for r in labelled
            if max(range(3), key=lambda k: r["prediction"][k]) == r["label"]
        )
        print(f"deck criteria: {hits / len(labelled):.1%} class accuracy over {len(labelled)} pairs")
    references = by_source.get("deck", [])
    if references:
        print("deck answers vs model answer, by kind: mean P(states) / P(contradicts) / score (human score)")
        kinds: dict[str, list[dict]] = defaultdict(list)
        for r in references:
            kinds[r["kind"]].append(r)
        for kind, items in sorted(kinds.items()):
            print(
                f"  {kind:18s} n={len(items):4d}  "
                f"{mean(r['prediction'][0] for r in items):.2f} / "
                f"{mean(r['prediction'][1] for r in items):.2f} / "
                f"{mean(r['prediction'][3] for r in items):.2f} ({mean(r['score'] for r in items):.2f})"
            )
        human = [r["score"] for r in references]
        print(f"  r(score, human score) = {pearsonr([r['prediction'][3] for r in references], human)[0]:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
