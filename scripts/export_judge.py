"""Turn the trained judge (``train_judge.py``'s model folder) into the files studytool ships.

Writes into ``studytool/ml/judge/`` (or ``--out``):

* ``judge.int8.onnx``: exported from torch (TorchScript exporter, whose graph ONNX Runtime's
  BERT optimiser fuses into Attention / SkipLayerNorm / BiasGelu nodes), then dynamically
  quantised to int8 by ONNX Runtime. What the app runs.
* ``judge.safetensors``: the same weights for the reference backend, fp16, without the
  word-piece embedding matrix (training froze it: the bundled all-MiniLM-L6-v2 supplies it).
* ``tokenizer.json``: the word-piece tokenizer (``tokenizers`` format).
* ``params.json``: the decision rules (``--rules``, from ``fit_judge_rules.py``) and where the
  weights came from.
* ``manifest.json``: every file's size and sha256, checked when the grader loads.

Then it checks that the int8 ONNX model agrees with the fp32 torch model on the decks' graded
answers (Pearson r of P(states) and of the credit, and the largest difference).

Usage: python scripts/export_judge.py build/judge/model --rules build/judge_cv/rules.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from studytool.ml import judge as judge_module  # noqa: E402
from studytool.ml.models import sha256_of  # noqa: E402

LICENCES = {
    "weights": "fine-tuned from sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
    "data": [
        "SemEval-2013 Task 7 training data (Beetle, SciEntsBank), CC BY-SA 3.0: the weights are "
        "derived from it and are shared under the same licence",
        "SAF English training data, MIT",
        "studytool's own graded sample answers (tests/data/graded_answers)",
    ],
}
SNLI_LICENCE = (
    "SNLI 1.0 (Bowman et al. 2015), CC BY-SA 4.0: the first training stage; with it the "
    "weights are shared under CC BY-SA 4.0 (which CC BY-SA 3.0 material may be adapted into)"
)


def licences(training: dict[str, object]) -> dict[str, object]:
    """The licences of what the weights were trained on: SNLI only when a first stage used it."""
    data = list(LICENCES["data"])
    if training.get("first_stage"):
        data.insert(1, SNLI_LICENCE)
    return {**LICENCES, "data": data}


def export_onnx(model_dir: Path, target: Path, per_channel: bool = True) -> None:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(
        str(model_dir), attn_implementation="eager"
    ).eval()
    sample = tokenizer(["a claim", "another claim"], ["an answer", "a b"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "judge.onnx"
        optimised = Path(scratch) / "judge.opt.onnx"
        torch.onnx.export(
            model,
            tuple(sample[name] for name in names),
            str(fp32),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={name: {0: "batch", 1: "sequence"} for name in names},
            dynamo=False,
            opset_version=17,
        )
        config = model.config
        fused = optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
        print("fused:", {k: v for k, v in fused.get_fused_operator_statistics().items() if v})
        fused.save_model_to_file(str(optimised))
        # Per-channel weight scales: one scale per output column keeps the small columns
        # from rounding to nothing (per tensor, the two backends' scores agreed only r 0.96).
        quantize_dynamic(
            str(optimised),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def export_safetensors(model_dir: Path, target: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(model_dir / "model.safetensors"))
    kept = {
        name: tensor.half().contiguous()
        for name, tensor in tensors.items()
        if "word_embeddings" not in name
    }
    save_file(kept, str(target), metadata={"format": "pt", "dtype": "float16"})
    target.chmod(0o644)  # safetensors writes it private; it ships in a package


def check_agreement(out: Path) -> None:
    """ONNX int8 (the app) against sentence-transformers on torch (the reference)."""
    import numpy as np

    from scripts.train_judge import deck_pairs

    manifest = judge_module.read_manifest(out)
    onnx_judge = judge_module.OnnxJudge(out, manifest)
    reference = judge_module.SentenceTransformersJudge(out, manifest)
    pairs = deck_pairs()[::7]
    firsts = [judge_module.first_text(p.question, p.claim) for p in pairs]
    answers = [p.answer for p in pairs]
    a = np.array([list(row) for row in onnx_judge(firsts, answers)])
    b = np.array([list(row) for row in reference(firsts, answers)])
    for column, name in ((0, "P(states)"), (1, "P(contradicts)"), (3, "credit")):
        r = np.corrcoef(a[:, column], b[:, column])[0, 1]
        print(f"{name:15s} r {r:.4f}  max |diff| {np.abs(a[:, column] - b[:, column]).max():.3f}")
    print(f"class agrees on {np.mean(a[:, :3].argmax(1) == b[:, :3].argmax(1)):.1%} of {len(pairs)} pairs")
    # What the learner sees: the score of whole grades (the test's measure, r >= 0.99).
    rules = judge_module.load_rules(out, manifest)
    graders = [judge_module.JudgeGrader(backend, rules, "check") for backend in (onnx_judge, reference)]
    scores: list[list[float]] = [[], []]
    from bench.grading import _sample_cards

    for inputs, answers in _sample_cards()[::3]:
        for text in answers.values():
            for grader, into in zip(graders, scores, strict=True):
                args = (inputs.question, inputs.reference, inputs.criteria, text, inputs.mistakes)
                into.append(grader.grade(*args).score)
    x, y = np.array(scores[0]), np.array(scores[1])
    print(f"grade score     r {np.corrcoef(x, y)[0, 1]:.4f}  max |diff| {np.abs(x - y).max():.3f} ({len(x)} grades)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="train_judge.py's model folder")
    parser.add_argument("--rules", type=Path, required=True, help="fit_judge_rules.py's output")
    parser.add_argument("--out", type=Path, default=judge_module.JUDGE_DIR)
    parser.add_argument("--per-tensor", action="store_true", help="one int8 scale per weight matrix")
    options = parser.parse_args()
    out: Path = options.out
    out.mkdir(parents=True, exist_ok=True)

    export_onnx(options.model, out / judge_module.ONNX_FILE, per_channel=not options.per_tensor)
    export_safetensors(options.model, out / judge_module.WEIGHTS_FILE)
    shutil.copy(options.model / "tokenizer.json", out / judge_module.TOKENIZER_FILE)
    rules = json.loads(options.rules.read_text(encoding="utf-8"))
    training_path = options.model.parent / "training.json"
    training = json.loads(training_path.read_text(encoding="utf-8")) if training_path.exists() else {}
    params = {"rules": rules["rules"], "fitted_on": rules.get("fitted_on", {}), "training": training}
    (out / judge_module.PARAMS_FILE).write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
    names = [
        judge_module.ONNX_FILE,
        judge_module.WEIGHTS_FILE,
        judge_module.TOKENIZER_FILE,
        judge_module.PARAMS_FILE,
    ]
    manifest = {
        "about": "studytool's answer judge; regenerate with scripts/train_judge.py, "
        "scripts/fit_judge_rules.py and scripts/export_judge.py (see README, Grading)",
        "licences": licences(training),
        "files": {
            name: {"sha256": sha256_of(out / name), "bytes": (out / name).stat().st_size}
            for name in names
        },
    }
    (out / judge_module.MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    for name in names:
        print(f"wrote {out / name} ({(out / name).stat().st_size / 1e6:.1f} MB)")
    check_agreement(out)


if __name__ == "__main__":
    main()
