"""The ``spark-als`` -> ``als`` parameter mapping (no Spark needed: pure formulas and solves)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_embed.models.foldin import implicit_least_squares
from recsys_embed.spark.params import equivalent_ridge_scale, implicit_equivalent

PARAMS = {"factors": 8, "regularization": 0.5, "alpha": 2.0, "iterations": 15}
FIXED = {"weighting": "binary", "random_state": 0}


def test_ridge_scale_is_the_geometric_mean_of_entry_weighted_counts():
    # users: items {0, 1, 2} and {0}; items: counts 2, 1, 1; nnz 4
    # users sum n^2 = 9 + 1 = 10, items 4 + 1 + 1 = 6 -> sqrt(10 * 6) / 4
    scale = equivalent_ridge_scale(np.array([3, 1]), np.array([2, 1, 1]))
    assert scale == pytest.approx(math.sqrt(60) / 4, rel=1e-12)
    mapped = implicit_equivalent({**PARAMS, **FIXED}, np.array([3, 1]), np.array([2, 1, 1]))
    assert mapped["regularization"] == pytest.approx(0.5 * math.sqrt(60) / 4, rel=1e-12)
    assert mapped["alpha"] == 3.0  # implicit's alpha * 1 = MLlib's 1 + alpha * 1
    assert {k: mapped[k] for k in ("factors", "iterations", "weighting", "random_state")} == {
        "factors": 8,
        "iterations": 15,
        "weighting": "binary",
        "random_state": 0,
    }


def test_rows_of_one_count_map_to_mllibs_own_ridge():
    # every user and item has 3 entries: MLlib's per-row ridge is regParam * 3 everywhere
    assert equivalent_ridge_scale(np.full(4, 3), np.full(4, 3)) == pytest.approx(3.0)


def test_counts_that_do_not_describe_one_matrix_are_refused():
    with pytest.raises(ValueError, match="equal positive totals"):
        equivalent_ridge_scale(np.array([3, 1]), np.array([2, 1]))
    with pytest.raises(ValueError, match="equal positive totals"):
        equivalent_ridge_scale(np.zeros(2), np.zeros(3))


def _sweeps(matrix: sp.csr_matrix, y, user_ridge: float, item_ridge: float, n: int = 6):
    """Scores after ``n`` exact ALS sweeps (users first) from item factors ``y``."""
    conf, conf_t = np.full(matrix.nnz, 3.0), np.full(matrix.nnz, 3.0)
    transposed = matrix.T.tocsr()
    for _ in range(n):
        x = implicit_least_squares(y, None, matrix, conf, user_ridge)
        y = implicit_least_squares(x, None, transposed, conf_t, item_ridge)
    return x @ y.T


def test_side_constants_score_like_their_geometric_mean():
    # the docstring's claim that lets one constant stand for a user-side a and an item-side b
    rng = np.random.default_rng(4)
    matrix = sp.random(30, 25, density=0.2, format="csr", random_state=rng)
    matrix.data[:] = 1.0
    y0 = rng.normal(size=(25, 4))
    a, b = 2.0, 18.0
    k = (a / b) ** 0.25  # item factors scaled by 1 / k: the sqrt(a * b) problem's start
    sides = _sweeps(matrix, y0, a, b)
    assert np.allclose(_sweeps(matrix, y0 / k, 6.0, 6.0), sides, atol=1e-6)  # float32 solves
    assert not np.allclose(_sweeps(matrix, y0 / k, 10.0, 10.0), sides, atol=1e-3)
