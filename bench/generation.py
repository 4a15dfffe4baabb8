"""Generation: the demo's streaming loop beside ``model.generate``, and the KV cache's speed-up.

Both sides decode greedily from the same prompt for the same number of new tokens (neither
stops at an end-of-sequence token), on the same loaded model, in the same process, in
interleaved rounds so that load on the machine hits both alike. The demo loop does more per
token than ``generate`` (the softmax, the top-10 lists and the decoded text of every step), so
the figure is the ratio of the medians of tokens per second; the target is 0.9 or more.

Then the KV cache: the demo loop with and without it at 32, 128 and 512 new tokens. Without
the cache every step recomputes the whole sequence, so the long run is slow: it gets fewer
rounds (``--slow-rounds``). These speed-ups are reported, not held to a target. On two
busy cores the whole benchmark took about 20 minutes, most of it the 512-token run without
the cache; ``--kv-lengths 32,128`` leaves that out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

DESCRIPTION = "generation: demo streaming loop vs model.generate (tok/s), and KV-cache speed-ups"
TARGET_RATIO = 0.9
PROMPT = "The key idea of a transformer is"


def _say(report: Any) -> None:
    if report.total is None or report.done == report.total:
        print(f"  {report.describe()}", file=sys.stderr, flush=True)


def _demo_loop(lm: Any, new_tokens: int, use_cache: bool = True) -> tuple[float, list[int]]:
    from studytool.ml.generation import SamplingSettings, generate_stream

    run = generate_stream(
        lm,
        PROMPT,
        SamplingSettings(greedy=True, max_new_tokens=new_tokens),
        use_cache=use_cache,
        stop_at_eos=False,
    )
    started = time.perf_counter()
    for _step in run:
        pass
    return new_tokens / (time.perf_counter() - started), run.token_ids


def _generate(lm: Any, new_tokens: int) -> tuple[float, list[int]]:
    import torch

    ids = torch.tensor([lm.tokenizer(PROMPT)["input_ids"]], dtype=torch.long)
    started = time.perf_counter()
    with torch.inference_mode():
        output = lm.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
        )
    seconds = time.perf_counter() - started
    return new_tokens / seconds, output[0, ids.shape[1] :].tolist()


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} tok/s (min {min(values):.2f}, max {max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench generation", description=DESCRIPTION)
    parser.add_argument(
        "--new-tokens", type=int, default=64, help="per run of the comparison (default 64)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds of the comparison (default 5)"
    )
    parser.add_argument(
        "--kv-lengths",
        default="32,128,512",
        help="new tokens of the KV-cache runs (default 32,128,512)",
    )
    parser.add_argument(
        "--kv-rounds", type=int, default=2, help="rounds per KV-cache length (default 2)"
    )
    parser.add_argument(
        "--slow-rounds", type=int, default=1,
        help="rounds at lengths of 256 or more (default 1: without the cache they are slow)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, help="torch threads (default: all cores but one)")
    parser.add_argument(
        "--model", help="a Hugging Face id or model folder (default: packaged SmolLM2)"
    )
    options = parser.parse_args(list(argv or []))
    try:
        lengths = [int(part) for part in options.kv_lengths.split(",") if part.strip()]
    except ValueError:
        parser.error("--kv-lengths takes numbers separated by commas, e.g. 32,128,512")

    began = time.perf_counter()
    import torch
    import transformers  # noqa: F401  (timed apart from the model's own loading)

    from studytool.ml.lm import DemoError, load_lm

    imported = time.perf_counter() - began
    if options.threads:
        # The loader sets torch's thread count (all cores but one) unless told otherwise.
        os.environ["STUDYTOOL_TORCH_THREADS"] = str(options.threads)
    print("generation: loading the model", flush=True)
    try:
        lm = load_lm(options.model, progress=_say)
    except DemoError as exc:
        print(f"  {exc}", file=sys.stderr)
        return 1
    how = "converted from the GGUF file" if lm.converted else "from the cached converted copy"
    print(
        f"  {lm.name}: loaded in {lm.load_seconds:.2f} s {how} (after {imported:.1f} s "
        f"importing torch and transformers); torch threads {torch.get_num_threads()}"
    )

    # Warm-up: the first forward passes of a process are slower (allocations, kernels picked).
    _demo_loop(lm, 4)
    _generate(lm, 4)
    ours: list[float] = []
    theirs: list[float] = []
    same = True
    for _ in range(options.rounds):
        speed, loop_ids = _demo_loop(lm, options.new_tokens)
        ours.append(speed)
        speed, generate_ids = _generate(lm, options.new_tokens)
        theirs.append(speed)
        same = same and loop_ids == generate_ids
    ratio = statistics.median(ours) / statistics.median(theirs)
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"greedy, {options.new_tokens} new tokens, KV cache: medians of {options.rounds} rounds")
    print(f"  model.generate       {_median(theirs)}")
    print(f"  demo streaming loop  {_median(ours)}")
    print(f"  same tokens: {'yes' if same else 'NO'}")
    print(f"  ratio {ratio:.2f} (target >= {TARGET_RATIO}) {verdict}")

    print("KV cache: the demo loop with and without it (greedy, same prompt)")
    for length in lengths:
        rounds = max(1, options.slow_rounds if length >= 256 else options.kv_rounds)
        with_cache = [_demo_loop(lm, length, True)[0] for _ in range(rounds)]
        without = [_demo_loop(lm, length, False)[0] for _ in range(rounds)]
        speedup = statistics.median(with_cache) / statistics.median(without)
        print(
            f"  {length:4} new tokens: with {statistics.median(with_cache):6.2f} tok/s "
            f"({len(with_cache)} rounds), without {statistics.median(without):6.2f} tok/s "
            f"({len(without)} rounds), speed-up {speedup:.2f}x"
        )
    if not same:
        print("  (the demo loop and model.generate chose different tokens)")
    print(f"  (whole benchmark: {time.perf_counter() - began:.0f} s)")
    return 0 if verdict == "PASS" and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
