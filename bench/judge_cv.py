"""The judge's out-of-fold predictions, and what the app's decision rules make of them.

``scripts/train_judge.py --cv K`` trains K judges, each without one fold of the questions
(SemEval, SAF) and cards (the decks), and writes every pair's prediction by the judge that
never saw its question or card. This module groups the decks' pairs back into graded answers
(model-answer pair, criteria, known mistakes) and runs :func:`studytool.ml.judge.decide` on
them, so that the rules the app ships are measured on cards the judge did not learn from;
``scripts/fit_judge_rules.py`` fits those rules here, and ``bench/grading.py`` reports them.

A compact copy of the predictions (no texts: ids, labels and the four outputs) is kept in
``bench/data/judge_cv.jsonl.gz`` so that the benchmark runs without retraining; it is
derived from SemEval-2013 (CC BY-SA 3.0) and SAF (MIT) as well as the decks.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studytool.core.grading import RatingThresholds
from studytool.core.ratings import Rating
from studytool.ml.judge import Decision, DecisionRules, Judged, decide

ROOT = Path(__file__).resolve().parent.parent
COMPACT = ROOT / "bench" / "data" / "judge_cv.jsonl.gz"

STATES, CONTRADICTS, UNADDRESSED = 0, 1, 2
KINDS = (
    "correct_own_words",
    "terse_correct",
    "partial",
    "misconception",
    "negated",
    "keyword_salad",
    "off_topic",
    "dont_know",
)
WRONG_KINDS = ("misconception", "negated")
RIGHT_KINDS = ("correct_own_words", "terse_correct")


def answer_key(group: str, answer: str) -> str:
    return hashlib.sha256(f"{group}\n{answer}".encode()).hexdigest()[:16]


def compact(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The prediction rows without their texts."""
    return [
        {
            "source": row["source"],
            "group": row["group"],
            "role": row["role"],
            "kind": row["kind"],
            "label": row["label"],
            "score": row["score"],
            "fold": row["fold"],
            "answer": answer_key(row["group"], row["answer"]),
            "prediction": [round(float(x), 5) for x in row["prediction"]],
        }
        for row in rows
    ]


