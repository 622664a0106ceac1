"""Retrieval as a choice (exact or approximate) and business rules, against brute force."""

from __future__ import annotations

import json
import sys

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

import recsys_embed as rse
from recsys_embed import IdMap, models
from recsys_embed.batch import write_recommendations
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.models import ann
from recsys_embed.models.ann import AnnRetrieval, AnnSettings
from recsys_embed.models.registry import load

pytest.importorskip("faiss")

N_USERS, N_ITEMS, DIM, K = 300, 3000, 16, 10
WIDE = AnnSettings(ef_search=256, overfetch=64)  # a planted catalogue this size: exact agreement


def planted_model(seed: int = 0, string_ids: bool = False) -> models.ALS:
    """Items in 30 tight, well separated clusters with spread norms; each user near one cluster;
    every user has seen 20 items (several of their own cluster)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((30, DIM)).astype(np.float32)
    cluster = rng.integers(0, 30, N_ITEMS)
    items = centres[cluster] + 0.05 * rng.standard_normal((N_ITEMS, DIM)).astype(np.float32)
    items *= rng.uniform(0.5, 2.0, (N_ITEMS, 1)).astype(np.float32)
    users = centres[rng.integers(0, 30, N_USERS)] + 0.05 * rng.standard_normal((N_USERS, DIM))
    rows = np.repeat(np.arange(N_USERS), 20)
    cols = rng.integers(0, N_ITEMS, len(rows))
    seen = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), (N_USERS, N_ITEMS))
    seen.sum_duplicates()
    item_ids = np.arange(N_ITEMS) + 1000
    if string_ids:
        item_ids = np.array([f"i{i}" for i in item_ids], dtype=object)
    model = models.ALS(factors=DIM)
    model.set_factors(
        IdMap(np.arange(N_USERS), "user"),
        IdMap(item_ids),
        seen,
        users.astype(np.float32),
        items.astype(np.float32),
    )
    return model


@pytest.fixture(scope="module")
def model() -> models.ALS:
    return planted_model()


def brute_force(model, users, k=K, eligible=None, exclude_items=(), pairs=()):
    """Top-k by explicit loops over every item: the rules as written in the issue."""
    ids = model.item_map_.ids
    scores = model.user_factors_ @ model.item_factors_.T
    out = []
    for u in users:
        row = model.user_map_.indices([u])[0]
        seen = set(model.seen_[row].indices.tolist())
        banned = {model.item_map_.indices([i])[0] for uu, i in pairs if uu == u}
        allowed = [
            j
            for j in range(len(ids))
            if j not in seen
            and ids[j] not in set(exclude_items)
            and j not in banned
            and (eligible is None or ids[j] in set(eligible))
        ]
        allowed.sort(key=lambda j: (-scores[row, j], j))
        out.append([ids[j] for j in allowed[:k]])
    return out


def as_lists(item_ids):
    return [[i for i in row if i != -1 and i is not None] for row in item_ids]


def test_planted_catalogue_ann_agrees_with_exact(model):
    users = model.user_map_.ids
    exact_ids, exact_scores = model.recommend(users, K)
    ann_ids, ann_scores = model.recommend(users, K, retrieval=WIDE)
    np.testing.assert_array_equal(ann_ids, exact_ids)
    np.testing.assert_allclose(ann_scores, exact_scores, rtol=1e-5, atol=1e-5)
    same = [
        np.array_equal(a[1], b[1])
        for a, b in zip(model.recommend_all(K), model.recommend_all(K, retrieval=WIDE), strict=True)
    ]
    assert all(same)
    sim_exact = model.similar_items(model.item_map_.ids[:50], K)[0]
    sim_ann = model.similar_items(model.item_map_.ids[:50], K, retrieval=WIDE)[0]
    np.testing.assert_array_equal(sim_ann, sim_exact)
    hist = [model.item_map_.ids[:5].tolist(), model.item_map_.ids[100:103].tolist()]
    np.testing.assert_array_equal(
        model.recommend_for_history(hist, K, retrieval=WIDE)[0],
        model.recommend_for_history(hist, K)[0],
    )


def test_ties_follow_the_lower_index_rule():
    """Every item scores the same: both backends return the lowest unseen indices."""
    m = models.ALS(factors=4)
    n = 500
    item = np.tile(np.array([[1.0, 0, 0, 0]], np.float32), (n, 1))
    item[:, 1] = np.linspace(0, 1e-9, n)  # a width the index needs, no effect on float32 ties
    seen = sp.csr_matrix(([1.0, 1.0], ([0, 0], [0, 3])), shape=(2, n))
    m.set_factors(
        IdMap(np.arange(2), "user"),
        IdMap(np.arange(n)),
        seen,
        np.array([[1, 0, 0, 0], [2, 0, 0, 0]], np.float32),
        item,
    )
    exact = m.recommend([0, 1], 5)[0]
    assert exact[0].tolist() == [1, 2, 4, 5, 6]
    np.testing.assert_array_equal(m.recommend([0, 1], 5, retrieval="ann")[0], exact)


@pytest.mark.parametrize("retrieval", ["exact", WIDE])
def test_rules_match_brute_force(model, retrieval):
    rng = np.random.default_rng(1)
    ids = model.item_map_.ids
    users = model.user_map_.ids[:40]
    eligible = rng.choice(ids, 1500, replace=False).tolist()
    exclude_items = rng.choice(ids, 200, replace=False).tolist()
    top = model.recommend(users, K)[0]
    pairs = [(int(u), int(i)) for u, row in zip(users, top, strict=True) for i in row[:3]]
    got = model.recommend(
        users,
        K,
        retrieval=retrieval,
        eligible=eligible,
        exclude_items=exclude_items,
        exclude_pairs=pl.DataFrame(
            {"user_id": [p[0] for p in pairs], "item_id": [p[1] for p in pairs]}
        ),
    )[0]
    want = brute_force(model, users, K, eligible, exclude_items, pairs)
    assert as_lists(got) == want
    flat = set(got.ravel().tolist())
    assert not flat & set(exclude_items)
    assert not {(int(u), int(i)) for u, row in zip(users, got, strict=True) for i in row} & set(
        pairs
    )


def test_rules_on_recommend_all_and_batch(model, tmp_path):
    ids = model.item_map_.ids
    exclude_items = ids[::7].tolist()
    pairs = {int(u): [int(ids[u])] for u in model.user_map_.ids}  # each user one item
    want = brute_force(
        model, model.user_map_.ids, K, None, exclude_items, [(u, i[0]) for u, i in pairs.items()]
    )
    for retrieval in ("exact", WIDE):
        got = []
        for _, items, _ in model.recommend_all(
            K, 64, retrieval=retrieval, exclude_items=exclude_items, exclude_pairs=pairs
        ):
            got += as_lists(items)
        assert got == want
        out = tmp_path / f"recs_{retrieval == 'exact'}.parquet"
        write_recommendations(
            model,
            out,
            K,
            chunk_size=50,
            retrieval=retrieval,
            exclude_items=exclude_items,
            exclude_pairs=pairs,
        )
        frame = pl.read_parquet(out).sort(["user_id", "rank"])
        written = frame.group_by("user_id", maintain_order=True).agg("item_id")["item_id"]
        assert [list(r) for r in written] == want
        users = [*model.user_map_.ids[:30].tolist(), -5]  # one unknown user: popular items
        write_recommendations(
            model,
            out,
            K,
            users=users,
            unknown="popular",
            retrieval=retrieval,
            exclude_items=exclude_items,
            exclude_pairs={-5: [int(ids[0])], **pairs},
        )
        frame = pl.read_parquet(out)
        unknown_user = frame.filter(pl.col("user_id") == -5)["item_id"].to_list()
        assert len(unknown_user) == K and int(ids[0]) not in unknown_user
        assert not set(frame["item_id"].to_list()) & set(exclude_items)


def test_filtering_that_empties_the_search_widens(model):
    """A user whose 400 best items are excluded (far more than the first fetch) still gets k
    items, none excluded; eligible sets small and mid-size give the brute-force lists."""
    user = model.user_map_.ids[:1]
    ranked = model.recommend(user, 400, retrieval="exact")[0][0]
    pairs = [(int(user[0]), int(i)) for i in ranked]
    settings = AnnSettings(ef_search=16, overfetch=0)
    got = model.recommend(user, K, retrieval=settings, exclude_pairs=pairs)[0][0]
    assert len(set(got.tolist()) - {-1}) == K and not set(got.tolist()) & set(ranked.tolist())
    ids = model.item_map_.ids
    small = ids[:100].tolist()  # under 1/20 of the catalogue: ranked exactly
    got = model.recommend(user, K, retrieval=settings, eligible=small)[0]
    assert as_lists(got) == brute_force(model, user, K, eligible=small)
    mid = ids[::10].tolist()  # 1/10: a filtered graph search; all but 5 of them excluded
    rest = [(int(user[0]), int(i)) for i in mid[5:]]
    got_ids, got_scores = model.recommend(
        user, K, retrieval=settings, eligible=mid, exclude_pairs=rest
    )
    assert as_lists(got_ids) == brute_force(model, user, K, eligible=mid, pairs=rest)
    assert len(as_lists(got_ids)[0]) == 5 and np.isneginf(got_scores[0][5:]).all()


def test_rows_the_index_cannot_fill_fall_back_to_exact(model, monkeypatch):
    """Whatever the index misses, a row with k eligible items gets the exact top k."""

    def finds_nothing(self, vectors, k, fetch, exclude, candidates):
        rows = vectors.shape[0]
        none = np.zeros(rows, dtype=bool)
        return np.full((rows, k), -1), np.full((rows, k), -np.inf, np.float32), none

    monkeypatch.setattr(AnnRetrieval, "ranked", finds_nothing)
    users = model.user_map_.ids[:20]
    got = model.recommend(users, K, retrieval="ann", exclude_items=model.item_map_.ids[:50])
    want = model.recommend(users, K, exclude_items=model.item_map_.ids[:50])
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_save_load_keeps_the_index_and_refuses_a_tampered_one(model, tmp_path, monkeypatch):
    fresh = planted_model(seed=0)
    before = fresh.recommend(fresh.user_map_.ids, K, retrieval=WIDE)
    path = fresh.save(tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "recsys_embed.model/2"
    assert manifest["ann"]["m"] == WIDE.m and "ann_index" in manifest["arrays"]

    def no_build(*args):
        raise AssertionError("the saved index should be read back, not rebuilt")

    monkeypatch.setattr("recsys_embed.models.vectors.build_index", no_build)
    loaded = load(path)
    after = loaded.recommend(loaded.user_map_.ids, K, retrieval=WIDE)
    np.testing.assert_array_equal(after[0], before[0])
    monkeypatch.undo()
    data = bytearray((path / "ann_index.npy").read_bytes())
    data[-100] ^= 1
    (path / "ann_index.npy").write_bytes(bytes(data))
    with pytest.raises(DataError, match="ann_index.npy checksum mismatch"):
        load(path)


def test_a_model_saved_without_an_index_loads_and_serves(tmp_path):
    m = planted_model(seed=2, string_ids=True)
    path = m.save(tmp_path / "old")
    manifest = json.loads((path / "manifest.json").read_text())
    assert "ann" not in manifest and "ann_index" not in manifest["arrays"]
    manifest["format"] = "recsys_embed.model/1"  # as written before the index existed
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "manifest.sha256").unlink()  # nor its own checksum, written since
    loaded = load(path)
    users = loaded.user_map_.ids
    np.testing.assert_array_equal(loaded.recommend(users, K)[0], m.recommend(users, K)[0])
    np.testing.assert_array_equal(
        loaded.recommend(users, K, retrieval=WIDE)[0], m.recommend(users, K)[0]
    )


def test_a_manifest_ann_entry_must_match_its_array(tmp_path):
    m = planted_model(seed=3)
    m.recommend([0], K, retrieval="ann")
    path = m.save(tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["ann"]["m"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="manifest 'ann' must describe array ann_index"):
        load(path)


def test_new_item_vectors_rebuild_the_index(model):
    core = planted_model(seed=4).vectors_
    settings = AnnSettings(m=16)
    core.ann_index(settings)
    grown = core.with_items(np.array([-1, -2]), np.ones((2, DIM), np.float32) * 10)
    key, index = grown.indexes["items"]
    assert key == settings.build_key() and index.ntotal == N_ITEMS + 2
    top = grown.recommend([0], 2, retrieval=settings)[0][0]
    assert sorted(top.tolist()) == sorted(grown.recommend([0], 2)[0][0].tolist())


def test_index_build_is_deterministic():
    a = ann.index_to_array(ann.build_index(planted_model(5).item_factors_, AnnSettings()))
    b = ann.index_to_array(ann.build_index(planted_model(5).item_factors_, AnnSettings()))
    assert np.array_equal(a, b)


def test_ease_refuses_ann_with_the_reason():
    inter = rse.Interactions.from_frame(
        pl.DataFrame({"user": [0, 0, 1, 1, 2], "item": [0, 1, 1, 2, 0]}), "user", "item"
    )
    ease = models.EASE().fit(inter)
    with pytest.raises(ConfigError, match="narrower than the catalogue.*EASE"):
        ease.recommend([0], 2, retrieval="ann")


def test_missing_library_names_the_extra(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    fresh = planted_model(seed=6)
    with pytest.raises(ConfigError, match=r'pip install "recsys-embed\[ann\]"'):
        fresh.recommend([0], K, retrieval="ann")


def test_bad_settings_and_choice_are_refused(model):
    with pytest.raises(ConfigError, match="retrieval must be 'exact', 'ann'"):
        model.recommend([0], K, retrieval="fast")
    with pytest.raises(ConfigError, match="ann ef_search must be an int >= 1, got 0"):
        AnnSettings(ef_search=0)


def test_evaluate_with_ann_keeps_auc_exact(model):
    rng = np.random.default_rng(7)
    users = np.repeat(np.arange(N_USERS), 30)
    items = rng.integers(0, N_ITEMS, len(users))
    inter = rse.Interactions.from_frame(
        pl.DataFrame({"user": users, "item": items + 1000}).unique(), "user", "item"
    )
    train, test = rse.split.random_split(inter, 0.25, seed=0)
    fitted = models.ALS(factors=8, random_state=0).fit(train, show_progress=False)
    exact = rse.evaluate(
        {"m": fitted}, train, test, k=[10], metrics=["ndcg", "auc"], show_progress=False
    )
    approx = rse.evaluate(
        {"m": fitted},
        train,
        test,
        k=[10],
        metrics=["ndcg", "auc"],
        retrieval=WIDE,
        show_progress=False,
    )
    assert approx.mean("m", "auc", 10) == exact.mean("m", "auc", 10)
    assert abs(approx.mean("m", "ndcg", 10) - exact.mean("m", "ndcg", 10)) < 0.002
    assert "AUC from exact scores" in approx.conventions["retrieval"]
    assert "retrieval" not in exact.conventions


def test_retrieval_config_table(tmp_path):
    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY

    path = tmp_path / "run.toml"
    path.write_text(
        '[data]\ninteractions = "movielens-latest-small"\n[models.als]\ntype = "als"\n'
        '[retrieval]\nmethod = "ann"\nef_search = 256\n'
    )
    config = load_config(path, VOCABULARY)
    assert ann.choice_of(config.retrieval) == AnnSettings(ef_search=256)
    path.write_text(
        '[data]\ninteractions = "movielens-latest-small"\n[models.als]\ntype = "als"\n[retrieval]\nef = 3\n'
    )
    with pytest.raises(ConfigError, match=r"\[retrieval\] has unknown key\(s\) \['ef'\]"):
        load_config(path, VOCABULARY)
    path.write_text('[data]\ninteractions = "movielens-latest-small"\n[models.als]\ntype = "als"\n')
    assert ann.choice_of(load_config(path, VOCABULARY).retrieval) == "exact"


def test_config_defaults_are_the_library_defaults():
    from dataclasses import asdict

    from recsys_embed.config import RetrievalConfig

    config = asdict(RetrievalConfig())
    assert config.pop("method") == "exact"
    assert config == asdict(AnnSettings())
