"""The one weighted least squares (models/solve.py) behind ALS-WR, fold-in and the hybrid:
hand-computed cases, a least-squares reference built from the objective, per-row ridges."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_embed.models.foldin import default_confidence, implicit_least_squares
from recsys_embed.models.solve import solve_weighted_rows


def reference(y, bias, history, conf, ridge):
    """Each row's minimiser of sum_i c_i (p_i - b_i - x . y_i)^2 + ridge |x|^2, by
    ``lstsq`` on the stacked system [sqrt(c) Y; sqrt(ridge) I] x = [sqrt(c) (p - b); 0]."""
    n_items, k = y.shape
    out = np.zeros((history.shape[0], k))
    for r in range(history.shape[0]):
        lo, hi = history.indptr[r], history.indptr[r + 1]
        c, p = np.ones(n_items), np.zeros(n_items)
        c[history.indices[lo:hi]] = conf[lo:hi]
        p[history.indices[lo:hi]] = 1.0
        w = np.sqrt(c)
        lhs = np.vstack([w[:, None] * y, np.sqrt(ridge[r]) * np.eye(k)])
        rhs = np.concatenate([w * (p - bias), np.zeros(k)])
        out[r] = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    return out


def random_case(seed: int, n_rows: int = 30, n_items: int = 12, k: int = 4):
    rng = np.random.default_rng(seed)
    history = sp.random(n_rows, n_items, density=0.3, random_state=seed, format="csr")
    history = sp.csr_matrix(sp.diags((np.arange(n_rows) != 3) * 1.0) @ history)  # row 3 empty
    history.eliminate_zeros()
    assert history.indptr[4] == history.indptr[3]
    conf = rng.uniform(0.5, 6.0, history.nnz)  # below 1 too: only c > 0 is needed
    return rng.normal(size=(n_items, k)), rng.normal(size=n_items), history, conf


def test_one_dimension_by_hand():
    # Y = [1, 2], entry on item 0 with c = 3, ridge 0.5:
    # no bias:   3 (1 - x)^2 + (0 - 2x)^2 + 0.5 x^2      -> 15x - 6 = 0 -> x = 2/5
    # bias b = [0.5, -1]: 3 (0.5 - x)^2 + (1 - 2x)^2 + 0.5 x^2 -> 15x - 7 = 0 -> x = 7/15
    history = sp.csr_matrix(np.array([[1.0, 0.0]]))
    conf, ridge = np.array([3.0]), np.array([0.5])
    y = np.array([[1.0], [2.0]])
    out = np.zeros((1, 1))
    solve_weighted_rows(history.indptr, history.indices, conf, y, np.zeros(0), ridge, out)
    assert out[0, 0] == pytest.approx(2 / 5, abs=1e-14)
    solve_weighted_rows(history.indptr, history.indices, conf, y, np.array([0.5, -1.0]), ridge, out)
    assert out[0, 0] == pytest.approx(7 / 15, abs=1e-14)
    # fold-in's entry point: the bias is the fixed column's item side; the user side stays 1
    got = implicit_least_squares(np.array([[1.0, 0.5], [2.0, -1.0]]), 1, history, conf, 0.5)
    np.testing.assert_allclose(got, [[7 / 15, 1.0]], rtol=1e-7)
    assert implicit_least_squares(y, None, history, conf, 0.5)[0, 0] == pytest.approx(0.4)


@pytest.mark.parametrize("with_bias", [False, True])
def test_rows_match_the_least_squares_reference(with_bias):
    y, bias, history, conf = random_case(0)
    ridge = np.random.default_rng(1).uniform(0.1, 3.0, history.shape[0])  # one per row
    used_bias = bias if with_bias else np.zeros(len(bias))
    want = reference(y, used_bias, history, conf, ridge)
    out = np.full((history.shape[0], y.shape[1]), np.nan)
    solve_weighted_rows(
        history.indptr, history.indices, conf, y, bias if with_bias else np.zeros(0), ridge, out
    )
    np.testing.assert_allclose(out, want, rtol=1e-9, atol=1e-12)
    # the empty row: 0 without a bias; with one, the fit of -b over all items (not 0)
    assert np.all(out[3] == 0) != with_bias
    # the same through fold-in (float32 out), the bias as the fixed column at either end
    for fixed in (0, -1):
        factors = np.insert(y, 0 if fixed == 0 else y.shape[1], bias, axis=1)
        got = implicit_least_squares(
            factors if with_bias else y, fixed if with_bias else None, history, conf, ridge
        )
        assert got.dtype == np.float32
        free = got if not with_bias else np.delete(got, fixed, axis=1)
        np.testing.assert_allclose(free, want, rtol=1e-5, atol=1e-6)
        if with_bias:
            assert np.all(got[:, fixed] == 1.0)


def test_each_row_takes_its_own_ridge():
    y, _, history, conf = random_case(2)
    n = history.shape[0]
    one = implicit_least_squares(y, None, history, conf, 0.7)
    same = implicit_least_squares(y, None, history, conf, np.full(n, 0.7))
    np.testing.assert_array_equal(one, same)  # a scalar ridge is that ridge for every row
    ridge = np.where(np.arange(n) % 2 == 0, 0.7, 40.0)
    mixed = implicit_least_squares(y, None, history, conf, ridge)
    even, odd = np.arange(0, n, 2), np.arange(1, n, 2)
    np.testing.assert_array_equal(mixed[even], one[even])
    np.testing.assert_allclose(
        mixed[odd], reference(y, np.zeros(12), history, conf, ridge)[odd], rtol=1e-5, atol=1e-7
    )
    rows = np.diff(history.indptr)[odd] > 0
    assert np.all(np.linalg.norm(mixed[odd][rows], axis=1) < np.linalg.norm(one[odd][rows], axis=1))


def test_default_confidence_scales_the_ridge_by_the_mean_squared_norm():
    history = sp.csr_matrix(np.array([[1.0, 0.0], [2.0, 5.0]]))
    conf, reg = default_confidence(history, np.array([[3.0, 4.0], [0.0, 0.0]]), 5.0, 0.1)
    np.testing.assert_array_equal(conf, [6.0, 6.0, 6.0])  # 1 + alpha on each of the 3 entries
    assert reg == pytest.approx(0.1 * (25.0 + 0.0) / 2)
