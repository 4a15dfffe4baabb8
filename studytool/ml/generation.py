"""The generation demos' engine: token-by-token decoding, sampling controls, the KV cache, attention.

Generation is the demo's own loop over the model's forward pass (not ``model.generate``), so
that every step can be shown: the top next-token probabilities before and after temperature,
top-k and top-p, the chosen token, the shapes going in and out. It is a plain iterator of
:class:`Step` objects, free of any UI, so a Textual thread worker can drive it and post each
step as a message; a ``threading.Event`` stops it between steps. All state (the KV cache, the
random generator) lives in the run, so a cancelled or failed run leaves the model as it was.

Typical use::

    lm = shared_lm()                        # lm.py: the packaged SmolLM2, loaded once
    run = generate_stream(lm, "The capital of France is", SamplingSettings(greedy=True))
    for step in run:                        # bad input raised DemoError before this line
        print(step.text, end="")
    run.stop_reason                         # "eos", "length" or "cancelled"
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studytool.ml.lm import DemoError, LanguageModel
from studytool.ml.tokenizers import Token, hf_pieces, tokenize_hf

if TYPE_CHECKING:
    import torch

TOP = 10
MAX_ATTENTION_TOKENS = 64
MAX_SEED = 2**63 - 1


class GenerationCancelled(DemoError):
    """A multi-run demo (the KV-cache comparison) was cancelled part-way."""


@dataclass(frozen=True)
class SamplingSettings:
    """How the next token is chosen. Validated on creation (DemoError), without loading a model.

    Greedy decoding takes the most likely token and ignores the other fields but
    ``max_new_tokens``. Otherwise the logits are divided by ``temperature``, cut to the
    ``top_k`` most likely tokens (None keeps all), then to the smallest set holding at least
    ``top_p`` of the probability, and a token is drawn. ``seed`` makes the draws repeatable;
    None picks one, which the run reports.
    """

    greedy: bool = False
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float = 1.0
    max_new_tokens: int = 20
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise DemoError(
                f"The number of new tokens must be at least 1 (got {self.max_new_tokens})."
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise DemoError(f"The seed must be between 0 and {MAX_SEED} (got {self.seed}).")
        if self.greedy:
            return
        if not math.isfinite(self.temperature) or self.temperature <= 0:
            raise DemoError(
                f"The temperature must be above 0 (got {self.temperature:g}). For always "
                "taking the most likely token use greedy decoding (--greedy)."
            )
        if self.top_k is not None and self.top_k < 1:
            raise DemoError(
                f"top-k must be at least 1 (got {self.top_k}); leave it out to keep every token."
            )
        if not (0 < self.top_p <= 1) or math.isnan(self.top_p):
            raise DemoError(
                f"top-p must be above 0 and at most 1 (got {self.top_p:g}): 1 keeps every "
                "token, 0.9 keeps the fewest tokens that hold 90% of the probability."
            )

    def describe(self) -> str:
        if self.greedy:
            return "greedy"
        parts = [f"temperature {self.temperature:g}"]
        if self.top_k is not None:
            parts.append(f"top-k {self.top_k}")
        if self.top_p < 1:
            parts.append(f"top-p {self.top_p:g}")
        return "sampling, " + ", ".join(parts)


@dataclass(frozen=True)
class Candidate:
    """A possible next token and its probability; ``chosen`` marks the one taken."""

    token_id: int
    piece: str
    probability: float
    chosen: bool


@dataclass(frozen=True)
class Step:
    """One generated token and what led to it."""

    index: int  # 0 for the first new token
    token_id: int
    piece: str  # the token as readable text (␣ for a space)
    text: str  # what the step adds to the decoded output ("" while a character is incomplete)
    probability_before: float  # of the chosen token, in the model's own distribution
    probability_after: float  # ... after temperature / top-k / top-p
    rank_before: int  # 1 = the model's most likely token
    top_before: tuple[Candidate, ...]  # the model's own top tokens (softmax of the logits)
    top_after: tuple[Candidate, ...]  # after temperature / top-k / top-p (only those left)
    kept: int  # how many tokens could have been drawn after top-k / top-p
    input_shape: tuple[
        int, ...
    ]  # token ids fed to this forward pass: (1, prompt) then (1, 1) with the cache
    logits_shape: tuple[int, ...]  # (batch, positions, vocabulary) as the model returned them
    seconds: float  # this step: forward pass and choosing
    elapsed: float  # since the run started, including any time the consumer took
    is_eos: bool  # the model's end-of-sequence token (the run stops after it)


def sampling_distribution(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """Probabilities of the next token (1-D) after temperature, top-k and top-p.

    Greedy gives all the probability to the most likely token. Top-p keeps tokens in order of
    probability until the kept ones hold at least ``top_p``, so the kept mass is ≥ ``top_p``.
    """
    import torch

    logits = logits.float()
    if settings.greedy:
        return torch.nn.functional.one_hot(logits.argmax(), logits.shape[-1]).float()
    scaled = logits / settings.temperature
    if settings.top_k is not None and settings.top_k < scaled.shape[-1]:
        best = torch.topk(scaled, settings.top_k)
        scaled = torch.full_like(scaled, -math.inf).scatter(0, best.indices, best.values)
    probs = torch.softmax(scaled, dim=-1)
    if settings.top_p < 1:
        ordered, order = torch.sort(probs, descending=True)
        mass_before = torch.cumsum(ordered, dim=-1) - ordered
        drop = mass_before >= settings.top_p
        drop[0] = False  # the most likely token always stays
        probs = probs.clone()
        probs[order[drop]] = 0.0
        probs = probs / probs.sum()
    return probs


class GenerationRun:
    """One generation, iterated once for its steps. Create it with :func:`generate_stream`.

    After iterating, ``stop_reason`` is "eos", "length" or "cancelled", and ``steps`` holds
    every step. Iterating again raises DemoError.
    """

    def __init__(
        self,
        lm: LanguageModel,
        prompt: str,
        settings: SamplingSettings,
        *,
        chat: bool = False,
        use_cache: bool = True,
        truncate: bool = False,
        cancel: threading.Event | None = None,
        stop_at_eos: bool = True,
        keep_all_logits: bool = False,
        top: int = TOP,
    ) -> None:
        if not prompt.strip():
            raise DemoError("The prompt is empty: type some text for the model to continue.")
        self.lm = lm
        self.settings = settings
        self.chat = chat
        self.use_cache = use_cache
        self.cancel = cancel
        self.stop_at_eos = stop_at_eos
        self.keep_all_logits = keep_all_logits
        self.top = top
        tokenizer = lm.tokenizer
        if chat:
            if not getattr(tokenizer, "chat_template", None):
                raise DemoError(f"{lm.name} has no chat template; leave out --chat.")
            self.prompt_text: str = str(
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": prompt}],
                    add_generation_prompt=True,
                    tokenize=False,
                )
            )
            ids = list(tokenizer(self.prompt_text, add_special_tokens=False)["input_ids"])
        else:
            self.prompt_text = prompt
            ids = list(tokenizer(prompt)["input_ids"])
        self.truncated = _fit_context(
            len(ids), settings.max_new_tokens, lm.context_length, truncate
        )
        self.prompt_ids: list[int] = ids[self.truncated :]
        self.seed: int | None = None
        if not settings.greedy:
            self.seed = settings.seed if settings.seed is not None else secrets.randbits(63)
        self.steps: list[Step] = []
        self.stop_reason: str | None = None
        self._started = False

    @property
    def prompt_tokens(self) -> tuple[Token, ...]:
        """The prompt as the model reads it (after the chat template and any truncation)."""
        pieces = hf_pieces(self.lm.tokenizer, self.prompt_ids)
        special = set(self.lm.tokenizer.all_special_ids)
        return tuple(
            Token(token_id, piece, 0, 0, token_id in special)
            for token_id, piece in zip(self.prompt_ids, pieces, strict=True)
        )

    @property
    def token_ids(self) -> list[int]:
        return [step.token_id for step in self.steps]

    @property
    def text(self) -> str:
        """The generated text so far (special tokens included, so the chat template's show)."""
        return "".join(step.text for step in self.steps)

    @property
    def compute_seconds(self) -> float:
        return sum(step.seconds for step in self.steps)

    @property
    def tokens_per_second(self) -> float:
        seconds = self.compute_seconds
        return len(self.steps) / seconds if seconds > 0 else 0.0

    def __iter__(self) -> Iterator[Step]:
        if self._started:
            raise DemoError("This generation has already run; start a new one.")
        self._started = True
        return self._steps()

    def _steps(self) -> Iterator[Step]:
        import torch

        model = self.lm.model
        tokenizer = self.lm.tokenizer
        settings = self.settings
        generator = None
        if self.seed is not None:
            generator = torch.Generator().manual_seed(self.seed)
        sequence = torch.tensor([self.prompt_ids], dtype=torch.long)
        cache: Any = None
        generated: list[int] = []
        shown = ""
        started = time.perf_counter()
        for index in range(settings.max_new_tokens):
            if self.cancel is not None and self.cancel.is_set():
                self.stop_reason = "cancelled"
                return
            step_started = time.perf_counter()
            inputs = sequence if (cache is None or not self.use_cache) else sequence[:, -1:]
            try:
                with torch.inference_mode():
                    output = model(
                        input_ids=inputs,
                        cache=cache,
                        use_cache=self.use_cache,
                        logits_to_keep=0 if self.keep_all_logits else 1,
                    )
                if self.use_cache:
                    cache = output.cache
                logits = output.logits[0, -1].float()
                before = torch.softmax(logits, dim=-1)
                after = sampling_distribution(logits, settings)
                if settings.greedy:
                    chosen = int(logits.argmax())
                else:
                    chosen = int(torch.multinomial(after, 1, generator=generator))
            except Exception as exc:  # a failed forward pass: report it, keep nothing
                self.stop_reason = "error"
                raise DemoError(
                    f"Generation failed at token {index + 1} ({type(exc).__name__}: {exc}). "
                    "The model is unchanged; try again, perhaps with a shorter prompt."
                ) from exc
            generated.append(chosen)
            sequence = torch.cat([sequence, torch.tensor([[chosen]], dtype=torch.long)], dim=1)
            # Decoding the whole output each time, and holding back a half-finished
            # character, is what gives correct text when one character spans several tokens.
            decoded = str(
                tokenizer.decode(
                    generated, skip_special_tokens=False, clean_up_tokenization_spaces=False
                )
            )
            added = ""
            if not decoded.endswith("\ufffd") and decoded.startswith(shown):
                added, shown = decoded[len(shown) :], decoded
            kept = int((after > 0).sum())
            top_before = self._candidates(before, chosen, self.top)
            top_after = self._candidates(after, chosen, min(self.top, kept))
            step = Step(
                index=index,
                token_id=chosen,
                piece=hf_pieces(tokenizer, [chosen])[0],
                text=added,
                probability_before=float(before[chosen]),
                probability_after=float(after[chosen]),
                rank_before=int((before > before[chosen]).sum()) + 1,
                top_before=top_before,
                top_after=top_after,
                kept=kept,
                input_shape=tuple(inputs.shape),
                logits_shape=tuple(output.logits.shape),
                seconds=time.perf_counter() - step_started,
                elapsed=time.perf_counter() - started,
                is_eos=chosen in self.lm.eos_token_ids,
            )
            self.steps.append(step)
            yield step
            if step.is_eos and self.stop_at_eos:
                self.stop_reason = "eos"
                return
        self.stop_reason = "length"

    def _candidates(self, probs: torch.Tensor, chosen: int, count: int) -> tuple[Candidate, ...]:
        import torch

        best = torch.topk(probs, max(count, 0))
        ids = [int(i) for i in best.indices]
        pieces = hf_pieces(self.lm.tokenizer, ids)
        return tuple(
            Candidate(token_id, piece, float(p), token_id == chosen)
            for token_id, piece, p in zip(ids, pieces, best.values, strict=True)
        )


def _fit_context(prompt_tokens: int, new_tokens: int, context: int, truncate: bool) -> int:
    """How many tokens to drop from the prompt's start so prompt + new tokens fit (DemoError if they can't)."""
    if new_tokens >= context:
        raise DemoError(
            f"At most {context - 1:,} new tokens fit in the model's context window of "
            f"{context:,} tokens (asked for {new_tokens:,})."
        )
    excess = prompt_tokens + new_tokens - context
    if excess <= 0:
        return 0
    if truncate:
        return excess
    if prompt_tokens >= context:
        raise DemoError(
            f"The prompt is {prompt_tokens:,} tokens, longer than the model's context window "
            f"of {context:,}. Shorten it, or truncate it (--truncate) to keep its last "
            f"{context - new_tokens:,} tokens."
        )
    raise DemoError(
        f"The prompt ({prompt_tokens:,} tokens) and {new_tokens:,} new tokens do not fit in the "
        f"model's context window of {context:,}. Ask for at most {context - prompt_tokens:,} new "
        "tokens, shorten the prompt, or truncate it (--truncate)."
    )


def generate_stream(
    lm: LanguageModel,
    prompt: str,
    settings: SamplingSettings | None = None,
    *,
    chat: bool = False,
    use_cache: bool = True,
    truncate: bool = False,
    cancel: threading.Event | None = None,
    stop_at_eos: bool = True,
    keep_all_logits: bool = False,
    top: int = TOP,
) -> GenerationRun:
    """Prepare a generation; iterate the result for its steps.

    Checks the prompt at once (DemoError: empty, or too long for the context window unless
    ``truncate`` keeps its end). ``chat`` wraps it in the model's chat template (its special
    tokens stay visible in the text). ``use_cache=False`` recomputes the whole sequence at
    each step. ``cancel`` is checked before each step. ``keep_all_logits`` makes the model
    return logits for every position, not just the last (what a step's ``logits_shape`` shows).
    """
    return GenerationRun(
        lm,
        prompt,
        settings or SamplingSettings(),
        chat=chat,
        use_cache=use_cache,
        truncate=truncate,
        cancel=cancel,
        stop_at_eos=stop_at_eos,
        keep_all_logits=keep_all_logits,
        top=top,
    )


# --- The KV cache ------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheRun:
    """One greedy generation, timed."""

    use_cache: bool
    token_ids: tuple[int, ...]
    text: str
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return len(self.token_ids) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class CacheComparison:
    """The same greedy generation with and without the KV cache."""

    prompt_tokens: int
    with_cache: CacheRun
    without_cache: CacheRun

    @property
    def speedup(self) -> float:
        slow = self.without_cache.tokens_per_second
        return self.with_cache.tokens_per_second / slow if slow > 0 else 0.0

    @property
    def same_tokens(self) -> bool:
        return self.with_cache.token_ids == self.without_cache.token_ids


def compare_kv_cache(
    lm: LanguageModel,
    prompt: str,
    *,
    max_new_tokens: int = 32,
    chat: bool = False,
    cancel: threading.Event | None = None,
    on_step: Callable[[bool, Step], None] | None = None,
) -> CacheComparison:
    """Generate ``max_new_tokens`` greedily with the KV cache, then without it, and time both.

    Both runs go on past an end-of-sequence token so they time the same number of tokens.
    ``on_step(use_cache, step)`` hears about every step; ``cancel`` raises GenerationCancelled.
    """
    settings = SamplingSettings(greedy=True, max_new_tokens=max_new_tokens)
    runs: dict[bool, CacheRun] = {}
    prompt_tokens = 0
    for use_cache in (True, False):
        run = generate_stream(
            lm, prompt, settings, chat=chat, use_cache=use_cache, cancel=cancel, stop_at_eos=False
        )
        prompt_tokens = len(run.prompt_ids)
        for step in run:
            if on_step is not None:
                on_step(use_cache, step)
        if run.stop_reason == "cancelled":
            raise GenerationCancelled("The KV-cache comparison was cancelled.")
        runs[use_cache] = CacheRun(use_cache, tuple(run.token_ids), run.text, run.compute_seconds)
    return CacheComparison(prompt_tokens, runs[True], runs[False])


# --- Attention -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionMap:
    """Attention weights of one head: ``weights[i][j]`` is how much token i attends to token j."""

    text: str
    tokens: tuple[Token, ...]
    layer: int
    head: int
    num_layers: int
    num_heads: int
    weights: tuple[tuple[float, ...], ...]


def _index(value: int | None, count: int, what: str, default: int) -> int:
    if value is None:
        return default
    if not -count <= value < count:
        raise DemoError(
            f"The model has {count} {what}s, numbered 0 to {count - 1} (or -1 for the last); "
            f"got {value}."
        )
    return value % count


def attention_map(
    lm: LanguageModel, text: str, *, layer: int | None = None, head: int | None = None
) -> AttentionMap:
    """The attention weights of ``layer`` and ``head`` over the tokens of a short ``text``.

    Layer defaults to the middle one, head to 0; negative numbers count from the end.
    Rows sum to 1 and, the model being causal, nothing attends to a later token.
    """
    import torch

    if not text.strip():
        raise DemoError("The text is empty: type a short sentence.")
    layer = _index(layer, lm.num_layers, "layer", lm.num_layers // 2)
    head = _index(head, lm.num_heads, "head", 0)
    tokenization = tokenize_hf(lm.tokenizer, text, lm.name, lm.name)
    if not tokenization.tokens:
        raise DemoError("The text has no tokens: type a short sentence.")
    if tokenization.count > MAX_ATTENTION_TOKENS:
        raise DemoError(
            f"The text is {tokenization.count} tokens; the attention map shows at most "
            f"{MAX_ATTENTION_TOKENS}. Try a single sentence."
        )
    ids = torch.tensor([tokenization.ids], dtype=torch.long)
    try:
        with torch.inference_mode():
            output = lm.model(input_ids=ids, output_attentions=True, use_cache=False)
    except Exception as exc:
        raise DemoError(
            f"The model could not compute attention ({type(exc).__name__}: {exc})."
        ) from exc
    if not output.attentions:
        raise DemoError(f"{lm.name} does not return attention weights (it needs eager attention).")
    matrix = output.attentions[layer][0, head].float()
    return AttentionMap(
        text=text,
        tokens=tokenization.tokens,
        layer=layer,
        head=head,
        num_layers=lm.num_layers,
        num_heads=lm.num_heads,
        weights=tuple(tuple(float(w) for w in row) for row in matrix),
    )
