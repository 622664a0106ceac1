"""Ranking metrics as pure, vectorised functions of top-k lists and the truth.

Inputs
------
top_idx : int array (n_users, K)
    Recommended item indices per user, best first; ``-1`` marks an empty slot (padding).
truth : csr_matrix (n_users, n_items)
    Held-out relevant items per user (stored entries are relevant; values are graded gains).

Each function returns one value per user (row), ``nan`` for users with no relevant item,
unless it says otherwise. Conventions (the defaults, and the options that change them):

- recall@k = hits / |relevant| (``denominator="min_k"``: hits / min(k, |relevant|)).
- precision@k = hits / k (empty slots count as misses).
- NDCG@k: DCG = sum over ranks r = 1..k of gain / log2(r + 1); binary gain 1, or the truth value
  with ``graded=True``. Ideal DCG over min(k, |relevant|) positions of the best gains
  (``ideal="k"``: over all k positions, as RecTools' default).
- AP@k = sum over hit ranks r of precision@r, divided by min(k, |relevant|); MAP = its mean.
- MRR@k = 1 / rank of the first hit within k, else 0. Hit rate@k = 1 if any hit, else 0.
- AUC (:func:`auc_from_scores`): over every candidate item not excluded, the probability that
  a relevant item outscores a non-relevant one, ties counting one half.
- :func:`limited_auc_at_k` is implicit's top-k-only AUC, for comparing with its numbers.
- coverage@k: share of the catalogue (or candidates) that appears in any top-k list.
- novelty@k: mean self-information -log2(p_i) of recommended items, p_i = (n_i + 1) / (n_users + 1)
  with n_i the item's training users (add-one smoothing so unseen items stay finite).

Averaging (:func:`mean_over_users`): over users with >= 1 relevant item; users with an empty
list count as 0 (``only_with_recommendations=True`` averages over those with a list).
Ties in scores are broken before these functions, by ``models.topk`` (lower item index first).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata

from recsys_embed.errors import ConfigError


def _check(top_idx: np.ndarray, truth: sp.csr_matrix, k: int) -> tuple[np.ndarray, int]:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a positive int, got {k!r}")
    top_idx = np.asarray(top_idx)
    if top_idx.ndim != 2 or top_idx.shape[0] != truth.shape[0]:
        raise ConfigError(
            f"top_idx must have shape (n_users={truth.shape[0]}, K), got {top_idx.shape}"
        )
    return top_idx[:, :k], int(k)


def relevance(top_idx: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """Truth value of every recommended slot (0 for a miss or an empty slot), shape of top_idx."""
    truth = sp.csr_matrix(truth)
    truth.sum_duplicates()  # canonical: sorted indices, so keys below are sorted
    n_items = truth.shape[1]
    rows = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr))
    keys = rows * n_items + truth.indices
    n, k = top_idx.shape
    query = np.arange(n, dtype=np.int64)[:, None] * n_items + top_idx
    pos = np.searchsorted(keys, query).clip(max=max(len(keys) - 1, 0))
    found = (top_idx >= 0) & (len(keys) > 0)
    if len(keys):
        found &= keys[pos] == query
    gains = np.zeros((n, k), dtype=np.float64)
    gains[found] = truth.data[pos[found]]
    return gains


def n_relevant(truth: sp.csr_matrix) -> np.ndarray:
    return np.diff(sp.csr_matrix(truth).indptr).astype(np.float64)


def _per_user(values: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    return np.where(n_rel > 0, values, np.nan)


def hits_at_k(top_idx: np.ndarray, truth: sp.csr_matrix, k: int) -> np.ndarray:
    top, k = _check(top_idx, truth, k)
    return (relevance(top, truth) > 0).sum(axis=1).astype(np.float64)


def recall_at_k(
    top_idx: np.ndarray,
    truth: sp.csr_matrix,
    k: int,
    denominator: Literal["relevant", "min_k"] = "relevant",
) -> np.ndarray:
    """hits / |relevant| (or / min(k, |relevant|) with ``denominator="min_k"``)."""
    if denominator not in ("relevant", "min_k"):
        raise ConfigError(f"denominator must be 'relevant' or 'min_k', got {denominator!r}")
    n_rel = n_relevant(truth)
    denom = n_rel if denominator == "relevant" else np.minimum(k, n_rel)
    hits = hits_at_k(top_idx, truth, k)
    return _per_user(hits / np.maximum(denom, 1), n_rel)


def precision_at_k(top_idx: np.ndarray, truth: sp.csr_matrix, k: int) -> np.ndarray:
    """hits / k."""
    return _per_user(hits_at_k(top_idx, truth, k) / k, n_relevant(truth))


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(
    top_idx: np.ndarray,
    truth: sp.csr_matrix,
    k: int,
    graded: bool = False,
    ideal: Literal["relevant", "k"] = "relevant",
) -> np.ndarray:
    """NDCG@k; binary gains, or the truth values with ``graded=True``. See module conventions."""
    if ideal not in ("relevant", "k"):
        raise ConfigError(f"ideal must be 'relevant' or 'k', got {ideal!r}")
    top, k = _check(top_idx, truth, k)
    truth = sp.csr_matrix(truth)
    gains = relevance(top, truth)
    if not graded:
        gains = (gains > 0).astype(np.float64)
    disc = _discounts(k)
    dcg = gains @ disc[: gains.shape[1]]
    n_rel = n_relevant(truth)
    idcg = _best_gains(truth, k, graded, fill_k=ideal == "k") @ disc
    return _per_user(dcg / np.where(idcg > 0, idcg, 1), n_rel)


def _best_gains(truth: sp.csr_matrix, k: int, graded: bool, fill_k: bool) -> np.ndarray:
    """Per user, the k best gains in order (zeros past |relevant|; 1s for ``fill_k`` binary)."""
    n = truth.shape[0]
    out = np.zeros((n, k))
    n_rel = np.diff(truth.indptr)
    if not graded:
        limit = np.full(n, k) if fill_k else n_rel
        out[np.arange(k)[None, :] < limit[:, None]] = 1.0
        return out
    # graded: sort each row's gains descending (one sort of (row, -gain) over all entries)
    rows = np.repeat(np.arange(n), n_rel)
    order = np.lexsort((-truth.data, rows))
    rank = np.arange(len(order)) - np.repeat(truth.indptr[:-1], n_rel)
    keep = rank < k
    out[rows[order][keep], rank[keep]] = truth.data[order][keep]
    if fill_k:  # an ideal list of k items: pad with the user's best gain
        top = out[:, :1]
        out = np.where(np.arange(k)[None, :] < n_rel[:, None], out, top)
    return out


def map_at_k(top_idx: np.ndarray, truth: sp.csr_matrix, k: int) -> np.ndarray:
    """Average precision@k, divided by min(k, |relevant|)."""
    top, k = _check(top_idx, truth, k)
    hit = relevance(top, truth) > 0
    prec_at_r = np.cumsum(hit, axis=1) / np.arange(1, hit.shape[1] + 1)
    n_rel = n_relevant(truth)
    ap = (prec_at_r * hit).sum(axis=1) / np.maximum(np.minimum(k, n_rel), 1)
    return _per_user(ap, n_rel)


def mrr_at_k(top_idx: np.ndarray, truth: sp.csr_matrix, k: int) -> np.ndarray:
    """1 / rank of the first hit within k (0 if none)."""
    top, k = _check(top_idx, truth, k)
    hit = relevance(top, truth) > 0
    first = np.argmax(hit, axis=1)
    rr = np.where(hit.any(axis=1), 1.0 / (first + 1), 0.0)
    return _per_user(rr, n_relevant(truth))


def hit_rate_at_k(top_idx: np.ndarray, truth: sp.csr_matrix, k: int) -> np.ndarray:
    """1 if any relevant item is in the top k, else 0."""
    return _per_user((hits_at_k(top_idx, truth, k) > 0).astype(np.float64), n_relevant(truth))


def auc_from_scores(
    scores: np.ndarray, truth: sp.csr_matrix, excluded: sp.csr_matrix | None = None
) -> np.ndarray:
    """Per-user AUC over the columns of ``scores`` (all items, or a candidate set).

    ``truth`` and ``excluded`` (e.g. train items) are indexed like the columns of ``scores``;
    excluded items are neither positives nor negatives. Ties count one half. ``nan`` for users
    with no positive or no negative.
    """
    scores = np.array(scores, dtype=np.float64)
    n, m = scores.shape
    if excluded is not None and excluded.nnz:
        r = np.repeat(np.arange(n), np.diff(excluded.indptr))
        scores[r, excluded.indices] = -np.inf
        n_excl = np.diff(excluded.indptr).astype(np.float64)
    else:
        n_excl = np.zeros(n)
    ranks = rankdata(scores, axis=1)  # average ranks, ascending; excluded at the bottom
    truth = sp.csr_matrix(truth)
    pos = (truth != 0).astype(np.float64)
    n_pos = np.asarray(pos.sum(axis=1)).ravel()
    rank_sum = np.asarray(pos.multiply(ranks).sum(axis=1)).ravel() - n_pos * n_excl
    n_neg = m - n_excl - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def limited_auc_at_k(
    top_idx: np.ndarray, truth: sp.csr_matrix, k: int, n_items: int | None = None
) -> np.ndarray:
    """implicit's "auc" of ``ranking_metrics_at_k``: AUC estimated from the top-k list only.

    Items past the list are assumed to rank positives and negatives at random; negatives are
    all ``n_items - |relevant|`` items (train items included), as implicit counts them.
    """
    top, k = _check(top_idx, truth, k)
    hit = relevance(top, truth) > 0
    n_items = truth.shape[1] if n_items is None else n_items
    n_pos = n_relevant(truth)
    n_neg = n_items - n_pos
    hits_before = np.cumsum(hit, axis=1)
    miss = ~hit
    area = (hits_before * miss).sum(axis=1)
    n_hit, n_miss = hit.sum(axis=1), miss.sum(axis=1)
    area = area + (n_hit + n_pos) / 2.0 * (n_neg - n_miss)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _per_user(area / (n_pos * n_neg), n_pos)


def coverage_at_k(top_idx: np.ndarray, k: int, n_items: int) -> float:
    """Share of the ``n_items`` catalogue (or candidate set) recommended to anyone in the top k."""
    top = np.asarray(top_idx)[:, :k]
    return float(len(np.unique(top[top >= 0])) / n_items) if n_items else 0.0


def novelty_at_k(top_idx: np.ndarray, k: int, item_counts: np.ndarray, n_users: int) -> np.ndarray:
    """Mean self-information of each user's top-k items (empty slots skipped; nan if none)."""
    top = np.asarray(top_idx)[:, :k]
    info = -np.log2((np.asarray(item_counts, dtype=np.float64) + 1) / (n_users + 1))
    filled = top >= 0
    vals = np.where(filled, info[np.where(filled, top, 0)], 0.0)
    with np.errstate(invalid="ignore"):
        return vals.sum(axis=1) / np.where(filled.sum(axis=1) > 0, filled.sum(axis=1), np.nan)


