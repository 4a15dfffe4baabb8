"""Everything that imports ML libraries (onnxruntime, torch, transformers); imported lazily by the rest of studytool."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studytool.core.grading import Grader

THREADS_ENV = "STUDYTOOL_TORCH_THREADS"
_configured = False


def configure_torch_threads() -> None:
    """Give torch all cores but one (at least one), once per process.

    The models run in worker threads beside the terminal UI. OpenMP's threads spin while they
    wait for a core, so when torch takes every core and anything else wants one (the UI
    redrawing, the other model), a forward pass gets many times slower: MiniLM grading an
    answer went from about 50 ms to 430 ms with 2 threads on 2 busy cores. Leaving a core free
    avoids that. ``STUDYTOOL_TORCH_THREADS`` (or OMP_NUM_THREADS) overrides the choice.
    """
    global _configured
    if _configured:
        return
    _configured = True
    import torch

    wanted = os.environ.get(THREADS_ENV) or os.environ.get("OMP_NUM_THREADS")
    try:
        threads = int(wanted) if wanted else max(1, (os.cpu_count() or 2) - 1)
    except ValueError:
        threads = max(1, (os.cpu_count() or 2) - 1)
    torch.set_num_threads(max(1, threads))


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No load report, warning or progress bar from transformers while loading a model: they
    would land on the learner's terminal (a new head's "newly initialized" report, say)."""
    import logging

    from transformers.utils import logging as transformers_logging

    # sentence-transformers logs at INFO ("Converting SentenceTransformer model ...").
    sentence_logger = logging.getLogger("sentence_transformers")
    sentence_level = sentence_logger.level
    verbosity = transformers_logging.get_verbosity()
    bars_were_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    sentence_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        sentence_logger.setLevel(sentence_level)
        transformers_logging.set_verbosity(verbosity)
        if bars_were_on:
            transformers_logging.enable_progress_bar()


def load_answer_grader(backend: str = "onnx") -> Grader:
    """The answer grader, loaded once per process and backend (see :mod:`studytool.ml.judge`).

    ``backend`` is the ``grader_backend`` setting: "onnx" (ONNX Runtime, no torch import) or
    "sentence-transformers" (the reference, over torch). What the CLI and the TUI hand to
    :class:`studytool.core.grading.BackgroundGrader`; the import is deferred so that
    importing this package stays free of ML libraries.
    """
    from studytool.ml.judge import load_shared_judge_grader

    return load_shared_judge_grader(backend)
