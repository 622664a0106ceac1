"""Issue 27, inputs: long item texts, ids of add-items and similar, histories, k and files.

Each case failed on the code before it: a wrong answer with exit 0, an exit 1, or an unclear
message (see the issue)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from recsys_embed import models
from recsys_embed.cli import main
from recsys_embed.features.catalogue import (
    length_features,
    length_stats,
    token_onehots,
)
from recsys_embed.testing import planted, planted_text


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """An ALS and a text-kNN model on the planted groups (int ids 0-29, 3 groups of 10)."""
    d = tmp_path_factory.mktemp("models")
    inter = planted()
    als = models.create("als", factors=8, regularization=1.0, iterations=10).fit(
        inter, show_progress=False
    )
    knn = models.create("text-knn", word2vec_dim=8).fit(
        inter, planted_text(inter), show_progress=False
    )
    return {"als": als, "knn": knn, "als_dir": als.save(d / "als"), "knn_dir": knn.save(d / "knn")}


def cli(capsys, *args: str) -> tuple[int, str]:
    """Exit code and the one error line (or all of stderr when there is none)."""
    code = main(list(args))
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("recsys-embed: error:")]
    assert "Traceback" not in err
    assert len(lines) <= 1, err
    return code, lines[0] if lines else err


# ---- 1. one long text cannot take over the lists -----------------------------------------------
def test_length_features_saturate_at_the_catalogue_percentiles():
    lengths = np.log1p(np.arange(1.0, 201.0))[:, None].repeat(2, axis=1)
    stats = length_stats(lengths)
    inside = lengths[5:195]  # between the 1st and 99th percentiles: exactly standardised
    assert np.array_equal(length_features(inside, stats), (inside - stats[0]) / stats[1])
    huge = np.log1p(np.array([[2e5, 3e4]]))
    assert np.allclose(length_features(huge, stats), (stats[3] - stats[0]) / stats[1])
    old = stats[:2]  # saved before the range was kept: saturates at 3 std
    assert np.allclose(length_features(huge, old), 3.0)


def test_token_rows_weigh_no_more_than_the_richest_items():
    vocab = [f"w{i}" for i in range(50)]
    docs = [["w0", "w1"], ["w2", "w3", "w4", "w5"], vocab]
    plain = token_onehots(docs, vocab)
    bounded = token_onehots(docs, vocab, max_tokens=4)
    assert np.array_equal(bounded[:2].toarray(), plain[:2].toarray())  # within the bound: as is
    sums = np.asarray(bounded.sum(axis=1)).ravel()
    assert sums[2] == pytest.approx(2.0, rel=1e-6)  # sqrt(4): the richest item's, not sqrt(50)
    assert sums[2] < np.asarray(plain.sum(axis=1)).ravel()[2] / 3


@pytest.mark.parametrize(
    ("name", "most_random"),
    [("lightfm-hybrid", 0.03), ("als-text-map", 0.03)],  # before: 97% and 8% of users
)
def test_a_1mb_text_item_stays_out_of_most_lists_unless_its_content_earns_it(
    latest_small, name, most_random
):
    """A new item of 1 MB of catalogue words drawn at random reaches few users' top 10; one
    whose text repeats Pulp Fiction's reaches that film's audience, long or not."""
    inter, items = latest_small.interactions, latest_small.items
    model = models.create(name).fit(inter, item_text=items, show_progress=False)
    texts = dict(zip(items["item_id"].to_list(), items["text"].to_list(), strict=True))
    words = " ".join(texts.values()).split()
    rng = random.Random(0)
    noise = " ".join(rng.choice(words) for _ in range(160_000))
    assert len(noise) > 1_000_000
    pulp = texts[296]
    reach = {}
    for case, text in {"noise": noise, "copy": pulp, "long copy": " | ".join([pulp] * 400)}.items():
        grown = _with_item(model, text)
        ids, _ = grown.recommend(inter.user_ids, k=10)
        reach[case] = int((ids == 99_999_999).any(axis=1).sum()) / len(inter.user_ids)
    assert reach["noise"] < most_random, reach
    assert reach["copy"] >= 0.05 and reach["long copy"] >= 0.05, reach


def _with_item(model, text: str):
    """A copy of the fitted ``model`` (through save and load) with item 99999999 added."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        copy = models.load(model.save(f"{d}/m"))
    copy.add_items({99_999_999: text})
    return copy
