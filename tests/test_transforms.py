import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from implicit.nearest_neighbours import bm25_weight, tfidf_weight

import recsys_embed as rse
from recsys_embed import ConfigError


@pytest.fixture
def inter():
    df = pl.DataFrame(
        {"u": [0, 0, 1, 2, 2, 2], "i": [0, 1, 1, 0, 1, 2], "w": [1.0, 3.0, 2.0, 5.0, 1.0, 4.0]}
    )
    return rse.Interactions.from_frame(df, "u", "i", "w")


def test_simple_weightings(inter):
    w = inter.matrix.data.astype(float)
    assert np.allclose(rse.weight_matrix(inter.matrix, "binary").data, 1)
    assert np.allclose(rse.weight_matrix(inter.matrix, "log").data, np.log1p(w))
    assert np.allclose(rse.weight_matrix(inter.matrix, "confidence", alpha=2).data, 1 + 2 * w)
    assert np.allclose(rse.weight_matrix(inter.matrix, "raw").data, w)
    assert rse.weight_matrix(inter.matrix, "raw") is not inter.matrix


def test_bm25_is_implicits_on_items_as_documents(inter):
    ours = rse.weight_matrix(inter.matrix, "bm25", K1=1.2, B=0.75).toarray()
    theirs = bm25_weight(inter.matrix.T.tocsr(), K1=1.2, B=0.75).T.toarray()
    assert np.allclose(ours, theirs)
    assert not np.allclose(ours, inter.matrix.toarray())


@pytest.mark.parametrize(
    ("scheme", "params"),
    [("bm25", {}), ("bm25", {"K1": 1.2, "B": 0.75}), ("bm25", {"K1": 3, "B": 0.0}), ("tfidf", {})],
)
def test_bm25_and_tfidf_equal_implicits_functions(scheme, params):
    # our numpy version against implicit's own (items as documents), on a ragged matrix with
    # an item nobody has and a user with no item
    rng = np.random.default_rng(0)
    dense = np.round(rng.random((80, 50)) * 5, 1) * (rng.random((80, 50)) < 0.15)
    dense[:, 7] = 0
    dense[3] = 0
    matrix = sp.csr_matrix(dense, dtype=np.float32)
    ours = rse.weight_matrix(matrix, scheme, **params)
    weigh = bm25_weight if scheme == "bm25" else tfidf_weight
    theirs = sp.csr_matrix(weigh(matrix.T.tocsr(), **params).T)
    assert ours.dtype == np.float32 and ours.has_sorted_indices
    assert np.array_equal(ours.indptr, matrix.indptr)
    assert np.array_equal(ours.indices, matrix.indices)
    assert np.abs(ours.toarray() - theirs.toarray()).max() <= 1e-6
    assert not np.allclose(ours.toarray(), matrix.toarray())


def test_bad_weighting_names(inter):
    with pytest.raises(ConfigError, match=r"weighting must be one of .*got 'bm26'"):
        rse.weight_matrix(inter.matrix, "bm25".replace("5", "6"))
    with pytest.raises(ConfigError, match=r"takes parameters \['alpha'\], got \['K1'\]"):
        rse.weight_matrix(inter.matrix, "confidence", K1=3)


def test_filter_min_weight(inter):
    kept = rse.filter_min_weight(inter, 3.0)
    assert sorted(kept.to_frame().rows()) == [(0, 1, 3.0), (2, 0, 5.0), (2, 2, 4.0)]
    assert kept.user_ids.tolist() == [0, 2]


def test_k_core_iterates_until_stable():
    # user 3 has 1 item; dropping it leaves item 3 with 1 user, which must go too
    rows = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1), (3, 3), (0, 3)]
    df = pl.DataFrame(rows, schema=["u", "i"], orient="row")
    core = rse.k_core(rse.Interactions.from_frame(df, "u", "i"), 2)
    assert core.user_ids.tolist() == [0, 1, 2] and core.item_ids.tolist() == [0, 1]
    assert core.nnz == 6
