import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys_embed as rse
from recsys_embed import ConfigError, DataError
from recsys_embed.data.splits import cold_items
from tests.conftest import requires_ml100k, triplets

S = rse.split


def random_log(seed: int, n_users=40, n_items=30, n=600) -> rse.Interactions:
    rng = np.random.default_rng(seed)
    df = pl.DataFrame(
        {
            "u": rng.integers(0, n_users, n),
            "i": rng.integers(0, n_items, n),
            "t": rng.integers(0, 50, n),  # many ties on purpose
        }
    )
    return rse.Interactions.from_frame(df, "u", "i", time_col="t")


SPLITTERS = {
    "random_user": lambda x, s: S.random_split(x, 0.3, "user", s),
    "random_item": lambda x, s: S.random_split(x, 0.3, "item", s),
    "random_none": lambda x, s: S.random_split(x, 0.3, None, s),
    "temporal": lambda x, s: S.temporal_split(x, 0.3, seed=s),
    "leave_last": lambda x, s: S.leave_last_n(x, 2, seed=s),
    "cutoff": lambda x, s: S.time_cutoff_split(x, test_fraction=0.3),
    "cold_items": lambda x, s: S.cold_item_split(x, 0.3, s),
}


def assert_partition(inter, train, test):
    assert train.user_map is inter.user_map and test.item_map is inter.item_map
    a, b = triplets(train), triplets(test)
    assert not (a & b)
    assert a | b == triplets(inter)
    assert train.nnz + test.nnz == inter.nnz


@pytest.mark.parametrize("name", SPLITTERS)
def test_partition_and_reproducible(name):
    inter = random_log(1)
    train, test = SPLITTERS[name](inter, 7)
    assert_partition(inter, train, test)
    _train2, test2 = SPLITTERS[name](inter, 7)
    assert triplets(test) == triplets(test2)
    assert test.nnz > 0 and train.nnz > 0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(sorted(SPLITTERS)), st.integers(1, 80))
def test_invariants_on_random_logs(seed, name, n):
    inter = random_log(seed, n_users=7, n_items=9, n=n)
    train, test = SPLITTERS[name](inter, seed)
    assert_partition(inter, train, test)


def per_user(inter, x):
    return np.bincount(x.user_idx, minlength=inter.n_users)


def test_random_user_stratified_fractions():
    inter = random_log(2)
    _train, test = S.random_split(inter, 0.25, "user", 0)
    n = per_user(inter, inter)
    want = np.minimum(np.floor(n * 0.25 + 0.5), np.maximum(n - 1, 0))
    assert per_user(inter, test).tolist() == want.astype(int).tolist()


def test_random_item_stratified_fractions():
    inter = random_log(3)
    _train, test = S.random_split(inter, 0.25, "item", 0)
    n = np.bincount(inter.item_idx, minlength=inter.n_items)
    got = np.bincount(test.item_idx, minlength=inter.n_items)
    assert got.tolist() == np.minimum(np.floor(n * 0.25 + 0.5), n - 1).astype(int).tolist()


def test_random_unstratified_count_and_seed_changes_result():
    inter = random_log(4)
    _, t1 = S.random_split(inter, 0.25, None, 0)
    _, t2 = S.random_split(inter, 0.25, None, 1)
    assert t1.nnz == int(np.floor(inter.nnz * 0.25 + 0.5))
    assert triplets(t1) != triplets(t2)


def test_small_groups_keep_one_train_interaction():
    df = pl.DataFrame({"u": [1, 2, 2], "i": [1, 1, 2]})
    train, test = S.random_split(rse.Interactions.from_frame(df, "u", "i"), 0.5, "user", 0)
    assert per_user(train, train).tolist() == [1, 1] and test.nnz == 1


def test_temporal_order_per_user():
    inter = random_log(5)
    for train, test in (S.temporal_split(inter, 0.3), S.leave_last_n(inter, 3)):
        for u in range(inter.n_users):
            tr = train.timestamps[train.user_idx == u]
            te = test.timestamps[test.user_idx == u]
            if len(te):
                assert len(tr) >= 1 and te.min() >= tr.max()


def test_leave_last_n_counts():
    inter = random_log(6)
    _, test = S.leave_last_n(inter, 2)
    n = per_user(inter, inter)
    assert per_user(inter, test).tolist() == np.minimum(2, n - 1).tolist()


def test_time_cutoff():
    inter = random_log(7)
    train, test = S.time_cutoff_split(inter, cutoff=30)
    assert train.timestamps.max() < 30 <= test.timestamps.min()
    with pytest.raises(ConfigError, match="exactly one"):
        S.time_cutoff_split(inter)


