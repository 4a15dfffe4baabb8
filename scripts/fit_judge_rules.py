"""Fit the judge's decision rules (``studytool.ml.judge.DecisionRules``) on out-of-fold predictions.

The judge's outputs come from ``train_judge.py --cv K``: every deck answer was judged by a
model trained without its card. The rules are fitted in three steps, each on what it decides:

1. the criterion cut points (met, partly, contradicted), for agreement of the per-criterion
   verdicts with the human labels;
2. the known-mistake cut point, for finding the mistakes the humans marked while flagging
   (almost) no answer that does not make one: a false flag caps a right answer at Hard;
3. the score mix, the "not sure" disagreement and the rating cut points, against a cost
   that puts the product's priorities in order: a wrong answer (negated, misconception)
   suggested Good or Easy costs 10, keyword salad above Hard 5, a right answer (own words,
   terse) not suggested Good or Easy 2, any other rating unlike the human's 1, "not sure" 0.5.

Writes ``--out`` (rules and the figures they reach) and the compact predictions copy the
benchmark reads (``bench/data/judge_cv.jsonl.gz``).

Usage: python scripts/fit_judge_rules.py build/judge_cv/cv_predictions.jsonl --out build/judge_cv/rules.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.judge_cv import (  # noqa: E402
    WRONG_KINDS,
    DeckFigures,
    deck_answers,
    fit,
    held_out_rules,
    kind_table,
    read_rows,
    write_compact,
)


def report(figures: DeckFigures) -> dict[str, object]:
    return {
        "answers": figures.rating_total,
        "negated_or_misconception_good_easy": figures.wrong_good,
        "paraphrase_terse_good_easy": round(figures.right_good_share, 4),
        "keyword_salad_above_hard": figures.salad_above_hard,
        "verdict_accuracy": round(figures.verdict_accuracy, 4),
        "verdict_accuracy_3way": round(figures.verdicts_agree_3way / figures.verdicts_total, 4),
        "rating_exact": round(figures.rating_exact / figures.rating_total, 4),
        "unsure_share": round(figures.unsure_share, 4),
        "pearson_r_human_score": round(figures.pearson_r, 4),
        "contradicted_found": f"{figures.contradicted_found}/{figures.contradicted_total}",
        "contradicted_false": figures.contradicted_false,
        "mistakes_found": f"{figures.mistakes_found}/{figures.mistakes_total}",
        "mistakes_false": figures.mistakes_false,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args()
    rows = read_rows(options.predictions)
    answers = deck_answers(rows)
    print(f"{len(answers)} graded deck answers with out-of-fold predictions")
    rules, figures = fit(answers, log=print)
    print("\n".join(kind_table(figures)))
    summary = report(figures)
    for key, value in summary.items():
        print(f"  {key}: {value}")
    print("rules fitted without each fold's cards, on that fold (nested):")
    nested = held_out_rules(answers)
    print("\n".join(kind_table(nested)))
    for key, value in report(nested).items():
        print(f"  {key}: {value}")
    wrong = {k: figures.kinds[k].good_or_easy for k in WRONG_KINDS if k in figures.kinds}
    print(f"  wrong answers suggested Good/Easy by kind: {wrong}")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(
        json.dumps(
            {"rules": rules.to_json(), "fitted_on": summary, "nested": report(nested)}, indent=1
        )
        + "\n",
        encoding="utf-8",
    )
    write_compact(read_rows_full(options.predictions))
    print(f"wrote {options.out} and the compact predictions for the benchmark")


def read_rows_full(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    main()
