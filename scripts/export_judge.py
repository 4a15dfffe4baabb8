"""Export the trained judge (``train_judge.py``'s safetensors model) to int8 ONNX, and check it.

Writes ``judge.onnx`` (fp32, from torch) and ``judge.int8.onnx`` (dynamic int8 quantisation
of the linear layers, by onnxruntime) beside the tokenizer, then compares the int8 model's
outputs with torch's on sample pairs and times both on a batch shaped like one grade (the
model answer and five criteria against a 30–120-word answer).

Usage: python scripts/export_judge.py build/judge/model [--out build/judge/onnx]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

ANSWER = (
    "The KV cache keeps the key and value vectors that every layer computed for the tokens "
    "already processed, so each new decoding step only runs the newest token through the "
    "model and attends to the cached keys and values instead of recomputing the whole prefix. "
    "It trades memory for speed: the cache grows with sequence length, layers and heads."
)
CLAIMS = [
    "What does the KV cache store, and why? [SEP] The keys and values of every earlier token, "
    "for every layer, so that each new token does not recompute them.",
    "says it stores keys and values",
    "says it is kept for every layer",
    "says it avoids recomputing earlier tokens",
    "says the cache grows with the sequence length",
    "says it trades memory for speed",
]


def export(model_dir: Path, out: Path) -> tuple[Path, Path]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    sample = tokenizer(CLAIMS[:2], [ANSWER, ANSWER], padding=True, return_tensors="pt")
    fp32 = out / "judge.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    torch.onnx.export(
        model,
        (),
        str(fp32),
        kwargs={name: sample[name] for name in names},
        input_names=names,
        output_names=["logits"],
        dynamic_shapes={name: {0: batch, 1: sequence} for name in names},
        dynamo=True,
        external_data=False,
    )
    int8 = out / "judge.int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    tokenizer.save_pretrained(str(out))
    for extra in ("config.json",):
        if (model_dir / extra).exists():
            shutil.copy(model_dir / extra, out / extra)
    return fp32, int8


def compare(model_dir: Path, int8: Path, rounds: int = 30) -> None:
    import numpy as np
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForSequenceClassification

    fast = Tokenizer.from_file(str(int8.parent / "tokenizer.json"))
    fast.enable_truncation(128)
    fast.enable_padding()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(int8), options, providers=["CPUExecutionProvider"])
    encodings = fast.encode_batch(list(zip(CLAIMS, [ANSWER] * len(CLAIMS), strict=True)))
    feed = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()
    torch.set_num_threads(1)
    with torch.inference_mode():
        reference = model(**{k: torch.from_numpy(v) for k, v in feed.items()}).logits.numpy()
    quantised = session.run(["logits"], feed)[0]
    print(f"max |int8 - torch| over the logits: {np.abs(quantised - reference).max():.4f}")
    print(f"argmax agrees on {np.mean(quantised[:, :3].argmax(1) == reference[:, :3].argmax(1)):.0%} of pairs")

    def timed(run: object) -> list[float]:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            run()  # type: ignore[operator]
            times.append((time.perf_counter() - started) * 1000)
        return sorted(times)

    def onnx_grade() -> None:
        batch = fast.encode_batch(list(zip(CLAIMS, [ANSWER] * len(CLAIMS), strict=True)))
        session.run(
            ["logits"],
            {
                "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
            },
        )

    def torch_grade() -> None:
        with torch.inference_mode():
            model(**{k: torch.from_numpy(v) for k, v in feed.items()})

    for name, run in (("onnxruntime int8", onnx_grade), ("torch fp32", torch_grade)):
        times = timed(run)
        print(
            f"{name:17s} one grade (6 pairs, {feed['input_ids'].shape[1]} pieces): "
            f"p50 {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    out = options.out or options.model.parent / "onnx"
    _, int8 = export(options.model, out)
    print(f"wrote {int8} ({int8.stat().st_size / 1e6:.1f} MB)")
    compare(options.model, int8)


if __name__ == "__main__":
    main()
