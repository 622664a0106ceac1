"""Frames in and out: a test set in train's id space, top-k lists as frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import models
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.evaluate import evaluate


@pytest.fixture(scope="module")
def train():
    df = pl.DataFrame(
        {
            "user": ["a", "a", "b", "b", "c", "c", "c"],
            "item": [1, 2, 2, 3, 1, 3, 4],
        }
    )
    return rse.Interactions.from_frame(df, "user", "item")


def test_like_builds_the_test_set_in_trains_id_space(train):
    test_df = pd.DataFrame({"user": ["b", "a", "c"], "item": [4, 3, 2], "w": [2.0, 1.0, 3.0]})
    test = rse.Interactions.from_frame(test_df, "user", "item", "w", like=train)
    assert test.user_map is train.user_map and test.item_map is train.item_map
    assert test.n_unknown_dropped == 0
    # user a (index 0) -> item 3 (index 2); b (1) -> 4 (3); c (2) -> 2 (1)
    assert test.matrix.toarray().tolist() == [
        [0, 0, 1, 0],
        [0, 0, 0, 2],
        [0, 3, 0, 0],
    ]


def test_like_names_unknown_ids_or_drops_and_counts_them(train):
    df = pl.DataFrame({"user": ["a", "zed", "b", "yan"], "item": [3, 1, 99, 2]})
    with pytest.raises(DataError) as exc:
        rse.Interactions.from_frame(df, "user", "item", like=train, source="holdout.csv")
    msg = str(exc.value)
    assert msg.startswith("holdout.csv: 2 user id(s) ('zed', 'yan') and 1 item id(s) (99)")
    assert "first unknown at row 1" in msg and "unknown='drop'" in msg
    test = rse.Interactions.from_frame(df, "user", "item", like=train, unknown="drop")
    assert test.n_unknown_dropped == 3 and test.nnz == 1
    assert test.to_frame().select("user_id", "item_id").rows() == [("a", 3)]


def test_evaluate_accepts_a_frame_read_like_train(train):
    pop = models.create("popularity").fit(train)
    test = rse.Interactions.from_frame(
        pl.DataFrame({"user": ["a", "b"], "item": [3, 1]}), "user", "item", like=train
    )
    report = evaluate({"pop": pop}, train, test, k=[1], metrics=["hit_rate"], show_progress=False)
    # popularity over unseen items: a has seen 1, 2 -> best unseen is 3 (2 users) -> hit;
    # b has seen 2, 3 -> best unseen is 1 (2 users) -> hit
    assert report.mean("pop", "hit_rate", 1) == 1.0
    own = rse.Interactions.from_frame(pl.DataFrame({"user": ["a"], "item": [3]}), "user", "item")
    with pytest.raises(ConfigError, match=r"from_frame\(df, \.\.\., like=train\)"):
        evaluate({"pop": pop}, train, own, k=[1])


def test_recommend_frames_as_the_batch_writes(train):
    pop = models.create("popularity").fit(train)
    frame = pop.recommend(["a", "c"], k=3, output="polars")
    # a: unseen 3 (2 users), 4 (1 user); c: unseen 2 (2 users); padding rows are left out
    assert frame.rows() == [("a", 1, 3, 2.0), ("a", 2, 4, 1.0), ("c", 1, 2, 2.0)]
    assert frame.schema["rank"] == pl.Int32
    pdf = pop.recommend(["a", "c"], k=3, output="pandas")
    assert isinstance(pdf, pd.DataFrame) and pdf["item_id"].tolist() == [3, 4, 2]
    with pytest.raises(ConfigError, match="output must be one of"):
        pop.recommend(["a"], output="json")  # type: ignore[call-overload]


def test_history_and_similar_frames(train):
    als = models.create("als", factors=2, iterations=2, regularization=0.1).fit(
        train, show_progress=False
    )
    new = als.recommend_for_history({"newbie": [1, 2]}, k=5, output="polars")
    assert set(new["user_id"].to_list()) == {"newbie"}
    assert set(new["item_id"].to_list()) == {3, 4}  # its own items are excluded
    assert new["rank"].to_list() == [1, 2]
    by_position = als.recommend_for_history([[1], [2, 3]], k=1, output="polars")
    assert by_position["user_id"].to_list() == [0, 1]
    sim = als.similar_items([1, 4], k=2, output="polars")
    assert sim.columns == ["item_id", "rank", "similar_item_id", "score"]
    ids, scores = als.similar_items([1, 4], k=2)
    assert sim.filter(pl.col("item_id") == 4)["similar_item_id"].to_list() == ids[1].tolist()
    assert np.allclose(sim["score"].to_numpy(), scores.ravel())


def test_fit_and_evaluate_fits_text_and_plain_models_alike():
    from recsys_embed.evaluate import fit_and_evaluate
    from recsys_embed.testing import planted, planted_text

    inter = planted()
    train, test = rse.split.random_split(inter, 0.3, "user", 1)
    report = fit_and_evaluate(
        {
            "knn": models.create("text-knn", word2vec_dim=8),
            "pop": models.create("popularity"),
        },
        train,
        test,
        planted_text(inter),
        k=[5],
        metrics=["ndcg"],
        show_progress=False,
    )
    # the planted text names each group: the text model must beat popularity clearly
    assert report.mean("knn", "ndcg", 5) > report.mean("pop", "ndcg", 5) + 0.15
    assert report.results["knn"].fit_seconds is not None
