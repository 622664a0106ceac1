"""Closed-form word vectors of the item corpus: PPMI of co-occurrence within an item, then SVD.

Two words co-occur when they appear in the same item's text (an item is a bag of words:
titles, genres and tags have no meaningful word order). Counts are per item (a word counts once
per item), the positive pointwise mutual information uses context-distribution smoothing
(``p(c) ** 0.75``), and the PPMI matrix is factorised by a truncated SVD; a word's vector is
its word plus its context vector, ``(U + V) sqrt(S)`` (Levy, Goldberg & Dagan 2015:
word2vec's skip-gram implicitly factorises a shifted PMI matrix, and this explicit
factorisation matches it on similarity tasks). Adding the context vector makes two words
that always appear together neighbours (``U`` alone makes them orthogonal when they share no
other context).

Deterministic: ARPACK starts from a seeded vector (a small vocabulary, where ARPACK would
restart from an unseeded one, gets a dense SVD), each singular vector's sign is fixed so that
its largest-magnitude entry is positive, and the words are sorted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds
from threadpoolctl import threadpool_limits

from recsys_embed.errors import DataError
from recsys_embed.features.vectors import WordVectors
from recsys_embed.progress import Progress, progress


def cooccurrence(docs: Sequence[Sequence[str]]) -> tuple[list[str], sp.csr_matrix]:
    """Sorted vocabulary and the (V x V) count of items in which both words appear (diag 0)."""
    words = sorted({w for d in docs for w in d})
    index = {w: i for i, w in enumerate(words)}
    rows, cols = [], []
    for r, d in enumerate(docs):
        for c in {index[w] for w in d}:
            rows.append(r)
            cols.append(c)
    x = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(docs), len(words)), dtype=np.float64
    )
    counts = sp.csr_matrix(x.T @ x)
    counts.setdiag(0)
    counts.eliminate_zeros()
    return words, counts


def ppmi(counts: sp.csr_matrix, cds: float = 0.75) -> sp.csr_matrix:
    """Positive PMI of a symmetric count matrix, contexts smoothed by ``p(c) ** cds``."""
    coo = counts.tocoo()
    total = coo.data.sum()
    word = np.asarray(counts.sum(axis=1)).ravel()
    ctx = word**cds
    ctx_p = ctx / ctx.sum()
    pmi = np.log(coo.data * 1.0 / total) - np.log(word[coo.row] / total) - np.log(ctx_p[coo.col])
    keep = pmi > 0
    return sp.csr_matrix(
        (pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape, dtype=np.float64
    )


def train_ppmi_svd(
    docs: Sequence[Sequence[str]], dim: int = 64, seed: int = 0, show: bool | None = None
) -> WordVectors:
    """Word vectors ``(U + V) sqrt(S)`` of the truncated SVD of the corpus's PPMI matrix.

    Words that never share an item with another word get the zero vector.
    """
    bar: Progress[Any]
    with progress(total=3, desc="ppmi-svd word vectors", show=show, unit="step") as bar:
        words, counts = cooccurrence(docs)
        if not words:
            raise DataError("no item text to build word vectors from")
        bar.update(1)
        matrix = ppmi(counts)
        bar.update(1)
        k = min(dim, len(words) - 1)
        vectors = np.zeros((len(words), dim), dtype=np.float64)
        if k >= 1 and matrix.nnz:
            u, s, v = _top_singular_triplets(matrix, k, seed)
            signs = np.sign(u[np.abs(u).argmax(axis=0), np.arange(k)])
            vectors[:, :k] = (u + v) * signs * np.sqrt(s)
        bar.update(1)
    return WordVectors(words, vectors.astype(np.float32), "ppmi-svd")


def _top_singular_triplets(
    matrix: sp.csr_matrix, k: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(u, s, v)`` of the ``k`` largest singular values, largest first.

    ARPACK (``svds``) builds a Lanczos basis of ``ncv`` vectors; when that basis would span
    the whole space (a vocabulary of at most ``max(2k + 1, 20)`` words) it runs out of
    directions on repeated or zero singular values and restarts from an unseeded random
    vector, so a dense SVD (exact and deterministic) is used there instead.
    """
    n = matrix.shape[0]
    with threadpool_limits(limits=1, user_api="blas"):  # 10x faster on a busy machine
        if n <= max(2 * k + 1, 20):
            u, s, vt = np.linalg.svd(matrix.toarray())
            return u[:, :k], s[:k], vt[:k].T
        v0 = np.random.default_rng(seed).uniform(-1, 1, n)
        u, s, vt = svds(matrix, k=k, v0=v0, random_state=seed)
    order = np.argsort(-s, kind="stable")
    return u[:, order], s[order], vt[order].T
