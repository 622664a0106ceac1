"""Word vectors: read from GloVe / word2vec / fastText files (only the words needed), or trained
on the item corpus with gensim word2vec."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsys_embed.errors import ConfigError, DataError
from recsys_embed.progress import Progress, progress

FORMATS = ("auto", "glove", "word2vec", "word2vec-binary", "fasttext")
HEADER = re.compile(rb"^\s*(\d+)\s+(\d+)\s*$")


@dataclass(frozen=True, eq=False)
class WordVectors:
    words: list[str]
    matrix: np.ndarray  # (n_words, dim) float32
    source: str = ""
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {w: i for i, w in enumerate(self.words)})

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.words)


def detect_format(path: Path) -> str:
    """``glove`` (no header), ``word2vec`` (text with an "n dim" header) or ``word2vec-binary``."""
    with path.open("rb") as fh:
        first = fh.readline()
        if not HEADER.match(first):
            return "glove"
        dim = int(HEADER.match(first).group(2))  # type: ignore[union-attr]
        second = fh.readline()
    try:
        parts = second.decode("utf8").split()
        if len(parts) == dim + 1:
            [float(x) for x in parts[1:]]
            return "word2vec"
    except (UnicodeDecodeError, ValueError):
        pass
    return "word2vec-binary"


def load_word_vectors(
    path: str | Path, vocabulary: Iterable[str] | None = None, fmt: str = "auto"
) -> WordVectors:
    """Read word vectors, keeping only ``vocabulary`` (all words if ``None``).

    Formats: GloVe text (``word v1 .. vd`` per line, no header), word2vec text and fastText
    ``.vec`` (the same with an ``n dim`` header line), word2vec binary. The file is streamed,
    so memory is that of the kept words only. Words keep their case; lookups lower-case only
    the corpus, so use lower-cased vector files (GloVe, fastText) or lower-case yourself.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ConfigError(f"vector format must be one of {list(FORMATS)}, got {fmt!r}")
    if not path.is_file():
        raise DataError(f"{path}: word-vector file not found")
    kind = detect_format(path) if fmt in ("auto", "fasttext") else fmt
    if fmt == "fasttext":
        kind = "word2vec"
    keep = None if vocabulary is None else set(vocabulary)
    if kind == "word2vec-binary":
        words, rows = _read_binary(path, keep)
    else:
        words, rows = _read_text(path, keep, header=kind == "word2vec")
    if not rows:
        raise DataError(f"{path}: no vectors read (format {kind}); is it a {kind} file?")
    return WordVectors(words, np.vstack(rows).astype(np.float32), str(path))


def _read_text(
    path: Path, keep: set[str] | None, header: bool
) -> tuple[list[str], list[np.ndarray]]:
    words, rows = [], []
    dim = None
    with path.open("rb") as fh:
        if header:
            dim = int(HEADER.match(fh.readline()).group(2))  # type: ignore[union-attr]
        for lineno, line in enumerate(fh, start=2 if header else 1):
            word, _, rest = line.rstrip(b"\r\n").partition(b" ")
            if not rest:
                continue
            text = word.decode("utf8", "replace")
            if keep is not None and text not in keep:
                continue
            vec = np.array(rest.split(), dtype=np.float32)
            if dim is None:
                dim = len(vec)
            if len(vec) != dim:
                raise DataError(f"{path}: line {lineno} has {len(vec)} values; expected {dim}")
            words.append(text)
            rows.append(vec)
    return words, rows


def _read_binary(path: Path, keep: set[str] | None) -> tuple[list[str], list[np.ndarray]]:
    words, rows = [], []
    with path.open("rb") as fh:
        n, dim = (int(x) for x in HEADER.match(fh.readline()).groups())  # type: ignore[union-attr]
        width = 4 * dim
        for i in range(n):
            raw = bytearray()
            while (ch := fh.read(1)) not in (b" ", b""):
                if ch != b"\n":
                    raw += ch
            data = fh.read(width)
            if len(data) < width:
                raise DataError(f"{path}: truncated at vector {i} of {n}")
            word = raw.decode("utf8", "replace")
            if keep is None or word in keep:
                words.append(word)
                rows.append(np.frombuffer(data, dtype="<f4").copy())
    return words, rows


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf8"))


def train_word2vec(
    docs: Sequence[Sequence[str]],
    dim: int = 64,
    seed: int = 0,
    epochs: int = 30,
    window: int = 8,
    show: bool | None = None,
) -> WordVectors:
    """Skip-gram word2vec on the item corpus itself (gensim; one worker, so it is seeded)."""
    try:
        from gensim.models import Word2Vec
        from gensim.models.callbacks import CallbackAny2Vec
    except ImportError:
        raise ConfigError(
            'vectors "word2vec" needs gensim: pip install "recsys-embed[word2vec]"'
        ) from None

    sentences = [list(d) for d in docs if d]
    if not sentences:
        raise DataError("no item text to train word2vec on")

    class _Epochs(CallbackAny2Vec):
        def on_epoch_end(self, model: object) -> None:
            bar.update(1)

    bar: Progress[Any]
    with progress(total=epochs, desc="word2vec", show=show, unit="epoch") as bar:
        model = Word2Vec(
            sentences=sentences,
            vector_size=dim,
            window=window,
            min_count=1,
            sg=1,
            epochs=epochs,
            seed=seed,
            workers=1,
            hashfxn=_stable_hash,
            callbacks=[_Epochs()],
        )
    words = list(model.wv.index_to_key)
    return WordVectors(words, np.asarray(model.wv.vectors, dtype=np.float32), "word2vec")
