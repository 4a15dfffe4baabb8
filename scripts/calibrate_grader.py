"""Fit the embedding grader's parameters and write ``studytool/ml/grader_params.json``.

Usage::

    python scripts/calibrate_grader.py [--data ../shared/asag/semeval2013-train-3way]
                                       [--out studytool/ml/grader_params.json] [--folds 10]

What it does:

1. **Reference model** (answer vs model answer → P(correct)), on the SemEval-2013 Task 7
   training data (Beetle and SciEntsBank; the 3-way labels are mapped to correct vs
   not-correct). Every (question, reference answers, student answer) item goes through the
   grader's own feature code (``studytool.ml.grader.reference_features``). Two models are
   stacked: a pair head (logistic regression over u·v, |u−v|, u·q of the pooled
   embeddings, each question weighted equally) and a logistic regression over the
   features plus the pair head's logit. Cross-validation is grouped by question
   (GroupKFold), so every figure printed is on questions the models never saw; the pair
   head's logit is itself produced out-of-fold inside each training fold.
2. **Criterion model** (answer vs one rubric criterion → P(met)) and the met / partly
   cut points, on the decks' graded sample answers (``tests/data/sample_answers``: each
   answer lists the criteria it meets), with cross-validation grouped by card.
3. **Score mix and rating thresholds**: the weight of the reference probability against
   the criteria's mean, and the Again/Hard/Good/Easy cut points, from the same sample
   answers (wrong → Again, partial → Hard, good → Good; Easy from the best quarter of the
   good answers; Good is kept above every wrong answer).

The data is read where it lies and never copied into the project. Encodings and features
are cached under ``studytool.paths.cache_dir()/grader-calibration`` (keyed by the grader's
source, the model checksum and the data files), so a second run takes seconds.
``bench/grading.py`` imports this module to recompute the cross-validated figures.

Data: SemEval-2013 Task 7 (Dzikovska, Nielsen, Brew, Leacock, Giampiccolo, Bentivogli,
Clark, Dagan and Dang, 2013; corpora by Myroslava Dzikovska and Rodney Nielsen), licensed
CC BY-SA 3.0; see the data folder's README and LICENSE.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from studytool import paths  # noqa: E402
from studytool.core.grading import RatingThresholds, fit_thresholds  # noqa: E402
from studytool.ml import grader as G  # noqa: E402

if TYPE_CHECKING:
    from numpy.typing import NDArray

DEFAULT_DATA = ROOT.parent / "shared" / "asag" / "semeval2013-train-3way"
DATASETS = ("beetle", "sciEntsBank")
SAMPLES_DIR = ROOT / "tests" / "data" / "sample_answers"
DECKS_DIR = ROOT / "decks"
FOLDS = 10
INNER_FOLDS = 5
PAIR_C = 0.0003
REFERENCE_C = 0.03
CRITERION_C = 0.3
EASY_QUANTILE = 0.75
ATTRIBUTION = (
    "SemEval-2013 Task 7 training data (Dzikovska, Nielsen, Brew, Leacock, Giampiccolo, "
    "Bentivogli, Clark, Dagan and Dang 2013, https://aclanthology.org/S13-2045/; corpora by "
    "Myroslava Dzikovska and Rodney Nielsen), CC BY-SA 3.0. Only fitted coefficients are "
    "shipped, not the data."
)


# --------------------------------------------------------------------------------------
# SemEval data


@dataclass(frozen=True)
class Question:
    dataset: str
    qid: str
    text: str
    references: tuple[str, ...]
    answers: tuple[str, ...]
    labels: tuple[str, ...]  # correct / contradictory / incorrect


def load_semeval(data_dir: Path) -> list[Question]:
    """Every question of both datasets; raises FileNotFoundError when the folder is missing."""
    questions: list[Question] = []
    for dataset in DATASETS:
        folder = data_dir / dataset
        files = sorted(folder.glob("*.xml"))
        if not files:
            raise FileNotFoundError(f"no SemEval XML files in {folder}")
        for path in files:
            root = ET.parse(path).getroot()
            answers = [a for a in root.iter("studentAnswer")]
            questions.append(
                Question(
                    dataset=dataset,
                    qid=f"{dataset}/{root.get('id')}",
                    text=(root.findtext("questionText") or "").strip(),
                    references=tuple((r.text or "").strip() for r in root.iter("referenceAnswer")),
                    answers=tuple((a.text or "").strip() for a in answers),
                    labels=tuple(a.get("accuracy", "") for a in answers),
                )
            )
    return questions


def _data_key(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for dataset in DATASETS:
        for path in sorted((data_dir / dataset).glob("*.xml")):
            stat = path.stat()
            digest.update(f"{dataset}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _code_key() -> str:
    from studytool.ml.models import MODEL_SHA256

    source = Path(G.__file__).read_bytes()
    return hashlib.sha256(source + MODEL_SHA256.encode()).hexdigest()[:16]


def cache_folder() -> Path:
    folder = paths.cache_dir() / "grader-calibration"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class SemEvalFeatures:
    X: NDArray[Any]  # (n, len(FEATURE_NAMES))
    P: NDArray[Any]  # (n, PAIR_DIM)
    y: NDArray[Any]  # 1 = correct
    groups: NDArray[Any]  # question id
    datasets: NDArray[Any]
    token_f1: NDArray[Any]  # baseline: token-overlap F1, best reference
    plain_cos: NDArray[Any]  # baseline: whole-answer MiniLM cosine, best reference


_TOKEN_RE = __import__("re").compile(r"\w+")


def token_f1(answer: str, reference: str) -> float:
    """The baseline: F1 of lower-cased word tokens (multiset overlap)."""
    from collections import Counter

    a, b = Counter(_TOKEN_RE.findall(answer.lower())), Counter(_TOKEN_RE.findall(reference.lower()))
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def semeval_features(
    data_dir: Path, encoder: G.Encoder | None = None, *, use_cache: bool = True, log: Any = print
) -> SemEvalFeatures:
    """Features of every SemEval answer, computed by the grader's code (cached on disk)."""
    import numpy as np

    cache = cache_folder() / f"semeval-{_code_key()}-{_data_key(data_dir)}.npz"
    if use_cache and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            return SemEvalFeatures(**{k: data[k] for k in SemEvalFeatures.__dataclass_fields__})
    questions = load_semeval(data_dir)
    if encoder is None:
        encoder = G.Encoder(_load_model())
    X, P, y, groups, datasets, f1s, coss = [], [], [], [], [], [], []
    started = time.perf_counter()
    total = sum(len(q.answers) for q in questions)
    done = 0
    for q in questions:
        stems = G.question_stems(q.text)
        q_info = G.TextInfo.of(q.text, stems)
        refs = list(dict.fromkeys(r for r in q.references if r))
        encoded = encoder.encode(q.text, [*refs, *q.answers], stems)
        ref_enc, ans_enc = encoded[: len(refs)], encoded[len(refs) :]
        plain = encoder.encode_plain([q.text, *refs, *q.answers])
        q_vector, ref_plain, ans_plain = plain[0], plain[1 : 1 + len(refs)], plain[1 + len(refs) :]
        for i, answer in enumerate(ans_enc):
            features, pair = G.reference_features(answer, ref_enc, q_vector, q_info)
            X.append(features)
            P.append(pair)
            y.append(q.labels[i] == "correct")
            groups.append(q.qid)
            datasets.append(q.dataset)
            f1s.append(max(token_f1(q.answers[i], r) for r in refs))
            coss.append(float(max(ans_plain[i] @ r for r in ref_plain)))
        done += len(q.answers)
        log(f"  features: {done}/{total} answers ({time.perf_counter() - started:.0f} s)", end="\r")
    log()
    result = SemEvalFeatures(
        X=np.asarray(X, dtype=np.float64),
        P=np.asarray(P, dtype=np.float32),
        y=np.asarray(y, dtype=np.float64),
        groups=np.asarray(groups),
        datasets=np.asarray(datasets),
        token_f1=np.asarray(f1s),
        plain_cos=np.asarray(coss),
    )
    np.savez_compressed(
        cache, **{k: getattr(result, k) for k in SemEvalFeatures.__dataclass_fields__}
    )
    return result


