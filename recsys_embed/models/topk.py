"""Exact top-k selection with a documented tie-break, and seen-item masking."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` column indices of each row, best first, and their scores.

    Ties are broken by the lower column index first, so results are deterministic. ``k`` larger
    than the number of columns returns every column. ``-inf`` scores (masked entries) sort last.

    Returns ``(idx, values)``, each of shape ``(n_rows, min(k, n_cols))``.
    """
    n, m = scores.shape
    k = min(int(k), m)
    if k <= 0 or n == 0:
        return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=scores.dtype)
    if k < m:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(vals, order, axis=1)
    if k < m:
        # argpartition picks arbitrarily among items tied with the k-th score: redo those rows
        thr = vals[:, -1:]
        tied = np.flatnonzero((scores == thr).sum(axis=1) > (vals == thr).sum(axis=1))
        for r in tied:
            cand = np.flatnonzero(scores[r] >= thr[r, 0])
            keep = cand[np.lexsort((cand, -scores[r, cand]))][:k]
            idx[r], vals[r] = keep, scores[r, keep]
    return idx, vals


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
