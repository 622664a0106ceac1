"""Precomputed item vectors (any encoder) as the dense block of the text models."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import models
from recsys_embed.evaluate import evaluate
from recsys_embed.features.itemvectors import read_item_vectors

N_GROUPS, ITEMS_PER, USERS_PER = 4, 30, 25


def planted(seed: int = 0):
    """Users like one group's items; the item vectors encode the group, the text is noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(N_GROUPS):
        for u in range(USERS_PER):
            for i in range(ITEMS_PER):
                if rng.random() < 0.4:
                    rows.append((g * USERS_PER + u, g * ITEMS_PER + i))
    inter = rse.Interactions.from_frame(
        pl.DataFrame(rows, schema=["u", "i"], orient="row"), "u", "i"
    )
    n_items = N_GROUPS * ITEMS_PER
    centres = rng.normal(size=(N_GROUPS, 16)) * 3
    vectors = centres[np.arange(n_items) // ITEMS_PER] + rng.normal(size=(n_items, 16))
    noise_text = {i: " ".join(rng.choice([f"t{k}" for k in range(40)], 5)) for i in range(n_items)}
    return inter, vectors, noise_text


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    inter, vectors, text = planted()
    folder = tmp_path_factory.mktemp("vec")
    pq = folder / "items.parquet"
    pl.DataFrame({"item_id": list(range(len(vectors))), "vec": vectors.tolist()}).write_parquet(pq)
    npy = folder / "items.npy"
    np.save(npy, vectors[::-1].copy())  # another order: the ids file says which row is which
    (folder / "items.ids.txt").write_text("\n".join(str(i) for i in range(len(vectors))[::-1]))
    train, test = rse.split.cold_item_split(inter, 0.25, seed=0)
    cold = train.item_map.external(rse.split.cold_items(train, test))
    return train, test, cold, pq, npy, text, vectors


SMALL = {
    "text-knn": {},
    "als-text-map": {"factors": 8, "regularization": 1.0},
    "lightfm-hybrid": {"no_components": 8, "epochs": 20, "learning_rate": 0.05, "identity": False},
}


@pytest.mark.parametrize("name", list(SMALL))
def test_planted_vectors_carry_the_answer(data, name):
    train, test, cold, pq, npy, text, _ = data
    with_vectors = models.create(name, item_vectors=str(pq), **SMALL[name]).fit(train)
    from_npy = models.create(name, item_vectors=str(npy), **SMALL[name]).fit(train)
    text_only = models.create(name, word2vec_dim=8, **SMALL[name]).fit(train, item_text=text)
    assert np.allclose(with_vectors.item_factors_, from_npy.item_factors_, atol=1e-5)
    fitted = {"vectors": with_vectors, "text": text_only}
    report = evaluate(fitted, train, test, k=[10], metrics=["ndcg"], candidates=cold)
    assert report.mean("vectors", "ndcg", 10) > 0.6
    assert report.mean("vectors", "ndcg", 10) > report.mean("text", "ndcg", 10) + 0.3


@pytest.mark.parametrize("name", list(SMALL))
def test_add_items_takes_vectors_and_survives_save_load(data, name, tmp_path):
    train, _, _, pq, _, _, vectors = data
    model = models.create(name, item_vectors=str(pq), **SMALL[name]).fit(train)
    # a new item with group 2's vector lands among group 2's items
    new = {10_000: vectors[2 * ITEMS_PER + 1] + 0.01}
    assert model.add_items(item_vectors=new) == 1
    ids, _ = model.similar_items([10_000], k=5)
    assert all(2 * ITEMS_PER <= i < 3 * ITEMS_PER for i in ids[0].tolist())
    loaded = models.load(model.save(tmp_path / "m"))
    frame = pl.DataFrame({"item_id": [10_001], "vec": [vectors[5].tolist()]})
    loaded.add_items(item_vectors=frame)
    model.add_items(item_vectors=frame)
    assert np.allclose(loaded.item_factors_[-1], model.item_factors_[-1], atol=1e-5)


def test_vectors_beside_text_keep_the_text_items(data):
    train, _, _, pq, _, text, _ = data
    extra = {**text, 5000: "t1 t2"}  # an item with text and no vector: zeros, counted
    model = models.create("text-knn", item_vectors=str(pq)).fit(train, item_text=extra)
    assert 5000 in model.item_map_.ids.tolist() and model.items_without_vector_ == 1
    assert not model.item_factors_[model.item_map_.indices([5000])].any()


def test_bad_vector_files_are_named(tmp_path):
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"id": [1], "vec": [[1.0, 2.0]]}).write_parquet(bad)
    with pytest.raises(ValueError, match=r"bad.parquet: item-vector parquet lacks an item_id"):
        read_item_vectors(bad)
    ragged = tmp_path / "ragged.parquet"
    pl.DataFrame({"item_id": [1, 2], "vec": [[1.0, 2.0], [1.0]]}).write_parquet(ragged)
    with pytest.raises(ValueError, match=r"ragged.parquet: row 1 has a vector of length 1"):
        read_item_vectors(ragged)
    dup = tmp_path / "dup.parquet"
    pl.DataFrame({"item_id": [1, 1], "vec": [[1.0], [2.0]]}).write_parquet(dup)
    with pytest.raises(ValueError, match=r"dup.parquet: 1 duplicate item id"):
        read_item_vectors(dup)
    npy = tmp_path / "v.npy"
    np.save(npy, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"v.ids.txt: ids file of the item vectors not found"):
        read_item_vectors(npy)
    (tmp_path / "v.ids.txt").write_text("1\n2\n")
    with pytest.raises(ValueError, match=r"2 ids for 3 vectors"):
        read_item_vectors(npy)
    np.save(npy, np.array([[1.0, np.nan], [0, 0]]))
    with pytest.raises(ValueError, match=r"item 1 has a non-finite value"):
        read_item_vectors(npy)
    with pytest.raises(ValueError, match="needs item text: .* or the item_vectors parameter"):
        models.create("text-knn").fit(planted()[0])
