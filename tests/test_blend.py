"""Blend: the joined vectors score exactly the weighted, spread-scaled sum of its members."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from recsys_embed import models
from recsys_embed.config import to_toml, tomllib
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.models.blend import Blend, score_spread
from recsys_embed.testing import fit, planted, planted_text
from tests.conftest import requires_ml100k
from tests.test_cli import run

ALS = {"type": "als", "factors": 8, "regularization": 1.0, "iterations": 10}


def _scores(model):
    return model.user_factors_.astype(np.float64) @ model.item_factors_.T.astype(np.float64)


def test_score_spread_is_the_standard_deviation_of_all_scores():
    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(7, 3)), rng.normal(1.0, 2.0, size=(5, 3))
    assert score_spread(users, items) == pytest.approx((users @ items.T).std(), rel=1e-12)
    wide_u, wide_v = rng.normal(size=(50, 1500)), rng.normal(0.1, 1.0, size=(40, 1500))
    assert score_spread(wide_u, wide_v) == pytest.approx((wide_u @ wide_v.T).std(), rel=1e-4)
    # a constant score has no spread
    assert score_spread(np.ones((4, 1)), np.ones((3, 1))) == pytest.approx(0.0, abs=1e-12)


def test_scores_are_the_weighted_sum_of_member_scores_over_their_spread():
    inter = planted()
    blend = fit(
        models.create("blend", models=[ALS, {"type": "ease", "l2": 5.0, "weight": 3}]), inter
    )
    als, ease = blend.members_
    a, e = _scores(als), _scores(ease)
    want = 0.25 * a / a.std() + 0.75 * e / e.std()
    np.testing.assert_allclose(_scores(blend), want, rtol=1e-4, atol=1e-5)
    # each member is the model that type fits alone
    alone = fit(models.create("ease", l2=5.0), inter)
    np.testing.assert_allclose(ease.item_factors_, alone.item_factors_)


def test_fold_in_joins_the_members_fold_ins():
    inter = planted()
    blend = fit(models.create("blend", models=[ALS, {"type": "ease", "l2": 5.0}]), inter)
    history = inter.matrix[:4]
    got = blend.fold_in(history)
    parts = [s * m.fold_in(history) for s, m in zip(blend.scales_, blend.members_, strict=True)]
    np.testing.assert_allclose(got, np.hstack(parts), rtol=1e-6)


def test_text_only_items_score_by_the_text_member_alone():
    inter = planted(str_ids=True)
    text = planted_text(inter)
    text["item-new"] = "space alien robot galaxy"  # a text-only item of group 0's words
    hybrid = {"type": "lightfm-hybrid", "no_components": 8, "epochs": 30, "word2vec_dim": 8}
    blend = models.create("blend", models=[ALS, hybrid]).fit(inter, text, show_progress=False)
    assert blend.item_map_.ids[-1] == "item-new" and len(blend.item_map_) == inter.n_items + 1
    new = len(blend.item_map_) - 1
    als_block = blend.members_[0].item_factors_.shape[1]
    assert not blend.item_factors_[new, :als_block].any()
    assert blend.members_[1].item_map_.ids[-1] == "item-new"


def test_saved_blend_folds_in_like_the_fitted_one(tmp_path):
    inter = planted(str_ids=True)
    hybrid = {"type": "lightfm-hybrid", "no_components": 8, "epochs": 30, "word2vec_dim": 8}
    blend = fit(models.create("blend", models=[ALS, hybrid]), inter)
    loaded = models.load(blend.save(tmp_path / "blend"))
    history = [["item-0", "item-1", "item-2"], ["item-25"]]
    for a, b in zip(
        blend.recommend_for_history(history, k=5),
        loaded.recommend_for_history(history, k=5),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        blend.similar_items(["item-3"], k=4)[0], loaded.similar_items(["item-3"], k=4)[0]
    )
    # the loaded members blend again, with other weights
    again = Blend.of(loaded.members_, weights=[3.0, 1.0])
    assert again.recommend(["user-0"], k=3)[0].shape == (1, 3)


def test_a_tampered_member_is_refused_on_load(tmp_path):
    blend = fit(models.create("blend", models=[ALS, {"type": "ease", "l2": 5.0}]), planted())
    path = blend.save(tmp_path / "blend")
    manifest = json.loads((path / "manifest.json").read_text())
    short = np.asarray(blend.members_[0].user_factors_[:-1])
    np.save(path / "m0_user_factors.npy", short)
    digest = hashlib.sha256((path / "m0_user_factors.npy").read_bytes()).hexdigest()
    manifest["arrays"]["m0_user_factors"] = digest
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"member 0's factors \(59, 8\) .* do not fit 60 users"):
        models.load(path)


def test_similar_items_average_the_members_cosines():
    inter = planted()
    blend = fit(
        models.create("blend", models=[ALS, {"type": "ease", "l2": 5.0, "weight": 3}]), inter
    )
    vecs = blend.similarity_vectors()
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    def cos(m):
        v = m.similarity_vectors().astype(np.float64)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v @ v.T

    want = 0.25 * cos(blend.members_[0]) + 0.75 * cos(blend.members_[1])
    np.testing.assert_allclose(unit @ unit.T, want, atol=1e-5)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([ALS], r"models must list at least two models to blend, got 1"),
        ([ALS, {"l2": 5.0}], r"models\[1\] must be a table with a model type"),
        ([ALS, {"type": "eas"}], r"unknown model 'eas'"),
        ([ALS, {"type": "ease", "l3": 1.0}], r"models\[1\]: model 'ease' has no parameter"),
        ([ALS, {"type": "ease", "l2": -1.0}], r"models\[1\]: l2 must be float > 0"),
        ([ALS, {"type": "ease", "weight": 0}], r"models\[1\]: weight must be a finite number > 0"),
        ([ALS, {"type": "blend"}], r"models\[1\]: a blend cannot hold another blend"),
        ("als,ease", r"models must be list"),
    ],
)
def test_bad_members_name_the_member_and_what_was_expected(members, message):
    with pytest.raises(ConfigError, match=message):
        models.create("blend", models=members)


def test_members_write_to_toml_and_read_back(tmp_path):
    doc = {"models": {"both": {"type": "blend", "models": [ALS, {"type": "ease", "weight": 2}]}}}
    assert tomllib.loads(to_toml(doc)) == doc


def test_a_blend_of_fitted_models_equals_the_blend_fitted_from_scratch():
    inter = planted(str_ids=True)
    hybrid = {"type": "lightfm-hybrid", "no_components": 8, "epochs": 30, "word2vec_dim": 8}
    fitted = fit(models.create("blend", models=[ALS, {**hybrid, "weight": 2.0}]), inter)
    als = fit(models.create("als", **{k: v for k, v in ALS.items() if k != "type"}), inter)
    lfm = fit(
        models.create("lightfm-hybrid", **{k: v for k, v in hybrid.items() if k != "type"}), inter
    )
    joined = Blend.of([als, lfm], weights=[1.0, 2.0])
    np.testing.assert_allclose(joined.user_factors_, fitted.user_factors_, rtol=1e-6)
    np.testing.assert_allclose(joined.item_factors_, fitted.item_factors_, rtol=1e-6)
    assert joined.item_map_.ids.tolist() == fitted.item_map_.ids.tolist()
    assert [m["type"] for m in joined.get_params()["models"]] == ["als", "lightfm-hybrid"]
    history = [["item-0", "item-1"]]
    np.testing.assert_array_equal(
        joined.recommend_for_history(history, k=5)[0], fitted.recommend_for_history(history, k=5)[0]
    )


def test_a_blend_of_models_fitted_on_other_logs_is_refused():
    a = fit(models.create("ease", l2=5.0), planted())
    b = fit(models.create("ease", l2=5.0), planted(users_per=21))
    with pytest.raises(DataError, match=r"models\[1\] was fitted on other users than models\[0\]"):
        Blend.of([a, b])
    with pytest.raises(ConfigError, match="weights has 1 values for 2 models"):
        Blend.of([a, a], weights=[1.0])


def test_tuning_a_blend_says_to_tune_its_members():
    from recsys_embed.tuning.space import search_space

    with pytest.raises(ConfigError, match="tune its member models, then blend their settings"):
        search_space("blend")


BLEND_CONFIG = """
[data]
interactions = "movielens-100k"

[split]
method = "random"
test_fraction = 0.25
stratify = "user"
seed = 42

[evaluate]
k = [10]
metrics = ["ndcg", "recall"]

[models.als]
type = "als"

[models.blend]
type = "blend"
"""


@requires_ml100k
def test_default_blend_beats_its_als_member_on_ml100k_from_the_cli(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(BLEND_CONFIG)
    out = tmp_path / "out"
    proc = run("evaluate", "--config", str(cfg), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    got = json.loads((out / "metrics.json").read_text())["models"]
    assert got["blend"]["metrics"]["ndcg@10"] > got["als"]["metrics"]["ndcg@10"] + 0.003
    members = got["blend"]["params"]["models"]
    assert [m["type"] for m in members] == ["als", "lightfm-hybrid"]
    # the written config reads back with the same members
    again = tomllib.loads((out / "config.toml").read_text())
    assert again["models"]["blend"]["models"] == members
