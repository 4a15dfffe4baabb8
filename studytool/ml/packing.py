"""How the packed judge reads one answer against all of a card's claims in a single pass.

The learner's answer is most of what the judge reads, and reading it once per claim (the
model answer and every criterion) was most of a grade's time. A *packed* input reads it once:

    [CLS] question [SEP] claim 1 [SEP] claim 2 [SEP] … claim k [SEP] answer [SEP]

(token type 0 up to the last claim's [SEP], 1 for the answer), and the judge's head reads
each claim's own word pieces (its words and the [SEP] after it, averaged) to say whether the
answer states, contradicts or does not address *that* claim. With one claim this is exactly
the (question + claim, answer) pair a cross-encoder reads.

The packed judge is an experiment (``scripts/train_packed_judge.py``), not yet what the app
runs; its training and any backend that serves it build their inputs here, so all read the
same word pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 512  # MiniLM's position embeddings
MAX_QUESTION = 64  # word pieces kept of the question
MAX_CLAIM = 96  # … of each claim
MIN_ANSWER = 64  # the answer keeps at least this many (claims are cut shorter first)


@dataclass(frozen=True)
class Packed:
    """One packed input: word-piece ids, token types, and each claim's positions."""

    ids: list[int]
    type_ids: list[int]
    claim_spans: list[tuple[int, int]]  # [start, end) of each claim's pieces (with its [SEP])

    def __len__(self) -> int:
        return len(self.ids)


def _pieces(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(" ".join(text.split()), add_special_tokens=False).ids)


def pack(tokenizer: Any, question: str, claims: Sequence[str], answer: str) -> Packed:
    """The packed input for ``answer`` against ``claims`` (a ``tokenizers.Tokenizer`` with
    truncation and padding off)."""
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    question_ids = _pieces(tokenizer, question)[:MAX_QUESTION] if question.strip() else []
    claim_ids = [_pieces(tokenizer, claim)[:MAX_CLAIM] for claim in claims]
    answer_ids = _pieces(tokenizer, answer)
    # Special pieces: [CLS], the question's [SEP], one per claim, the answer's [SEP].
    special = 2 + (1 if question_ids else 0) + len(claims)
    room = MAX_LENGTH - special
    # Cut the longest claims until the answer keeps its share (rare: a card with many long
    # criteria), then the answer (long answers are read in windows before they get here).
    while sum(map(len, claim_ids)) + len(question_ids) + min(len(answer_ids), MIN_ANSWER) > room:
        longest = max(range(len(claim_ids)), key=lambda i: len(claim_ids[i]))
        if len(claim_ids[longest]) <= 8:
            break
        claim_ids[longest] = claim_ids[longest][: len(claim_ids[longest]) * 3 // 4]
    answer_ids = answer_ids[: max(0, room - sum(map(len, claim_ids)) - len(question_ids))]

    ids = [cls]
    if question_ids:
        ids += [*question_ids, sep]
    spans: list[tuple[int, int]] = []
    for pieces in claim_ids:
        start = len(ids)
        ids += [*pieces, sep]
        spans.append((start, len(ids)))
    first = len(ids)
    ids += [*answer_ids, sep]
    type_ids = [0] * first + [1] * (len(ids) - first)
    return Packed(ids, type_ids, spans)


def batch_arrays(packed: Sequence[Packed]) -> dict[str, Any]:
    """numpy inputs for a batch: ids, attention and type ids padded to the longest, and
    ``claim_mask`` [batch, claims, pieces], each claim's positions weighted to average."""
    import numpy as np

    width = max(len(p) for p in packed)
    claims = max(len(p.claim_spans) for p in packed)
    feed: dict[str, Any] = {
        name: np.zeros((len(packed), width), dtype=np.int64)
        for name in ("input_ids", "attention_mask", "token_type_ids")
    }
    claim_mask = np.zeros((len(packed), claims, width), dtype=np.float32)
    for row, item in enumerate(packed):
        size = len(item)
        feed["input_ids"][row, :size] = item.ids
        feed["attention_mask"][row, :size] = 1
        feed["token_type_ids"][row, :size] = item.type_ids
        for index, (start, end) in enumerate(item.claim_spans):
            claim_mask[row, index, start:end] = 1.0 / (end - start)
    feed["claim_mask"] = claim_mask
    return feed
