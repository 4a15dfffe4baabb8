"""Three tokenizers side by side: GPT-2's BPE, SmolLM2's BPE and MiniLM's WordPiece.

* ``gpt2``: OpenAI's ``r50k_base`` ranks, read from the asset that ``openai-whisper`` ships
  (``whisper/assets/gpt2.tiktoken``, checked against its sha256) and run by tiktoken. The
  ``whisper`` package itself is never imported.
* ``smollm2``: the byte-level BPE of the demo LM, from its converted copy (see ``lm.py``).
* ``minilm``: the WordPiece vocabulary of the embedding model used for grading: it lower-cases,
  strips accents and has no byte fallback, so an emoji becomes ``[UNK]``.

Every token comes back as a :class:`Token` with its id, the character span it covers and a
readable ``piece``: a space shows as ``␣``, a newline as ``↵``, and the bytes of a character
split across tokens (emoji in byte-level BPE) as ``<F0 9F>``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studytool.ml.lm import (
    DemoError,
    ModelUnavailable,
    ProgressCallback,
    converted_dir,
    ensure_converted,
)

if TYPE_CHECKING:
    import tiktoken

TOKENIZERS = ("gpt2", "smollm2", "minilm")
GPT2_ASSET_PACKAGE = "whisper"
GPT2_ASSET = "assets/gpt2.tiktoken"
GPT2_ASSET_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
GPT2_INSTALL = "pip install --no-deps openai-whisper==20250625"
# GPT-2's pre-tokenisation pattern (the one in OpenAI's encoder.py and tiktoken's r50k_base).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
MAX_TEXT_CHARS = 20_000

_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


@dataclass(frozen=True)
class Token:
    """One token: its id, a readable form, and the characters ``text[start:end]`` it covers."""

    id: int
    piece: str
    start: int
    end: int
    special: bool = False


@dataclass(frozen=True)
class Tokenization:
    """A text cut into tokens by one tokenizer."""

    tokenizer: str
    title: str
    vocab_size: int
    text: str
    tokens: tuple[Token, ...]

    @property
    def ids(self) -> list[int]:
        return [token.id for token in self.tokens]

    @property
    def count(self) -> int:
        return len(self.tokens)

    @property
    def chars_per_token(self) -> float:
        return len(self.text) / len(self.tokens) if self.tokens else 0.0


def show_bytes(raw: bytes) -> str:
    """Bytes as readable text: whitespace made visible, bytes of an incomplete character as ``<E2 80>``."""
    text = raw.decode("utf-8", errors="surrogateescape")
    shown: list[str] = []
    pending: list[str] = []
    for char in text:
        if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that is not part of a whole character
            pending.append(f"{ord(char) - 0xDC00:02X}")
            continue
        if pending:
            shown.append(f"<{' '.join(pending)}>")
            pending = []
        if char in _VISIBLE:
            shown.append(_VISIBLE[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            shown.append(f"<{ord(char):02X}>")
        else:
            shown.append(char)
    if pending:
        shown.append(f"<{' '.join(pending)}>")
    return "".join(shown)


def show_text(text: str) -> str:
    """A string with its whitespace made visible, as pieces are shown."""
    return show_bytes(text.encode("utf-8"))


# --- GPT-2 via tiktoken --------------------------------------------------------------------


def gpt2_asset_path() -> Path:
    """The ``gpt2.tiktoken`` ranks shipped in the openai-whisper package."""
    try:
        spec = importlib.util.find_spec(GPT2_ASSET_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"GPT-2's tokenizer ranks come with openai-whisper, which is not installed. "
            f"Install it with `{GPT2_INSTALL}` (or run `make run`)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GPT2_ASSET
    if not path.is_file():
        raise ModelUnavailable(
            f"openai-whisper has no {GPT2_ASSET} ({path}). Reinstall it with `{GPT2_INSTALL}`."
        )
    return path


@functools.cache
def gpt2_encoding() -> tiktoken.Encoding:
    """GPT-2's ``r50k_base`` encoding, built from the checked packaged ranks."""
    path = gpt2_asset_path()
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != GPT2_ASSET_SHA256:
        raise ModelUnavailable(
            f"{path} is damaged or not GPT-2's ranks (sha256 mismatch). "
            f"Reinstall it with `{GPT2_INSTALL} --force-reinstall`."
        )
    import tiktoken

    # The file format tiktoken's own loader reads; parsed here so that nothing is cached in /tmp.
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        name="r50k_base",
        pat_str=GPT2_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
    )


def _tokenize_gpt2(text: str) -> Tokenization:
    encoding = gpt2_encoding()
    ids = encoding.encode_ordinary(text)
    pieces = [encoding.decode_single_token_bytes(token) for token in ids]
    return Tokenization(
        "gpt2",
        "GPT-2 (byte-level BPE, r50k_base)",
        encoding.n_vocab,
        text,
        tuple(_byte_tokens(text, ids, pieces)),
    )


def _byte_tokens(text: str, ids: list[int], pieces: list[bytes]) -> list[Token]:
    """Tokens from byte pieces, with character spans worked out from the byte offsets."""
    # Character index of each byte offset; a byte inside a character maps to that character.
    char_at: list[int] = []
    for index, char in enumerate(text):
        char_at.extend([index] * len(char.encode("utf-8")))
    char_at.append(len(text))
    tokens = []
    offset = 0
    for token_id, raw in zip(ids, pieces, strict=True):
        end_byte = min(offset + len(raw), len(char_at) - 1)
        start = char_at[min(offset, len(char_at) - 1)]
        end = char_at[end_byte]
        if end == start and raw:  # a byte piece inside one character: cover that character
            end = min(start + 1, len(text))
        tokens.append(Token(token_id, show_bytes(raw), start, end))
        offset += len(raw)
    return tokens


