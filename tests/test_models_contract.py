"""One contract, run on every registered model (a registered model without a subclass fails)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import models
from recsys_embed.errors import DataError, NotFittedError, UnknownIdError
from recsys_embed.evaluate import evaluate


def planted(n_groups=3, users_per=20, items_per=10, density=0.6, seed=0, str_ids=False):
    """Users in groups; each group interacts only with its own block of items."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        for u in range(users_per):
            uid = g * users_per + u
            for i in range(items_per):
                if rng.random() < density:
                    rows.append((uid, g * items_per + i))
    df = pl.DataFrame(rows, schema=["u", "i"], orient="row")
    if str_ids:
        df = df.with_columns(
            pl.format("user-{}", "u").alias("u"), pl.format("item-{}", "i").alias("i")
        )
    return rse.Interactions.from_frame(df, "u", "i")


GROUP_WORDS = [
    "space alien robot galaxy",
    "love romance wedding paris",
    "murder detective crime police",
]


def planted_text(inter: rse.Interactions, items_per: int = 10) -> dict:
    """Item text that matches the planted groups: each group's items share its words."""
    texts = {}
    for item in inter.item_ids.tolist():
        k = int(str(item).split("-")[-1])
        texts[item] = f"{GROUP_WORDS[(k // items_per) % len(GROUP_WORDS)]} item{k} (1999)"
    return texts


def fit(model: models.Recommender, inter: rse.Interactions) -> models.Recommender:
    """Fit, giving text models the planted item text."""
    if getattr(model, "needs_item_text", False):
        return model.fit(inter, item_text=planted_text(inter))
    return model.fit(inter)


