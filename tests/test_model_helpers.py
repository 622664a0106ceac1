"""The pure helpers behind similar_items and recommend_for_history, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_embed.data.idmap import IdMap
from recsys_embed.errors import ConfigError
from recsys_embed.models.foldin import history_matrix
from recsys_embed.models.topk import cosine_topk

# cosines to row 0: row 1 = 1/sqrt(2), row 2 = 0, row 3 = -1; to row 2: row 1 = 1/sqrt(2),
# rows 0 and 3 = 0; row 4 is a zero vector (0 to all). Ties go to the lower index.
VECTORS = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 3.0], [-2.0, 0.0], [0.0, 0.0]])


def test_cosine_topk_excludes_the_query_and_orders_by_cosine():
    top, vals = cosine_topk(VECTORS, np.array([0, 2]), k=3)
    assert top.tolist() == [[1, 2, 4], [1, 0, 3]]
    np.testing.assert_allclose(vals, [[1 / np.sqrt(2), 0, 0], [1 / np.sqrt(2), 0, 0]], atol=1e-7)


def test_cosine_topk_ranks_among_candidates_and_pads():
    # the query (0) is a candidate and still excluded; only 2 other candidates for k = 3
    top, vals = cosine_topk(VECTORS, np.array([0, 1]), k=3, candidates=np.array([0, 2, 3]))
    assert top.tolist() == [[2, 3, -1], [0, 2, 3]]
    assert np.isneginf(vals[0, 2]) and vals[0, 1] == pytest.approx(-1.0)
    np.testing.assert_allclose(
        vals[1], [1 / np.sqrt(2), 1 / np.sqrt(2), -1 / np.sqrt(2)], atol=1e-6
    )


def test_cosine_topk_blocks_give_the_same_answer():
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(50, 4))
    query = np.arange(50)
    whole = cosine_topk(vecs, query, k=5, step=1024)
    blocked = cosine_topk(vecs, query, k=5, step=7)
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