# --- Hugging Face tokenizers (SmolLM2, MiniLM, any --model) ---------------------------------


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-ins for bytes (``Ġ`` is a space), mapped back to the bytes."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {chr(code): byte for byte, code in zip(printable, codes, strict=True)}


def is_byte_level(tokenizer: Any) -> bool:
    """Whether a Hugging Face tokenizer spells bytes GPT-2 style (``Ġ`` for a space)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    return type(decoder).__name__ == "ByteLevel"


def piece_bytes(vocab_entry: str, byte_level: bool) -> bytes:
    """The bytes a vocabulary entry stands for (byte-level BPE, or SentencePiece's ``▁`` and ``<0xF0>``)."""
    if byte_level:
        decoder = _byte_decoder()
        if all(char in decoder for char in vocab_entry):
            return bytes(decoder[char] for char in vocab_entry)
        return vocab_entry.encode("utf-8")
    if len(vocab_entry) == 6 and vocab_entry.startswith("<0x") and vocab_entry.endswith(">"):
        try:
            return bytes([int(vocab_entry[3:5], 16)])
        except ValueError:
            pass
    return vocab_entry.replace("▁", " ").encode("utf-8")


def hf_pieces(tokenizer: Any, ids: list[int]) -> list[str]:
    """Readable pieces of token ids for a Hugging Face tokenizer."""
    entries = tokenizer.convert_ids_to_tokens(ids)
    byte_level = is_byte_level(tokenizer)
    wordpiece = (
        not byte_level
        and type(getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)).__name__
        == "WordPiece"
    )
    if wordpiece:  # ``##ing`` is WordPiece's own, already readable, way of marking a continuation
        return [show_text(entry) if entry else "" for entry in entries]
    return [show_bytes(piece_bytes(entry or "", byte_level)) for entry in entries]


def tokenize_hf(tokenizer: Any, text: str, name: str, title: str) -> Tokenization:
    """Cut ``text`` with a Hugging Face (fast) tokenizer, without adding special tokens."""
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    offsets = encoded["offset_mapping"]
    special = set(tokenizer.all_special_ids)
    tokens = tuple(
        Token(token_id, piece, int(start), int(end), token_id in special)
        for token_id, piece, (start, end) in zip(
            ids, hf_pieces(tokenizer, ids), offsets, strict=True
        )
    )
    return Tokenization(name, title, len(tokenizer), text, tokens)


_hf_lock = threading.Lock()
_hf_tokenizers: dict[str, Any] = {}


def _minilm_tokenizer() -> Any:
    from studytool.ml.models import ModelUnavailable as EmbeddingUnavailable
    from studytool.ml.models import embedding_model_dir

    try:
        folder = embedding_model_dir()
    except EmbeddingUnavailable as exc:
        raise ModelUnavailable(str(exc)) from exc
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def _smollm2_tokenizer(progress: ProgressCallback | None, cache_dir: Path | None) -> Any:
    folder, _ = ensure_converted(cache_dir, progress)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def hf_tokenizer(
    name: str, *, progress: ProgressCallback | None = None, cache_dir: Path | None = None
) -> Any:
    """The ``smollm2`` or ``minilm`` tokenizer, loaded once per process."""
    with _hf_lock:
        key = f"{name}:{converted_dir(cache_dir).resolve()}" if name == "smollm2" else name
        if key not in _hf_tokenizers:
            if name == "minilm":
                _hf_tokenizers[key] = _minilm_tokenizer()
            elif name == "smollm2":
                _hf_tokenizers[key] = _smollm2_tokenizer(progress, cache_dir)
            else:
                raise DemoError(f"unknown tokenizer {name!r} (known: {', '.join(TOKENIZERS)})")
        return _hf_tokenizers[key]


def tokenize(
    text: str,
    tokenizer: str = "gpt2",
    *,
    progress: ProgressCallback | None = None,
    cache_dir: Path | None = None,
) -> Tokenization:
    """Cut ``text`` into tokens with ``tokenizer`` (one of TOKENIZERS).

    Raises DemoError for empty or overlong text or an unknown tokenizer, ModelUnavailable
    when its files are missing. The SmolLM2 tokenizer needs the converted model, which the
    first call builds (about half a minute; ``progress`` hears about it).
    """
    if not text:
        raise DemoError("The text is empty: type something to tokenize.")
    if len(text) > MAX_TEXT_CHARS:
        raise DemoError(
            f"The text is {len(text):,} characters; the tokenizer demo takes at most "
            f"{MAX_TEXT_CHARS:,}. Try a paragraph."
        )
    if tokenizer == "gpt2":
        return _tokenize_gpt2(text)
    if tokenizer == "smollm2":
        return tokenize_hf(
            hf_tokenizer("smollm2", progress=progress, cache_dir=cache_dir),
            text,
            "smollm2",
            "SmolLM2 (byte-level BPE)",
        )
    if tokenizer == "minilm":
        return tokenize_hf(
            hf_tokenizer("minilm"), text, "minilm", "MiniLM (WordPiece, lower-cased)"
        )
    raise DemoError(f"unknown tokenizer {tokenizer!r} (known: {', '.join(TOKENIZERS)})")
