"""The embedding grader: rubric verdicts, a score and a suggested rating for a typed answer.

One cosine between the whole answer and the model answer agrees with human graders no better
than word overlap, so the grader combines several signals, each computed against the
reference answer and against every rubric criterion:

* **Contextual token alignment** (BERTScore-like): one forward pass of MiniLM over
  ``question + answer`` gives token embeddings of the answer read in the light of the
  question (so "it" in "because it is bigger" means what the question is about). Every
  reference token is matched to its most similar answer token (recall) and back
  (precision), over content words, with and without the words the question already uses
  ("question demoting": repeating the question earns nothing).
* **Static token alignment**: the same over MiniLM's input word-piece embeddings, which
  match words by meaning without context.
* **Lexical overlap**: content-word F1 with light stemming, and character 3/4-gram overlap
  (robust to misspellings), again with and without question words.
* **Cues**: negation parity, numbers and option letters that disagree, yes/no that
  disagrees, antonyms ("connected" vs "separated"), "I don't know", hedging, length ratio.
* **A learned pair head** over the pooled embeddings (u·v, |u−v|, u·q).

A logistic model fitted on SemEval-2013 (``scripts/calibrate_grader.py``, with
cross-validation grouped by question) turns these into the probability that an answer is
correct against a reference. Each criterion goes through the same model (the criterion
standing in for the reference) plus its best-matching answer segment, and a second small
logistic model, fitted on the decks' graded sample answers, gives the probability it is
met; the segment is the evidence. The overall score mixes the reference probability and
the criteria's mean, and :class:`~studytool.core.grading.RatingThresholds` maps it to a
rating. All parameters live in ``grader_params.json``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studytool.core.grading import (
    CriterionResult,
    GradeResult,
    GraderUnavailable,
    RatingThresholds,
    Verdict,
    grade_blank_answer,
    is_blank,
    truncate_answer,
    truncation_note,
)
from studytool.ml.models import MODEL_DIR_ENV, ModelUnavailable, load_embedding_model

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sentence_transformers import SentenceTransformer

    Array = NDArray[np.float32]

PARAMS_PATH = Path(__file__).with_name("grader_params.json")
PARAMS_VERSION = 1

# The question is read as context for the answer, but only its last word pieces: long
# scenario questions would otherwise crowd out the answer in MiniLM's 256-piece window.
CONTEXT_TOKENS = 64
MAX_SEQUENCE = 256  # MiniLM's window, special tokens included
CACHE_SIZE = 512  # encoded texts kept (card references and criteria are encoded once)
SEGMENT_WINDOW = 7  # words per sliding evidence window
SEGMENT_STRIDE = 3

# --------------------------------------------------------------------------------------
# Words: stop words, negation, a light stemmer. Pure Python, shared with the calibration.

STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from as is are was were be
    been being am do does did this that these those it its it's they them their there here he
    she him her his we us our you your i me my mine will would shall should can could may might
    must have has had having so such than too very just also only what which who whom whose
    when where why how into onto over under about after before because while during up down
    out off again further once all any both each few more most other some same own s t now""".split()
)
NEGATIONS = frozenset(
    """not no never none nothing nobody neither nor without cannot cant nt isnt arent wasnt
    werent dont doesnt didnt wont wouldnt couldnt shouldnt hasnt havent hadnt mustnt""".split()
)
_NT_STEMS = frozenset(
    "is are was were do does did wo would could should has have had ca must".split()
)
_SUFFIXES = (
    "ational", "ization", "fulness", "ousness", "iveness", "ations", "ation", "ement",
    "ments", "ment", "ness", "ings", "ing", "edly", "ies", "ied", "ly", "ed", "es", "s",
)  # fmt: skip
# Pairs whose sides contradict each other (matched as stem prefixes).
ANTONYMS = (
    ("connect", "separat"), ("open", "clos"), ("same", "differ"), ("increas", "decreas"),
    ("more", "less"), ("higher", "lower"), ("positiv", "negativ"), ("complet", "incomplet"),
    ("fast", "slow"), ("big", "small"), ("long", "short"), ("hot", "cold"),
    ("absorb", "reflect"), ("befor", "after"), ("add", "remov"), ("parallel", "serial"),
)  # fmt: skip
_ANTONYM_STEMS = frozenset(prefix for pair in ANTONYMS for prefix in pair)
WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_LETTER_RE = re.compile(r"(?<![\w'])([A-Z])(?![\w'])")
_DONT_KNOW_RE = re.compile(
    r"\b(i\s*(do\s*n[o']?t|dont)\s*(know|understand)|no idea|not sure|idk)\b", re.I
)
_HEDGE_RE = re.compile(r"\b(maybe|might|probably|perhaps|i think|i guess)\b", re.I)
_YES_RE = re.compile(r"^\W*(yes|yeah|yep|true|correct)\b", re.I)
_NO_RE = re.compile(r"^\W*(no|nope|false|not)\b", re.I)
# Criteria are written as "says X", "names Y"; the claim is X.
_CRITERION_VERB_RE = re.compile(
    r"^\s*(?:says|states|mentions|notes|names|gives|defines|describes|explains|lists|"
    r"identifies|points out)\s+(?:that\s+)?",
    re.I,
)
_MARKUP_RE = re.compile(r"[*_`#>|]+|\$+")
# Clause boundaries for evidence segments: punctuation, and conjunctions that start a clause.
_CLAUSE_RE = re.compile(r"[^.;:!?,\n()\[\]]+")
_CONJUNCTION_RE = re.compile(
    r"\b(?:and|but|because|so|since|while|whereas|which|then|therefore|thus|when|if)\b", re.I
)


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light suffix-stripping stemmer: enough to match "vibrates" with "vibrating"."""
    word = word.lower().replace("'", "")
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                word += "y"
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def is_negation(word: str) -> bool:
    lowered = word.lower().replace("'", "")
    return lowered in NEGATIONS or (lowered.endswith("nt") and lowered[:-2] in _NT_STEMS)


def is_content(word: str) -> bool:
    return word.lower() not in STOPWORDS and not is_negation(word)


def criterion_claim(criterion: str) -> str:
    """What a rubric criterion asserts: "says a token is a unit" -> "a token is a unit"."""
    claim = _CRITERION_VERB_RE.sub("", criterion, count=1).strip()
    return clean_markup(claim or criterion)


def clean_markup(text: str) -> str:
    """Reference text without markdown emphasis, code ticks and table bars."""
    return " ".join(_MARKUP_RE.sub(" ", text).split())


def _char_grams(words: Sequence[str]) -> Counter[str]:
    grams: Counter[str] = Counter()
    for word in words:
        padded = f"#{word.lower()}#"
        for size in (3, 4):
            for start in range(len(padded) - size + 1):
                grams[padded[start : start + size]] += 1
    return grams


def _overlap(a: Counter[str], b: Counter[str]) -> tuple[float, float, float]:
    """Precision, recall and F1 of multiset ``a`` against ``b``."""
    if not a or not b:
        return 0.0, 0.0, 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    common = sum(min(count, large[key]) for key, count in small.items() if key in large)
    if not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


def _polarity(text: str) -> int:
    return 1 if _YES_RE.search(text) else -1 if _NO_RE.search(text) else 0


@dataclass(frozen=True)
class TextInfo:
    """The lexical facts the features need about one text (given its question)."""

    content: tuple[str, ...]  # stems of content words
    demoted: tuple[str, ...]  # ... minus those the question uses
    content_words: tuple[str, ...]  # unstemmed content words
    demoted_words: tuple[str, ...]
    stems: frozenset[str]
    negations: int
    numbers: frozenset[str]
    letters: frozenset[str]
    polarity: int
    grams: Counter[str]
    demoted_grams: Counter[str]
    content_counts: Counter[str]
    demoted_counts: Counter[str]
    antonym_stems: frozenset[str]  # the ANTONYMS stem prefixes some word here starts with

    @classmethod
    def of(cls, text: str, question_stems: frozenset[str]) -> TextInfo:
        words = WORD_RE.findall(text)
        content_words = [w for w in words if is_content(w)]
        content = [stem(w) for w in content_words]
        keep = [s not in question_stems for s in content]
        demoted_words = [w for w, k in zip(content_words, keep, strict=True) if k]
        demoted = tuple(s for s, k in zip(content, keep, strict=True) if k)
        stems = frozenset(stem(w) for w in words)
        return cls(
            content=tuple(content),
            demoted=demoted,
            content_words=tuple(content_words),
            demoted_words=tuple(demoted_words),
            stems=stems,
            negations=sum(1 for w in words if is_negation(w)),
            numbers=frozenset(n.replace(",", "") for n in _NUMBER_RE.findall(text)),
            letters=frozenset(_LETTER_RE.findall(text)),
            polarity=_polarity(text),
            grams=_char_grams(content_words),
            demoted_grams=_char_grams(demoted_words),
            content_counts=Counter(content),
            demoted_counts=Counter(demoted),
            antonym_stems=frozenset(
                prefix for prefix in _ANTONYM_STEMS if any(s.startswith(prefix) for s in stems)
            ),
        )


def question_stems(question: str) -> frozenset[str]:
    return frozenset(stem(w) for w in WORD_RE.findall(question) if is_content(w))


def _antonym_conflict(answer: TextInfo, references: Sequence[TextInfo]) -> float:
    """1 when the answer uses one side of an antonym pair and every reference the other."""
    if not references or not answer.antonym_stems:
        return 0.0
    mine_stems = answer.antonym_stems
    for left, right in ANTONYMS:
        for mine, other in ((left, right), (right, left)):
            if mine in mine_stems and other not in mine_stems:
                if all(
                    other in ref.antonym_stems and mine not in ref.antonym_stems
                    for ref in references
                ):
                    return 1.0
    return 0.0


def segments(text: str) -> list[tuple[int, int]]:
    """Candidate evidence spans: clauses, then sliding windows of a few words."""
    spans: list[tuple[int, int]] = []
    for match in _CLAUSE_RE.finditer(text):
        start, end = match.start(), match.end()
        cuts = [start]
        cuts += [c.start() for c in _CONJUNCTION_RE.finditer(text, start, end) if c.start() > start]
        cuts.append(end)
        for a, b in zip(cuts, cuts[1:], strict=False):
            piece = text[a:b]
            if WORD_RE.search(piece):
                lead = len(piece) - len(piece.lstrip())
                spans.append((a + lead, a + len(piece.rstrip())))
    words = [m.span() for m in WORD_RE.finditer(text)]
    if len(words) > SEGMENT_WINDOW:
        for i in range(0, len(words) - SEGMENT_WINDOW + SEGMENT_STRIDE, SEGMENT_STRIDE):
            last = min(i + SEGMENT_WINDOW, len(words)) - 1
            spans.append((words[i][0], words[last][1]))
    return list(dict.fromkeys(spans))


# --------------------------------------------------------------------------------------
# Encodings


@dataclass(frozen=True)
class Encoded:
    """A text encoded in the context of its question.

    ``tokens`` are the final-layer embeddings of the text's own word pieces (the question's
    are dropped), L2-normalised; ``static`` the same pieces' input embeddings; ``offsets``
    their character spans in ``text``; ``sentence`` the normalised mean of the tokens.
    ``content`` / ``demoted`` weight each piece 1 when it belongs to a content word (one
    the question does not use, for ``demoted``), else 0.
    """

    text: str
    tokens: Array
    static: Array
    offsets: tuple[tuple[int, int], ...]
    sentence: Array
    content: Array
    demoted: Array
    info: TextInfo


def _normalise(matrix: Array) -> Array:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-9)).astype(np.float32)


def _token_weights(
    text: str, offsets: Sequence[tuple[int, int]], q_stems: frozenset[str]
) -> tuple[Array, Array]:
    import numpy as np

    owner = [-1] * (len(text) + 1)
    words = list(WORD_RE.finditer(text))
    for index, match in enumerate(words):
        for position in range(match.start(), match.end()):
            owner[position] = index
    flags: list[tuple[float, float]] = []
    for word in words:
        w = word.group(0)
        content = is_content(w)
        flags.append((float(content), float(content and stem(w) not in q_stems)))
    content_w = np.zeros(len(offsets), dtype=np.float32)
    demoted_w = np.zeros(len(offsets), dtype=np.float32)
    for k, (start, end) in enumerate(offsets):
        if end > start and owner[start] >= 0:
            content_w[k], demoted_w[k] = flags[owner[start]]
    return content_w, demoted_w


class _LeanBert:
    """BERT's encoder forward written out over the model's own weights.

    Transformers' module-by-module forward costs a few milliseconds of Python per call on
    top of the arithmetic, which is a sixth of a short answer's grading time; this does the
    same computation (query, key and value in one matrix product) and agrees with it to
    float rounding (checked when it is built, else the model's own forward is used).
    """

    def __init__(self, bert: Any) -> None:
        import torch

        embeddings = bert.embeddings
        self.word = embeddings.word_embeddings.weight
        self.position = embeddings.position_embeddings.weight
        self.token_type = embeddings.token_type_embeddings.weight[0]
        self.norm = embeddings.LayerNorm
        self.heads = int(bert.config.num_attention_heads)
        self.layers = []
        for layer in bert.encoder.layer:
            attention = layer.attention.self
            self.layers.append(
                (
                    torch.cat(
                        [attention.query.weight, attention.key.weight, attention.value.weight]
                    ),
                    torch.cat([attention.query.bias, attention.key.bias, attention.value.bias]),
                    layer.attention.output.dense,
                    layer.attention.output.LayerNorm,
                    layer.intermediate.dense,
                    layer.output.dense,
                    layer.output.LayerNorm,
                )
            )

    @classmethod
    def of(cls, bert: Any) -> _LeanBert | None:
        """The lean forward for ``bert``, or None when it is not a plain BERT encoder."""
        import numpy as np
        import torch

        try:
            if bert.config.hidden_act != "gelu" or bert.config.is_decoder:
                return None
            lean = cls(bert)
            ids = torch.tensor([[101, 7592, 2088, 1010, 2129, 2024, 2017, 102, 0]])
            mask = (ids != 0).long()
            with torch.inference_mode():
                expected = (
                    bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
                    .last_hidden_state.float()
                    .numpy()
                )
                got = lean(ids, mask)
        except Exception:  # any other architecture: use the model's own forward
            return None
        return lean if np.allclose(got[:, :8], expected[:, :8], atol=1e-4) else None

    def __call__(self, input_ids: Any, mask: Any) -> Array:
        import torch
        import torch.nn.functional as F

        batch, length = input_ids.shape
        hidden = self.word[input_ids] + self.position[:length] + self.token_type
        hidden = self.norm(hidden)
        bias = None
        if not bool(mask.all()):
            bias = torch.zeros((batch, 1, 1, length), dtype=hidden.dtype)
            bias.masked_fill_(mask[:, None, None, :] == 0, float("-inf"))
        width = hidden.shape[-1]
        size = width // self.heads
        for qkv_weight, qkv_bias, out, out_norm, up, down, down_norm in self.layers:
            q, k, v = (
                F.linear(hidden, qkv_weight, qkv_bias)
                .view(batch, length, 3, self.heads, size)
                .permute(2, 0, 3, 1, 4)
            )
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            attended = attended.transpose(1, 2).reshape(batch, length, width)
            hidden = out_norm(out(attended) + hidden)
            hidden = down_norm(down(F.gelu(up(hidden))) + hidden)
        return hidden.float().numpy()  # type: ignore[no-any-return]


class Encoder:
    """MiniLM forward passes that keep per-token embeddings and character offsets."""

    def __init__(self, model: SentenceTransformer) -> None:
        self.model = model
        self.tokenizer = model.tokenizer
        # The BERT module under sentence-transformers' wrapper (torch types it loosely).
        transformer: Any = model[0]
        self.bert: Any = transformer.auto_model
        self.bert.eval()
        self._lean = _LeanBert.of(self.bert)
        self.cls_id = int(self.tokenizer.cls_token_id)
        self.sep_id = int(self.tokenizer.sep_token_id)
        self.pad_id = int(self.tokenizer.pad_token_id or 0)

    def _pieces(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        encoded = self.tokenizer(
            text,
            add_special_tokens=False,
            return_offsets_mapping=True,
            truncation=False,
            verbose=False,
        )
        return list(encoded["input_ids"]), [tuple(o) for o in encoded["offset_mapping"]]

    def context_ids(self, question: str) -> list[int]:
        ids, _ = self._pieces(question)
        return ids[-CONTEXT_TOKENS:]

    def encode(
        self, question: str, texts: Sequence[str], q_stems: frozenset[str], batch_size: int = 32
    ) -> list[Encoded]:
        """Encode ``texts`` each read after ``question``; long texts go in several windows."""
        import numpy as np
        import torch

        context = self.context_ids(question) if question.strip() else []
        room = MAX_SEQUENCE - 2 - len(context)
        pieces = [self._pieces(text) for text in texts]
        # (text index, first piece, last piece) per window.
        windows: list[tuple[int, int, int]] = []
        for index, (ids, _) in enumerate(pieces):
            for start in range(0, max(len(ids), 1), room):
                windows.append((index, start, min(start + room, len(ids))))
        token_rows: list[list[tuple[int, Array]]] = [[] for _ in texts]
        order = sorted(range(len(windows)), key=lambda w: windows[w][2] - windows[w][1])
        first = 1 + len(context)
        for batch_start in range(0, len(order), batch_size):
            batch = [windows[w] for w in order[batch_start : batch_start + batch_size]]
            sequences = [
                [self.cls_id, *context, *pieces[i][0][a:b], self.sep_id] for i, a, b in batch
            ]
            width = max(len(s) for s in sequences)
            input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, sequence in enumerate(sequences):
                input_ids[row, : len(sequence)] = torch.tensor(sequence)
                mask[row, : len(sequence)] = 1
            hidden_np = self.forward(input_ids, mask)
            for row, (i, a, b) in enumerate(batch):
                token_rows[i].append((a, hidden_np[row, first : first + (b - a)]))
        table = self.bert.embeddings.word_embeddings.weight
        width = int(table.shape[1])
        results: list[Encoded] = []
        for index, text in enumerate(texts):
            ids, offsets = pieces[index]
            parts = [rows for _, rows in sorted(token_rows[index], key=lambda part: part[0])]
            raw = np.concatenate(parts) if ids else np.zeros((0, width), dtype=np.float32)
            with torch.inference_mode():
                static = table[torch.tensor(ids, dtype=torch.long)].float().numpy()
            mean = raw.mean(axis=0) if len(raw) else np.zeros(width, dtype=np.float32)
            content_w, demoted_w = _token_weights(text, offsets, q_stems)
            results.append(
                Encoded(
                    text=text,
                    tokens=_normalise(raw),
                    static=_normalise(static.reshape(len(ids), width)),
                    offsets=tuple(offsets),
                    sentence=_normalise(mean),
                    content=content_w,
                    demoted=demoted_w,
                    info=TextInfo.of(text, q_stems),
                )
            )
        return results

    def forward(self, input_ids: Any, mask: Any) -> Array:
        """Final-layer token embeddings of a padded batch (MiniLM's own weights)."""
        import torch

        with torch.inference_mode():
            if self._lean is not None:
                return self._lean(input_ids, mask)
            hidden = self.bert(
                input_ids=input_ids,
                attention_mask=mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            return hidden.float().numpy()  # type: ignore[no-any-return]

    def encode_plain(self, texts: Sequence[str]) -> Array:
        """Sentence embeddings exactly as sentence-transformers makes them."""
        import numpy as np

        vectors = self.model.encode(
            list(texts), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


# --------------------------------------------------------------------------------------
# Features

FEATURE_NAMES: tuple[str, ...] = (
    "cos", "bert_p", "bert_r", "bert_f", "dem_p", "dem_r", "dem_f",
    "lex_p", "lex_r", "lex_f", "lexdem_p", "lexdem_r", "lexdem_f", "dem_cos",
    "neg_mismatch", "log_len_ratio", "q_cos", "novelty", "log_words", "has_negation",
    "q_ref_cos", "log_ref_len", "log_ref_dem_len", "log_q_len", "log_n_refs",
    "static_p", "static_r", "static_f", "gram_f", "gram_r", "gramdem_f", "gramdem_r",
    "num_missing", "num_extra", "ref_has_num", "letter_match", "letter_conflict",
    "dont_know", "hedge", "antonym", "neg_mismatch_any",
    "yes_no_agree", "yes_no_conflict", "ref_yes_no",
    "cos_x_len", "dem_r_x_len", "lex_r_x_len", "lexdem_r_x_len", "dem_cos_x_len",
    "cos_x_qref", "dem_r_x_qref", "lex_r_x_qref", "lexdem_r_x_qref", "dem_cos_x_qref",
    "cover_50", "cover_60", "cover_70",
)  # fmt: skip
EMBEDDING_DIM = 384
# u·v, |u−v|, u·q of the pooled vectors, then the aligned reference tokens' u·v and |u−v|.
PAIR_DIM = 5 * EMBEDDING_DIM
_COS, _DEM_P, _DEM_R, _LEXDEM_R, _GRAMDEM_R, _STATIC_R = (
    FEATURE_NAMES.index(name)
    for name in ("cos", "dem_p", "dem_r", "lexdem_r", "gramdem_r", "static_r")
)


def _align(
    sims: Array, a_weights: Array, r_weights: Array
) -> tuple[float, float, float, Array | None]:
    """Greedy soft alignment over ``sims`` (answer tokens × reference tokens): precision,
    recall, F1 and each reference token's best match."""
    if a_weights.sum() <= 0 or r_weights.sum() <= 0:
        return 0.0, 0.0, 0.0, None
    best_for_ref = sims.max(axis=0)
    precision = float(sims.max(axis=1) @ a_weights / a_weights.sum())
    recall = float(best_for_ref @ r_weights / r_weights.sum())
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1, best_for_ref


def _soft_align(
    a_tokens: Array, a_weights: Array, r_tokens: Array, r_weights: Array
) -> tuple[float, float, float, Array | None]:
    """Greedy soft alignment: precision, recall, F1 and each reference token's best match."""
    if a_weights.sum() <= 0 or r_weights.sum() <= 0:
        return 0.0, 0.0, 0.0, None
    return _align(a_tokens @ r_tokens.T, a_weights, r_weights)


def _aligned_vectors(answer: Encoded, ref: Encoded, sims: Array) -> Array:
    """The reference's content tokens against the answer tokens they align with:
    the weighted means of their products and of their absolute differences."""
    import numpy as np

    weights = ref.demoted
    total = float(weights.sum())
    if total <= 0 or not len(answer.tokens):
        return np.zeros(2 * EMBEDDING_DIM, dtype=np.float32)
    matched = answer.tokens[sims.argmax(axis=0)]
    w = (weights / total)[:, None]
    return np.concatenate(
        [(ref.tokens * matched * w).sum(axis=0), (np.abs(ref.tokens - matched) * w).sum(axis=0)]
    ).astype(np.float32)


def _pooled(tokens: Array, weights: Array) -> Array | None:

    if weights.sum() <= 0:
        return None
    return _normalise((tokens * weights[:, None]).sum(axis=0))  # type: ignore[no-any-return]


def reference_features(
    answer: Encoded,
    references: Sequence[Encoded],
    question_vector: Array,
    question_info: TextInfo,
) -> tuple[list[float], Array]:
    """The feature vector (in FEATURE_NAMES order) and the pair-head input for one answer."""
    import numpy as np

    a = answer.info
    per_ref: list[list[float]] = []
    covers: list[list[float]] = []
    ref_sims: list[Array] = []
    for ref in references:
        r = ref.info
        cos = float(answer.sentence @ ref.sentence)
        sims = answer.tokens @ ref.tokens.T
        ref_sims.append(sims)
        bert = _align(sims, answer.content, ref.content)
        dem = _align(sims, answer.demoted, ref.demoted)
        lex = _overlap(a.content_counts, r.content_counts)
        lexdem = _overlap(a.demoted_counts, r.demoted_counts)
        pa, pr = _pooled(answer.tokens, answer.demoted), _pooled(ref.tokens, ref.demoted)
        dem_cos = float(pa @ pr) if pa is not None and pr is not None else 0.0
        static = (
            _align(answer.static @ ref.static.T, answer.demoted, ref.demoted)
            if answer.demoted.sum() > 0 and ref.demoted.sum() > 0
            else (0.0, 0.0, 0.0, None)
        )
        gram = _overlap(a.grams, r.grams)
        gramdem = _overlap(a.demoted_grams, r.demoted_grams)
        per_ref.append(
            [cos, *bert[:3], *dem[:3], *lex, *lexdem, dem_cos, *static[:3],
             gram[2], gram[1], gramdem[2], gramdem[1]]
        )  # fmt: skip
        best = dem[3]
        if best is None:
            covers.append([0.0, 0.0, 0.0])
        else:
            mask = ref.demoted > 0
            covers.append([float((best[mask] >= t).mean()) for t in (0.5, 0.6, 0.7)])
    if not per_ref:
        per_ref, covers = [[0.0] * 21], [[0.0, 0.0, 0.0]]
    table = np.asarray(per_ref, dtype=np.float64)
    top = table.max(axis=0)
    best_index = int(np.argmax(table[:, 6] + table[:, 0])) if references else -1
    best_ref = references[best_index].info if references else None

    def log_ratio(ref: TextInfo | None) -> float:
        return math.log((len(a.content) + 1) / (len(ref.content) + 1)) if ref else 0.0

    neg_best = float(best_ref is not None and (a.negations % 2) != (best_ref.negations % 2))
    refs_info = [ref.info for ref in references]
    q_ref_cos = max((float(question_vector @ ref.sentence) for ref in references), default=0.0)
    ref_len = float(np.mean([len(r.content) for r in refs_info])) if refs_info else 0.0
    ref_dem_len = float(np.mean([len(r.demoted) for r in refs_info])) if refs_info else 0.0
    # Numbers and option letters the references give that the answer lacks or contradicts.
    ref_numbers = [r.numbers - question_info.numbers for r in refs_info]
    num_missing = min((len(n - a.numbers) / len(n) if n else 0.0 for n in ref_numbers), default=0.0)
    num_extra = (
        float(min(bool(a.numbers - n - question_info.numbers) for n in ref_numbers))
        if a.numbers and ref_numbers
        else 0.0
    )
    letter_match = max((float(bool(r.letters & a.letters)) for r in refs_info), default=0.0)
    letter_conflict = (
        min(
            (float(bool(a.letters - r.letters)) if r.letters else 0.0 for r in refs_info),
            default=0.0,
        )
        if a.letters
        else 0.0
    )
    polarities = [r.polarity for r in refs_info]
    yes_no_agree = float(any(a.polarity != 0 and a.polarity == p for p in polarities))
    yes_no_conflict = float(
        a.polarity != 0 and bool(polarities) and all(p != 0 and p != a.polarity for p in polarities)
    )
    neg_any = min((float((a.negations % 2) != (r.negations % 2)) for r in refs_info), default=0.0)
    novelty = len(a.demoted) / len(a.content) if a.content else 0.0
    cos, dem_r, lex_r, lexdem_r, dem_cos = top[0], top[5], top[8], top[11], top[13]
    log_ref_dem_len = math.log1p(ref_dem_len)
    main = (cos, dem_r, lex_r, lexdem_r, dem_cos)
    features = [
        *top[:14].tolist(),
        neg_best,
        log_ratio(best_ref),
        float(answer.sentence @ question_vector),
        novelty,
        math.log1p(len(a.content)),
        float(a.negations > 0),
        q_ref_cos,
        math.log1p(ref_len),
        log_ref_dem_len,
        math.log1p(len(question_info.content)),
        math.log(max(len(references), 1)),
        *top[14:17].tolist(),
        *top[17:21].tolist(),
        num_missing,
        num_extra,
        float(any(ref_numbers)),
        letter_match,
        letter_conflict,
        float(bool(_DONT_KNOW_RE.search(answer.text))),
        float(bool(_HEDGE_RE.search(answer.text))),
        _antonym_conflict(a, refs_info),
        neg_any,
        yes_no_agree,
        yes_no_conflict,
        float(any(polarities)),
        *(m * log_ref_dem_len for m in main),
        *(m * q_ref_cos for m in main),
        *np.asarray(covers).max(axis=0).tolist(),
    ]
    best_vector = (
        references[int(np.argmax(table[:, 0]))].sentence
        if references
        else np.zeros_like(answer.sentence)
    )
    # The reference whose content the answer recalls best lends its token alignment.
    if references:
        recalled = int(np.argmax(table[:, 5]))
        aligned = _aligned_vectors(answer, references[recalled], ref_sims[recalled])
    else:
        aligned = np.zeros(2 * EMBEDDING_DIM, dtype=np.float32)
    u = answer.sentence
    pair = np.concatenate([u * best_vector, np.abs(u - best_vector), u * question_vector, aligned])
    return [float(f) for f in features], pair.astype(np.float32)


# --------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class LinearModel:
    """A standardised logistic model: sigmoid(((x - mean) / scale) · coef + intercept)."""

    mean: Array
    scale: Array
    coef: Array
    intercept: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearModel:
        import numpy as np

        model = cls(
            mean=np.asarray(data["mean"], dtype=np.float64),
            # A constant input's scale can round to 0 in the JSON; it then carries nothing.
            scale=np.where(
                np.asarray(data["scale"], dtype=np.float64) > 0,
                np.asarray(data["scale"], dtype=np.float64),
                1.0,
            ),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=float(data["intercept"]),
        )
        if not (len(model.mean) == len(model.scale) == len(model.coef)):
            raise ValueError("mean, scale and coef differ in length")
        return model

    def logit(self, x: Array | Sequence[float]) -> float:
        import numpy as np

        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.scale
        return float(z @ self.coef + self.intercept)

    def prob(self, x: Array | Sequence[float]) -> float:
        return _sigmoid(self.logit(x))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@dataclass(frozen=True)
class GraderParams:
    reference_model: LinearModel  # FEATURE_NAMES + pair logit -> P(correct)
    pair_head: LinearModel  # PAIR_DIM -> logit
    criterion_model: LinearModel  # CRITERION_FEATURES -> P(met)
    met: float
    partly: float
    reference_weight: float
    thresholds: RatingThresholds
    digest: str = ""  # sha256 of the parameter file: part of the grader's version

    @classmethod
    def load(cls, path: Path = PARAMS_PATH) -> GraderParams:
        try:
            raw = path.read_bytes()
            data = json.loads(raw.decode("utf-8"))
            if data.get("version") != PARAMS_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {PARAMS_VERSION}")
            if list(data["feature_names"]) != list(FEATURE_NAMES):
                raise ValueError("feature list differs from this grader's")
            params = cls(
                reference_model=LinearModel.from_json(data["reference_model"]),
                pair_head=LinearModel.from_json(data["pair_head"]),
                criterion_model=LinearModel.from_json(data["criterion_model"]),
                met=float(data["verdicts"]["met"]),
                partly=float(data["verdicts"]["partly"]),
                reference_weight=float(data["score"]["reference_weight"]),
                thresholds=RatingThresholds.from_json(data["thresholds"]),
                digest=hashlib.sha256(raw).hexdigest(),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelUnavailable(
                f"The grader's parameters in {path} cannot be used ({exc}). "
                "Regenerate them with `python scripts/calibrate_grader.py` or reinstall studytool."
            ) from exc
        if len(params.reference_model.coef) != len(FEATURE_NAMES) + 1:
            raise ModelUnavailable(f"The grader's parameters in {path} do not fit this grader.")
        return params


CRITERION_FEATURES: tuple[str, ...] = (
    "reference_logit", "segment_cos", "cos", "dem_r", "lexdem_r", "gramdem_r", "static_r",
    "log_claim_len", "answer_precision", "segment_r", "segment_negation",
)  # fmt: skip


@dataclass(frozen=True)
class SegmentMatch:
    """The answer segment that best matches a criterion's claim."""

    span: tuple[int, int] | None
    cos: float  # its pooled embedding against the claim's
    recall: float  # soft recall of the claim's content tokens within the segment
    negation: float  # 1 when the segment and the claim disagree in negation parity


NO_SEGMENT = SegmentMatch(None, 0.0, 0.0, 0.0)


def criterion_features(
    reference_logit: float,
    features: Sequence[float],
    claim: TextInfo,
    answer_precision: float,
    segment: SegmentMatch,
) -> list[float]:
    """Inputs of the criterion model: the reference model's view of the criterion, the best
    segment's match, and how much of the answer the model answer supports (an answer full of
    claims the model answer does not make is rarely meeting a criterion, whatever it shares
    with it)."""
    return [
        reference_logit,
        segment.cos,
        features[_COS],
        features[_DEM_R],
        features[_LEXDEM_R],
        features[_GRAMDEM_R],
        features[_STATIC_R],
        math.log1p(len(claim.content)),
        answer_precision,
        segment.recall,
        segment.negation,
    ]


# --------------------------------------------------------------------------------------
# The grader


@dataclass(frozen=True)
class Card:
    """What the grader keeps about one card: its question, reference and criteria, encoded."""

    question: str
    q_stems: frozenset[str]
    q_info: TextInfo
    q_vector: Array
    reference: Encoded | None
    criteria: tuple[str, ...]
    claims: tuple[Encoded, ...]


@dataclass(frozen=True)
class AnswerAnalysis:
    """Everything computed about one answer against one card (used by grade and calibration)."""

    reference_features: list[float]
    reference_pair: Array
    reference_probability: float
    criterion_inputs: list[list[float]]
    criterion_probabilities: list[float]
    evidence: list[tuple[int, int] | None]
    reference_cos: float


class EmbeddingGrader:
    """Grades answers with MiniLM embeddings; see the module docstring for how.

    Build one with :func:`load_grader`. ``grade`` may be called from a worker thread;
    calls are serialised by a lock (the model is not re-entrant-safe on every platform).
    """

    def __init__(
        self,
        model: SentenceTransformer,
        params: GraderParams,
        *,
        thresholds: RatingThresholds | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.encoder = Encoder(model)
        self.params = params
        self.thresholds = thresholds or params.thresholds
        self._cache_size = cache_size
        self._texts: OrderedDict[tuple[str, str], Encoded] = OrderedDict()
        self._cards: OrderedDict[tuple[str, str, tuple[str, ...]], Card] = OrderedDict()
        self._lock = threading.RLock()

    @property
    def version(self) -> str:
        """``embedding-<format>:<parameters' sha256, 12 hex>``, stored with every grade."""
        return f"embedding-{PARAMS_VERSION}:{self.params.digest[:12]}"

    @property
    def model(self) -> SentenceTransformer:
        return self.encoder.model

    # -- caching -------------------------------------------------------------------------

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self._cache_size:
            cache.popitem(last=False)

    def encode_texts(self, question: str, texts: Sequence[str]) -> list[Encoded]:
        """Encode texts read after ``question``, reusing cached encodings."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if (question, t) not in self._texts]
            if missing:
                stems = question_stems(question)
                for text, encoded in zip(
                    missing, self.encoder.encode(question, missing, stems), strict=True
                ):
                    self._remember(self._texts, (question, text), encoded)
            found = []
            for text in texts:
                self._texts.move_to_end((question, text))
                found.append(self._texts[(question, text)])
            return found

    def card(self, question: str, reference: str, criteria: Sequence[str]) -> Card:
        """The encoded card (cached): encode a card ahead of time with this."""
        key = (question, reference, tuple(criteria))
        with self._lock:
            if key in self._cards:
                self._cards.move_to_end(key)
                return self._cards[key]
            stems = question_stems(question)
            cleaned_reference = clean_markup(reference)
            claims = [criterion_claim(c) for c in criteria]
            texts = ([cleaned_reference] if cleaned_reference else []) + claims
            encoded = self.encode_texts(question, texts)
            q_vector = self.encoder.encode_plain([question or " "])[0]
            card = Card(
                question=question,
                q_stems=stems,
                q_info=TextInfo.of(question, stems),
                q_vector=q_vector,
                reference=encoded[0] if cleaned_reference else None,
                criteria=tuple(criteria),
                claims=tuple(encoded[1:] if cleaned_reference else encoded),
            )
            self._remember(self._cards, key, card)
            return card

    # -- scoring -------------------------------------------------------------------------

    def reference_probability(self, features: Sequence[float], pair: Array) -> float:
        pair_logit = self.params.pair_head.logit(pair)
        return self.params.reference_model.prob([*features, pair_logit])

    def analyse(self, card: Card, answer: Encoded) -> AnswerAnalysis:
        """Score an encoded answer against a card: reference probability and criteria."""
        import numpy as np

        refs = [card.reference] if card.reference is not None else []
        features, pair = reference_features(answer, refs, card.q_vector, card.q_info)
        p_ref = self.reference_probability(features, pair) if refs else 0.0
        ref_cos = float(answer.sentence @ card.reference.sentence) if card.reference else 0.0
        precision = features[_DEM_P] if refs else 0.0
        spans = segments(answer.text)
        seg_vectors, seg_masks = _segment_vectors(answer, spans)
        inputs: list[list[float]] = []
        probabilities: list[float] = []
        evidence: list[tuple[int, int] | None] = []
        for claim in card.claims:
            c_features, c_pair = reference_features(answer, [claim], card.q_vector, card.q_info)
            p = self.reference_probability(c_features, c_pair)
            c_logit = math.log(max(1e-9, p)) - math.log(max(1e-9, 1 - p))
            match = NO_SEGMENT
            if len(seg_vectors):
                sims = seg_vectors @ claim.sentence
                best = int(np.argmax(sims))
                match = _segment_match(
                    answer, spans[best], float(sims[best]), seg_masks[best], claim
                )
            x = criterion_features(c_logit, c_features, claim.info, precision, match)
            inputs.append(x)
            probabilities.append(self.params.criterion_model.prob(x))
            evidence.append(match.span)
        return AnswerAnalysis(features, pair, p_ref, inputs, probabilities, evidence, ref_cos)

    def combine(
        self, p_ref: float, criterion_probabilities: Sequence[float], has_reference: bool
    ) -> float:
        """The overall score from the reference probability and the criteria's."""
        if not criterion_probabilities:
            return p_ref
        mean = sum(criterion_probabilities) / len(criterion_probabilities)
        if not has_reference:
            return mean
        w = self.params.reference_weight
        return w * p_ref + (1 - w) * mean

    def verdict(self, probability: float) -> Verdict:
        if probability >= self.params.met:
            return Verdict.MET
        if probability >= self.params.partly:
            return Verdict.PARTLY
        return Verdict.MISSED

    def grade(self, question: str, reference: str, criteria: list[str], answer: str) -> GradeResult:
        """Grade ``answer``; see :class:`studytool.core.grading.Grader`."""
        if is_blank(answer):
            return grade_blank_answer(criteria)
        text, truncated = truncate_answer(answer)
        notes = [truncation_note()] if truncated else []
        card = self.card(question, reference, criteria)
        # Answers are not cached: each is typed once, and caching would only evict cards.
        with self._lock:
            (encoded,) = self.encoder.encode(question, [text], card.q_stems)
        if not len(encoded.tokens):  # e.g. only zero-width or control characters
            blank = grade_blank_answer(criteria)
            notes.append("Nothing in the answer could be read.")
            return GradeResult(blank.criteria, 0.0, 0.0, blank.suggested_rating, truncated, notes)
        analysis = self.analyse(card, encoded)
        if card.reference is None and not card.claims:
            notes.append(
                "This card has no model answer or rubric to compare with; rate it yourself."
            )
        results = []
        for criterion, probability, span in zip(
            card.criteria, analysis.criterion_probabilities, analysis.evidence, strict=True
        ):
            verdict = self.verdict(probability)
            shown = span if verdict is not Verdict.MISSED else None
            results.append(
                CriterionResult(
                    criterion=criterion,
                    verdict=verdict,
                    similarity=round(probability, 4),
                    evidence=text[shown[0] : shown[1]] if shown else None,
                    evidence_span=shown,
                )
            )
        score = self.combine(
            analysis.reference_probability,
            analysis.criterion_probabilities,
            card.reference is not None,
        )
        score = min(1.0, max(0.0, score))
        return GradeResult(
            criteria=results,
            reference_similarity=round(analysis.reference_cos, 4),
            score=round(score, 4),
            suggested_rating=self.thresholds.rating_for(score),
            truncated=truncated,
            notes=notes,
        )

    def warm(self) -> None:
        """Run one tiny grade so the first real one does not pay for lazy initialisation."""
        self.grade("What is warm-up?", "A first run.", ["says it runs first"], "It runs first.")
        with self._lock:
            self._texts.clear()
            self._cards.clear()


def _segment_vectors(
    answer: Encoded, spans: Sequence[tuple[int, int]]
) -> tuple[Array, NDArray[np.bool_]]:
    """Each span's embedding (the normalised mean of the answer tokens inside it) and which
    tokens lie inside it."""
    import numpy as np

    if not spans or not len(answer.tokens):
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32), np.zeros((0, 0), dtype=bool)
    offsets = np.asarray(answer.offsets).reshape(-1, 2)
    bounds = np.asarray(spans)
    masks = (
        (offsets[None, :, 0] >= bounds[:, None, 0])
        & (offsets[None, :, 1] <= bounds[:, None, 1])
        & (offsets[None, :, 1] > offsets[None, :, 0])
    )
    counts = np.maximum(masks.sum(axis=1, keepdims=True), 1)
    vectors = (masks.astype(np.float32) @ answer.tokens) / counts
    return _normalise(vectors), masks


def _negation_parity(text: str) -> int:
    return sum(1 for w in WORD_RE.findall(text) if is_negation(w)) % 2


def _segment_match(
    answer: Encoded, span: tuple[int, int], cos: float, mask: NDArray[np.bool_], claim: Encoded
) -> SegmentMatch:
    tokens = answer.tokens[mask]
    weights = claim.demoted
    recall = 0.0
    if len(tokens) and weights.sum() > 0:
        recall = float((claim.tokens @ tokens.T).max(axis=1) @ weights / weights.sum())
    negation = float(_negation_parity(answer.text[span[0] : span[1]]) != claim.info.negations % 2)
    return SegmentMatch(span, cos, recall, negation)


def load_grader(
    *,
    model_dir: Path | None = None,
    params_path: Path = PARAMS_PATH,
    thresholds: RatingThresholds | None = None,
) -> EmbeddingGrader:
    """Load the model (checked) and the fitted parameters. Raises ModelUnavailable."""
    params = GraderParams.load(params_path)
    model = load_embedding_model(model_dir)
    return EmbeddingGrader(model, params, thresholds=thresholds)


_shared_graders: dict[str, EmbeddingGrader] = {}
_shared_lock = threading.Lock()


def load_shared_grader() -> EmbeddingGrader:
    """The embedding grader, loaded once per process and model folder.

    Every session of the app (and every test) shares it: the model is read-only, the grader
    serialises its own calls, and loading it again would cost seconds each time. A missing
    or damaged model is :class:`~studytool.core.grading.GraderUnavailable`, with the fix.
    """
    import os

    key = os.environ.get(MODEL_DIR_ENV, "")
    with _shared_lock:
        grader = _shared_graders.get(key)
        if grader is None:
            try:
                loaded = load_grader()
                loaded.warm()
            except ModelUnavailable as exc:
                raise GraderUnavailable(str(exc)) from exc
            grader = _shared_graders[key] = loaded
        return grader