def test_cold_items_absent_from_train():
    inter = random_log(8)
    train, test = S.cold_item_split(inter, 0.2, 0)
    cold = cold_items(train, test)
    active = np.unique(inter.item_idx)
    assert len(cold) == int(np.floor(len(active) * 0.2 + 0.5))
    assert set(np.unique(test.item_idx)) == set(cold)
    assert not np.isin(train.item_idx, cold).any()


def test_errors():
    inter = random_log(9)
    with pytest.raises(ConfigError, match=r"test_fraction must be a number in \(0, 1\), got 1.5"):
        S.random_split(inter, 1.5)
    with pytest.raises(ConfigError, match="stratify must be"):
        S.random_split(inter, 0.2, "session")
    untimed = rse.Interactions.from_frame(pl.DataFrame({"u": [1], "i": [1]}), "u", "i")
    with pytest.raises(DataError, match="temporal_split needs timestamps"):
        S.temporal_split(untimed)


def test_given_split_moves_the_listed_pairs_to_test():
    inter = rse.Interactions.from_frame(
        pl.DataFrame({"u": ["a", "a", "b", "b", "c"], "i": [1, 2, 1, 3, 2]}), "u", "i"
    )
    listed = rse.Interactions.from_frame(pl.DataFrame({"u": ["b", "a"], "i": [3, 1]}), "u", "i")
    train, test = rse.split.given_split(inter, listed)
    assert triplets(test) == {("a", 1, 1.0, 0.0), ("b", 3, 1.0, 0.0)}
    assert triplets(train) == {("a", 2, 1.0, 0.0), ("b", 1, 1.0, 0.0), ("c", 2, 1.0, 0.0)}
    assert train.user_map is inter.user_map and test.item_map is inter.item_map
    stray = rse.Interactions.from_frame(
        pl.DataFrame({"u": ["a", "z"], "i": [3, 1]}), "u", "i", source="t.test"
    )
    with pytest.raises(DataError, match=r"t.test: 2 \(user, item\) pair\(s\) are not interactions"):
        rse.split.given_split(inter, stray)


@requires_ml100k
def test_ml100k_ua_split_is_ua_base(ml100k):
    from recsys_embed.data.movielens import read_ratings_file

    ua_test = read_ratings_file("movielens-100k", ml100k.path / "ua.test")
    ua_base = read_ratings_file("movielens-100k", ml100k.path / "ua.base")
    train, test = rse.split.given_split(ml100k.interactions, ua_test)
    assert test.nnz == 9430 and train.nnz == 90570
    assert np.all(np.diff(test.matrix.indptr) == 10)  # ua.test: ten ratings per user
    assert triplets(train) == triplets(ua_base)


def _tied_log() -> rse.Interactions:
    # user 10: one early item, then six items at the same time; user 20: distinct times
    return rse.Interactions.from_frame(
        pl.DataFrame(
            {
                "u": [10] * 7 + [20] * 4,
                "i": [1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4],
                "t": [0, 5, 5, 5, 5, 5, 5, 1, 4, 3, 2],
            }
        ),
        "u",
        "i",
        time_col="t",
    )


def _test_items(test: rse.Interactions, user: int) -> set[int]:
    rows = test.user_idx == test.user_map.indices(np.array([user]))[0]
    return set(test.item_ids[test.item_idx[rows]].tolist())


def test_temporal_ties_broken_by_the_seeded_pair_hash():
    inter = _tied_log()
    u10 = int(inter.user_map.indices(np.array([10]))[0])
    tied = inter.item_map.indices(np.array([2, 3, 4, 5, 6, 7]))
    tests = {}
    for seed in range(6):
        _, test = S.leave_last_n(inter, 2, seed=seed)
        draw = S.hash_uniform(seed, np.full(len(tied), u10), tied)
        want = set(inter.item_ids[tied[np.argsort(-draw)[:2]]].tolist())
        assert _test_items(test, 10) == want  # the two largest draws among the tied items
        assert _test_items(test, 20) == {2, 3}  # no ties: the seed does not matter
        again = S.leave_last_n(inter, 2, seed=seed)[1]
        assert triplets(again) == triplets(test)
        tests[seed] = frozenset(want)
    assert len(set(tests.values())) > 1  # other seeds order the ties differently
    # temporal: 7 rows x 0.5 -> floor(4.0) = 4 in test, all among the tied ones
    _, test = S.temporal_split(inter, 0.5, seed=3)
    draw = S.hash_uniform(3, np.full(len(tied), u10), tied)
    assert _test_items(test, 10) == set(inter.item_ids[tied[np.argsort(-draw)[:4]]].tolist())
    assert _test_items(test, 20) == {2, 3}  # 4 x 0.5 = 2: the two latest
