"""The hybrids' content term: ``score = own score + content_weight * text-knn cosine``."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_embed import models
from recsys_embed.testing import planted, planted_text

HYBRIDS = {
    "als-text-map": {"factors": 4, "regularization": 1.0, "iterations": 5},
    "lightfm-hybrid": {"no_components": 6, "epochs": 3},
}
TEXT = {"word2vec_dim": 6}


@pytest.fixture(scope="module")
def data():
    inter = planted(n_groups=3, users_per=20, items_per=20, seed=0)
    texts = planted_text(inter, items_per=20)
    # three text-only (cold) items, item 1000 + g with group g's words
    for g in range(3):
        texts[1000 + g] = texts[20 * g].replace(f"item{20 * g} (1999)", f"item{1000 + g} (2001)")
    return inter, texts


def all_scores(model, inter, items):
    users = np.repeat(inter.user_ids, len(items))
    its = np.tile(np.asarray(items, dtype=object), len(inter.user_ids))
    return model.score(users, its).reshape(len(inter.user_ids), len(items))


@pytest.mark.parametrize("name", list(HYBRIDS))
def test_content_term_adds_exactly_the_text_knn_score(data, name):
    inter, texts = data
    items = [*inter.item_ids.tolist(), 1000, 1001, 1002]
    params = {**HYBRIDS[name], **TEXT}
    own = models.create(name, **params, content_weight=0.0).fit(inter, texts)
    with_text = models.create(name, **params, content_weight=0.7).fit(inter, texts)
    knn = models.create("text-knn", **TEXT).fit(inter, texts)
    # the content term does not change the fit: the difference is 0.7 x text-knn's cosine,
    # on warm and on text-only items alike
    diff = all_scores(with_text, inter, items) - all_scores(own, inter, items)
    np.testing.assert_allclose(diff, 0.7 * all_scores(knn, inter, items), atol=1e-4)
    # a user of group g ranks group g's text-only item first among the cold ones once the
    # text term dominates (each group's users only saw that group's words)
    strong = models.create(name, **params, content_weight=100.0).fit(inter, texts)
    cold_scores = all_scores(strong, inter, [1000, 1001, 1002])
    first_item = inter.item_ids[inter.matrix.indices[inter.matrix.indptr[:-1]]]
    assert np.array_equal(cold_scores.argmax(axis=1), first_item // 20)


@pytest.mark.parametrize("name", list(HYBRIDS))
def test_content_term_survives_fold_in_add_items_and_save_load(data, tmp_path, name):
    inter, texts = data
    model = models.create(name, **HYBRIDS[name], **TEXT, content_weight=0.5).fit(inter, texts)
    at, d = model.content_at_, model.content_dim_
    assert d == 6
    # fold-in of a training user's own history rebuilds the same content block
    folded = model.fold_in(inter.matrix[:5])
    np.testing.assert_allclose(
        folded[:, at : at + d], model.user_factors_[:5, at : at + d], atol=1e-5
    )
    loaded = models.load(model.save(tmp_path / "m"))
    items = [*inter.item_ids.tolist(), 1000]
    np.testing.assert_allclose(
        all_scores(loaded, inter, items), all_scores(model, inter, items), atol=1e-6
    )
    np.testing.assert_allclose(loaded.fold_in(inter.matrix[:5]), folded, atol=1e-5)
    new = {2000: texts[1001].replace("item1001", "item2000")}
    model.add_items(new)
    loaded.add_items(new)
    np.testing.assert_allclose(loaded.item_factors_[-1], model.item_factors_[-1], atol=1e-6)
    # the added item's content block is its text vector, as text-knn computes it
    knn = models.create("text-knn", **TEXT).fit(inter, texts)
    knn.add_items(new)
    np.testing.assert_allclose(
        model.item_factors_[-1, at : at + d], knn.item_factors_[-1], atol=1e-6
    )
