"""Exact top-k selection with a documented tie-break, seen-item masking, unit rows."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects taskset / cgroup CPU limits
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _topk_block(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n, m = scores.shape
    if k < m:
        # A lower bound of each row's k-th largest score: the k-th largest of the maxima of
        # >= k column blocks (k distinct entries reach it). Entries at or above it are few
        # (about k) and contain the top k exactly; only they are sorted.
        width = max(1, m // (32 * k))
        n_full = m // width
        maxima = scores[:, : n_full * width].reshape(n, n_full, width).max(axis=2)
        if n_full * width < m:
            tail = scores[:, n_full * width :].max(axis=1, keepdims=True)
            maxima = np.concatenate([maxima, tail], axis=1)
        nb = maxima.shape[1]
        bound = np.partition(maxima, nb - k, axis=1)[:, nb - k]
        # only blocks whose maximum reaches the bound can hold candidates: scan just those
        blk_rows, blks = np.nonzero(maxima >= bound[:, None])
        cols = blks[:, None] * width + np.arange(width)
        inside = cols < m  # the last block may be shorter
        cols = np.minimum(cols, m - 1)
        vals = np.take(scores.reshape(-1), blk_rows[:, None] * m + cols)
        keep = inside & (vals >= bound[blk_rows][:, None])
        rows = np.broadcast_to(blk_rows[:, None], cols.shape)[keep]
        cols, vals = cols[keep], vals[keep]
    else:
        rows, cols = np.divmod(np.arange(n * m), m)
        vals = scores[rows, cols]
    order = np.lexsort((cols, -vals, rows))  # by row, score descending, then lower index
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(n))
    pos = np.arange(len(rows)) - starts[rows]
    keep = pos < k
    idx = np.full((n, k), -1, dtype=np.int64)
    out = np.full((n, k), -np.inf, dtype=scores.dtype)
    idx[rows[keep], pos[keep]] = cols[keep]
    out[rows[keep], pos[keep]] = vals[keep]
    return idx, out


def topk(scores: np.ndarray, k: int, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` column indices of each row, best first, and their scores.

    Exact, with ties broken by the lower column index first, so results are deterministic.
    ``k`` larger than the number of columns returns every column. ``-inf`` scores (masked
    entries) sort last. Large inputs are split by rows over the available cores (numpy's
    partition releases the GIL; ``threads`` caps the workers); the result does not depend on
    the number of workers.

    Returns ``(idx, values)``, each of shape ``(n_rows, min(k, n_cols))``.
    """
    n, m = scores.shape
    k = min(int(k), m)
    if k <= 0 or n == 0:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=scores.dtype)
    workers = min(threads or _cores(), max(1, (n * m) // 2_000_000), n)
    if workers == 1:
        return _topk_block(scores, k)
    bounds = np.linspace(0, n, workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(
            pool.map(lambda b: _topk_block(scores[b[0] : b[1]], k), itertools.pairwise(bounds))
        )
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def mask_rows(scores: np.ndarray, rows: sp.csr_matrix, col_pos: np.ndarray | None = None) -> None:
    """Set ``scores[r, c] = -inf`` in place for every stored entry (r, c) of ``rows``.

    ``col_pos`` maps a column of ``rows`` to a column of ``scores`` (-1: not present), for
    scoring restricted to a candidate set.
    """
    r = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    c = rows.indices
    if col_pos is not None:
        c = col_pos[c]
        r, c = r[c >= 0], c[c >= 0]
    scores[r, c] = -np.inf


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay 0)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)
