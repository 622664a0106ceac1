"""Text models on the shipped ml-latest-small: neighbours of cold items by their text."""

import numpy as np
import pytest

from recsys_embed import models

# sequel -> its franchise's words, in the title of the original and the other sequels
SEQUELS = {3114: "toy story", 8360: "shrek", 1221: "godfather", 6365: "matrix"}


@pytest.fixture(scope="module")
def cold_sequels(latest_small):
    """The sequels lose every interaction: known to the models by their text only."""
    inter = latest_small.interactions
    cold = np.isin(inter.item_map.external(inter.item_idx), list(SEQUELS))
    return inter.subset(~cold), latest_small.items


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("text-knn", {}),
        ("als-text-map", {}),
        # a dense text block: with the default sparse text codes (8 of 512 k-means centroids)
        # a cold sequel's neighbours are items of similar codes, and the original was found
        # for 1 of the 4 sequels (measured); codes buy speed at the cost of title-level detail
        ("lightfm-hybrid", {"text_codes": 0, "text_top_m": 0, "epochs": 10, "no_components": 32}),
    ],
)
def test_cold_sequel_neighbours_include_the_original(cold_sequels, name, params):
    train, items = cold_sequels
    model = models.create(name, **params).fit(train, item_text=items)
    ids, _ = model.similar_items(list(SEQUELS), k=10)
    titles = dict(
        zip(items["item_id"].to_list(), items["title"].str.to_lowercase().to_list(), strict=True)
    )
    found = {
        s: any(words in titles[i] for i in ids[row].tolist())
        for row, (s, words) in enumerate(SEQUELS.items())
    }
    assert sum(found.values()) >= 3, found  # measured: text-knn finds 3 of 4 (not Shrek)
    # the cold sequels are recommendable: a Toy Story fan gets Toy Story 2 among the sequels
    fan = train.user_ids[
        np.argmax(train.matrix[:, train.item_map.indices([1])[0]].toarray().ravel())
    ]
    top, scores = model.recommend([fan], k=1, items=list(SEQUELS))
    assert np.isfinite(scores).all() and top[0, 0] in SEQUELS


def test_text_only_items_join_the_catalogue_and_add_items(latest_small, tmp_path):
    inter = latest_small.interactions
    model = models.create("text-knn").fit(inter, item_text=latest_small.items)
    n_text_only = latest_small.items.height - inter.n_items  # 18 movies nobody rated
    assert n_text_only == 18 and len(model.item_map_) == inter.n_items + n_text_only
    new = {10_000_001: "Toy Story 5 (2030) | Adventure|Animation|Children|Comedy | pixar"}
    assert model.add_items(new) == 1
    ids, _ = model.similar_items([10_000_001], k=10)
    assert {1, 3114} & set(ids[0].tolist())
    with pytest.raises(ValueError, match="already in the catalogue"):
        model.add_items({1: "Toy Story again"})
    # saved and loaded, the model adds items the same way (no word2vec, no lightfm needed)
    loaded = models.load(model.save(tmp_path / "m"))
    more = {10_000_002: "Shrek 5 (2031) | Animation|Comedy"}
    model.add_items(more)
    loaded.add_items(more)
    np.testing.assert_allclose(loaded.item_factors_[-1], model.item_factors_[-1], rtol=1e-6)
