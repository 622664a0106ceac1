"""EASE in float32 with an in-place inverse, and memory checks before dense steps."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_embed import memory, models
from recsys_embed.errors import ConfigError, MemoryLimitError
from recsys_embed.evaluate import evaluate
from recsys_embed.models import ease
from recsys_embed.testing import planted


def reference_ease(x: np.ndarray, l2: float) -> np.ndarray:
    """Steck (2019) in float64: B = I - P diagMat(1 / diag(P)), P = (X^T X + l2 I)^-1."""
    p = np.linalg.inv(x.T @ x + l2 * np.eye(x.shape[1]))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b


def test_ease_float32_matches_the_float64_formula():
    inter = planted(n_groups=4, users_per=25, items_per=15, density=0.5, seed=2)
    model = models.create("ease", l2=3.0).fit(inter, show_progress=False)
    x = (inter.matrix > 0).astype(np.float64).toarray()
    want = reference_ease(x, 3.0)
    assert model.item_factors_.dtype == np.float32
    # item vectors are the columns of B: score(u, i) = x_u . B[:, i]
    np.testing.assert_allclose(model.item_factors_, want.T, atol=2e-6, rtol=1e-4)
    np.testing.assert_allclose(model.score([0, 1], [3, 4]), (x @ want)[[0, 1], [3, 4]], rtol=1e-4)


def test_in_place_inverse_fills_both_triangles_across_blocks():
    rng = np.random.default_rng(0)
    a = rng.random((37, 37))
    spd = (a @ a.T + 37 * np.eye(37)).astype(np.float32)
    work = spd.copy()
    ease._invert_spd_in_place(work, block=8)  # several blocks and a short last one
    np.testing.assert_allclose(work, np.linalg.inv(spd.astype(np.float64)), rtol=1e-4, atol=1e-7)


def test_gram_equals_the_sparse_product():
    inter = planted(seed=4)
    x = sp.csr_matrix((inter.matrix > 0).astype(np.float32))
    got = ease._gram(x.toarray(), 2.0)
    assert got.dtype == np.float32
    want = (x.T @ x).toarray() + 2.0 * np.eye(x.shape[1])
    np.testing.assert_array_equal(got, want)


def test_ease_refuses_before_starting_when_memory_is_short(monkeypatch):
    inter = planted()
    monkeypatch.setattr(memory, "available_bytes", lambda: 10_000)
    model = models.create("ease")
    with pytest.raises(
        MemoryLimitError, match=r"EASE on 30 items and 60 users .* needs about"
    ) as exc:
        model.fit(inter, show_progress=False)
    assert "9.8 KB is available" in str(exc.value)
    assert isinstance(exc.value, ConfigError) and isinstance(exc.value, MemoryError)
    assert not model.is_fitted


def test_dense_score_steps_are_checked(monkeypatch):
    inter = planted()
    pop = models.create("popularity").fit(inter)
    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    with pytest.raises(MemoryLimitError, match=r"evaluating 60 users at a time \(chunk_size\)"):
        evaluate({"pop": pop}, inter, inter, k=[5], exclude_train=False)
    with pytest.raises(MemoryLimitError, match=r"recommend: a chunk of scores \(60 x 30\)"):
        pop.recommend(inter.user_ids, k=3)
    with pytest.raises(MemoryLimitError, match="similar_items"):
        pop.similar_items(inter.item_ids, k=3)
    monkeypatch.setattr(memory, "available_bytes", lambda: 2 * 4 * 10 * 30)
    ids, _ = pop.recommend(inter.user_ids, k=3, chunk_size=10)  # a smaller chunk fits
    assert ids.shape == (60, 3)


def test_available_bytes_reads_this_machine():
    free = memory.available_bytes()
    assert free is None or free > 0
    assert memory.human(3 * 1024**3) == "3.0 GB" and memory.human(512) == "512 B"