def _load_model() -> Any:
    from studytool.ml.models import load_embedding_model

    return load_embedding_model()


# --------------------------------------------------------------------------------------
# Fitting


def _question_weights(groups: NDArray[Any]) -> NDArray[Any]:
    import numpy as np

    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return weights * len(weights) / weights.sum()


def _fit_lr(X: NDArray[Any], y: NDArray[Any], C: float, weights: NDArray[Any] | None = None) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    model.fit(X, y, logisticregression__sample_weight=weights)
    return model


def _logit(model: Any, X: NDArray[Any]) -> NDArray[Any]:
    return model.decision_function(X)


def _oof_pair_logits(f: SemEvalFeatures, index: NDArray[Any], folds: int) -> NDArray[Any]:
    """Pair-head logits for the items in ``index``, each from a head that never saw its question."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    out = np.zeros(len(index))
    weights = _question_weights(f.groups[index])
    for train, test in GroupKFold(n_splits=folds).split(index, groups=f.groups[index]):
        head = _fit_lr(f.P[index[train]], f.y[index[train]], PAIR_C, weights[train])
        out[test] = _logit(head, f.P[index[test]])
    return out


def fit_reference(f: SemEvalFeatures, index: NDArray[Any]) -> tuple[Any, Any]:
    """The pair head and the stacked reference model, fitted on the items in ``index``."""
    import numpy as np

    head = _fit_lr(f.P[index], f.y[index], PAIR_C, _question_weights(f.groups[index]))
    stacked = np.column_stack([f.X[index], _oof_pair_logits(f, index, INNER_FOLDS)])
    return head, _fit_lr(stacked, f.y[index], REFERENCE_C)


def predict_reference(
    head: Any, model: Any, f: SemEvalFeatures, index: NDArray[Any]
) -> NDArray[Any]:
    import numpy as np

    stacked = np.column_stack([f.X[index], _logit(head, f.P[index])])
    return model.predict_proba(stacked)[:, 1]


def cross_validated(f: SemEvalFeatures, folds: int = FOLDS, log: Any = print) -> NDArray[Any]:
    """P(correct) for every item from models fitted without its question."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    predictions = np.zeros(len(f.y))
    everything = np.arange(len(f.y))
    for k, (train, test) in enumerate(
        GroupKFold(n_splits=folds).split(everything, groups=f.groups)
    ):
        head, model = fit_reference(f, train)
        predictions[test] = predict_reference(head, model, f, test)
        log(f"  cross-validation: fold {k + 1}/{folds}", end="\r")
    log()
    return predictions