class ModelContract:
    model_name: ClassVar[str]
    params: ClassVar[dict[str, Any]] = {}
    margin: ClassVar[float] = 0.15

    def make(self) -> models.Recommender:
        return models.create(self.model_name, **self.params)

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls):
        inter = planted()
        return (inter, *rse.split.random_split(inter, 0.3, "user", 1))

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, data):
        return fit(models.create(cls.model_name, **cls.params), data[1])

    def test_fit_returns_self_and_factors(self, data):
        model = self.make()
        assert fit(model, data[1]) is model
        assert model.user_factors_.dtype == np.float32 and model.item_factors_.dtype == np.float32
        assert model.user_factors_.shape[0] == data[1].n_users
        assert model.item_factors_.shape == (data[1].n_items, model.user_factors_.shape[1])

    def test_not_fitted(self):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            self.make().recommend([0])

    def test_refit_starts_fresh(self, data):
        model = fit(self.make(), data[1])
        other = planted(n_groups=2, users_per=7, items_per=6, seed=3, str_ids=True)
        fit(model, other)
        assert model.user_map_ is other.user_map and model.item_factors_.shape[0] == other.n_items
        ids, _ = model.recommend(["user-0"], k=3)
        assert all(str(x).startswith("item-") for x in ids[0] if x is not None)
        with pytest.raises(UnknownIdError):
            model.recommend([0])

    def test_external_str_ids(self):
        inter = planted(str_ids=True)
        model = fit(self.make(), inter)
        ids, scores = model.recommend(["user-3", "user-45"], k=4)
        assert ids.shape == (2, 4) and scores.shape == (2, 4)
        assert ids.dtype == object and all(isinstance(x, str) for x in ids.ravel())

    def test_seen_items_never_recommended(self, fitted, data):
        train = data[1]
        for users, items, scores in fitted.recommend_all(k=8, chunk_size=17):
            seen = train.matrix[train.user_map.indices(users)]
            for row, its in enumerate(items):
                got = set(train.item_map.indices(its[its >= 0]).tolist())
                assert not got & set(seen[row].indices.tolist())
            assert np.all(np.diff(scores, axis=1) <= 0)  # best first

    def test_items_restriction(self, fitted, data):
        cand = data[1].item_ids[::3]
        ids, _ = fitted.recommend(data[1].user_ids[:10], k=5, items=cand)
        assert set(ids[ids >= 0].tolist()) <= set(cand.tolist())

    def test_padding_never_uses_seen_items(self, fitted, data):
        train = data[1]
        user = train.user_ids[0]
        n_unseen = train.n_items - train.matrix[0].nnz
        ids, scores = fitted.recommend([user], k=n_unseen + 5)
        assert (ids[0, n_unseen:] == -1).all() and np.isneginf(scores[0, n_unseen:]).all()
        assert (ids[0, :n_unseen] >= 0).all() and np.isfinite(scores[0, :n_unseen]).all()
        # a candidate set smaller than k pads too
        ids, scores = fitted.recommend([user], k=4, items=train.item_ids[:2], exclude_seen=False)
        assert ids[0, 2:].tolist() == [-1, -1] and np.isneginf(scores[0, 2:]).all()

    def test_unknown_users(self, fitted):
        with pytest.raises(UnknownIdError, match=r"2 unknown user id\(s\): 999, 1000"):
            fitted.recommend([0, 999, 1000])
        ids, _ = fitted.recommend([999], k=3, unknown="popular")
        assert (
            ids[0].tolist()
            == fitted.item_map_.ids[
                np.argsort(-fitted.item_popularity_, kind="stable")[:3]
            ].tolist()
        )

    def test_recommend_all_matches_recommend(self, fitted, data):
        chunks = list(fitted.recommend_all(k=5, chunk_size=13))
        users = np.concatenate([c[0] for c in chunks])
        assert users.tolist() == data[1].user_ids.tolist()
        items = np.vstack([c[1] for c in chunks])
        direct, _ = fitted.recommend(users, k=5)
        assert (items == direct).all()

    def test_similar_items_excludes_itself(self, fitted, data):
        ids, _sims = fitted.similar_items(data[1].item_ids[:4], k=3)
        for src, row in zip(data[1].item_ids[:4], ids, strict=True):
            assert src not in row.tolist()
        assert ids.shape == (4, 3)

    def test_score_equals_dot(self, fitted, data):
        u, i = data[1].user_ids[:5], data[1].item_ids[:5]
        want = (fitted.user_factors_[:5] * fitted.item_factors_[:5]).sum(axis=1)
        np.testing.assert_allclose(fitted.score(u, i), want, rtol=1e-5)

    def test_save_load_round_trip_and_tamper(self, fitted, data, tmp_path):
        path = fitted.save(tmp_path / "m")
        loaded = models.load(path)
        assert type(loaded) is type(fitted) and loaded.get_params() == fitted.get_params()
        users = data[1].user_ids
        a_ids, a_sc = fitted.recommend(users, k=6)
        b_ids, b_sc = loaded.recommend(users, k=6)
        assert (a_ids == b_ids).all() and np.array_equal(a_sc, b_sc)
        # flip one byte of an array: refused
        f = path / "item_factors.npy"
        raw = bytearray(f.read_bytes())
        raw[-1] ^= 0xFF
        f.write_bytes(bytes(raw))
        with pytest.raises(DataError, match="checksum mismatch"):
            models.load(path)
        (path / "manifest.json").write_text("{not json")
        with pytest.raises(DataError, match="manifest is not valid JSON"):
            models.load(path)

    def test_quality_floor_on_planted_groups(self, fitted, data):
        _, train, test = data
        pop = models.create("popularity").fit(train)
        report = evaluate({"m": fitted, "pop": pop}, train, test, k=[5], metrics=["ndcg"])
        assert report.mean("m", "ndcg", 5) >= report.mean("pop", "ndcg", 5) + self.margin

    def test_fold_in_for_new_users_beats_popularity(self, data):
        inter = data[0]
        new_users = inter.user_ids[::6]  # every 6th user is held out of training entirely
        rest = ~np.isin(inter.user_map.external(inter.user_idx), new_users)
        model = fit(self.make(), inter.subset(rest))
        rng = np.random.default_rng(0)
        hist, held = [], []
        for u in new_users:
            items = inter.item_map.external(inter.matrix[inter.user_map.indices([u])[0]].indices)
            rng.shuffle(items)
            cut = len(items) // 2
            hist.append(items[:cut])
            held.append(set(items[cut:].tolist()))
        ids, _ = model.recommend_for_history(hist, k=5)
        pop_ids, _ = model.recommend([999999], k=15, unknown="popular")

        def hits(rows, held_sets):
            return np.mean([len(set(r.tolist()) & h) for r, h in zip(rows, held_sets, strict=True)])

        pop_rows = [np.array([i for i in pop_ids[0] if i not in set(h.tolist())][:5]) for h in hist]
        assert not any(set(r.tolist()) & set(h.tolist()) for r, h in zip(ids, hist, strict=True))
        assert hits(ids, held) >= hits(pop_rows, held) + (0.5 if self.margin else 0.0)

    def test_deterministic_with_seed(self, data):
        a = fit(self.make(), data[1])
        b = fit(self.make(), data[1])
        assert np.array_equal(a.user_factors_, b.user_factors_)
        assert np.array_equal(a.item_factors_, b.item_factors_)


