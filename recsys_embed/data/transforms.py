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
    ``tfidf``; the last two are implicit's ``bm25_weight`` / ``tfidf_weight``, applied with
    items as documents, as implicit's own nearest-neighbour models do.
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
    from implicit.nearest_neighbours import bm25_weight, tfidf_weight

    # implicit weights rows as documents; items are the documents here, hence the transposes.
    items_users = matrix.T.tocsr()
    if scheme == "bm25":
        weighted = bm25_weight(items_users, K1=params.get("K1", 100), B=params.get("B", 0.8))
    else:
        weighted = tfidf_weight(items_users)
    out = sp.csr_matrix(weighted.T, dtype=np.float32)
    out.sort_indices()
    return out


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
