"""Progress of long library calls: fits, evaluation chunks, batch chunks."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_embed import models
from recsys_embed.batch import write_recommendations
from recsys_embed.evaluate import evaluate
from recsys_embed.models.lightfm import fit_lightfm
from recsys_embed.progress import Progress
from recsys_embed.testing import planted

FITS = [
    ("als", {"factors": 4, "iterations": 7}, "als", "7/7"),
    ("bpr", {"factors": 4, "iterations": 6}, "bpr", "6/6"),
    ("bpr-uniform", {"factors": 4, "epochs": 5}, "bpr-uniform", "5/5"),
    ("lightfm", {"no_components": 4, "epochs": 4}, "lightfm", "4/4"),
    ("ease", {"l2": 5.0}, "ease", "3/3"),
]


@pytest.fixture
def closed(monkeypatch):
    """``(desc, count, total, mode)`` of every progress closed during the test."""
    seen: list[tuple[str, int, int | None, str]] = []
    close = Progress.close

    def record(self):
        if not self._closed:
            seen.append((self.desc, self.n, self.total, self.mode))
        close(self)

    monkeypatch.setattr(Progress, "close", record)
    return seen


@pytest.mark.parametrize(("name", "params", "desc", "count"), FITS)
def test_fit_counts_its_epochs_and_shows_a_bar_or_nothing(
    name, params, desc, count, capsys, closed
):
    inter = planted()
    models.create(name, **params).fit(inter, show_progress=True)
    done, total = (int(x) for x in count.split("/"))
    assert closed == [(desc, done, total, "bar")]
    assert f"{desc}:" in capsys.readouterr().err  # the bar was drawn on stderr
    models.create(name, **params).fit(inter, show_progress=False)
    assert closed[1][3] == "off" and capsys.readouterr().err == ""


def test_epoch_by_epoch_lightfm_equals_one_fit_call():
    from lightfm import LightFM

    inter = planted()
    params = models.create("lightfm", no_components=6, epochs=5).get_params()
    binary = (inter.matrix > 0).astype(np.float32).tocoo()
    ours = fit_lightfm(params, binary, None, show_progress=False)
    theirs = LightFM(
        no_components=6,
        loss=params["loss"],
        learning_rate=params["learning_rate"],
        max_sampled=params["max_sampled"],
        random_state=params["random_state"],
    ).fit(binary, epochs=5, num_threads=1)
    assert np.array_equal(ours.item_embeddings, theirs.item_embeddings)
    assert np.array_equal(ours.user_biases, theirs.user_biases)


def test_epoch_by_epoch_uniform_bpr_is_reproducible():
    inter = planted()
    a = models.create("bpr-uniform", factors=4, epochs=3).fit(inter, show_progress=False)
    b = models.create("bpr-uniform", factors=4, epochs=3).fit(inter, show_progress=True)
    assert np.array_equal(a.item_factors_, b.item_factors_)


def test_evaluate_and_batch_count_chunks(capsys, tmp_path, closed):
    inter = planted()
    pop = models.create("popularity").fit(inter)
    rnd = models.create("random").fit(inter)
    evaluate({"pop": pop, "rnd": rnd}, inter, inter, k=[3], chunk_size=25, show_progress=True)
    assert closed[-1] == ("evaluate", 6, 6, "bar")  # 3 chunks of 60 users, two models
    write_recommendations(pop, tmp_path / "r.csv", k=2, chunk_size=16, show_progress=True)
    assert closed[-1] == ("recommend", 60, 60, "bar")
    assert "evaluate:" in capsys.readouterr().err
    write_recommendations(pop, tmp_path / "r.csv", k=2, show_progress=False)
    pop.recommend(inter.user_ids, k=2, chunk_size=7, show_progress=False)
    assert closed[-1] == ("recommend", 9, 9, "off")
    assert capsys.readouterr().err == ""