def write_compact(rows: Sequence[dict[str, Any]], path: Path = COMPACT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in compact(rows):
            handle.write(json.dumps(row, separators=(",", ":")) + "\n")


def read_rows(path: Path = COMPACT) -> list[dict[str, Any]]:
    """Prediction rows from ``train_judge.py --cv`` (JSONL) or the compact copy (.gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        rows = [json.loads(line) for line in handle if line.strip()]
    for row in rows:
        if len(row["answer"]) != 16:  # a full row: key its answer like the compact copy
            row["answer"] = answer_key(row["group"], row["answer"])
    return rows


@dataclass
class GradedAnswer:
    """One deck answer with the out-of-fold judge outputs for each of its pairs."""

    card: str
    kind: str
    human_score: float
    human_rating: int
    verdicts: list[str]  # the human's per criterion: met / partly / missed / contradicted
    mistake: int | None  # the known mistake the human says it makes
    fold: int = 0  # the cross-validation fold of its card
    reference: Judged | None = None
    criteria: list[Judged] = field(default_factory=list)
    mistakes: list[Judged] = field(default_factory=list)


def deck_answers(rows: Sequence[dict[str, Any]]) -> list[GradedAnswer]:
    """The decks' rows grouped into answers, joined with the human grades."""
    import sys

    sys.path.insert(0, str(ROOT))
    from tests.graded_answers import GRADED_DIRS, load

    humans: dict[str, Any] = {}
    for path in sorted(path for folder in GRADED_DIRS for path in folder.glob("*.jsonl")):
        for card in load(path):
            for answer in card.answers:
                humans[answer_key(f"deck/{card.id}", answer.answer)] = (card, answer)
    by_answer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["source"] == "deck":
            by_answer[row["answer"]].append(row)
    answers = []
    for key, items in by_answer.items():
        if key not in humans:
            continue  # the graded set changed since the predictions were made
        card, human = humans[key]
        graded = GradedAnswer(
            card=card.id,
            kind=human.kind,
            human_score=human.score,
            human_rating=human.rating,
            verdicts=list(human.verdicts),
            mistake=human.mistake,
            fold=int(items[0]["fold"]),
        )
        for row in items:  # in the order train_judge.py wrote them
            judged = Judged.of(row["prediction"])
            if row["role"] == "reference":
                graded.reference = judged
            elif row["role"] == "criterion":
                graded.criteria.append(judged)
            elif row["role"] == "mistake":
                graded.mistakes.append(judged)
        if graded.reference is not None and len(graded.criteria) == len(graded.verdicts):
            answers.append(graded)
    return answers


def verdict_label(decision: Decision, index: int) -> str:
    return "contradicted" if decision.contradicted[index] else decision.verdicts[index].value


@dataclass
class KindFigures:
    answers: int = 0
    ratings: Counter[str] = field(default_factory=Counter)  # Again/Hard/Good/Easy/not sure
    score_sum: float = 0.0
    human_sum: float = 0.0

    @property
    def good_or_easy(self) -> int:
        return self.ratings["Good"] + self.ratings["Easy"]


@dataclass
class DeckFigures:
    kinds: dict[str, KindFigures]
    verdicts_agree: int
    verdicts_total: int
    verdicts_agree_3way: int  # met / partly / not met (missed and contradicted together)
    contradicted_found: int  # criteria the human marked contradicted that were marked so
    contradicted_total: int
    contradicted_false: int  # marked contradicted where the human did not
    mistakes_found: int
    mistakes_total: int
    mistakes_false: int
    rating_exact: int
    rating_total: int
    pearson_r: float

    @property
    def wrong_good(self) -> int:
        return sum(self.kinds[k].good_or_easy for k in WRONG_KINDS if k in self.kinds)

    @property
    def right_good_share(self) -> float:
        right = [self.kinds[k] for k in RIGHT_KINDS if k in self.kinds]
        total = sum(k.answers for k in right)
        return sum(k.good_or_easy for k in right) / total if total else 0.0

    @property
    def salad_above_hard(self) -> int:
        kind = self.kinds.get("keyword_salad")
        return kind.good_or_easy if kind else 0

    @property
    def verdict_accuracy(self) -> float:
        return self.verdicts_agree / self.verdicts_total if self.verdicts_total else 0.0

    @property
    def unsure_share(self) -> float:
        total = sum(k.answers for k in self.kinds.values())
        return sum(k.ratings["not sure"] for k in self.kinds.values()) / total if total else 0.0


RATING_LABEL = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy", None: "not sure"}


def evaluate(answers: Sequence[GradedAnswer], rules: DecisionRules) -> DeckFigures:
    import numpy as np

    kinds: dict[str, KindFigures] = {kind: KindFigures() for kind in KINDS}
    agree = agree3 = total = 0
    c_found = c_total = c_false = m_found = m_total = m_false = 0
    exact = 0
    scores, humans = [], []
    for answer in answers:
        assert answer.reference is not None
        decision = decide(answer.reference, answer.criteria, answer.mistakes, rules)
        figures = kinds.setdefault(answer.kind, KindFigures())
        figures.answers += 1
        figures.ratings[RATING_LABEL[decision.suggested_rating]] += 1
        figures.score_sum += decision.score
        figures.human_sum += answer.human_score
        scores.append(decision.score)
        humans.append(answer.human_score)
        exact += decision.suggested_rating == answer.human_rating
        for index, human in enumerate(answer.verdicts):
            ours = verdict_label(decision, index)
            total += 1
            agree += ours == human
            agree3 += _three_way(ours) == _three_way(human)
            if human == "contradicted":
                c_total += 1
                c_found += ours == "contradicted"
            elif ours == "contradicted":
                c_false += 1
        for index, made in enumerate(decision.mistakes_made):
            if answer.mistake == index:
                m_total += 1
                m_found += made
            elif made:
                m_false += 1
    r = float(np.corrcoef(scores, humans)[0, 1]) if len(scores) > 2 else float("nan")
    return DeckFigures(
        kinds={k: v for k, v in kinds.items() if v.answers},
        verdicts_agree=agree,
        verdicts_total=total,
        verdicts_agree_3way=agree3,
        contradicted_found=c_found,
        contradicted_total=c_total,
        contradicted_false=c_false,
        mistakes_found=m_found,
        mistakes_total=m_total,
        mistakes_false=m_false,
        rating_exact=exact,
        rating_total=len(answers),
        pearson_r=r,
    )


MAX_UNSURE = 0.15


def cost(figures: DeckFigures) -> float:
    right = sum(figures.kinds[k].answers - figures.kinds[k].good_or_easy for k in RIGHT_KINDS if k in figures.kinds)
    unsure = sum(k.ratings["not sure"] for k in figures.kinds.values())
    other = figures.rating_total - figures.rating_exact
    return 10 * figures.wrong_good + 5 * figures.salad_above_hard + 2 * right + other + 0.5 * unsure


def fit(
    answers: Sequence[GradedAnswer], log: Callable[[str], object] = lambda _: None
) -> tuple[DecisionRules, DeckFigures]:
    """The rules with the lowest :func:`cost` on these answers (see fit_judge_rules.py)."""
    rules = DecisionRules()
    best = None
    for met, partly, contradicted in itertools.product(
        (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7), (0.2, 0.25, 0.3, 0.35, 0.4, 0.45), (0.3, 0.4, 0.5, 0.6, 0.7)
    ):
        if partly >= met:
            continue
        candidate = dataclasses.replace(rules, met=met, partly=partly, contradicted=contradicted)
        accuracy = evaluate(answers, candidate).verdict_accuracy
        if best is None or accuracy > best[0]:
            best = (accuracy, candidate)
    assert best is not None
    rules = best[1]
    log(f"step 1: met {rules.met}, partly {rules.partly}, contradicted {rules.contradicted}: verdicts {best[0]:.1%}")

    best_mistake = None
    # Off first: a tie (no mistakes judged, or none found) leaves the check off.
    for cut in (1.01, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3):
        figures = evaluate(answers, dataclasses.replace(rules, mistake=cut))
        gain = figures.mistakes_found - 3 * figures.mistakes_false
        if best_mistake is None or gain > best_mistake[0]:
            best_mistake = (gain, cut, figures)
    assert best_mistake is not None
    rules = dataclasses.replace(rules, mistake=best_mistake[1])
    f = best_mistake[2]
    log(
        f"step 2: mistake {rules.mistake}: {f.mistakes_found}/{f.mistakes_total} found, "
        f"{f.mistakes_false} false flags"
    )

    best_rest = None
    for states_weight, weight, disagreement, hard, good, easy in itertools.product(
        (0.0, 0.5, 1.0),
        (0.4, 0.6, 0.8),
        (0.35, 0.5, 0.65, 1.01),
        (0.15, 0.2, 0.25, 0.3, 0.35, 0.4),
        (0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75),
        (0.8, 0.85, 0.9, 0.95, 1.0),
    ):
        if not hard < good < easy:
            continue
        candidate = dataclasses.replace(
            rules,
            states_weight=states_weight,
            criteria_weight=weight,
            disagreement=disagreement,
            thresholds=RatingThresholds(hard, good, easy),
        )
        figures = evaluate(answers, candidate)
        value = cost(figures)
        if best_rest is None or value < best_rest[0]:
            best_rest = (value, candidate, figures)
    assert best_rest is not None
    rules, figures = best_rest[1], best_rest[2]

    # Last, how sure a contradiction must be to cap the answer at Hard (weaker ones are "not
    # sure"), with "not sure" kept to at most MAX_UNSURE of the answers: a grader that is
    # seldom sure is no help.
    best_sure = (cost(figures), rules, figures)
    for cut in (0.5, 0.6, 0.7, 0.8, 0.9):
        candidate = dataclasses.replace(rules, sure_contradiction=cut)
        candidate_figures = evaluate(answers, candidate)
        value = cost(candidate_figures)
        if candidate_figures.unsure_share <= MAX_UNSURE and value < best_sure[0]:
            best_sure = (value, candidate, candidate_figures)
    return best_sure[1], best_sure[2]


def held_out_rules(answers: Sequence[GradedAnswer]) -> DeckFigures:
    """Figures with the rules fitted without each fold's cards, pooled over the folds: what
    the shipped rules would reach on cards neither the judge nor the rules have seen."""
    pooled: DeckFigures | None = None
    for fold in sorted({answer.fold for answer in answers}):
        rules, _ = fit([a for a in answers if a.fold != fold])
        figures = evaluate([a for a in answers if a.fold == fold], rules)
        pooled = figures if pooled is None else _pool(pooled, figures)
    assert pooled is not None
    return pooled


def _pool(a: DeckFigures, b: DeckFigures) -> DeckFigures:
    kinds: dict[str, KindFigures] = {}
    for name in [*a.kinds, *(k for k in b.kinds if k not in a.kinds)]:
        x, y = a.kinds.get(name, KindFigures()), b.kinds.get(name, KindFigures())
        kinds[name] = KindFigures(
            x.answers + y.answers, x.ratings + y.ratings, x.score_sum + y.score_sum, x.human_sum + y.human_sum
        )
    total = a.rating_total + b.rating_total
    return DeckFigures(
        kinds=kinds,
        verdicts_agree=a.verdicts_agree + b.verdicts_agree,
        verdicts_total=a.verdicts_total + b.verdicts_total,
        verdicts_agree_3way=a.verdicts_agree_3way + b.verdicts_agree_3way,
        contradicted_found=a.contradicted_found + b.contradicted_found,
        contradicted_total=a.contradicted_total + b.contradicted_total,
        contradicted_false=a.contradicted_false + b.contradicted_false,
        mistakes_found=a.mistakes_found + b.mistakes_found,
        mistakes_total=a.mistakes_total + b.mistakes_total,
        mistakes_false=a.mistakes_false + b.mistakes_false,
        rating_exact=a.rating_exact + b.rating_exact,
        rating_total=total,
        # Pearson r does not pool; the size-weighted mean is close enough to report.
        pearson_r=(a.pearson_r * a.rating_total + b.pearson_r * b.rating_total) / total,
    )


def _three_way(verdict: str) -> str:
    return "missed" if verdict == "contradicted" else verdict


def kind_table(figures: DeckFigures) -> list[str]:
    """The table by answer kind (benchmark output and README)."""
    header = (
        f"{'kind':<18} {'n':>4} {'Again':>6} {'Hard':>5} {'Good':>5} {'Easy':>5} "
        f"{'unsure':>6} {'score':>6} {'human':>6}"
    )
    lines = [header, "-" * len(header)]
    for kind, k in figures.kinds.items():
        lines.append(
            f"{kind:<18} {k.answers:>4} {k.ratings['Again']:>6} {k.ratings['Hard']:>5} "
            f"{k.ratings['Good']:>5} {k.ratings['Easy']:>5} {k.ratings['not sure']:>6} "
            f"{k.score_sum / k.answers:>6.2f} {k.human_sum / k.answers:>6.2f}"
        )
    return lines


def suggested_good(rating: int | None) -> bool:
    return rating in (Rating.GOOD, Rating.EASY)


def at_most_hard(rating: int | None) -> bool:
    return rating is None or rating <= Rating.HARD