def _linear_json(model: Any) -> dict[str, Any]:
    scaler, lr = model.named_steps["standardscaler"], model.named_steps["logisticregression"]
    return {
        "mean": [round(float(v), 7) for v in scaler.mean_],
        # Significant digits, not decimals: a tiny scale must not round to zero.
        "scale": [float(f"{float(v):.7g}") for v in scaler.scale_],
        "coef": [round(float(v), 7) for v in lr.coef_[0]],
        "intercept": round(float(lr.intercept_[0]), 7),
    }


# --------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True)
class Metrics:
    r: float
    auc: float
    macro_f1: float

    def text(self) -> str:
        return f"r={self.r:.3f}  AUC={self.auc:.3f}  macro-F1={self.macro_f1:.3f}"


def metrics(
    scores: NDArray[Any], y: NDArray[Any], groups: NDArray[Any], folds: int = FOLDS
) -> Metrics:
    """Pearson r, AUC, and macro-F1 at a cut point chosen on the other folds' questions."""
    import numpy as np
    from scipy.stats import pearsonr
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.model_selection import GroupKFold

    predicted = np.zeros(len(y), dtype=bool)
    for train, test in GroupKFold(n_splits=folds).split(scores, groups=groups):
        candidates = np.unique(np.quantile(scores[train], np.linspace(0.02, 0.98, 97)))
        best = max(
            candidates,
            key=lambda t: f1_score(y[train], scores[train] >= t, average="macro", zero_division=0),
        )
        predicted[test] = scores[test] >= best
    return Metrics(
        r=float(pearsonr(scores, y)[0]),
        auc=float(roc_auc_score(y, scores)),
        macro_f1=float(f1_score(y, predicted, average="macro")),
    )


def semeval_report(f: SemEvalFeatures, predictions: NDArray[Any]) -> dict[str, dict[str, Metrics]]:
    report: dict[str, dict[str, Metrics]] = {}
    for dataset in DATASETS:
        mask = f.datasets == dataset
        report[dataset] = {
            name: metrics(scores[mask], f.y[mask], f.groups[mask])
            for name, scores in (
                ("grader", predictions),
                ("token_f1", f.token_f1),
                ("minilm_cosine", f.plain_cos),
            )
        }
    return report


# --------------------------------------------------------------------------------------
# Sample answers


