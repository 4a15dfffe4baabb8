"""Grading: how well the judge agrees with human graders on questions it never saw, and its speed.

Parts, each printed with its targets (PASS / FAIL):

``unseen questions``
    The judge's out-of-fold predictions (``train_judge.py --cv 3``: each pair judged by a
    model trained without its question or card; the compact copy in
    ``bench/data/judge_cv.jsonl.gz``). SemEval-2013 Task 7 train (Beetle, SciEntsBank):
    Pearson r of P(states) with correct-vs-not, and ROC AUC correct vs contradictory; SAF
    train: Pearson r of the credit with the tutors' partial-credit score. Baselines in the
    same run, on the same answers: content-word overlap F1 and the whole-answer cosine of the
    bundled all-MiniLM-L6-v2 (sentence-transformers), against the question's reference
    answer. The texts are read from ``--data`` (default ``../shared/asag``), never copied
    into the project; without them the baselines are skipped.

``answer kinds``
    The decks' graded answer set (``tests/data/graded_answers``), its out-of-fold judge
    outputs put through decision rules fitted without the fold's cards (nested; the shipped
    rules, fitted on all cards, are printed beside) by the app's own
    :func:`studytool.ml.judge.decide`: a table by kind of the suggested
    ratings; targets: no negated or misconception answer suggested Good/Easy, >= 90% of
    paraphrase and terse-correct answers suggested Good/Easy, keyword salad never above
    Hard, per-criterion verdicts (met / partly / missed / contradicted) >= 85% as labelled.

``held-out sample answers``
    The shipped grader end to end (ONNX Runtime, evidence included) on
    ``tests/data/sample_answers`` (a good, a partial and a wrong answer per card, written
    apart from the training answers): cards where good > partial > wrong (>= 90%), wrong
    answers suggested Good/Easy (0), and every evidence span on word boundaries.

``speed``
    Realistic answers (30-120 words) against prepared cards with 5 criteria, warm: p50 <=
    25 ms, p95 <= 60 ms; beside it, in the same rounds, one ONNX Runtime pass over the
    (model answer, answer) pair alone (the ratio is the grader's cost in passes). Fresh
    processes: grader ready (imports, checks, load, first run) <= 1.5 s; ``studytool grade
    -q ... -a ...`` <= 2.5 s wall, beside ``studytool --version`` as the baseline; the
    loaded grader's memory (resident set growth).

Usage: ``python -m bench grading [--data DIR] [--predictions FILE] [--rounds N] [--json PATH]``.
Exit status 0 when every target measured is met, 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DESCRIPTION = "grading: the judge on unseen questions (SemEval, SAF, deck answer kinds) and its speed"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "asag"
TARGET_R = {"beetle": 0.70, "sciEntsBank": 0.60, "saf": 0.75}
TARGET_AUC = 0.90
TARGET_RIGHT_GOOD = 0.90
TARGET_VERDICTS = 0.85
TARGET_ORDERED = 0.90
TARGET_P50_MS = 25.0
TARGET_P95_MS = 60.0
TARGET_READY_S = 1.5
TARGET_GRADE_CLI_S = 2.5
WORD = re.compile(r"[^\W_]{2,}")
STOP = frozenset(
    "the a an of to and or in on at for is are was were be it its this that with as by from "
    "not no do does so if then than which what who why how".split()
)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _pearson(x: Sequence[float], y: Sequence[float]) -> float:
    import numpy as np

    return float(np.corrcoef(np.asarray(x, dtype=float), np.asarray(y, dtype=float))[0, 1])


def _auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([1] * len(positive) + [0] * len(negative), [*positive, *negative]))


def _token_f1(answer: str, reference: str) -> float:
    a = {w for w in WORD.findall(answer.casefold()) if w not in STOP}
    b = {w for w in WORD.findall(reference.casefold()) if w not in STOP}
    common = len(a & b)
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------------------


def unseen_questions(rows: list[dict[str, Any]], data: Path) -> tuple[dict[str, Any], bool]:
    from bench.judge_cv import answer_key

    texts: dict[str, tuple[str, str]] = {}  # answer key -> (answer, reference)
    if (data / "semeval2013-train-3way").is_dir():
        sys.path.insert(0, str(ROOT))
        from scripts import train_judge

        train_judge.SEMEVAL = data / "semeval2013-train-3way"
        train_judge.SAF = data / "saf-train-english"
        for pair in train_judge.semeval_pairs() + train_judge.saf_pairs():
            texts[answer_key(pair.group, pair.answer)] = (pair.answer, pair.claim)
    else:
        print(f"  (baselines skipped: no SemEval/SAF texts in {data})")
    cosine = _cosine_baseline(texts) if texts else {}

    results: dict[str, Any] = {}
    ok = True
    print("unseen questions (out of fold: 3 folds grouped by question)")
    print(f"  {'data':<12} {'n':>5} {'figure':<28} {'judge':>6} {'F1':>6} {'cosine':>6}  target")
    for source in ("beetle", "sciEntsBank", "saf"):
        items = [r for r in rows if r["source"] == source and r["role"] == "reference"]
        if not items:
            continue
        keyed = [r for r in items if r["answer"] in texts]
        f1 = [_token_f1(*texts[r["answer"]]) for r in keyed]
        cos = [cosine[r["answer"]] for r in keyed]
        entry: dict[str, Any] = {"n": len(items)}
        if source == "saf":
            judge_r = _pearson([r["prediction"][3] for r in items], [r["score"] for r in items])
            humans = [r["score"] for r in keyed]
            f1_r = _pearson(f1, humans) if keyed else float("nan")
            cos_r = _pearson(cos, humans) if keyed else float("nan")
            passed = judge_r >= TARGET_R[source] and (not keyed or judge_r > cos_r)
            print(
                f"  {'SAF':<12} {len(items):>5} {'r with partial credit':<28} {judge_r:>6.3f} "
                f"{f1_r:>6.3f} {cos_r:>6.3f}  >= {TARGET_R[source]:.2f} and > cosine {_verdict(passed)}"
            )
            entry.update(r=judge_r, baseline_f1_r=f1_r, baseline_cosine_r=cos_r, passed=passed)
        else:
            correct = [1.0 if r["label"] == 0 else 0.0 for r in items]
            judge_r = _pearson([r["prediction"][0] for r in items], correct)
            humans = [1.0 if r["label"] == 0 else 0.0 for r in keyed]
            f1_r = _pearson(f1, humans) if keyed else float("nan")
            cos_r = _pearson(cos, humans) if keyed else float("nan")
            right = [r["prediction"][0] for r in items if r["label"] == 0]
            contra = [r["prediction"][0] for r in items if r["label"] == 1]
            auc = _auc(right, contra)
            f1_auc = _auc(
                [f for f, r in zip(f1, keyed, strict=True) if r["label"] == 0],
                [f for f, r in zip(f1, keyed, strict=True) if r["label"] == 1],
            ) if keyed else float("nan")
            cos_auc = _auc(
                [c for c, r in zip(cos, keyed, strict=True) if r["label"] == 0],
                [c for c, r in zip(cos, keyed, strict=True) if r["label"] == 1],
            ) if keyed else float("nan")
            r_ok, auc_ok = judge_r >= TARGET_R[source], auc >= TARGET_AUC
            passed = r_ok and auc_ok
            name = "Beetle" if source == "beetle" else "SciEntsBank"
            print(
                f"  {name:<12} {len(items):>5} {'r correct vs not':<28} {judge_r:>6.3f} "
                f"{f1_r:>6.3f} {cos_r:>6.3f}  >= {TARGET_R[source]:.2f} {_verdict(r_ok)}"
            )
            print(
                f"  {'':<12} {'':>5} {'AUC correct vs contradictory':<28} {auc:>6.3f} "
                f"{f1_auc:>6.3f} {cos_auc:>6.3f}  >= {TARGET_AUC:.2f} {_verdict(auc_ok)}"
            )
            entry.update(
                r=judge_r,
                auc_correct_vs_contradictory=auc,
                baseline_f1=[f1_r, f1_auc],
                baseline_cosine=[cos_r, cos_auc],
                passed=passed,
            )
        ok &= passed
        results[source] = entry
    return results, ok


def _cosine_baseline(texts: dict[str, tuple[str, str]]) -> dict[str, float]:
    from studytool.ml.models import load_embedding_model

    _say("  baseline: encoding the answers and references with MiniLM ...")
    model = load_embedding_model()
    keys = list(texts)
    answers = model.encode([texts[k][0] for k in keys], batch_size=64, normalize_embeddings=True)
    references = model.encode([texts[k][1] for k in keys], batch_size=64, normalize_embeddings=True)
    return {k: float(a @ b) for k, a, b in zip(keys, answers, references, strict=True)}


def answer_kinds(rows: list[dict[str, Any]], nested: bool = True) -> tuple[dict[str, Any], bool]:
    from bench.judge_cv import deck_answers, evaluate, held_out_rules, kind_table
    from studytool.ml.judge import judge_dir, load_rules, read_manifest

    directory = judge_dir()
    rules = load_rules(directory, read_manifest(directory))
    answers = deck_answers(rows)
    shipped = evaluate(answers, rules)
    if nested:
        _say("  answer kinds: fitting the rules without each fold's cards ...")
        figures = held_out_rules(answers)
        print(
            f"answer kinds: {len(answers)} graded deck answers; the judge's outputs out of fold "
            "(3 folds grouped by card), the decision rules fitted without the fold's cards too"
        )
    else:
        figures = shipped
        print(f"answer kinds: {len(answers)} graded deck answers, out of fold, shipped rules")
    for line in kind_table(figures):
        print("  " + line)
    checks = {
        "negated or misconception suggested Good/Easy": (figures.wrong_good, "0", figures.wrong_good == 0),
        "paraphrase and terse suggested Good/Easy": (
            f"{figures.right_good_share:.1%}",
            f">= {TARGET_RIGHT_GOOD:.0%}",
            figures.right_good_share >= TARGET_RIGHT_GOOD,
        ),
        "keyword salad above Hard": (figures.salad_above_hard, "0", figures.salad_above_hard == 0),
        "per-criterion verdicts as labelled": (
            f"{figures.verdict_accuracy:.1%} of {figures.verdicts_total}",
            f">= {TARGET_VERDICTS:.0%}",
            figures.verdict_accuracy >= TARGET_VERDICTS,
        ),
    }
    for name, (value, target, passed) in checks.items():
        print(f"  {name:<46} {value!s:>14}  target {target} {_verdict(passed)}")
    print(
        f"  (info) verdicts met/partly/not met {figures.verdicts_agree_3way / figures.verdicts_total:.1%}; "
        f"contradictions found {figures.contradicted_found}/{figures.contradicted_total} "
        f"({figures.contradicted_false} marked where the human did not); known mistakes found "
        f"{figures.mistakes_found}/{figures.mistakes_total} ({figures.mistakes_false} false flags); "
        f"rating as the human's {figures.rating_exact / figures.rating_total:.1%}; "
        f"not sure {figures.unsure_share:.1%}; r with the human score {figures.pearson_r:.3f}"
    )
    print(
        f"  (info) with the shipped rules (fitted on all these answers): negated/misconception "
        f"Good/Easy {shipped.wrong_good}, paraphrase/terse Good/Easy {shipped.right_good_share:.1%}, "
        f"salad above Hard {shipped.salad_above_hard}, verdicts {shipped.verdict_accuracy:.1%}"
    )
    ok = all(passed for _, _, passed in checks.values())
    results = {
        "table": kind_table(figures),
        "shipped_rules_table": kind_table(shipped),
        "checks": {name: {"value": str(v), "target": t, "passed": p} for name, (v, t, p) in checks.items()},
        "pearson_r": figures.pearson_r,
        "unsure_share": figures.unsure_share,
    }
    return results, ok


# --------------------------------------------------------------------------------------


def _deck_notes() -> dict[str, Any]:
    from studytool.core.importing import parse_file

    return {n.key: n for path in sorted((ROOT / "decks").glob("*.md")) for n in parse_file(path).notes}


def _card_inputs(note: Any, ordinal: int) -> Any:
    """What the app grades a typed answer to this card against."""
    from studytool.core.card_faces import card_faces
    from studytool.core.grading import grading_inputs

    faces = card_faces(note, ordinal)
    return grading_inputs(
        note.kind.value, ordinal, faces.front, faces.expected, note.rubric,
        faces.rubric_applies, note.mistakes,
    )


def _sample_cards() -> list[tuple[Any, dict[str, str]]]:
    notes = _deck_notes()
    cards = []
    for path in sorted((ROOT / "tests" / "data" / "sample_answers").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            note = notes.get(entry["id"])
            if note is None:
                continue
            inputs = _card_inputs(note, int(entry.get("ordinal", 0)))
            cards.append((inputs, {level: entry[level]["answer"] for level in ("good", "partial", "wrong")}))
    return cards


def _word_bounded(answer: str, span: tuple[int, int]) -> bool:
    start, end = span
    inside = answer[start:end]
    return (
        bool(inside)
        and inside[0].isalnum()
        and inside[-1].isalnum()
        and (start == 0 or not answer[start - 1].isalnum())
        and (end == len(answer) or not answer[end].isalnum())
    )


def held_out(grader: Any) -> tuple[dict[str, Any], bool]:
    from studytool.core.ratings import Rating

    cards = _sample_cards()
    ordered = 0
    wrong_good: list[str] = []
    spans = bad_spans = 0
    unsure = 0
    for inputs, answers in cards:
        results = {level: grader.grade(inputs, text) for level, text in answers.items()}
        ordered += results["good"].score > results["partial"].score > results["wrong"].score
        if results["wrong"].suggested_rating in (Rating.GOOD, Rating.EASY):
            wrong_good.append(inputs.question[:60])
        for level, result in results.items():
            unsure += result.unsure
            for item in [*result.criteria, *result.mistakes]:
                if item.evidence_span is not None:
                    spans += 1
                    bad_spans += not _word_bounded(answers[level], item.evidence_span)
    share = ordered / len(cards)
    checks = {
        "cards with good > partial > wrong": (f"{ordered}/{len(cards)} ({share:.1%})", f">= {TARGET_ORDERED:.0%}", share >= TARGET_ORDERED),
        "wrong answers suggested Good/Easy": (len(wrong_good), "0", not wrong_good),
        "evidence spans not on word boundaries": (f"{bad_spans} of {spans}", "0", bad_spans == 0),
    }
    print(f"held-out sample answers: the shipped grader (ONNX Runtime) on {len(cards)} cards x 3 answers")
    for name, (value, target, passed) in checks.items():
        print(f"  {name:<46} {value!s:>14}  target {target} {_verdict(passed)}")
    print(f"  (info) not sure on {unsure} of {3 * len(cards)} answers")
    if wrong_good:
        print("  wrong answers suggested Good/Easy: " + "; ".join(wrong_good))
    twins, twins_ok = negation_twins(grader)
    for name, (value, target, passed) in twins.items():
        print(f"  {name:<46} {value!s:>14}  target {target} {_verdict(passed)}")
    checks.update(twins)
    ok = all(p for _, _, p in checks.values())
    return {name: {"value": str(v), "target": t, "passed": p} for name, (v, t, p) in checks.items()}, ok


def negation_twins(grader: Any) -> tuple[dict[str, tuple[Any, str, bool]], bool]:
    """tests/data/negation_twins.jsonl: right answers that state a card's negative fact ("async
    does not make the model faster") and wrong twins that reverse it."""
    from studytool.core.ratings import Rating

    notes = _deck_notes()
    twins = [
        json.loads(line)
        for line in (ROOT / "tests" / "data" / "negation_twins.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    right_good = right_again = flagged = wrong_good = 0
    for twin in twins:
        inputs = _card_inputs(notes[twin["id"]], twin["ordinal"])
        right, wrong = grader.grade(inputs, twin["right"]), grader.grade(inputs, twin["wrong"])
        right_good += right.suggested_rating in (Rating.GOOD, Rating.EASY)
        right_again += right.suggested_rating == Rating.AGAIN
        flagged += right.criteria[twin["criterion"]].contradicted
        wrong_good += wrong.suggested_rating in (Rating.GOOD, Rating.EASY)
    n = len(twins)
    checks = {
        "negation twins: right suggested Good/Easy": (f"{right_good}/{n}", ">= 90%", right_good >= 0.9 * n),
        "negation twins: right suggested Again": (f"{right_again}/{n}", "0", right_again == 0),
        "negation twins: true negation 'contradicted'": (f"{flagged}/{n}", "0", flagged == 0),
        "negation twins: wrong twin Good/Easy": (f"{wrong_good}/{n}", "0", wrong_good == 0),
    }
    return checks, all(p for _, _, p in checks.values())


# --------------------------------------------------------------------------------------


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _speed_cases() -> list[tuple[Any, str]]:
    """(card inputs, answer): every graded answer of 30-120 words to a card with 5 criteria."""
    sys.path.insert(0, str(ROOT))
    from tests.graded_answers import load

    notes = _deck_notes()
    cases = []
    for path in sorted((ROOT / "tests" / "data" / "graded_answers").glob("*.jsonl")):
        for card in load(path):
            note = notes[card.id]
            if len(note.rubric) != 5:
                continue
            inputs = _card_inputs(note, card.ordinal)
            for answer in card.answers:
                if 30 <= len(answer.answer.split()) <= 120:
                    cases.append((inputs, answer.answer))
    return cases


def _fresh_process_seconds(code: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


READY_CODE = """
import time, resource
started = time.perf_counter()
from studytool.ml.judge import load_judge_grader
grader = load_judge_grader()
import sys
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'torch' in sys.modules)
"""


def speed(grader: Any, rounds: int) -> tuple[dict[str, Any], bool]:
    from studytool.ml.judge import first_text
    from studytool.paths import HOME_ENV

    cases = _speed_cases()
    backend = grader.backend
    for inputs, _ in cases:
        grader.card(inputs.question, inputs.reference, inputs.criteria, inputs.mistakes)
    ours: list[float] = []
    single: list[float] = []
    for round_ in range(rounds):
        for index, (inputs, answer) in enumerate(cases):
            sides = ("grade", "pass") if (round_ + index) % 2 == 0 else ("pass", "grade")
            for side in sides:
                started = time.perf_counter()
                if side == "grade":
                    grader.grade(inputs.question, inputs.reference, inputs.criteria, answer, inputs.mistakes)
                    ours.append(time.perf_counter() - started)
                else:
                    backend([first_text(inputs.question, inputs.reference)], [answer])
                    single.append(time.perf_counter() - started)
        _say(f"  speed: round {round_ + 1}/{rounds}")
    p50, p95 = _percentile(ours, 0.5) * 1000, _percentile(ours, 0.95) * 1000
    b50 = _percentile(single, 0.5) * 1000
    warm_ok = p50 <= TARGET_P50_MS and p95 <= TARGET_P95_MS
    mistakes = statistics.mean(len(inputs.mistakes) for inputs, _ in cases)
    print(
        f"speed: {len(cases)} answers of 30-120 words to cards with 5 criteria "
        f"(and {mistakes:.1f} known mistakes on average), x {rounds} rounds, warm"
    )
    print(
        f"  grade (judge pairs + evidence)     p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
        f"target p50 <= {TARGET_P50_MS:g}, p95 <= {TARGET_P95_MS:g} {_verdict(warm_ok)}"
    )
    print(f"  one ONNX pass, model-answer pair   p50 {b50:6.1f} ms   (grade = {p50 / b50:.1f} passes)")

    ready = []
    memory = []
    torch_loaded = False
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", READY_CODE], check=True, capture_output=True, text=True
        ).stdout.split()
        ready.append(float(out[0]))
        memory.append(int(out[1]) / 1024)
        torch_loaded |= out[2] == "True"
    ready_s = statistics.median(ready)
    ready_ok = ready_s <= TARGET_READY_S and not torch_loaded
    print(
        f"  grader ready in a fresh process    {ready_s:6.2f} s   target <= {TARGET_READY_S} s "
        f"(torch imported: {torch_loaded}) {_verdict(ready_ok)}"
    )
    studytool = str(Path(sys.executable).with_name("studytool"))
    command = [
        studytool, "grade", "-q", "What does the KV cache store?",
        "-r", "The keys and values of every earlier token, for every layer.",
        "-c", "says keys and values", "-c", "says for every layer",
        "-a", "It keeps each layer's keys and values for the tokens so far.",
    ]
    grade_wall, version_wall = [], []
    scratch = tempfile.mkdtemp(prefix="studytool-bench-")  # a learner's first run: no database yet
    env = {**os.environ, HOME_ENV: scratch}
    for _ in range(3):
        for target, argv in ((grade_wall, command), (version_wall, [studytool, "--version"])):
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            target.append(time.perf_counter() - started)
    cli_s, base_s = statistics.median(grade_wall), statistics.median(version_wall)
    cli_ok = cli_s <= TARGET_GRADE_CLI_S
    print(
        f"  `studytool grade -q ... -a ...`    {cli_s:6.2f} s   target <= {TARGET_GRADE_CLI_S} s "
        f"{_verdict(cli_ok)}   (`studytool --version` {base_s:.2f} s)"
    )
    print(f"  process with the grader loaded      {statistics.median(memory):6.0f} MiB peak RSS")
    shutil.rmtree(scratch, ignore_errors=True)
    results = {
        "cases": len(cases),
        "grade_ms": {"p50": p50, "p95": p95},
        "single_pass_ms": {"p50": b50},
        "passes_per_grade": p50 / b50,
        "ready_s": ready_s,
        "torch_imported": torch_loaded,
        "grade_cli_s": cli_s,
        "version_cli_s": base_s,
        "memory_mib": statistics.median(memory),
        "passed": warm_ok and ready_ok and cli_ok,
    }
    return results, warm_ok and ready_ok and cli_ok


# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    from bench.judge_cv import COMPACT

    parser = argparse.ArgumentParser(prog="python -m bench grading", description=DESCRIPTION)
    add = parser.add_argument
    add("--data", type=Path, default=DEFAULT_DATA, help="the asag folder (default %(default)s)")
    add("--predictions", type=Path, default=COMPACT, help="out-of-fold predictions (default %(default)s)")
    add("--rounds", type=int, default=3, help="speed rounds (default %(default)s)")
    add("--skip-speed", action="store_true")
    add("--json", metavar="PATH", help="also write the results as JSON to PATH")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    from bench.judge_cv import read_rows
    from studytool.core.grading import BackgroundGrader, GraderUnavailable
    from studytool.ml.judge import load_judge_grader

    results: dict[str, Any] = {}
    ok = True
    if options.predictions.exists():
        rows = read_rows(options.predictions)
        results["unseen_questions"], passed = unseen_questions(rows, options.data)
        ok &= passed
        print()
        results["answer_kinds"], passed = answer_kinds(rows)
        ok &= passed
        print()
    else:
        print(f"unseen questions, answer kinds: SKIPPED (no predictions at {options.predictions})")
    try:
        grader = load_judge_grader()
    except GraderUnavailable as exc:
        print(f"grading: the grader cannot be loaded: {exc}", file=sys.stderr)
        return 1
    background = BackgroundGrader(lambda: grader)
    results["held_out"], passed = held_out(background)
    ok &= passed
    print()
    if not options.skip_speed:
        results["speed"], passed = speed(grader, options.rounds)
        ok &= passed
    if options.json:
        target = Path(options.json)
        target.parent.mkdir(parents=True, exist_ok=True)
        from bench import environment

        payload = {"benchmark": "grading", "environment": environment(), "results": results, "failed": not ok}
        target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {target}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