class TestALS(ModelContract):
    model_name = "als"
    params: ClassVar = {"factors": 8, "regularization": 1.0, "iterations": 10}


class TestBPR(ModelContract):
    model_name = "bpr"
    params: ClassVar = {"factors": 8, "learning_rate": 0.05, "iterations": 200}


class TestUniformBPR(ModelContract):
    model_name = "bpr-uniform"
    params: ClassVar = {"factors": 8, "learning_rate": 0.05, "epochs": 50}


class TestLightFM(ModelContract):
    model_name = "lightfm"
    params: ClassVar = {"no_components": 8, "epochs": 30, "learning_rate": 0.05}


class TestRandom(ModelContract):
    model_name = "random"
    margin = -1.0  # no skill: the floor itself

    def test_quality_floor_on_planted_groups(self, fitted, data):
        _, train, test = data
        pop = models.create("popularity").fit(train)
        report = evaluate({"r": fitted, "pop": pop}, train, test, k=[5], metrics=["ndcg"])
        assert report.mean("r", "ndcg", 5) < report.mean("pop", "ndcg", 5) + 0.1

    def test_fold_in_for_new_users_beats_popularity(self, data):
        model = fit(self.make(), data[1])
        ids, _ = model.recommend_for_history([data[1].item_ids[:3]], k=4)
        assert not set(ids[0].tolist()) & set(data[1].item_ids[:3].tolist())


class TestLightFMHybrid(ModelContract):
    model_name = "lightfm-hybrid"
    params: ClassVar = {"no_components": 8, "epochs": 30, "learning_rate": 0.05, "word2vec_dim": 8}


class TestTextKNN(ModelContract):
    model_name = "text-knn"
    params: ClassVar = {"word2vec_dim": 8}


class TestTextMapALS(ModelContract):
    model_name = "als-text-map"
    params: ClassVar = {"factors": 8, "regularization": 1.0, "iterations": 10, "word2vec_dim": 8}


class TestEASE(ModelContract):
    model_name = "ease"
    params: ClassVar = {"l2": 5.0}


class TestPopularity(ModelContract):
    model_name = "popularity"
    margin = 0.0  # it is the baseline itself

    def test_quality_floor_on_planted_groups(self, fitted, data):
        counts = np.bincount(data[1].matrix.indices, minlength=data[1].n_items)
        ids, _ = fitted.recommend([data[1].user_ids[0]], k=3, exclude_seen=False)
        assert ids[0].tolist() == data[1].item_ids[np.argsort(-counts, kind="stable")[:3]].tolist()


def test_every_registered_model_has_a_contract_subclass():
    covered = {cls.model_name for cls in ModelContract.__subclasses__()}
    assert covered == set(models.REGISTRY), (
        f"models without a contract test: {set(models.REGISTRY) - covered}"
    )


def test_registry_errors_list_what_is_allowed():
    with pytest.raises(
        ValueError, match=r"unknown model 'svd'; available: \['als', 'als-text-map', 'bpr'"
    ):
        models.create("svd")
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['factor'\]; allowed: \['alpha'"):
        models.create("als", factor=3)
    with pytest.raises(ValueError, match="factors must be int >= 1, got 0"):
        models.create("als", factors=0)
    with pytest.raises(
        ValueError,
        match=r"loss must be str one of \['warp', 'bpr', 'logistic', 'warp-kos'\], got 'hinge'",
    ):
        models.create("lightfm", loss="hinge")
    assert "regularization = 50.0" in models.describe("als")


def test_load_needs_neither_implicit_nor_lightfm(tmp_path):
    for name, params in (
        ("als", {"factors": 4, "iterations": 2}),
        ("lightfm", {"no_components": 4, "epochs": 2}),
        ("lightfm-hybrid", {"no_components": 4, "epochs": 2, "word2vec_dim": 4}),
    ):
        path = fit(models.create(name, **params), planted()).save(tmp_path / name)
        code = (
            "import sys; sys.modules['implicit'] = None; sys.modules['lightfm'] = None\n"
            "import recsys_embed.models as m\n"
            f"model = m.load({str(path)!r}); ids, _ = model.recommend([0], k=3); print(len(ids[0]))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent.parent,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "3"