@dataclass(frozen=True)
class SampleCard:
    key: str
    ordinal: int
    question: str  # what the card shows
    reference: str  # what an answer is compared with
    criteria: tuple[str, ...]  # the note's rubric, which the samples' "meets" refer to
    answers: dict[str, tuple[str, tuple[int, ...]]]  # good/partial/wrong -> (text, meets)
    rubric_applies: bool = True  # whether the app grades this card on its rubric
    exact: bool = False  # whether an exact match is right without the model (cloze)


def load_sample_cards(
    decks_dir: Path = DECKS_DIR, samples_dir: Path = SAMPLES_DIR
) -> list[SampleCard]:
    """The graded sample answers with their cards' faces and rubrics.

    Every sample's criterion labels train the criterion model, but a card is scored the way
    the app grades it (``studytool.core.grading.grading_inputs``): the reverse card of a
    reversed note and each cloze deletion are graded against their expected text only, and
    a cloze answer that is the expected text is right without the model.
    """
    from studytool.core.card_faces import NoteFaces, card_faces
    from studytool.core.grading import grading_inputs
    from studytool.core.importing import parse_file

    notes = {}
    for path in sorted(decks_dir.glob("*.md")):
        for note in parse_file(path).notes:
            notes[note.key] = note
    cards: list[SampleCard] = []
    for path in sorted(samples_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            note = notes[entry["id"]]
            ordinal = int(entry.get("ordinal", 0))
            faces = card_faces(NoteFaces(note.kind.value, note.question, note.answer), ordinal)
            inputs = grading_inputs(
                note.kind.value, ordinal, faces.front, faces.expected, note.rubric
            )
            cards.append(
                SampleCard(
                    key=entry["id"],
                    ordinal=ordinal,
                    question=inputs.question,
                    reference=inputs.reference,
                    criteria=tuple(note.rubric),
                    answers={
                        level: (entry[level]["answer"], tuple(entry[level].get("meets", [])))
                        for level in ("good", "partial", "wrong")
                    },
                    rubric_applies=bool(inputs.criteria),
                    exact=inputs.exact,
                )
            )
    return cards


LEVELS = ("wrong", "partial", "good")


@dataclass
class SampleAnalyses:
    cards: list[SampleCard]
    p_ref: dict[tuple[int, str], float]  # (card index, level) -> reference probability
    inputs: list[list[float]]  # criterion-model inputs, one row per (card, level, criterion)
    labels: list[int]
    rows: list[tuple[int, str, int]]  # (card index, level, criterion index)


def analyse_samples(grader: G.EmbeddingGrader, cards: Sequence[SampleCard]) -> SampleAnalyses:
    p_ref: dict[tuple[int, str], float] = {}
    inputs: list[list[float]] = []
    labels: list[int] = []
    rows: list[tuple[int, str, int]] = []
    for c, card in enumerate(cards):
        encoded_card = grader.card(card.question, card.reference, list(card.criteria))
        for level in LEVELS:
            text, meets = card.answers[level]
            (answer,) = grader.encode_texts(card.question, [text])
            analysis = grader.analyse(encoded_card, answer)
            p_ref[(c, level)] = analysis.reference_probability
            for k, x in enumerate(analysis.criterion_inputs):
                inputs.append(x)
                labels.append(int(k in meets))
                rows.append((c, level, k))
    return SampleAnalyses(list(cards), p_ref, inputs, labels, rows)


def card_scores(
    samples: SampleAnalyses, q: Sequence[float], weight: float
) -> dict[tuple[int, str], float]:
    """Overall score of every sample answer, given criterion probabilities ``q``, as the app
    would give it (see :func:`load_sample_cards`)."""
    from studytool.core.grading import matches_exactly

    per_answer: dict[tuple[int, str], list[float]] = {}
    for (c, level, _), value in zip(samples.rows, q, strict=True):
        if samples.cards[c].rubric_applies:
            per_answer.setdefault((c, level), []).append(float(value))
    scores = {}
    for key, p in samples.p_ref.items():
        card = samples.cards[key[0]]
        if card.exact and matches_exactly(card.answers[key[1]][0], card.reference):
            scores[key] = 1.0
            continue
        crit = per_answer.get(key, [])
        scores[key] = p if not crit else weight * p + (1 - weight) * sum(crit) / len(crit)
    return scores


def ordering_share(samples: SampleAnalyses, scores: dict[tuple[int, str], float]) -> float:
    ok = sum(
        scores[(c, "good")] > scores[(c, "partial")] > scores[(c, "wrong")]
        for c in range(len(samples.cards))
    )
    return ok / len(samples.cards)


def _pairwise(samples: SampleAnalyses, scores: dict[tuple[int, str], float]) -> float:
    """Share of (better, worse) answer pairs of one card in the right order."""
    right = total = 0
    for c in range(len(samples.cards)):
        for lo, hi in (("wrong", "partial"), ("partial", "good"), ("wrong", "good")):
            total += 1
            right += scores[(c, hi)] > scores[(c, lo)]
    return right / total


def cross_validated_criteria(samples: SampleAnalyses, folds: int = FOLDS) -> NDArray[Any]:
    import numpy as np
    from sklearn.model_selection import GroupKFold

    X, y = np.asarray(samples.inputs), np.asarray(samples.labels)
    groups = np.asarray([c for c, _, _ in samples.rows])
    out = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=folds).split(X, groups=groups):
        out[test] = _fit_lr(X[train], y[train], CRITERION_C).predict_proba(X[test])[:, 1]
    return out


