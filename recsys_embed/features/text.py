"""Item text -> tokens -> word vectors -> one L2-normalised vector per item.

Tokenisation suits item metadata: lower-case, unicode word characters (so ``|``-separated
genres and tag lists split naturally), a title's trailing ``(1995)`` year removed from the text
(it is returned apart by :func:`title_year`), optional English stop-words.

Pooling (:class:`TextFeaturizer`): ``mean`` of the known word vectors, ``tfidf``-weighted mean
(idf over the item corpus), or ``sif`` (smooth inverse frequency weights ``a / (a + p(w))`` with
the first principal component of the item vectors removed; Arora et al. 2017). The pooled
vectors are then mean-centred over the items that have text (``centre=True``; measured to
matter a lot for cosine neighbours) and L2-normalised. An item with no known word gets the zero
vector: no text signal, never NaN. Out-of-vocabulary shares are kept in ``oov_``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from recsys_embed.errors import ConfigError
from recsys_embed.features.vectors import WordVectors

YEAR = re.compile(r"\(\s*(\d{4})\s*\)\s*$")
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have he her his i in is it its of on or she "
    "that the their they this to was were which who will with".split()
)
POOLINGS = ("mean", "tfidf", "sif")


def title_year(title: str) -> int | None:
    """The trailing ``(1995)`` year of a title, if any."""
    m = YEAR.search(title)
    return int(m.group(1)) if m else None


def tokenize(text: str, stop_words: bool = False) -> list[str]:
    """Lower-cased word tokens; a trailing ``(year)`` is dropped, ``|`` and punctuation split."""
    text = YEAR.sub("", text) if text else ""
    words = [w.lower() for w in WORD.findall(text.replace("|", " "))]
    if stop_words:
        words = [w for w in words if w not in STOP_WORDS]
    return words


@dataclass(frozen=True)
class OOVStats:
    token_share: float  # share of all tokens without a vector
    item_share: float  # share of items with text but no known word
    items_without_text: int  # items whose text is empty


class TextFeaturizer:
    """Fit on an item corpus (token lists); transform any token lists into item vectors."""

    def __init__(
        self, vectors: WordVectors, pooling: str = "mean", centre: bool = True, sif_a: float = 1e-3
    ):
        if pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {list(POOLINGS)}, got {pooling!r}")
        self.vectors, self.pooling, self.centre, self.sif_a = vectors, pooling, centre, sif_a

    def fit(self, docs: Sequence[Sequence[str]]) -> TextFeaturizer:
        counts: Counter[str] = Counter()
        doc_freq: Counter[str] = Counter()
        for doc in docs:
            counts.update(doc)
            doc_freq.update(set(doc))
        total = max(sum(counts.values()), 1)
        n_docs = max(len(docs), 1)
        words = self.vectors.words
        self.word_weight_ = np.ones(len(words))
        if self.pooling == "tfidf":
            df = np.array([doc_freq.get(w, 0) for w in words], dtype=np.float64)
            self.word_weight_ = np.log((1 + n_docs) / (1 + df)) + 1.0
        elif self.pooling == "sif":
            p = np.array([counts.get(w, 0) for w in words], dtype=np.float64) / total
            self.word_weight_ = self.sif_a / (self.sif_a + p)
        raw = self._pool(docs)
        has = np.linalg.norm(raw, axis=1) > 0
        dim = self.vectors.dim
        self.component_ = np.zeros(dim)
        if self.pooling == "sif" and has.sum() > 1:
            _, _, vt = np.linalg.svd(raw[has], full_matrices=False)
            self.component_ = vt[0]
            raw[has] -= np.outer(raw[has] @ self.component_, self.component_)
        self.mean_ = raw[has].mean(axis=0) if (self.centre and has.any()) else np.zeros(dim)
        self.oov_ = self._oov(docs)
        return self

    def _pool(self, docs: Iterable[Sequence[str]]) -> np.ndarray:
        index, table = self.vectors.index, self.vectors.matrix
        out = []
        for doc in docs:
            idx = [index[w] for w in doc if w in index]
            if not idx:
                out.append(np.zeros(self.vectors.dim))
                continue
            w = self.word_weight_[idx] if self.pooling != "mean" else np.ones(len(idx))
            out.append((w[:, None] * table[idx]).sum(axis=0) / w.sum())
        return np.asarray(out, dtype=np.float64).reshape(-1, self.vectors.dim)

    def _oov(self, docs: Sequence[Sequence[str]]) -> OOVStats:
        index = self.vectors.index
        tokens = sum(len(d) for d in docs)
        unknown = sum(1 for d in docs for w in d if w not in index)
        with_text = [d for d in docs if d]
        no_known = sum(1 for d in with_text if not any(w in index for w in d))
        return OOVStats(
            unknown / tokens if tokens else 0.0,
            no_known / len(with_text) if with_text else 0.0,
            len(docs) - len(with_text),
        )

    def transform(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """(n_docs, dim) float32: pooled, PC-removed (sif), centred, L2-normalised; 0 if no word."""
        raw = self._pool(docs)
        has = np.linalg.norm(raw, axis=1) > 0
        if self.pooling == "sif":
            raw[has] -= np.outer(raw[has] @ self.component_, self.component_)
        raw[has] -= self.mean_
        norms = np.linalg.norm(raw, axis=1)
        raw[has] /= np.where(norms[has] > 0, norms[has], 1.0)[:, None]
        return raw.astype(np.float32)
