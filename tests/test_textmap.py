"""The ALS text-map hybrid: a ridge map from item text to ALS factors (planted answers);
the text-length features of both text hybrids."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

import recsys_embed as rse
from recsys_embed import models
from recsys_embed.evaluate import evaluate
from recsys_embed.models.textmap import ridge_map


def test_ridge_map_recovers_a_planted_map():
    rng = np.random.default_rng(0)
    features = sp.random(300, 40, density=0.2, random_state=1, format="csr")
    true_map = rng.normal(size=(40, 5))
    targets = features @ true_map
    got = ridge_map(features, targets, np.ones(300), lam=1e-8, tol=1e-12)
    assert np.allclose(got, true_map, atol=1e-4)
    # with a ridge and weights it is the closed form (F' C F + lam I)^-1 F' C T
    weights = rng.uniform(0.1, 1.0, 300)
    noisy = targets + rng.normal(scale=0.1, size=targets.shape)
    dense = features.toarray()
    expected = np.linalg.solve(
        dense.T @ (weights[:, None] * dense) + 0.5 * np.eye(40),
        dense.T @ (weights[:, None] * noisy),
    )
    assert np.allclose(ridge_map(features, noisy, weights, lam=0.5, tol=1e-10), expected, atol=1e-6)


WORDS = [f"w{k}" for k in range(24)]


def planted_catalogue(seed: int = 0, n_users: int = 300, n_items: int = 240, dim: int = 4):
    """Item factors are a planted linear function of the item's words; users prefer by them."""
    rng = np.random.default_rng(seed)
    word_factors = rng.normal(size=(len(WORDS), dim))
    texts, item_factors = {}, []
    for i in range(n_items):
        words = rng.choice(len(WORDS), size=4, replace=False)
        texts[i] = " ".join(WORDS[w] for w in words)
        item_factors.append(word_factors[words].mean(axis=0))
    item_factors = np.array(item_factors)
    users = rng.normal(size=(n_users, dim))
    scores = users @ item_factors.T
    rows = []
    for u in range(n_users):
        for i in np.argsort(-scores[u])[:25]:
            rows.append((u, int(i)))
    frame = pl.DataFrame(rows, schema=["u", "i"], orient="row")
    return rse.Interactions.from_frame(frame, "u", "i"), texts, item_factors


def test_cold_items_get_factors_mapped_from_their_text():
    inter, texts, planted = planted_catalogue()
    train, test = rse.split.cold_item_split(inter, 0.2, seed=0)
    cold = train.item_map.external(rse.split.cold_items(train, test))
    params = {
        "factors": 4,
        "regularization": 1.0,
        "iterations": 15,
        "map_regularization": 0.1,
        "content_weight": 0.0,  # factors only: the map alone must carry the answer
    }
    model = models.create("als-text-map", **params).fit(train, item_text=texts)
    # the mapped factors of cold items span the same space as the planted ones: a linear
    # read-out fitted on warm items predicts the planted factors of cold items
    warm = np.setdiff1d(train.item_ids, cold)
    factors = model.item_factors_[:, : model.content_at_]
    read_out, *_ = np.linalg.lstsq(
        factors[model.item_map_.indices(warm)], planted[warm], rcond=None
    )
    predicted = factors[model.item_map_.indices(cold)] @ read_out
    r2 = (
        1
        - ((predicted - planted[cold]) ** 2).sum()
        / ((planted[cold] - planted[cold].mean(0)) ** 2).sum()
    )
    assert r2 > 0.8, r2
    knn = models.create("text-knn", word2vec_dim=8).fit(train, item_text=texts)
    report = evaluate(
        {"map": model, "knn": knn}, train, test, k=[10], metrics=["ndcg"], candidates=cold
    )
    assert report.mean("map", "ndcg", 10) > report.mean("knn", "ndcg", 10) + 0.1
    assert report.mean("map", "ndcg", 10) > 0.6


def test_add_items_save_load_and_fold_in(tmp_path):
    inter, texts, _ = planted_catalogue()
    model = models.create("als-text-map", factors=4, regularization=1.0).fit(inter, item_text=texts)
    new = {1000: texts[0], 1001: texts[1]}
    assert model.add_items(new) == 2
    idx = model.item_map_.indices([0, 1000, 1, 1001])
    f = model.item_factors_[idx]
    dense_0 = model.featurizer_.transform(model._docs([texts[0]]))
    mapped_0 = model._features(dense_0, model._docs([texts[0]]), [texts[0]]) @ model.map_
    k = model.content_at_  # [mapped factors | text vector (the text-knn part)]
    assert np.allclose(f[1, :k], np.asarray(mapped_0).ravel(), atol=1e-5)
    assert np.allclose(f[1, k:], dense_0.ravel(), atol=1e-6)
    loaded = models.load(model.save(tmp_path / "m"))
    assert np.array_equal(loaded.item_factors_, model.item_factors_)
    loaded.add_items({1002: texts[2]})
    model.add_items({1002: texts[2]})
    assert np.allclose(loaded.item_factors_[-1], model.item_factors_[-1], atol=1e-6)
    ids, _ = loaded.recommend_for_history([[0, 1, 2]], k=5)
    assert not {0, 1, 2} & set(ids[0].tolist())
    with pytest.raises(ValueError, match="already in the catalogue"):
        loaded.add_items({1000: "w1 w2"})