def verdict_cuts(q: NDArray[Any], labels: NDArray[Any]) -> tuple[float, float]:
    """Met: the cut with the best balanced accuracy; partly: where 95 % of met criteria lie above."""
    import numpy as np

    candidates = np.unique(np.round(q, 3))
    positives, negatives = labels == 1, labels == 0

    def balanced(t: float) -> float:
        return (
            float(
                ((q >= t) & positives).sum() / positives.sum()
                + ((q < t) & negatives).sum() / negatives.sum()
            )
            / 2
        )

    met = float(max(candidates, key=balanced))
    partly = float(min(met, np.quantile(q[positives], 0.05)))
    return met, partly


def rating_thresholds(scores: dict[tuple[int, str], float]) -> RatingThresholds:
    """Cut points from sample-answer scores: wrong → Again, partial → Hard, good → Good."""
    import numpy as np

    rating = {"wrong": 1, "partial": 2, "good": 3}
    pairs = [(s, rating[level]) for (_, level), s in scores.items()]
    fitted = fit_thresholds(pairs, prior=RatingThresholds(0.3, 0.5, 0.9), min_pairs=1)
    assert fitted is not None
    wrong_max = max(s for (_, level), s in scores.items() if level == "wrong")
    good_scores = [s for (_, level), s in scores.items() if level == "good"]
    # The rule: a wrong answer is never suggested Good or Easy.
    good = max(fitted.good, min(0.99, wrong_max + 0.01))
    hard = min(fitted.hard, good)
    easy = min(1.0, max(good + 0.05, float(np.quantile(good_scores, EASY_QUANTILE))))
    return RatingThresholds(round(hard, 4), round(good, 4), round(easy, 4))


# --------------------------------------------------------------------------------------
# Main


