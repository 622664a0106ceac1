"""Our wrappers give the libraries' own factors, top-10 lists and predictions."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from recsys_embed import models, weight_matrix
from recsys_embed.testing import planted


@pytest.fixture(scope="module")
def train():
    return planted(n_groups=4, users_per=25, items_per=15, density=0.4, seed=5)


def test_als_equals_implicit(train):
    from implicit.cpu.als import AlternatingLeastSquares

    ours = models.create(
        "als", factors=12, regularization=2.0, alpha=3.0, iterations=7, random_state=4
    )
    ours.fit(train)
    with threadpool_limits(1, "blas"):
        ref = AlternatingLeastSquares(
            factors=12, regularization=2.0, alpha=3.0, iterations=7, random_state=4, num_threads=1
        )
        ref.fit(weight_matrix(train.matrix, "binary"), show_progress=False)
    assert np.array_equal(ours.user_factors_, ref.user_factors)
    assert np.array_equal(ours.item_factors_, ref.item_factors)
    users = np.arange(train.n_users)
    ref_ids, _ = ref.recommend(users, train.matrix[users], N=10, filter_already_liked_items=True)
    our_ids, _ = ours.recommend(train.user_ids, k=10)
    assert (train.item_map.indices(our_ids.ravel()).reshape(our_ids.shape) == ref_ids).mean() > 0.99


def test_als_fold_in_is_implicits_user_update(train):
    ours = models.create("als", factors=10, regularization=3.0, alpha=4.0, iterations=5).fit(train)
    from implicit.cpu.als import AlternatingLeastSquares

    ref = AlternatingLeastSquares(factors=10, regularization=3.0, alpha=4.0)
    ref.item_factors = ours.item_factors_.copy()
    ref.user_factors = ours.user_factors_.copy()
    rows = train.matrix[:7]
    with threadpool_limits(1, "blas"):
        want = ref.recalculate_user(np.arange(7), weight_matrix(rows, "binary"))
    got = ours.fold_in(rows)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)


def test_bpr_equals_implicit(train):
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    ours = models.create(
        "bpr", factors=8, learning_rate=0.03, regularization=0.01, iterations=20, random_state=9
    )
    ours.fit(train)
    with threadpool_limits(1, "blas"):
        ref = BayesianPersonalizedRanking(
            factors=8,
            learning_rate=0.03,
            regularization=0.01,
            iterations=20,
            random_state=9,
            num_threads=1,
        )
        ref.fit(train.matrix, show_progress=False)
    assert np.array_equal(ours.user_factors_, ref.user_factors)
    assert np.array_equal(ours.item_factors_, ref.item_factors)
    users = np.arange(train.n_users)
    ref_ids, _ = ref.recommend(users, train.matrix[users], N=10, filter_already_liked_items=True)
    our_ids, _ = ours.recommend(train.user_ids, k=10)
    assert (train.item_map.indices(our_ids.ravel()).reshape(our_ids.shape) == ref_ids).mean() > 0.99


@pytest.mark.parametrize("loss", ["warp", "bpr", "logistic", "warp-kos"])
def test_lightfm_scores_equal_predict(train, loss):
    model = models.create("lightfm", no_components=6, epochs=5, loss=loss).fit(train)
    users = np.repeat(np.arange(train.n_users), train.n_items).astype(np.int32)
    items = np.tile(np.arange(train.n_items), train.n_users).astype(np.int32)
    want = model._lightfm.predict(users, items)
    got = model.score(train.user_map.external(users), train.item_map.external(items))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_lightfm_with_item_features_equals_predict(train):
    rng = np.random.default_rng(0)
    import scipy.sparse as sp

    feats = sp.hstack(
        [sp.identity(train.n_items), sp.csr_matrix(rng.random((train.n_items, 3)))]
    ).tocsr()
    model = models.create("lightfm", no_components=5, epochs=3)
    model.fit(train, item_features=feats)
    users = np.repeat(np.arange(5), train.n_items).astype(np.int32)
    items = np.tile(np.arange(train.n_items), 5).astype(np.int32)
    want = model._lightfm.predict(users, items, item_features=model._item_features)
    got = model.score(train.user_map.external(users), train.item_map.external(items))
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_hybrid_scores_equal_predict_and_added_items_match_lightfm(train):
    import scipy.sparse as sp

    from recsys_embed.testing import planted_text

    texts = planted_text(train, items_per=15)
    model = models.create(
        "lightfm-hybrid", no_components=6, epochs=3, word2vec_dim=6, token_features=True
    ).fit(train, item_text=texts)
    knn = models.create("text-knn", word2vec_dim=6).fit(train, item_text=texts)
    users = np.repeat(np.arange(train.n_users), train.n_items).astype(np.int32)
    items = np.tile(np.arange(train.n_items), train.n_users).astype(np.int32)
    want = model._lightfm.predict(users, items, item_features=model._item_features)
    ext_users, ext_items = train.user_map.external(users), train.item_map.external(items)
    got = model.score(ext_users, ext_items)
    # LightFM's predict plus the content term, content_weight x text-knn's cosine
    content = model.params["content_weight"] * knn.score(ext_users, ext_items)
    np.testing.assert_allclose(got, want + content, atol=1e-4)
    # an item added after fitting gets what LightFM computes from its feature row
    text = "space alien galaxy item999 (1987)"  # the year joins as a decade one-hot
    model.add_items({999: text})
    docs = model._docs([text])
    side = model._side_features(model.featurizer_.transform(docs), docs, [text])
    n_identity = model._item_features.shape[1] - side.shape[1]
    row = sp.hstack([sp.csr_matrix((1, n_identity)), side], format="csr")
    bias, emb = model._lightfm.get_item_representations(row)
    at, d = model.content_at_, model.content_dim_
    knn.add_items({999: text})
    np.testing.assert_allclose(
        model.item_factors_[-1], np.r_[emb[0], knn.item_factors_[-1], 1.0, bias[0]], atol=1e-5
    )
    assert (at, d) == (6, 6)
