"""Item text aligned with a model's item catalogue: token lists, word vectors, token one-hots."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys_embed.errors import DataError
from recsys_embed.features.cache import WordVectorCache, corpus_digest, source_key
from recsys_embed.features.ppmi import train_ppmi_svd
from recsys_embed.features.text import tokenize
from recsys_embed.features.vectors import WordVectors, load_word_vectors, train_word2vec


def text_by_id(item_text: Any) -> dict[Any, str]:
    """``{item_id: text}`` from a frame with ``item_id`` and ``text`` columns, or a mapping."""
    if isinstance(item_text, Mapping):
        return {k: "" if v is None else str(v) for k, v in item_text.items()}
    frame = item_text
    if not isinstance(frame, pl.DataFrame):
        try:
            frame = pl.from_pandas(frame)
        except (TypeError, ValueError):
            raise DataError(
                "item text must be a frame with item_id and text columns, or {item_id: text}"
            ) from None
    missing = [c for c in ("item_id", "text") if c not in frame.columns]
    if missing:
        raise DataError(f"item text frame lacks column(s) {missing}; found {frame.columns}")
    texts = frame["text"].fill_null("").to_list()
    return dict(zip(frame["item_id"].to_list(), texts, strict=True))


def item_docs(item_ids: np.ndarray, texts: Mapping[Any, str], stop_words: bool) -> list[list[str]]:
    """Token list of each item id, in order; ``[]`` for items without text."""
    return [tokenize(texts.get(i, "") or "", stop_words) for i in item_ids.tolist()]


TRAINED_VECTORS = ("ppmi-svd", "word2vec")


def word_vectors(
    spec: str,
    docs: Sequence[Sequence[str]],
    cache: WordVectorCache,
    fmt: str = "auto",
    dim: int = 64,
    seed: int = 0,
    show: bool | None = None,
) -> WordVectors:
    """Word vectors for a corpus, built once per corpus and settings in ``cache`` (a run's).

    ``"ppmi-svd"`` or ``"word2vec"``: trained on ``docs``; else a vector file, read for the
    corpus words only.
    """
    digest = corpus_digest(docs)
    n = sum(1 for d in docs if d)
    if spec == "ppmi-svd":
        key: tuple[object, ...] = (spec, dim, seed, digest)
        label = f"ppmi-svd {dim}-d on {n} item texts"
        return cache.get(key, lambda: train_ppmi_svd(docs, dim, seed, show), label)
    if spec == "word2vec":
        key = (spec, dim, seed, digest)
        label = f"word2vec {dim}-d on {n} item texts"
        return cache.get(key, lambda: train_word2vec(docs, dim=dim, seed=seed, show=show), label)
    vocab = {w for d in docs for w in d}
    key = (*source_key(spec), fmt, digest)
    return cache.get(
        key, lambda: load_word_vectors(spec, vocabulary=vocab, fmt=fmt), f"{spec} for {n} items"
    )


def token_vocabulary(docs: Sequence[Sequence[str]], min_count: int = 2) -> list[str]:
    """Tokens present in at least ``min_count`` items, sorted."""
    counts: Counter[str] = Counter()
    for d in docs:
        counts.update(set(d))
    return sorted(w for w, c in counts.items() if c >= min_count)


def token_onehots(
    docs: Sequence[Sequence[str]], vocab: Sequence[str], max_tokens: int | None = None
) -> sp.csr_matrix:
    """(n_docs, len(vocab)) binary token indicators, each row L2-normalised.

    A row's entries sum to sqrt(its tokens): with ``max_tokens`` (the most any catalogue item
    had at fit), a longer text's row is scaled down to the sum of such an item's, so a text
    that holds every token cannot outweigh the catalogue's richest item.
    """
    index = {w: i for i, w in enumerate(vocab)}
    rows, cols = [], []
    for r, d in enumerate(docs):
        for c in sorted({index[w] for w in d if w in index}):
            rows.append(r)
            cols.append(c)
    m = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(docs), len(vocab))
    )
    counts = np.asarray(m.sum(axis=1)).ravel()
    norms = np.sqrt(counts)
    scale = 1.0 / np.where(norms > 0, norms, 1.0)
    if max_tokens:
        scale *= np.sqrt(max_tokens / np.maximum(counts, max_tokens))
    return sp.csr_matrix(sp.diags(scale) @ m, dtype=np.float32)


def most_tokens(docs: Sequence[Sequence[str]], vocab: Sequence[str]) -> int:
    """The most distinct ``vocab`` tokens one doc has (the bound of :func:`token_onehots`)."""
    index = set(vocab)
    return max((len(index.intersection(d)) for d in docs), default=0)


def text_lengths(docs: Sequence[Sequence[str]]) -> np.ndarray:
    """(n_docs, 2): log(1 + tokens) and log(1 + distinct tokens) of each item's text.

    How much text an item has (e.g. how many users tagged it) says something about its
    popularity that a length-normalised text vector has lost.
    """
    counts = np.array([(len(d), len(set(d))) for d in docs], dtype=np.float64)
    return np.log1p(counts.reshape(-1, 2))


LENGTH_RANGE = (0.01, 0.99)  # quantiles of the catalogue's lengths where the feature saturates


def length_stats(lengths: np.ndarray) -> np.ndarray:
    """(4, 2): mean, std (1 where 0) and the :data:`LENGTH_RANGE` quantiles of
    :func:`text_lengths` over a catalogue."""
    std = lengths.std(axis=0)
    low, high = np.quantile(lengths, LENGTH_RANGE, axis=0)
    return np.stack([lengths.mean(axis=0), np.where(std > 0, std, 1.0), low, high])


def length_features(lengths: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """:func:`text_lengths` standardised with ``stats`` (:func:`length_stats`) and saturated at
    the catalogue's 1st and 99th percentiles: lengths are heavy-tailed (on MovieLens the
    longest text is 11 std above the mean), and a huge text must not push its item up every
    list by its length alone; the 98% of items between keep their feature exactly.

    ``stats`` of two rows (mean, std: saved before the range was kept) saturate at 3 std."""
    mean, std = stats[0], stats[1]
    lo, hi = (stats[2], stats[3]) if len(stats) >= 4 else (mean - 3 * std, mean + 3 * std)
    return (np.clip(lengths, lo, hi) - mean) / std


YEAR_IN_TEXT = re.compile(r"\(\s*((?:18|19|20)\d\d)\s*\)")
FIRST_DECADE, N_DECADES = 1880, 17  # 1880s (and before) ... 2040s (and after)


def decade_onehots(texts: Sequence[str]) -> sp.csr_matrix:
    """(n_texts, 17) one-hot of the decade of the first ``(1995)``-style year in each text.

    A title's year (films, books, albums) says much about an item's audience that its words do
    not; texts without such a year get an empty row.
    """
    rows, cols = [], []
    for r, text in enumerate(texts):
        m = YEAR_IN_TEXT.search(text or "")
        if m:
            rows.append(r)
            cols.append(min(max(int(m.group(1)) // 10 - FIRST_DECADE // 10, 0), N_DECADES - 1))
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(texts), N_DECADES))