def _placeholder_params(head: Any, model: Any) -> G.GraderParams:
    import numpy as np

    n = len(G.CRITERION_FEATURES)
    return G.GraderParams(
        reference_model=G.LinearModel.from_json(_linear_json(model)),
        pair_head=G.LinearModel.from_json(_linear_json(head)),
        criterion_model=G.LinearModel(np.zeros(n), np.ones(n), np.zeros(n), 0.0),
        met=0.5,
        partly=0.3,
        reference_weight=0.5,
        thresholds=RatingThresholds(0.3, 0.5, 0.9),
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="SemEval-2013 train-3way folder"
    )
    parser.add_argument(
        "--out", type=Path, default=G.PARAMS_PATH, help="where to write the parameters"
    )
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--no-cache", action="store_true", help="recompute encodings and features")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import numpy as np

    options = parse_args(argv)
    started = time.perf_counter()
    if not (options.data / DATASETS[0]).is_dir():
        print(f"SemEval data not found in {options.data}; pass --data DIR.", file=sys.stderr)
        return 2
    print("Loading the model ...")
    model = _load_model()
    encoder = G.Encoder(model)
    print(f"SemEval-2013 features from {options.data}")
    f = semeval_features(options.data, encoder, use_cache=not options.no_cache)
    print(f"  {len(f.y)} answers, {len(np.unique(f.groups))} questions")

    print(f"Reference model: {options.folds}-fold cross-validation grouped by question")
    predictions = cross_validated(f, options.folds)
    report = semeval_report(f, predictions)
    for dataset, rows in report.items():
        for name, m in rows.items():
            print(f"  {dataset:12s} {name:14s} {m.text()}")

    everything = np.arange(len(f.y))
    head, reference_model = fit_reference(f, everything)

    print("Criterion model and thresholds: sample answers, cross-validation grouped by card")
    grader = G.EmbeddingGrader(
        model, _placeholder_params(head, reference_model), cache_size=100_000
    )
    samples = analyse_samples(grader, load_sample_cards())
    labels = np.asarray(samples.labels)
    q_cv = cross_validated_criteria(samples, options.folds)
    met, partly = verdict_cuts(q_cv, labels)
    from sklearn.metrics import roc_auc_score

    criterion_auc = float(roc_auc_score(labels, q_cv))
    weights = [round(w, 2) for w in np.linspace(0.0, 1.0, 21)]
    weight = max(
        weights,
        key=lambda w: (
            ordering_share(samples, card_scores(samples, q_cv, w))
            + _pairwise(samples, card_scores(samples, q_cv, w))
        ),
    )
    cv_scores = card_scores(samples, q_cv, weight)
    cv_order = ordering_share(samples, cv_scores)
    cv_pairwise = _pairwise(samples, cv_scores)
    criterion_model = _fit_lr(np.asarray(samples.inputs), labels, CRITERION_C)
    q_fit = criterion_model.predict_proba(np.asarray(samples.inputs))[:, 1]
    fitted_scores = card_scores(samples, q_fit, weight)
    thresholds = rating_thresholds(fitted_scores)
    cv_thresholds = rating_thresholds(cv_scores)
    cv_wrong_good = sum(
        cv_thresholds.rating_for(s) >= 3 for (_, level), s in cv_scores.items() if level == "wrong"
    )
    verdict_accuracy = float(((q_cv >= met) == (labels == 1)).mean())
    print(
        f"  criteria: AUC={criterion_auc:.3f}, met >= {met:.3f} (accuracy {verdict_accuracy:.3f}), partly >= {partly:.3f}"
    )
    print(f"  score = {weight:.2f} x reference + {1 - weight:.2f} x mean criterion probability")
    print(
        f"  cards with good > partial > wrong (CV): {cv_order:.1%}; answer pairs in order: {cv_pairwise:.1%}"
    )
    print(f"  wrong answers suggested Good/Easy (CV scores, CV-fitted cuts): {cv_wrong_good}")
    print(f"  rating thresholds: {thresholds.to_json()}")

    elapsed = time.perf_counter() - started
    params = {
        "version": G.PARAMS_VERSION,
        "note": (
            "Fitted by scripts/calibrate_grader.py; regenerate with `python scripts/calibrate_grader.py "
            "--data ../shared/asag/semeval2013-train-3way`. reference_model and pair_head: logistic "
            f"regressions on {ATTRIBUTION} Cross-validation grouped by question (GroupKFold, "
            f"{options.folds} folds). criterion_model, verdicts, score.reference_weight and thresholds: "
            "fitted on the decks' graded sample answers (tests/data/sample_answers, the criteria each "
            f"answer meets) with cross-validation grouped by card; thresholds keep Good above every "
            f"wrong sample answer, and Easy starts at the {EASY_QUANTILE:.0%} quantile of the good ones."
        ),
        "feature_names": list(G.FEATURE_NAMES),
        "criterion_feature_names": list(G.CRITERION_FEATURES),
        "reference_model": _linear_json(reference_model),
        "pair_head": _linear_json(head),
        "criterion_model": _linear_json(criterion_model),
        "verdicts": {"met": round(met, 4), "partly": round(partly, 4)},
        "score": {"reference_weight": weight},
        "thresholds": thresholds.to_json(),
        "cross_validation": {
            "semeval": {
                dataset: {name: m.__dict__ for name, m in rows.items()}
                for dataset, rows in report.items()
            },
            "sample_answers": {
                "criterion_auc": round(criterion_auc, 4),
                "verdict_accuracy": round(verdict_accuracy, 4),
                "ordered_cards": round(cv_order, 4),
                "ordered_pairs": round(cv_pairwise, 4),
                "wrong_suggested_good_or_easy": cv_wrong_good,
            },
        },
        "calibration_seconds": round(elapsed, 1),
    }
    options.out.write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
    print(f"Wrote {options.out} in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
