"""Fold-in: user vectors for users unseen in training, from the items they interacted with."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def out_fixed(n: int, dim: int, fixed_column: int | None) -> np.ndarray:
    """User vectors of zeros with the fixed (bias) column set to 1."""
    out = np.zeros((n, dim), dtype=np.float32)
    if fixed_column is not None:
        out[:, fixed_column] = 1.0
    return out


def implicit_least_squares(
    item_factors: np.ndarray,
    fixed_column: int | None,
    history: sp.csr_matrix,
    confidence: np.ndarray,
    regularization: float | np.ndarray,
) -> np.ndarray:
    """Solve Hu, Koren & Volinsky's (2008) implicit least squares for each history row.

    Preference 1 with confidence ``confidence`` (aligned with ``history.data``) on the user's
    items, preference 0 with confidence 1 elsewhere, ridge ``regularization`` (one for all rows,
    or one per row). The fixed column stays 1; its item column holds item biases, which are
    subtracted from the targets. With ALS's own confidence and ridge this is exactly ALS's user
    update.
    """
    full = item_factors.astype(np.float64)
    out = out_fixed(history.shape[0], full.shape[1], fixed_column)
    free = np.ones(full.shape[1], dtype=bool)
    bias = np.zeros(full.shape[0])
    if fixed_column is not None:
        free[fixed_column] = False
        bias = full[:, fixed_column]
    y = full[:, free]
    gram = y.T @ y
    eye = np.eye(y.shape[1])
    ridge = np.broadcast_to(np.asarray(regularization, dtype=np.float64), (history.shape[0],))
    base_b = y.T @ (-bias)
    for u in range(history.shape[0]):
        lo, hi = history.indptr[u], history.indptr[u + 1]
        items, c = history.indices[lo:hi], confidence[lo:hi]
        yh = y[items]
        a = gram + ridge[u] * eye + (yh.T * (c - 1.0)) @ yh
        b = base_b + yh.T @ (c * (1.0 - bias[items]) + bias[items])
        out[u, free] = np.linalg.solve(a, b)
    return out
