"""BPR with uniformly sampled negatives (Rendle et al. 2009, as cornac implements it), in numba.

implicit's BPR draws each negative from the item column of the interaction log, i.e. in
proportion to item popularity; on MovieLens that pushes popular items down and costs most of
BPR's accuracy (evaluation/RESULTS.md). This model samples the negative uniformly.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recsys_embed.data.interactions import Interactions
from recsys_embed.models.base import FOLD_IN_PARAMS, Recommender
from recsys_embed.models.jit import njit_cached
from recsys_embed.models.params import Param
from recsys_embed.progress import progress


@njit_cached(nogil=True)
def _liked(indices, lo, hi, item):  # numba infers the types
    end = hi
    while lo < hi:  # binary search in a sorted CSR row
        mid = (lo + hi) // 2
        if indices[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and indices[lo] == item


@njit_cached(nogil=True)
def _sgd(
    indptr: np.ndarray,
    indices: np.ndarray,
    users: np.ndarray,
    U: np.ndarray,
    V: np.ndarray,
    bias: np.ndarray,
    epochs: int,
    lr: float,
    reg: float,
    rng: np.random.Generator,
) -> None:
    """Plain SGD: per epoch, nnz draws of (user, liked item) pairs and a uniform negative."""
    n, n_items, k = len(indices), V.shape[0], U.shape[1]
    for _ in range(epochs):
        for _ in range(n):
            pair = rng.integers(0, n)
            u, i = users[pair], indices[pair]
            j = rng.integers(0, n_items)
            lo, hi = indptr[u], indptr[u + 1]
            if _liked(indices, lo, hi, j):
                continue  # the negative is a positive: skip the draw, as cornac does
            x = bias[i] - bias[j]
            for f in range(k):
                x += U[u, f] * (V[i, f] - V[j, f])
            z = 1.0 / (1.0 + np.exp(x))
            for f in range(k):
                uf, vi, vj = U[u, f], V[i, f], V[j, f]
                U[u, f] += lr * (z * (vi - vj) - reg * uf)
                V[i, f] += lr * (z * uf - reg * vi)
                V[j, f] += lr * (-z * uf - reg * vj)
            bias[i] += lr * (z - reg * bias[i])
            bias[j] += lr * (-z - reg * bias[j])


class UniformBPR(Recommender):
    """Pairwise ranking factorisation with uniform negatives; an item bias column is folded in.

    Each epoch draws ``nnz`` (user, liked item) pairs at random and one negative item uniformly
    from the catalogue (a negative the user liked skips the step, as in cornac). Single-threaded
    and reproducible with ``random_state``. The defaults come from a handful of exploratory runs
    on MovieLens 100K; the tuned rows of evaluation/RESULTS.md are chosen on validation instead.
    Fold-in: see :meth:`Recommender.fold_in`.
    """

    name = "bpr-uniform"
    fixed_user_column = -1
    epoch_param = "epochs"
    PARAMS: ClassVar[dict[str, Param]] = {
        # ranges from validation grids (evaluation/studies/tuning_grids.py): steps 0.01-0.02 with
        # L2 0.02 and 200-400 epochs won; 0.05 steps and 256 factors lost
        "factors": Param(128, int, "latent dimensions", minimum=1, search=(64, 256, "log")),
        "learning_rate": Param(0.05, float, "SGD step size", above=0, search=(0.005, 0.04, "log")),
        "regularization": Param(0.02, float, "L2 penalty", minimum=0, search=(0.008, 0.04, "log")),
        "epochs": Param(100, int, "passes (nnz draws each)", minimum=1, search=(100, 400, "log")),
        "random_state": Param(0, int, "seed", nullable=True),
        **FOLD_IN_PARAMS,
    }

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        rng = np.random.default_rng(p["random_state"])
        k = p["factors"]
        users = (rng.random((train.n_users, k)) - 0.5) / k
        items = (rng.random((train.n_items, k)) - 0.5) / k
        bias = np.zeros(train.n_items)
        m = train.matrix
        args = (
            m.indptr.astype(np.int64),
            m.indices.astype(np.int64),
            np.repeat(np.arange(train.n_users), np.diff(m.indptr)),
            users,
            items,
            bias,
        )

        def factors() -> tuple[np.ndarray, np.ndarray]:
            ones = np.ones((train.n_users, 1))
            return np.hstack([users, ones]), np.hstack([items, bias[:, None]])

        epochs = range(1, p["epochs"] + 1)
        # one call per epoch: the rng carries on, so the draws equal one call of all epochs
        for epoch in progress(epochs, desc="bpr-uniform", show=self._show_progress, unit="epoch"):
            _sgd(*args, 1, p["learning_rate"], p["regularization"], rng)
            self._epoch_done(train, epoch, factors)
        user_vectors, item_vectors = factors()
        return user_vectors.astype(np.float32), item_vectors.astype(np.float32)
