"""The model contract: one battery of tests that every model must pass, for your own too.

It needs pytest (``pip install pytest``). Subclass :class:`ModelContract` in a test module::

    from recsys_embed.testing import ModelContract

    class TestMyALS(ModelContract):
        model_name = "als"
        params = {"factors": 8, "regularization": 1.0}

The battery: fit returns self, refit starts fresh, external ids in and out, seen items never
recommended, restriction to candidate items, padding, unknown users, save/load round trip and
tamper detection, frames out, fold-in for new users, determinism with a seed, and a quality
floor on planted groups of users and items (:func:`planted`) where the right answer is known.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl

try:
    import pytest
except ImportError:  # pragma: no cover - pytest is a dev dependency
    raise ImportError("recsys_embed.testing runs under pytest: pip install pytest") from None

from recsys_embed.data import splits
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError, DataError, NotFittedError, UnknownIdError
from recsys_embed.evaluate import evaluate
from recsys_embed.models.base import Recommender
from recsys_embed.models.popularity import Popularity

__all__ = ["GROUP_WORDS", "ModelContract", "fit", "planted", "planted_text"]


def planted(
    n_groups: int = 3,
    users_per: int = 20,
    items_per: int = 10,
    density: float = 0.6,
    seed: int = 0,
    str_ids: bool = False,
) -> Interactions:
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
    return Interactions.from_frame(df, "u", "i")


GROUP_WORDS = [
    "space alien robot galaxy",
    "love romance wedding paris",
    "murder detective crime police",
]


def planted_text(inter: Interactions, items_per: int = 10) -> dict[Any, str]:
    """Item text that matches the planted groups: each group's items share its words."""
    texts = {}
    for item in inter.item_ids.tolist():
        k = int(str(item).split("-")[-1])
        texts[item] = f"{GROUP_WORDS[(k // items_per) % len(GROUP_WORDS)]} item{k} (1999)"
    return texts


def fit(model: Recommender, inter: Interactions) -> Recommender:
    """Fit with the planted item text (the text models read it, the others ignore it)."""
    return model.fit(inter, planted_text(inter), show_progress=False)


class ModelContract:
    """The battery every model passes. Subclass it in a test file (its name must start with
    ``Test`` for pytest to collect it) and set ``model_name`` and ``params``, or override
    :meth:`make` for a model of your own (then ``model_name`` is only a label)::

        class TestMyModel(ModelContract):
            model_name = "my-model"

            def make(self):
                return MyModel(factors=8)

    ``margin``: how far above popularity the model must score on the planted groups.
    """

    model_name: ClassVar[str]
    params: ClassVar[dict[str, Any]] = {}
    margin: ClassVar[float] = 0.15

    def make(self) -> Recommender:
        from recsys_embed import models

        return models.create(self.model_name, **self.params)

    def load(self, path: Any) -> Recommender:
        """``models.load`` for registered models; the class's own reader for yours."""
        from recsys_embed.models import persist, registry

        model = self.make()
        if registry.REGISTRY.get(model.name) is type(model):
            return registry.load(path)
        return type(model).from_arrays(*persist.read_model_dir(path))

    @pytest.fixture(scope="class")
    @classmethod
    def data(cls):
        inter = planted()
        return (inter, *splits.random_split(inter, 0.3, "user", 1))

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, data):
        return fit(cls().make(), data[1])

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
        loaded = self.load(path)
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
            self.load(path)
        (path / "manifest.json").write_text("{not json")
        with pytest.raises(DataError, match="manifest is not valid JSON"):
            self.load(path)

    def test_quality_floor_on_planted_groups(self, fitted, data):
        _, train, test = data
        pop = Popularity().fit(train)
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

    def test_is_fitted_clone_and_set_params(self, data):
        model = self.make()
        assert not model.is_fitted
        fit(model, data[1])
        assert model.is_fitted
        twin = model.clone()
        assert type(twin) is type(model) and twin.get_params() == model.get_params()
        assert not twin.is_fitted
        with pytest.raises(ConfigError, match=r"has no parameter\(s\) \['no_such_param'\]"):
            model.set_params(no_such_param=1)
        assert model.set_params(**model.get_params()) is model and model.is_fitted

    def test_frames_out_match_the_arrays(self, fitted, data):
        users = data[1].user_ids[:4]
        ids, scores = fitted.recommend(users, k=3)
        frame = fitted.recommend(users, k=3, output="polars")
        assert frame.columns == ["user_id", "rank", "item_id", "score"]
        finite = np.isfinite(scores)
        assert frame.height == int(finite.sum())
        assert frame["item_id"].to_list() == ids[finite].tolist()
        assert frame["rank"].to_list()[:3] == [1, 2, 3][: int(finite[0].sum())]
        pdf = fitted.recommend(users, k=3, output="pandas")
        assert list(pdf.columns) == frame.columns and len(pdf) == frame.height
        sim = fitted.similar_items(data[1].item_ids[:2], k=2, output="polars")
        assert sim.columns == ["item_id", "rank", "similar_item_id", "score"]
        hist = {"new-a": data[1].item_ids[:3], "new-b": data[1].item_ids[3:6]}
        new = fitted.recommend_for_history(hist, k=2, output="polars")
        assert set(new["user_id"].to_list()) <= {"new-a", "new-b"}

    def test_deterministic_with_seed(self, data):
        a = fit(self.make(), data[1])
        b = fit(self.make(), data[1])
        assert np.array_equal(a.user_factors_, b.user_factors_)
        assert np.array_equal(a.item_factors_, b.item_factors_)