def mean_over_users(
    values: np.ndarray, top_idx: np.ndarray | None = None, only_with_recommendations: bool = False
) -> float:
    """Mean over users with a value (>= 1 relevant item); see module conventions."""
    keep = ~np.isnan(values)
    if only_with_recommendations and top_idx is not None:
        keep &= (np.asarray(top_idx) >= 0).any(axis=1)
    return float(values[keep].mean()) if keep.any() else float("nan")


PER_USER = {
    "recall": recall_at_k,
    "precision": precision_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
    "mrr": mrr_at_k,
    "hit_rate": hit_rate_at_k,
    "limited_auc": limited_auc_at_k,
}


def conventions(
    exclude_train: bool = True,
    n_candidates: int | None = None,
    recall_denominator: str = "relevant",
    ideal: str = "relevant",
    only_with_recommendations: bool = False,
    ci: str = "normal",
) -> dict[str, Any]:
    """What a report's numbers mean (``Report.conventions``), for every engine that makes one.

    ``n_candidates``: the size of the candidate set ranked, None for the full catalogue.
    """
    return {
        "users": "users with >= 1 test item"
        + (" among the candidates" if n_candidates is not None else ""),
        "excluded": "each user's train items are never ranked"
        if exclude_train
        else "nothing: train items are ranked (and are AUC negatives)",
        "ranking": "full catalogue"
        if n_candidates is None
        else f"{n_candidates} candidate items only",
        "recall_denominator": recall_denominator,
        "ndcg_ideal": ideal,
        "only_with_recommendations": only_with_recommendations,
        "ties": "equal scores rank the lower item index first",
        "ci": ci,
    }
