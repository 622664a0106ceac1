"""The weighted least squares behind every implicit-feedback row solve (numba).

Hu, Koren & Volinsky's (2008) problem for one row r (a user, or an item in an ALS half-step)
against fixed factors ``Y`` (one row ``y_i`` per column i of the matrix):

    minimise over x:  sum_i c_ri (p_ri - b_i - x . y_i)^2 + ridge_r |x|^2

with preference ``p = 1`` and confidence ``c`` on the row's entries, ``p = 0`` and ``c = 1``
elsewhere, and ``b_i`` a fixed bias: the item column of a user column that stays 1 (the bias
column of models with biases), 0 without one. Its normal equations, solved exactly per row:

    (Y'Y + sum_j (c_j - 1) y_j y_j' + ridge_r I) x = -Y'b + sum_j (c_j (1 - b_j) + b_j) y_j

over the row's entries j. ALS-WR's half-steps (ridge ``regularization * n_r``, no bias) and
every fold-in (:func:`recsys_embed.models.foldin.implicit_least_squares`) call this one kernel.
"""

from __future__ import annotations

import numpy as np

from recsys_embed.models.jit import njit_cached


@njit_cached(nogil=True)
def solve_weighted_rows(indptr, indices, conf, factors, bias, ridge, out):  # numba infers types
    """Row r of ``out`` (n_rows x k, float64): the solution above for CSR row r.

    ``indptr``/``indices``: the rows' entries (columns of ``factors``' rows); ``conf``: the
    confidence of each entry, aligned with ``indices``; ``factors``: ``Y`` (n_cols x k,
    float64, C order); ``bias``: ``b`` (n_cols), or empty for no bias column; ``ridge``: one
    per row. A row without entries and without a bias has right-hand side 0, so its solution
    is 0 (set without solving: ALS-WR gives such a row a ridge of 0).
    """
    k = factors.shape[1]
    gram = factors.T @ factors
    eye = np.eye(k)
    with_bias = bias.shape[0] > 0
    base = np.zeros(k)
    if with_bias:
        base = factors.T @ -bias
    for r in range(len(indptr) - 1):
        lo, hi = indptr[r], indptr[r + 1]
        if hi == lo and not with_bias:
            out[r, :] = 0.0
            continue
        if hi == lo:
            out[r, :] = np.linalg.solve(gram + ridge[r] * eye, base)
            continue
        cols = indices[lo:hi]
        c = conf[lo:hi]
        y = factors[cols]  # the row's entries' factors, (n_r x k): BLAS products below
        target = c * (1.0 - bias[cols]) + bias[cols] if with_bias else c
        a = gram + ridge[r] * eye + (y.T * (c - 1.0)) @ y
        out[r, :] = np.linalg.solve(a, base + y.T @ target)