@pytest.mark.parametrize(
    ("kind", "params", "weight"),
    [("als-text-map", {"factors": 8}, 1.0), ("lightfm-hybrid", {}, 0.5)],
)
def test_text_length_carries_a_planted_popularity_to_cold_items(tmp_path, kind, params, weight):
    """Words are random, but items with more text are more popular (as items many users
    tagged are): only the length features can rank the cold items, and they must."""
    rng = np.random.default_rng(3)
    n_items, n_users = 300, 400
    lengths = rng.integers(1, 13, n_items)
    vocab = [f"t{k}" for k in range(200)]
    texts = {i: " ".join(rng.choice(vocab, size=n, replace=False)) for i, n in enumerate(lengths)}
    popularity = lengths.astype(float) ** 2 / (lengths.astype(float) ** 2).sum()
    rows = [(u, int(i)) for u in range(n_users) for i in rng.choice(n_items, 20, False, popularity)]
    inter = rse.Interactions.from_frame(
        pl.DataFrame(rows, schema=["u", "i"], orient="row"), "u", "i"
    )
    train, test = rse.split.cold_item_split(inter, 0.2, seed=0)
    cold = train.item_map.external(rse.split.cold_items(train, test))
    fitted = {
        f"w{w}": models.create(kind, **params, length_weight=w, content_weight=0.0).fit(
            train, item_text=texts
        )
        for w in (0.0, weight)
    }
    auc = evaluate(fitted, train, test, k=[10], metrics=["auc"], candidates=cold).to_frame()
    by = dict(zip(auc["model"].to_list(), auc["value"].to_list(), strict=True))
    # measured: text-map 0.698 vs 0.612, LightFM hybrid 0.693 vs 0.545
    assert by[f"w{weight}"] > 0.66 and by[f"w{weight}"] - by["w0.0"] > 0.05, by
    # the standardisation is kept: a reloaded model maps an added item as the fitted one was
    model = fitted[f"w{weight}"]
    loaded = models.load(model.save(tmp_path / "m"))
    loaded.add_items({10_000: texts[int(cold[0])]})
    own = model.item_factors_[model.item_map_.indices([cold[0]])[0]]
    assert np.allclose(loaded.item_factors_[-1], own, atol=1e-5)


def test_decade_carries_a_planted_taste_and_old_saves_load_without_it(tmp_path):
    """Half the users watch only 1960s items, half only 1990s ones; the words are random:
    only the year's decade can rank the cold items for each user."""
    rng = np.random.default_rng(5)
    n_items = 240
    decade = rng.integers(0, 2, n_items)  # 0: 1960s, 1: 1990s
    vocab = [f"t{k}" for k in range(100)]
    texts = {
        i: f"{' '.join(rng.choice(vocab, 3, replace=False))} ({1965 + 30 * decade[i]})"
        for i in range(n_items)
    }
    rows = [
        (u, int(i))
        for u in range(200)
        for i in rng.choice(np.flatnonzero(decade == u % 2), 15, replace=False)
    ]
    inter = rse.Interactions.from_frame(
        pl.DataFrame(rows, schema=["u", "i"], orient="row"), "u", "i"
    )
    train, test = rse.split.cold_item_split(inter, 0.2, seed=0)
    cold = train.item_map.external(rse.split.cold_items(train, test))
    fitted = {
        f"y{w}": models.create(
            "als-text-map", factors=4, year_weight=w, length_weight=0.0, content_weight=0.0
        ).fit(train, item_text=texts)
        for w in (0.0, 1.0)
    }
    auc = evaluate(fitted, train, test, k=[10], metrics=["auc"], candidates=cold).to_frame()
    by = dict(zip(auc["model"].to_list(), auc["value"].to_list(), strict=True))
    assert by["y1.0"] > 0.7 and by["y0.0"] < 0.6, by  # measured 0.760 vs 0.454
    # a model saved before decade features existed has no "text_decades": loading it turns
    # them off, so items added later get the feature row the map was fitted on
    arrays = fitted["y1.0"].extra_arrays()
    del arrays["text_decades"]
    old = models.create("als-text-map", factors=4)
    old.restore_extra(arrays)
    assert old.params["year_weight"] == 0.0
