"""Weighting of an interaction matrix, and filters that return smaller Interactions."""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError

Weighting = Literal["raw", "binary", "log", "confidence", "bm25", "tfidf"]
WEIGHTINGS: tuple[Weighting, ...] = get_args(Weighting)


def _with_data(matrix: sp.csr_matrix, data: np.ndarray) -> sp.csr_matrix:
    out = sp.csr_matrix(
        (data.astype(np.float32), matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape
    )
    out.has_sorted_indices = matrix.has_sorted_indices
    return out


def weight_matrix(matrix: sp.csr_matrix, scheme: Weighting = "raw", **params: Any) -> sp.csr_matrix:
    """A re-weighted float32 copy of ``matrix`` (same sparsity pattern).

    Schemes: ``raw`` (w), ``binary`` (1), ``log`` (log(1 + w)), ``confidence``
    (1 + alpha * w; param ``alpha``, default 1), ``bm25`` (params ``K1`` = 100, ``B`` = 0.8) and
    ``tfidf``; the last two compute what implicit's ``bm25_weight`` / ``tfidf_weight`` do,
    applied with items as documents, as implicit's own nearest-neighbour models do.
    """
    if scheme not in WEIGHTINGS:
        raise ConfigError(f"weighting must be one of {list(WEIGHTINGS)}, got {scheme!r}")
    allowed = {"confidence": {"alpha"}, "bm25": {"K1", "B"}}.get(scheme, set())
    extra = set(params) - allowed
    if extra:
        raise ConfigError(
            f"weighting {scheme!r} takes parameters {sorted(allowed)}, got {sorted(extra)}"
        )
    data = matrix.data.astype(np.float64)
    if scheme == "raw":
        return _with_data(matrix, data)
    if scheme == "binary":
        return _with_data(matrix, np.ones_like(data))
    if scheme == "log":
        return _with_data(matrix, np.log1p(data))
    if scheme == "confidence":
        alpha = float(params.get("alpha", 1.0))
        if not alpha > 0:
            raise ConfigError(f"alpha must be a positive number, got {alpha}")
        return _with_data(matrix, 1.0 + alpha * data)
    # items are the documents (rows of the weighted matrix), users the terms, as in implicit
    items_users = sp.coo_matrix(matrix.T.tocsr())
    if scheme == "bm25":
        weighted = _bm25(items_users, params.get("K1", 100), params.get("B", 0.8))
    else:
        weighted = _tfidf(items_users)
    out = sp.csr_matrix(weighted.T, dtype=np.float32)
    out.sort_indices()
    return out


def _idf(docs_terms: sp.coo_matrix) -> np.ndarray:
    """log(n_docs) - log(1 + number of documents holding each term)."""
    return np.log(float(docs_terms.shape[0])) - np.log1p(np.bincount(docs_terms.col))


def _bm25(docs_terms: sp.coo_matrix, k1: Any, b: Any) -> sp.coo_matrix:
    """BM25 of each entry, rows as documents; implicit's ``bm25_weight`` step for step (the
    same dtypes, so the same float32 values)."""
    row_sums = np.ravel(docs_terms.sum(axis=1))
    length_norm = (1.0 - b) + b * row_sums / row_sums.mean()
    data = docs_terms.data
    weighted = data * (k1 + 1.0) / (k1 * length_norm[docs_terms.row] + data)
    return _with_coo_data(docs_terms, weighted * _idf(docs_terms)[docs_terms.col])


def _tfidf(docs_terms: sp.coo_matrix) -> sp.coo_matrix:
    """sqrt(w) x idf of each entry, rows as documents; implicit's ``tfidf_weight``."""
    return _with_coo_data(docs_terms, np.sqrt(docs_terms.data) * _idf(docs_terms)[docs_terms.col])


def _with_coo_data(m: sp.coo_matrix, data: np.ndarray) -> sp.coo_matrix:
    return sp.coo_matrix((data, (m.row, m.col)), shape=m.shape)


def filter_min_weight(inter: Interactions, min_weight: float) -> Interactions:
    """Keep interactions with weight >= ``min_weight``; users and items left empty are dropped."""
    return inter.subset(inter.weights >= min_weight).compact()


def k_core(inter: Interactions, k: int, max_rounds: int = 100) -> Interactions:
    """Largest sub-log where every user and every item has >= ``k`` interactions.

    Removing sparse users can make items sparse again, so it repeats until stable.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a positive int, got {k!r}")
    current = inter
    for _ in range(max_rounds):
        user_counts = np.diff(current.matrix.indptr)
        item_counts = np.bincount(current.matrix.indices, minlength=current.n_items)
        keep = (user_counts[current.user_idx] >= k) & (item_counts[current.item_idx] >= k)
        if keep.all():
            return current.compact()
        current = current.subset(keep)
    return current.compact()
