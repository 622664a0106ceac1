"""ALS-WR (MLlib's implicit objective, per-interaction ridge): exact row solves, a falling
objective, fold-in that reproduces the fitted users."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import scipy.sparse as sp

import recsys_embed as rse
from recsys_embed import models
from recsys_embed.models.solve import solve_weighted_rows


def mllib_objective(r: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: float, lam: float) -> float:
    """sum c (p - x.y)^2 + lam (sum n_u |x_u|^2 + sum n_i |y_i|^2), c = alpha on entries, else 1."""
    pref = (r > 0).astype(float)
    conf = np.where(r > 0, alpha * r, 1.0)
    fit = (conf * (pref - x @ y.T) ** 2).sum()
    n_u, n_i = (r > 0).sum(axis=1), (r > 0).sum(axis=0)
    return fit + lam * ((n_u * (x * x).sum(1)).sum() + (n_i * (y * y).sum(1)).sum())


def small_log(seed: int = 0) -> rse.Interactions:
    rng = np.random.default_rng(seed)
    rows = [(u, int(i)) for u in range(40) for i in rng.choice(30, rng.integers(2, 12), False)]
    frame = pl.DataFrame(rows, schema=["u", "i"], orient="row")
    return rse.Interactions.from_frame(frame, "u", "i")


def test_each_row_is_the_exact_weighted_ridge_solution():
    rng = np.random.default_rng(1)
    m = sp.random(25, 15, density=0.3, random_state=2, format="csr")
    m.data[:] = rng.uniform(0.5, 3.0, m.nnz)
    other = rng.normal(size=(15, 4))
    out = np.zeros((25, 4))
    ridge = 0.3 * np.diff(m.indptr).astype(float)  # ALS-WR: regularization x the row's count
    solve_weighted_rows(m.indptr, m.indices, 2.0 * m.data, other, np.zeros(0), ridge, out)
    dense = m.toarray()
    for u in range(25):
        n = int((dense[u] > 0).sum())
        if n == 0:
            assert np.all(out[u] == 0)
            continue
        c = np.where(dense[u] > 0, 2.0 * dense[u], 1.0)
        p = (dense[u] > 0).astype(float)
        a = other.T @ (c[:, None] * other) + 0.3 * n * np.eye(4)
        assert np.allclose(out[u], np.linalg.solve(a, other.T @ (c * p)), atol=1e-10)


def test_objective_falls_every_sweep_and_fold_in_reproduces_the_users():
    train = small_log()
    seen: list[tuple[np.ndarray, np.ndarray]] = []

    class Hook:
        def wants(self, epoch: int) -> bool:
            return True

        def __call__(self, epoch: int, model: models.Recommender) -> None:
            seen.append((model.user_factors_.astype(float), model.item_factors_.astype(float)))

    model = models.create("als-wr", factors=5, regularization=0.1, alpha=4.0, iterations=8)
    model.epoch_hook = Hook()
    model.fit(train)
    r = train.matrix.toarray()
    values = [mllib_objective(r, x, y, 4.0, 0.1) for x, y in seen]
    assert len(values) == 8 and all(b <= a * (1 + 1e-6) for a, b in itertools.pairwise(values))
    assert values[-1] < 0.9 * values[0]
    # users are solved last: refolding the training histories gives them back (per-row ridge)
    assert np.allclose(model.fold_in(train.matrix), model.user_factors_, atol=1e-4)
    constant = models.create("als", factors=5, regularization=0.1, alpha=4.0, iterations=8)
    assert not np.allclose(constant.fit(train).user_factors_, model.user_factors_, atol=1e-2)
