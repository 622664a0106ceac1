"""EASE (Steck 2019): closed-form item-item weights, the bar for factorisation models here."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import DataError
from recsys_embed.memory import check_ease_fit
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import Param
from recsys_embed.progress import counter

# OpenBLAS's threaded symmetric rank-k update segfaults once its output is large: numpy's
# ``X^T X`` (ssyrk) at 30,000 items and LAPACK's Cholesky (spotrf, whose trailing update is the
# same kind of threaded kernel) at 29,000, both on 2 threads, in scipy's 32-bit-integer build
# (0.3.30) and numpy's 64-bit one (0.3.31) alike: not an integer width, but (by its source) each
# thread's share of the output packed into a fixed-size buffer that a wide share overruns.
# Above ``LAPACK_ROWS`` items both steps work in blocks of ``BLOCK`` rows: BLAS and LAPACK only
# see BLOCK-sized outputs, and the bulk of the work is plain matrix products.
LAPACK_ROWS = 16_384
BLOCK = 1024


def _gram(rows: np.ndarray, l2: float) -> np.ndarray:
    """Dense float32 ``X^T X + l2 I`` of the dense 0/1 history rows (sums of 0/1 products are
    exact in float32 below 2^24 users), one BLAS product into one n_items^2 array. Above
    ``LAPACK_ROWS`` items only the lower triangle (all the inverse reads) is filled, in blocks
    of ``BLOCK`` rows: numpy hands ``X^T X`` whole to OpenBLAS's threaded ssyrk, which
    segfaults there (30,000 items on 2 threads)."""
    n = rows.shape[1]
    if n <= LAPACK_ROWS:
        gram = rows.T @ rows
    else:
        gram = np.zeros((n, n), dtype=np.float32)
        for i0 in range(0, n, BLOCK):
            i1 = min(i0 + BLOCK, n)
            gram[i0:i1, :i1] = rows[:, i0:i1].T @ rows[:, :i1]
    gram[np.diag_indices_from(gram)] += np.float32(l2)
    return gram


def _invert_spd_in_place(a: np.ndarray, block: int = 2048) -> None:
    """Invert a symmetric positive definite C-ordered float32 matrix in its own memory.

    LAPACK's Cholesky (spotrf, spotri) works on the Fortran view ``a.T`` (the same matrix,
    being symmetric) and leaves the inverse in the C lower triangle (larger matrices: see
    :func:`_blocked_inverse_lower`); the upper one is then filled block by block.
    """
    from scipy.linalg import lapack

    n = a.shape[0]
    if n > LAPACK_ROWS:
        info = _blocked_inverse_lower(a, BLOCK)
    else:
        c, info = lapack.spotrf(a.T, lower=0, clean=0, overwrite_a=1)
        if info == 0:
            c, info = lapack.spotri(c, lower=0, overwrite_c=1)
        if not np.shares_memory(c, a):
            info = -1
    if info != 0:
        raise DataError(f"EASE: the regularised Gram matrix could not be inverted (info {info})")
    for s in range(0, n, block):
        a[:s, s : s + block] = a[s : s + block, :s].T
        d = a[s : s + block, s : s + block]
        iu = np.triu_indices(d.shape[0], 1)
        d[iu] = d.T[iu]


def _blocked_inverse_lower(a: np.ndarray, b: int) -> int:
    """The inverse of symmetric positive definite ``a`` into its lower triangle, in place, in
    blocks of ``b`` rows: Cholesky ``a = L L^T``, then ``W = L^-1``, then ``a^-1 = W^T W``
    (each about n^3 / 3 flops, as LAPACK's). Returns 0, or LAPACK's info (the first row at
    which ``a`` is not positive definite). Temporary memory: one ``b x n`` block."""
    from scipy.linalg import lapack

    n = a.shape[0]
    starts = list(range(0, n, b))
    # 1. Cholesky, right-looking: factor the diagonal block, solve the panel below it, update
    # the lower triangle of the rest.
    for k0 in starts:
        k1 = min(k0 + b, n)
        low, info = lapack.spotrf(a[k0:k1, k0:k1], lower=1, clean=1)
        if info != 0:
            return k0 + info if info > 0 else info
        a[k0:k1, k0:k1] = low
        for r0 in range(k1, n, b):  # row r of L: solve row @ low.T = a[r]
            rows = a[r0 : r0 + b, k0:k1]
            rows[:] = lapack.strtrs(low, rows.T, lower=1)[0].T
        for r0 in range(k1, n, b):
            r1 = min(r0 + b, n)
            a[r0:r1, k1:r1] -= a[r0:r1, k0:k1] @ a[k1:r1, k0:k1].T
    # 2. W = L^-1, row block by row block: W_i,<i = -W_ii (L_i,<i W_<i,<i); the upper triangle
    # of each diagonal block is zeroed so that column blocks of W read as triangular.
    for i0 in starts:
        i1 = min(i0 + b, n)
        acc = np.empty((i1 - i0, i0), dtype=a.dtype)
        for j0 in range(0, i0, b):
            j1 = j0 + b
            acc[:, j0:j1] = a[i0:i1, j0:i0] @ a[j0:i0, j0:j1]
        inv_diag, info = lapack.strtri(a[i0:i1, i0:i1], lower=1)
        if info != 0:
            return i0 + info if info > 0 else info
        inv_diag = np.tril(inv_diag)
        a[i0:i1, :i0] = -(inv_diag @ acc)
        a[i0:i1, i0:i1] = inv_diag
    # 3. a^-1 = W^T W, lower blocks column by column, top down: block (i, j) needs only rows
    # >= i of W's column blocks i and j, which no earlier step has overwritten.
    for j0 in starts:
        j1 = min(j0 + b, n)
        for i0 in range(j0, n, b):
            i1 = min(i0 + b, n)
            a[i0:i1, j0:j1] = a[i0:, i0:i1].T @ a[i0:, j0:j1]
    return 0


class EASE(Recommender):
    """Embarrassingly shallow autoencoder: ``B = argmin ||X - XB||^2 + l2 ||B||^2, diag(B) = 0``.

    Honest about the interface: EASE has no user embedding. Its "user vector" is the user's
    binary history row (n_items wide) and its "item vector" is the item's column of the
    (n_items x n_items) weight matrix, so scores are still a dot product, but both grow with
    the catalogue (memory 4 n_items^2 bytes: a float32 Gram matrix inverted in its own memory by
    LAPACK's Cholesky routines; fine up to a few 10k items). The fit refuses to start, saying
    the estimate and what is free, when memory is short. Fold-in is exact: a new user's
    vector is their history row. ``similar_items`` uses cosine between the weight columns.
    With the default ``l2 = 500`` (untuned) it scores NDCG@10 0.4815 on MovieLens 100K under the
    Microsoft Recommenders protocol (random 75/25 split stratified per item, seed 42).
    """

    name = "ease"
    PARAMS: ClassVar[dict[str, Param]] = {
        "l2": Param(
            500.0, float, "ridge on the item-item weights", above=0, search=(100.0, 3000.0, "log")
        ),
    }

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        n_users, n_items = train.matrix.shape
        check_ease_fit(n_users, n_items)  # the Gram matrix inverted in place, the history rows
        x = sp.csr_matrix(
            (np.ones(train.nnz, np.float32), train.matrix.indices, train.matrix.indptr),
            shape=train.matrix.shape,
        ).toarray()
        with counter(total=3, desc="ease", show=self._show_progress, unit="step") as bar:
            weights = _gram(x, self.params["l2"])
            bar.update(1)
            _invert_spd_in_place(weights)
            bar.update(1)
            # B[:, i] = -P[:, i] / P[i, i]; its transpose, scored as rows, is P[i, :] / -P[i, i]
            diag = np.diag(weights).copy()
            weights /= -diag[:, None]
            weights[np.diag_indices_from(weights)] = 0.0
            bar.update(1)
        return x, weights  # score(u, i) = x_u . B[:, i]

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        self.require_fitted()
        rows = sp.csr_matrix(
            (np.ones(history.nnz), history.indices, history.indptr), shape=history.shape
        )
        return rows.toarray().astype(np.float32)
