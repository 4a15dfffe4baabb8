"""The answer judge: a MiniLM cross-encoder that reads a claim and the learner's answer together.

A claim is the card's model answer, one rubric criterion or one of the card's known mistakes,
each with the question before it. For every (claim, answer) pair the judge gives three class
probabilities: the answer **states** the claim, **contradicts** it, or **does not address**
it, and a partial-credit score in [0, 1]. Reading both texts in one pass is what lets it tell
"the cache stores keys and values" from "the cache does not store keys or values", which two
separately computed embeddings (and their cosine) barely distinguish.

The weights were fine-tuned from the bundled all-MiniLM-L6-v2 by ``scripts/train_judge.py``
on SemEval-2013 Task 7 (CC BY-SA 3.0), SAF (MIT) and the decks' graded sample answers, and
ship in ``studytool/ml/judge/``:

* ``judge.int8.onnx``: the model for ONNX Runtime, int8 (what the app runs: no torch import);
* ``judge.safetensors``: the same weights for the reference backend (sentence-transformers'
  CrossEncoder over torch), fp16, without the word-piece embeddings, which training left as
  the bundled MiniLM has them and are read from it;
* ``tokenizer.json``, ``params.json`` (the decision rules below, fitted out of fold by
  ``scripts/fit_judge_rules.py``) and ``manifest.json`` (each file's sha256, checked at load).

How a grade is decided (:func:`decide`) is plain arithmetic over the judge's outputs, so the
benchmark can run it on out-of-fold predictions: a criterion is *met* when the judge says the
answer states it, *contradicted* (and missed) when it says the answer contradicts it; a known
mistake is *made* when the answer states it. The score blends the criteria's credit with the
model-answer pair's; a contradiction or a known mistake caps the suggestion at Hard; and when
the criteria and the model answer disagree, or nothing is clear, the grade is "not sure".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from studytool.core.grading import (
    NOT_SURE_NOTE,
    CriterionResult,
    GradeResult,
    GraderUnavailable,
    MistakeFound,
    RatingThresholds,
    Verdict,
    grade_blank_answer,
    is_blank,
    suggest_rating,
    truncate_answer,
    truncation_note,
)
from studytool.core.ratings import Rating
from studytool.ml.models import sha256_of

if TYPE_CHECKING:
    from numpy.typing import NDArray

JUDGE_DIR = Path(__file__).with_name("judge")
ONNX_FILE = "judge.int8.onnx"
WEIGHTS_FILE = "judge.safetensors"
TOKENIZER_FILE = "tokenizer.json"
PARAMS_FILE = "params.json"
MANIFEST_FILE = "manifest.json"
JUDGE_DIR_ENV = "STUDYTOOL_JUDGE_DIR"  # another folder with the same files (tests, experiments)
THREADS_ENV = "STUDYTOOL_GRADER_THREADS"

# Word pieces of one (question + claim, answer) pair, as in training. A longer answer is read
# in overlapping windows of about ANSWER_WINDOW_WORDS words.
MAX_LENGTH = 256
ANSWER_WINDOW_WORDS = 150
ANSWER_WINDOW_OVERLAP = 40
CACHE_SIZE = 256

BACKENDS = ("onnx", "sentence-transformers")
_FIX = "Reinstall studytool (`make run` in its folder, or `pip install --force-reinstall studytool`)."


def first_text(question: str, claim: str) -> str:
    """What the judge reads first: the question as context, then the claim to check."""
    question = " ".join(question.split())
    claim = " ".join(claim.split())
    return f"{question} [SEP] {claim}" if question else claim


class Judged(NamedTuple):
    """The judge on one (claim, answer) pair."""

    states: float
    contradicts: float
    unaddressed: float
    credit: float

    @classmethod
    def of(cls, row: Sequence[float]) -> Judged:
        return cls(float(row[0]), float(row[1]), float(row[2]), float(row[3]))


class JudgeBackend(Protocol):
    """Runs the judge on pairs; the ONNX Runtime and sentence-transformers backends agree."""

    def __call__(self, firsts: Sequence[str], answers: Sequence[str]) -> list[Judged]: ...


# --------------------------------------------------------------------------------------
# The shipped files


def judge_dir() -> Path:
    override = os.environ.get(JUDGE_DIR_ENV)
    return Path(override).expanduser() if override else JUDGE_DIR


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
    except FileNotFoundError as exc:
        raise GraderUnavailable(f"The grader's files are missing ({path} not found). {_FIX}") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraderUnavailable(f"The grader's manifest {path} cannot be read ({exc}). {_FIX}") from exc
    return dict(manifest)


def verified_file(directory: Path, name: str, manifest: dict[str, Any]) -> Path:
    """The path of a shipped file whose sha256 matches the manifest (GraderUnavailable if not)."""
    path = directory / name
    expected = manifest["files"].get(name, {}).get("sha256")
    if not expected:
        raise GraderUnavailable(f"The grader's manifest does not list {name}. {_FIX}")
    try:
        actual = sha256_of(path)
    except OSError as exc:
        raise GraderUnavailable(f"The grader's file {path} cannot be read ({exc}). {_FIX}") from exc
    if actual != expected:
        raise GraderUnavailable(
            f"The grader's file {path} is corrupt or not the shipped one "
            f"(sha256 {actual[:12]}…, expected {expected[:12]}…). {_FIX}"
        )
    return path


# --------------------------------------------------------------------------------------
# Backends


# The model's time grows with every word piece it reads, padding included, and one grade's
# pairs differ a lot in length (the model answer is long, a criterion short): pairs run in
# batches of similar length rather than all padded to the longest.
LENGTH_SLACK = 1.2  # the longest pair of a batch is at most this many times its shortest
MAX_BATCH = 16


def length_batches(lengths: Sequence[int]) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches of similar length (each index once)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    for index in order:
        if (
            batches
            and len(batches[-1]) < MAX_BATCH
            and lengths[index] <= LENGTH_SLACK * max(1, lengths[batches[-1][0]])
        ):
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def _threads() -> int:
    wanted = os.environ.get(THREADS_ENV)
    try:
        if wanted:
            return max(1, int(wanted))
    except ValueError:
        pass
    return max(1, min(4, os.cpu_count() or 1))


def _softmax_with_credit(logits: NDArray[Any]) -> list[Judged]:
    import numpy as np

    classes = logits[:, :3].astype(np.float64)
    classes = np.exp(classes - classes.max(axis=1, keepdims=True))
    classes /= classes.sum(axis=1, keepdims=True)
    credit = 1.0 / (1.0 + np.exp(-logits[:, 3].astype(np.float64)))
    return [
        Judged(float(row[0]), float(row[1]), float(row[2]), float(c))
        for row, c in zip(classes, credit, strict=True)
    ]


class OnnxJudge:
    """The judge on ONNX Runtime (int8), tokenised by ``tokenizers``: no torch import."""

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise GraderUnavailable(
                f"The grader needs onnxruntime and tokenizers ({exc}). {_FIX}"
            ) from exc
        model = verified_file(directory, ONNX_FILE, manifest)
        tokenizer = verified_file(directory, TOKENIZER_FILE, manifest)
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(MAX_LENGTH, strategy="longest_first")
        self.tokenizer.no_padding()  # padded per batch of similar lengths (see __call__)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        # Idle ONNX Runtime threads would otherwise spin on the cores the terminal UI (and,
        # in the demos, the language model) needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: nothing on the learner's terminal
        try:
            self.session = ort.InferenceSession(
                str(model), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise GraderUnavailable(f"The grader's model {model} cannot be loaded ({exc}). {_FIX}") from exc
        self._lock = threading.Lock()

    def __call__(self, firsts: Sequence[str], answers: Sequence[str]) -> list[Judged]:
        import numpy as np

        if not firsts:
            return []
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
            with self._lock:  # one run at a time: the session's threads are the machine's cores
                (out,) = self.session.run(["logits"], feed)
            logits[batch] = out
        return _softmax_with_credit(logits)


_LAYER_NAME = re.compile(r"encoder\.layer\.(\d+)\.")


class SentenceTransformersJudge:
    """The reference backend: the same weights in sentence-transformers' CrossEncoder (torch)."""

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

        configure_torch_threads()
        with quiet_transformers():
            encoder = CrossEncoder(str(base), num_labels=4, max_length=MAX_LENGTH, device="cpu")
        state = {name: tensor.float() for name, tensor in load_file(str(weights)).items()}
        # The judge may keep fewer of MiniLM's layers than the base model has (a faster
        # student): as many as the weights name, renumbered from 0 as training saved them.
        layers = 1 + max(
            (int(m.group(1)) for m in map(_LAYER_NAME.search, state) if m is not None), default=-1
        )
        model = encoder.model.base_model
        if 0 < layers < len(model.encoder.layer):
            model.encoder.layer = torch.nn.ModuleList(list(model.encoder.layer)[:layers])
            model.config.num_hidden_layers = layers
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

    def __call__(self, firsts: Sequence[str], answers: Sequence[str]) -> list[Judged]:
        import numpy as np

        if not firsts:
            return []
        logits = self.encoder.predict(
            list(zip(firsts, answers, strict=True)),
            batch_size=32,
            activation_fn=self._torch.nn.Identity(),
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _softmax_with_credit(np.asarray(logits, dtype=np.float32))


def load_backend(backend: str = "onnx", directory: Path | None = None) -> tuple[JudgeBackend, dict[str, Any]]:
    directory = directory or judge_dir()
    manifest = read_manifest(directory)
    if backend == "onnx":
        return OnnxJudge(directory, manifest), manifest
    if backend == "sentence-transformers":
        return SentenceTransformersJudge(directory, manifest), manifest
    raise GraderUnavailable(
        f"Unknown grader backend {backend!r}: use one of {', '.join(BACKENDS)} "
        "(`studytool settings grader_backend onnx`)."
    )


# --------------------------------------------------------------------------------------
# Deciding a grade from the judge's outputs


@dataclass(frozen=True)
class DecisionRules:
    """The cut points that turn the judge's outputs into verdicts, a score and a rating."""

    met: float = 0.5  # P(states) from which a criterion is met
    partly: float = 0.35  # credit from which an unmet criterion is partly met
    contradicted: float = 0.5  # P(contradicts) from which a criterion is contradicted
    # P(states) of a known mistake from which the answer makes it; above 1 turns the check off
    # (when, out of fold, it flags more right answers than it finds mistakes).
    mistake: float = 0.5
    criteria_weight: float = 0.6  # of the score; the rest is the model-answer pair's credit
    # A pair's credit: this share of P(states), the rest the partial-credit head.
    states_weight: float = 0.0
    disagreement: float = 0.5  # |criteria credit - model-answer credit| that is "not sure"
    # A contradiction found with P(contradicts) below this is "not sure" rather than "at most
    # Hard": a weak one is as often a right answer the judge misreads as a wrong one.
    sure_contradiction: float = 0.0
    thresholds: RatingThresholds = RatingThresholds(0.3, 0.6, 0.9)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DecisionRules:
        fields = {k: float(v) for k, v in data.items() if k != "thresholds"}
        return cls(**fields, thresholds=RatingThresholds.from_json(data["thresholds"]))

    def to_json(self) -> dict[str, Any]:
        return {
            "met": self.met,
            "partly": self.partly,
            "contradicted": self.contradicted,
            "mistake": self.mistake,
            "criteria_weight": self.criteria_weight,
            "states_weight": self.states_weight,
            "disagreement": self.disagreement,
            "sure_contradiction": self.sure_contradiction,
            "thresholds": self.thresholds.to_json(),
        }


@dataclass(frozen=True)
class Decision:
    verdicts: list[Verdict]
    contradicted: list[bool]
    mistakes_made: list[bool]
    score: float
    ceiling: int
    unsure: bool
    suggested_rating: int | None


def pair_credit(judged: Judged, rules: DecisionRules) -> float:
    return rules.states_weight * judged.states + (1 - rules.states_weight) * judged.credit


def criterion_verdict(judged: Judged, rules: DecisionRules) -> tuple[Verdict, bool]:
    """(verdict, contradicted) of one criterion."""
    if judged.contradicts >= rules.contradicted and judged.contradicts > judged.states:
        return Verdict.MISSED, True
    if judged.states >= rules.met:
        return Verdict.MET, False
    if judged.credit >= rules.partly:
        return Verdict.PARTLY, False
    return Verdict.MISSED, False


def decide(
    reference: Judged,
    criteria: Sequence[Judged],
    mistakes: Sequence[Judged],
    rules: DecisionRules,
) -> Decision:
    verdicts: list[Verdict] = []
    contradicted: list[bool] = []
    criterion_credit: list[float] = []
    for judged in criteria:
        verdict, against = criterion_verdict(judged, rules)
        verdicts.append(verdict)
        contradicted.append(against)
        criterion_credit.append(0.0 if against else pair_credit(judged, rules))
    made = [judged.states >= rules.mistake for judged in mistakes]
    reference_against = (
        reference.contradicts >= rules.contradicted and reference.contradicts > reference.states
    )
    reference_credit = 0.0 if reference_against else pair_credit(reference, rules)
    if criterion_credit:
        criteria_credit = sum(criterion_credit) / len(criterion_credit)
        score = rules.criteria_weight * criteria_credit + (1 - rules.criteria_weight) * reference_credit
        disagree = abs(criteria_credit - reference_credit) >= rules.disagreement
    else:
        score, disagree = reference_credit, False
    ceiling = Rating.HARD if (any(contradicted) or any(made) or reference_against) else Rating.EASY
    strongest = max(
        [judged.contradicts for judged, against in zip(criteria, contradicted, strict=True) if against]
        + ([reference.contradicts] if reference_against else []),
        default=0.0,
    )
    # Signals that pull apart, with nothing wrong found, are the case a guess gets wrong both
    # ways; so is a contradiction the judge is only half sure of. A known mistake, or a
    # contradiction it is sure of, is never "not sure": it is at most Hard.
    weak_contradiction = 0.0 < strongest < rules.sure_contradiction and not any(made)
    unsure = (disagree and ceiling == Rating.EASY) or weak_contradiction
    rating = suggest_rating(score, rules.thresholds, ceiling=ceiling, unsure=unsure)
    if any(made) and rating is not None and score < rules.thresholds.hard:
        rating = Rating.AGAIN
    return Decision(verdicts, contradicted, made, score, ceiling, unsure, rating)


# --------------------------------------------------------------------------------------
# Evidence: the words of the answer that state (or contradict) a criterion

_CLAUSE_BREAK = re.compile(
    r"(?:[.!?;](?=\s|$)|\n+|:\s|\s[-–—]+\s|,\s*(?=(?:and|but|so|which|while|because|whereas)\b)"
    r"|\s(?=(?:but|whereas|however)\b))",
    re.IGNORECASE,
)
_WORD_CHAR = re.compile(r"[^\W_]", re.UNICODE)
_CONTENT_WORD = re.compile(r"[^\W_]{3,}")
MIN_CLAUSE_WORDS = 3
EVIDENCE_CANDIDATES = 2  # clauses per claim, by words shared with it, that the judge reads


def word_bounded(answer: str, start: int, end: int) -> tuple[int, int] | None:
    """``(start, end)`` shrunk to begin at a word's first character and end after a word's
    last one (dropping spaces, punctuation and markup at either side); None if no word."""
    while start < end and not _WORD_CHAR.match(answer[start]):
        start += 1
    while end > start and not _WORD_CHAR.match(answer[end - 1]):
        end -= 1
    if start >= end:
        return None
    # Never start or end inside a word: widen to the whole word.
    while start > 0 and _WORD_CHAR.match(answer[start - 1]):
        start -= 1
    while end < len(answer) and _WORD_CHAR.match(answer[end]):
        end += 1
    return start, end


def clauses(answer: str) -> list[tuple[int, int]]:
    """The answer cut into clauses (sentences, and their parts joined by "but", "; ", ...),
    as word-bounded character spans; a clause of fewer than three words joins the one before."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _CLAUSE_BREAK.finditer(answer):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(answer)))
    bounded = [b for b in (word_bounded(answer, a, z) for a, z in spans) if b is not None]
    merged: list[tuple[int, int]] = []
    for span in bounded:
        words = len(answer[span[0] : span[1]].split())
        if merged and words < MIN_CLAUSE_WORDS:
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    if len(merged) > 1 and len(answer[merged[0][0] : merged[0][1]].split()) < MIN_CLAUSE_WORDS:
        merged[1] = (merged[0][0], merged[1][1])
        merged.pop(0)
    return merged


def _content(text: str) -> set[str]:
    return {word[:5] for word in _CONTENT_WORD.findall(text.casefold())}


def answer_windows(answer: str) -> list[str]:
    """The answer as one text, or in overlapping windows when it is too long to read at once."""
    words = answer.split()
    if len(words) <= ANSWER_WINDOW_WORDS:
        return [answer]
    step = ANSWER_WINDOW_WORDS - ANSWER_WINDOW_OVERLAP
    return [
        " ".join(words[i : i + ANSWER_WINDOW_WORDS])
        for i in range(0, len(words) - ANSWER_WINDOW_OVERLAP, step)
    ]


def _merge_windows(rows: Sequence[Judged]) -> Judged:
    """One judgement from a long answer's windows: what the best window states, and the
    strongest contradiction anywhere (one wrong sentence is wrong wherever it is)."""
    best = max(rows, key=lambda row: row.states)
    contradicts = max(row.contradicts for row in rows)
    return Judged(best.states, contradicts, min(row.unaddressed for row in rows), best.credit)


# --------------------------------------------------------------------------------------
# The grader


@dataclass(frozen=True)
class _Claims:
    firsts: tuple[str, ...]  # reference, then criteria, then mistakes


class JudgeGrader:
    """Grades a typed answer with the judge (see the module docstring); a core ``Grader``."""

    def __init__(
        self,
        backend: JudgeBackend,
        rules: DecisionRules,
        digest: str,
        backend_name: str = "onnx",
    ) -> None:
        self.backend = backend
        self.rules = rules
        self.thresholds = rules.thresholds
        self._digest = digest
        self.backend_name = backend_name
        self._claims: OrderedDict[tuple[str, str, tuple[str, ...], tuple[str, ...]], _Claims] = (
            OrderedDict()
        )

    @property
    def version(self) -> str:
        return f"judge-1:{self._digest}"

    def card(
        self, question: str, reference: str, criteria: Sequence[str], mistakes: Sequence[str] = ()
    ) -> _Claims:
        """The card's claims, built once per card (``BackgroundGrader.prepare``)."""
        key = (question, reference, tuple(criteria), tuple(mistakes))
        found = self._claims.get(key)
        if found is None:
            found = _Claims(tuple(first_text(question, c) for c in (reference, *criteria, *mistakes)))
            self._claims[key] = found
            while len(self._claims) > CACHE_SIZE:
                self._claims.popitem(last=False)
        else:
            self._claims.move_to_end(key)
        return found

    def judge(self, firsts: Sequence[str], answer: str) -> list[Judged]:
        windows = answer_windows(answer)
        if len(windows) == 1:
            return self.backend(firsts, [answer] * len(firsts))
        rows = self.backend(
            [first for first in firsts for _ in windows], [w for _ in firsts for w in windows]
        )
        per = len(windows)
        return [_merge_windows(rows[i * per : (i + 1) * per]) for i in range(len(firsts))]

    def grade(
        self,
        question: str,
        reference: str,
        criteria: list[str],
        answer: str,
        mistakes: Sequence[str] = (),
    ) -> GradeResult:
        answer, truncated = truncate_answer(answer)
        notes = [truncation_note()] if truncated else []
        if is_blank(answer):
            blank = grade_blank_answer(criteria)
            return GradeResult(blank.criteria, 0.0, 0.0, blank.suggested_rating, truncated, notes)
        if not reference.strip() and not criteria:
            return GradeResult(
                [],
                0.0,
                0.0,
                None,
                truncated,
                [*notes, "This card has no model answer or rubric to grade against.", NOT_SURE_NOTE],
                unsure=True,
            )
        if self.rules.mistake > 1.0:
            mistakes = ()  # the check is off in the shipped rules: no pairs to judge
        claims = self.card(question, reference, criteria, mistakes)
        judged = self.judge(claims.firsts, answer)
        reference_judged = judged[0]
        criteria_judged = judged[1 : 1 + len(criteria)]
        mistakes_judged = judged[1 + len(criteria) :]
        decision = decide(reference_judged, criteria_judged, mistakes_judged, self.rules)

        # Evidence for what the grade rests on: the met, partly met and contradicted
        # criteria, and the mistakes made. Each gets the clause the judge itself accepts.
        wanted: list[tuple[str, str]] = []  # (claim's first text, "states" or "contradicts")
        for index, verdict in enumerate(decision.verdicts):
            if decision.contradicted[index]:
                wanted.append((claims.firsts[1 + index], "contradicts"))
            elif verdict is not Verdict.MISSED:
                wanted.append((claims.firsts[1 + index], "states"))
        for index, made in enumerate(decision.mistakes_made):
            if made:
                wanted.append((claims.firsts[1 + len(criteria) + index], "states"))
        spans = self.evidence(answer, wanted)

        results: list[CriterionResult] = []
        for index, (text, judged_row) in enumerate(zip(criteria, criteria_judged, strict=True)):
            span = spans.get(claims.firsts[1 + index])
            results.append(
                CriterionResult(
                    criterion=text,
                    verdict=decision.verdicts[index],
                    similarity=round(
                        judged_row.contradicts if decision.contradicted[index] else judged_row.states, 4
                    ),
                    evidence=answer[span[0] : span[1]] if span else None,
                    evidence_span=span,
                    contradicted=decision.contradicted[index],
                )
            )
        found: list[MistakeFound] = []
        for index, (text, judged_row) in enumerate(zip(mistakes, mistakes_judged, strict=True)):
            if decision.mistakes_made[index]:
                span = spans.get(claims.firsts[1 + len(criteria) + index])
                found.append(
                    MistakeFound(
                        mistake=text,
                        confidence=round(judged_row.states, 4),
                        evidence=answer[span[0] : span[1]] if span else None,
                        evidence_span=span,
                    )
                )
        contradicts = decision.ceiling == Rating.HARD and not found
        if decision.unsure:
            if contradicts:  # a weak contradiction (DecisionRules.sure_contradiction)
                notes.append("Parts of the answer may contradict the card.")
            notes.append(NOT_SURE_NOTE)
        elif contradicts:
            notes.append("Parts of the answer contradict the card: at most Hard.")
        if found:
            notes.append("The answer makes a known mistake: at most Hard.")
        return GradeResult(
            criteria=results,
            reference_similarity=round(reference_judged.states, 4),
            score=round(decision.score, 4),
            suggested_rating=decision.suggested_rating,
            truncated=truncated,
            notes=notes,
            mistakes=found,
            rating_ceiling=decision.ceiling,
            unsure=decision.unsure,
        )

    def evidence(
        self, answer: str, wanted: Sequence[tuple[str, str]]
    ) -> dict[str, tuple[int, int]]:
        """Per claim, the span of the clause that the judge, reading that clause alone, says
        states (or contradicts) it; claims with no such clause get none. No evidence is
        better than wrong evidence."""
        if not wanted:
            return {}
        spans = clauses(answer)
        if len(spans) == 1:
            # One clause: the judge has just read it whole and decided.
            return {first: spans[0] for first, _ in wanted}
        candidates: list[tuple[str, str, tuple[int, int]]] = []
        for first, relation in wanted:
            claim_words = _content(first.split("[SEP]")[-1])
            ranked = sorted(
                spans,
                key=lambda span: -len(claim_words & _content(answer[span[0] : span[1]])),
            )
            candidates.extend((first, relation, span) for span in ranked[:EVIDENCE_CANDIDATES])
        rows = self.backend(
            [first for first, _, _ in candidates],
            [answer[span[0] : span[1]] for _, _, span in candidates],
        )
        best: dict[str, tuple[float, tuple[int, int]]] = {}
        for (first, relation, span), row in zip(candidates, rows, strict=True):
            strength = row.contradicts if relation == "contradicts" else row.states
            threshold = self.rules.contradicted if relation == "contradicts" else self.rules.met
            if strength >= threshold and strength > best.get(first, (0.0, span))[0]:
                best[first] = (strength, span)
        return {first: span for first, (_, span) in best.items()}

    def warm(self) -> None:
        """One small grade, so the first real one does not pay for ONNX Runtime's first run."""
        self.grade("What is warm?", "Warm is ready.", ["says ready"], "It is ready.")


def load_rules(directory: Path, manifest: dict[str, Any]) -> DecisionRules:
    path = verified_file(directory, PARAMS_FILE, manifest)
    try:
        return DecisionRules.from_json(json.loads(path.read_text(encoding="utf-8"))["rules"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GraderUnavailable(f"The grader's rules in {path} cannot be read ({exc}). {_FIX}") from exc


def _digest(manifest: dict[str, Any]) -> str:
    # The version names the weights and rules, not the backend: both backends grade alike.
    files = {name: entry.get("sha256") for name, entry in sorted(manifest["files"].items())}
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:12]


def shipped_version(directory: Path | None = None) -> str | None:
    """The version the shipped grader stamps on its grades, read without loading the model
    (None when its manifest cannot be read)."""
    try:
        return f"judge-1:{_digest(read_manifest(directory or judge_dir()))}"
    except GraderUnavailable:
        return None


def load_judge_grader(backend: str = "onnx", directory: Path | None = None) -> JudgeGrader:
    """The judge grader with the shipped (checked) files; raises GraderUnavailable."""
    directory = directory or judge_dir()
    runner, manifest = load_backend(backend, directory)
    rules = load_rules(directory, manifest)
    grader = JudgeGrader(runner, rules, _digest(manifest), backend)
    grader.warm()
    return grader


_shared: dict[tuple[str, Path], JudgeGrader] = {}
_shared_lock = threading.Lock()


def load_shared_judge_grader(backend: str = "onnx") -> JudgeGrader:
    """One grader per backend, files and process (the CLI, the app and the tests share it)."""
    key = (backend, judge_dir())
    with _shared_lock:
        grader = _shared.get(key)
        if grader is None:
            grader = _shared[key] = load_judge_grader(backend, key[1])
        return grader
