"""The core's similar items and the history matrix of recommend_for_history, on hand-computed
cases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap
from recsys_embed.errors import ConfigError
from recsys_embed.models import vectors as core_module
from recsys_embed.models.foldin import history_matrix
from recsys_embed.models.vectors import FittedVectors

# cosines to row 0: row 1 = 1/sqrt(2), row 2 = 0, row 3 = -1; to row 2: row 1 = 1/sqrt(2),
# rows 0 and 3 = 0; row 4 is a zero vector (0 to all). Ties go to the lower index.
VECTORS = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 3.0], [-2.0, 0.0], [0.0, 0.0]])


def core_of(vectors: np.ndarray) -> FittedVectors:
    """A one-user core over these item vectors; item ids equal their indices."""
    n = len(vectors)
    seen = sp.csr_matrix((1, n), dtype=np.float32)
    users, items = IdMap(np.array([0]), "user"), IdMap(np.arange(n))
    return FittedVectors.build(users, items, seen, np.zeros((1, 2)), vectors)


def test_similar_excludes_the_query_and_orders_by_cosine():
    top, vals = core_of(VECTORS).similar([0, 2], k=3)
    assert top.tolist() == [[1, 2, 4], [1, 0, 3]]
    np.testing.assert_allclose(vals, [[1 / np.sqrt(2), 0, 0], [1 / np.sqrt(2), 0, 0]], atol=1e-7)


def test_similar_ranks_among_candidates_and_pads():
    # the query (0) is a candidate and still excluded; only 2 other candidates for k = 3
    top, vals = core_of(VECTORS).similar([0, 1], k=3, items=[0, 2, 3])
    assert top.tolist() == [[2, 3, -1], [0, 2, 3]]
    assert np.isneginf(vals[0, 2]) and vals[0, 1] == pytest.approx(-1.0)
    np.testing.assert_allclose(
        vals[1], [1 / np.sqrt(2), 1 / np.sqrt(2), -1 / np.sqrt(2)], atol=1e-6
    )


def test_similar_blocks_give_the_same_answer(monkeypatch):
    rng = np.random.default_rng(0)
    core = core_of(rng.normal(size=(50, 4)))
    query = np.arange(50)
    whole = core.similar(query, k=5)
    monkeypatch.setattr(core_module, "SIMILAR_STEP", 7)
    blocked = core.similar(query, k=5)
    np.testing.assert_array_equal(whole[0], blocked[0])
    assert not (whole[0] == query[:, None]).any()


def test_history_matrix_counts_unknown_items_and_sums_duplicates():
    items = IdMap(np.array(["a", "b", "c"], dtype=object))
    user_ids, history, unknown = history_matrix(
        {"u1": ["a", "zz", "a"], "u2": ["c"]}, [[1.0, 9.0, 2.0], [0.5]], items
    )
    assert user_ids.tolist() == ["u1", "u2"]
    assert unknown == 1
    assert history.shape == (2, 3)
    assert history.toarray().tolist() == [[3.0, 0.0, 0.0], [0.0, 0.0, 0.5]]


def test_history_matrix_positions_and_weight_mismatch():
    items = IdMap(np.array([10, 20]))
    user_ids, history, unknown = history_matrix([[20], []], None, items)
    assert user_ids.tolist() == [0, 1] and unknown == 0
    assert history.toarray().tolist() == [[0.0, 1.0], [0.0, 0.0]]
    with pytest.raises(ConfigError, match=r"weights\[0\] has 2 values for 1 items"):
        history_matrix([[20]], [[1.0, 2.0]], items)
