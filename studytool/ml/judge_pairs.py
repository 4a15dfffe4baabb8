"""The judge's first input layout, one (question + claim, answer) pair per claim: the shipped
weights until the packed judge (:mod:`studytool.ml.packing`) is trained and exported. They were
made by ``scripts/train_judge.py`` and ``scripts/export_judge.py`` as of commit 2f60568 (the
scripts now train and export the packed judge).

Both backends take the packed judge's readings (an answer against several claims) and read
each claim as its own pair, so :class:`studytool.ml.judge.JudgeGrader` grades alike with
either layout; which one a judge folder holds is its manifest's ``format`` (absent: pairs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studytool.core.grading import GraderUnavailable
from studytool.ml.judge import (
    _FIX,
    _LAYER_NAME,
    ONNX_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    Judged,
    Reading,
    _judgements,
    _onnx_session,
    length_batches,
    verified_file,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

FORMAT = "pairs"
MAX_LENGTH = 256  # word pieces of one pair, as in training


def first_text(question: str, claim: str) -> str:
    """What the pair judge reads first: the question as context, then the claim to check."""
    question = " ".join(question.split())
    claim = " ".join(claim.split())
    return f"{question} [SEP] {claim}" if question else claim


def _pairs(readings: Sequence[Reading]) -> tuple[list[str], list[str]]:
    firsts = [first_text(r.question, claim) for r in readings for claim in r.claims]
    answers = [r.answer for r in readings for _ in r.claims]
    return firsts, answers


def _regroup(readings: Sequence[Reading], logits: NDArray[Any]) -> list[list[Judged]]:
    out: list[list[Judged]] = []
    at = 0
    for reading in readings:
        out.append(_judgements(logits[at : at + len(reading.claims)], len(reading.claims)))
        at += len(reading.claims)
    return out


class PairOnnxJudge:
    """The pair judge on ONNX Runtime (int8), tokenised by ``tokenizers``: no torch import."""

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise GraderUnavailable(f"The grader needs tokenizers ({exc}). {_FIX}") from exc
        tokenizer = verified_file(directory, TOKENIZER_FILE, manifest)
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(MAX_LENGTH, strategy="longest_first")
        self.tokenizer.no_padding()  # padded per batch of similar lengths
        self.session, self._lock = _onnx_session(verified_file(directory, ONNX_FILE, manifest))

    def __call__(self, readings: Sequence[Reading]) -> list[list[Judged]]:
        import numpy as np

        firsts, answers = _pairs(readings)
        if not firsts:
            return [[] for _ in readings]
        encodings = self.tokenizer.encode_batch(list(zip(firsts, answers, strict=True)))
        logits = np.zeros((len(encodings), 4), dtype=np.float32)
        for batch in length_batches([len(e.ids) for e in encodings]):
            width = max(len(encodings[i].ids) for i in batch)
            feed = {
                name: np.zeros((len(batch), width), dtype=np.int64)
                for name in ("input_ids", "attention_mask", "token_type_ids")
            }
            for row, i in enumerate(batch):
                encoding = encodings[i]
                size = len(encoding.ids)
                feed["input_ids"][row, :size] = encoding.ids
                feed["attention_mask"][row, :size] = 1
                feed["token_type_ids"][row, :size] = encoding.type_ids
            with self._lock:
                (out,) = self.session.run(["logits"], feed)
            logits[batch] = out
        return _regroup(readings, logits)


class PairSentenceTransformersJudge:
    """The reference backend for pairs: sentence-transformers' CrossEncoder (torch)."""

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        from studytool.ml.models import ModelUnavailable, embedding_model_dir, verify_model_dir

        weights = verified_file(directory, WEIGHTS_FILE, manifest)
        try:
            base = embedding_model_dir()
            verify_model_dir(base)
        except ModelUnavailable as exc:
            raise GraderUnavailable(str(exc)) from exc
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from safetensors.torch import load_file
        from sentence_transformers import CrossEncoder

        from studytool.ml import configure_torch_threads, quiet_transformers
        from studytool.ml.packed_model import keep_layers

        configure_torch_threads()
        with quiet_transformers():
            encoder = CrossEncoder(str(base), num_labels=4, max_length=MAX_LENGTH, device="cpu")
        state = {name: tensor.float() for name, tensor in load_file(str(weights)).items()}
        layers = 1 + max(
            (int(m.group(1)) for m in map(_LAYER_NAME.search, state) if m is not None), default=-1
        )
        keep_layers(encoder.model.base_model, layers)
        missing, unexpected = encoder.model.load_state_dict(state, strict=False)
        kept = [name for name in missing if "word_embeddings" not in name]
        if kept or unexpected:
            raise GraderUnavailable(
                f"The grader's weights {weights} do not fit the model "
                f"(missing {kept[:3]}, unexpected {list(unexpected)[:3]}). {_FIX}"
            )
        encoder.model.eval()
        self.encoder = encoder
        self._torch = torch

    def __call__(self, readings: Sequence[Reading]) -> list[list[Judged]]:
        import numpy as np

        firsts, answers = _pairs(readings)
        if not firsts:
            return [[] for _ in readings]
        logits = self.encoder.predict(
            list(zip(firsts, answers, strict=True)),
            batch_size=32,
            activation_fn=self._torch.nn.Identity(),
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _regroup(readings, np.asarray(logits, dtype=np.float32))
