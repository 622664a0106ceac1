"""Train/test splits. Each returns ``(train, test)`` in the input's id space.

Invariants of every splitter: train and test share the input's ``IdMap`` objects; every input
interaction lands in exactly one of them (disjoint, union == input); a seed fixes the result.
Users or items that end up with no train interaction stay in the id maps with empty train rows
(columns); models give them whatever their cold-start behaviour is, and the evaluator still
counts such test users.

Per-group rounding: a group (user or item) with ``n`` interactions puts
``min(floor(n * f + 0.5), n - 1)`` of them in test: fractions round half up, and a group always
keeps at least one train interaction (so a group of one stays entirely in train).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from recsys_embed.config import DataConfig, SplitConfig
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.loaders import read_interactions
from recsys_embed.data.movielens import find_local, load_dataset, read_ratings_file, spec
from recsys_embed.errors import ConfigError, DataError

Split = tuple[Interactions, Interactions]


def _check_fraction(test_fraction: float) -> float:
    if not isinstance(test_fraction, (int, float)) or not 0.0 < float(test_fraction) < 1.0:
        raise ConfigError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    return float(test_fraction)


def _split(inter: Interactions, test_mask: np.ndarray) -> Split:
    return inter.subset(~test_mask), inter.subset(test_mask)


def per_group_test_count(counts: np.ndarray, test_fraction: float) -> np.ndarray:
    """Test interactions per group: round half up, keeping one in train."""
    wanted = np.floor(counts * test_fraction + 0.5).astype(np.int64)
    return np.minimum(wanted, np.maximum(counts - 1, 0))


def _last_in_group(group: np.ndarray, order_key: np.ndarray, n_test: np.ndarray) -> np.ndarray:
    """Mask of the ``n_test[g]`` entries of each group ``g`` with the largest ``order_key``."""
    order = np.lexsort((-order_key, group))  # within a group: largest key first
    g_sorted = group[order]
    starts = np.r_[0, np.flatnonzero(g_sorted[1:] != g_sorted[:-1]) + 1]
    group_start = np.empty(int(group.max()) + 1 if len(group) else 0, dtype=np.int64)
    group_start[g_sorted[starts]] = starts
    pos = np.arange(len(order)) - group_start[g_sorted]
    mask = np.zeros(len(group), dtype=bool)
    mask[order] = pos < n_test[g_sorted]
    return mask


def random_split(
    inter: Interactions,
    test_fraction: float = 0.25,
    stratify: Literal["user", "item"] | None = "user",
    seed: int = 42,
) -> Split:
    """Random holdout of interactions.

    ``stratify="user"`` (or ``"item"``) holds out the fraction within each user's (item's)
    interactions, rounded as in the module docstring; ``None`` holds out
    ``floor(nnz * f + 0.5)`` interactions drawn from the whole log.
    """
    f = _check_fraction(test_fraction)
    rng = np.random.default_rng(seed)
    rand = rng.random(inter.nnz)
    if stratify is None or stratify == "none":
        n_test = int(np.floor(inter.nnz * f + 0.5))
        mask = np.zeros(inter.nnz, dtype=bool)
        mask[np.argsort(rand, kind="stable")[:n_test]] = True
        return _split(inter, mask)
    if stratify not in ("user", "item"):
        raise ConfigError(f"stratify must be 'user', 'item' or None, got {stratify!r}")
    group = inter.user_idx if stratify == "user" else inter.item_idx
    counts = np.bincount(group, minlength=inter.n_users if stratify == "user" else inter.n_items)
    return _split(inter, _last_in_group(group, rand, per_group_test_count(counts, f)))


_P1, _P2, _P3, _P4, _P5 = (
    np.uint64(0x9E3779B185EBCA87),
    np.uint64(0xC2B2AE3D27D4EB4F),
    np.uint64(0x165667B19E3779F9),
    np.uint64(0x85EBCA77C2B2AE63),
    np.uint64(0x27D4EB2F165667C5),
)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def xxhash64_long(values: Any, seed: Any) -> np.ndarray:
    """xxHash64 of int64 values with per-value seeds, bit for bit Spark SQL's ``xxhash64``.

    Spark's ``xxhash64(a, b, c)`` of bigint columns is ``h(c, h(b, h(a, 42)))`` with this ``h``.
    """
    v = np.atleast_1d(np.asarray(values, dtype=np.int64)).view(np.uint64)
    h = np.atleast_1d(np.asarray(seed, dtype=np.int64)).view(np.uint64)
    with np.errstate(over="ignore"):
        h = h + _P5 + np.uint64(8)
        h = h ^ (_rotl(v * _P2, 31) * _P1)
        h = _rotl(h, 27) * _P1 + _P4
        h ^= h >> np.uint64(33)
        h *= _P2
        h ^= h >> np.uint64(29)
        h *= _P3
        h ^= h >> np.uint64(32)
    return h.view(np.int64)


def hash_uniform(seed: int, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """A uniform draw in [0, 1) per (user, item): ``(xxhash64(seed, user, item) >>> 11) / 2**53``.

    The Spark engine computes the same numbers with its built-in ``xxhash64`` (same bits).
    """
    h = xxhash64_long(np.int64(seed), np.int64(42))
    h = xxhash64_long(user_idx, h)
    h = xxhash64_long(item_idx, h)
    return (h.view(np.uint64) >> np.uint64(11)).astype(np.float64) / float(2**53)


def hash_split(inter: Interactions, test_fraction: float = 0.25, seed: int = 42) -> Split:
    """Seeded-hash random holdout: an interaction goes to test when its hash draw is below ``f``.

    The draw is :func:`hash_uniform` of (seed, user index, item index), so each interaction
    decides alone (no per-user rounding: a user may land wholly in test or in train) and the
    Spark engine reproduces the split exactly, partition by partition. Indices are those of the
    sorted id maps, so the same log (after the same filters) gives the same split.
    """
    f = _check_fraction(test_fraction)
    return _split(inter, hash_uniform(seed, inter.user_idx, inter.item_idx) < f)


def _require_times(inter: Interactions, what: str) -> np.ndarray:
    if inter.timestamps is None:
        raise DataError(f"{what} needs timestamps; load the interactions with time_col=")
    return inter.timestamps


def time_order_key(
    times: np.ndarray, user_idx: np.ndarray, item_idx: np.ndarray, seed: int
) -> np.ndarray:
    """A rank giving a total order by time; equal times ordered by :func:`hash_uniform` of
    (seed, user index, item index), then by item index.

    Each interaction's draw depends only on its own (seed, user, item), so the Spark engine
    orders ties identically (a window sorted by time, the same draw, item index).
    """
    draw = hash_uniform(seed, user_idx, item_idx)
    order = np.lexsort((item_idx, draw, times))
    rank = np.empty(len(times), dtype=np.int64)
    rank[order] = np.arange(len(times))
    return rank


def temporal_split(
    inter: Interactions,
    test_fraction: float | None = 0.25,
    n_last: int | None = None,
    seed: int = 42,
) -> Split:
    """Per-user temporal split: each user's latest interactions go to test.

    Give ``test_fraction`` (each user's latest share, rounded as in the module docstring) or
    ``n_last`` (each user's last ``n``, at most ``count - 1``). No test interaction is earlier
    than that user's train ones; equal timestamps are ordered by a seeded per-interaction hash
    draw (:func:`time_order_key`), so the same seed gives the same split on both engines.
    """
    times = _require_times(inter, "temporal_split")
    counts = np.diff(inter.matrix.indptr)
    if n_last is not None:
        if not isinstance(n_last, (int, np.integer)) or n_last < 1:
            raise ConfigError(f"n_last must be a positive int, got {n_last!r}")
        n_test = np.minimum(n_last, np.maximum(counts - 1, 0))
    else:
        n_test = per_group_test_count(counts, _check_fraction(test_fraction))  # type: ignore[arg-type]
    return _split(
        inter,
        _last_in_group(
            inter.user_idx, time_order_key(times, inter.user_idx, inter.item_idx, seed), n_test
        ),
    )


def leave_last_n(inter: Interactions, n: int = 1, seed: int = 42) -> Split:
    """Each user's last ``n`` interactions by time go to test (users keep at least one in train).

    Equal timestamps are ordered as in :func:`temporal_split` (a seeded per-interaction hash).
    """
    return temporal_split(inter, test_fraction=None, n_last=n, seed=seed)


def time_cutoff_split(
    inter: Interactions,
    cutoff: float | np.datetime64 | None = None,
    test_fraction: float | None = None,
) -> Split:
    """Global time split: interactions at or after ``cutoff`` go to test.

    With ``test_fraction`` instead, the cutoff is the timestamp quantile that puts about that
    share in test (every interaction at the cutoff time goes to test).
    """
    times = _require_times(inter, "time_cutoff_split")
    if (cutoff is None) == (test_fraction is None):
        raise ConfigError("give exactly one of cutoff= or test_fraction=")
    if cutoff is None:
        f = _check_fraction(test_fraction)  # type: ignore[arg-type]
        sorted_t = np.sort(times)
        cutoff = sorted_t[min(len(sorted_t) - 1, int(np.floor(len(sorted_t) * (1 - f) + 0.5)))]
    return _split(inter, times >= cutoff)


def cold_item_split(inter: Interactions, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Make a random ``floor(n_items * f + 0.5)`` of the items cold: all their interactions to test.

    Counts only items with at least one interaction. Cold items have empty train columns; rank
    test users among the cold items (``candidates=``) for the cold-start protocol.
    """
    f = _check_fraction(test_fraction)
    active = np.flatnonzero(np.bincount(inter.item_idx, minlength=inter.n_items) > 0)
    n_cold = int(np.floor(len(active) * f + 0.5))
    rng = np.random.default_rng(seed)
    cold = np.zeros(inter.n_items, dtype=bool)
    cold[rng.choice(active, size=n_cold, replace=False)] = True
    return _split(inter, cold[inter.item_idx])


def given_split(inter: Interactions, test_pairs: Interactions) -> Split:
    """A published split: the (user, item) pairs of ``test_pairs`` go to test, the rest to train.

    ``test_pairs`` is read on its own (any id space); every pair must be an interaction of
    ``inter`` (e.g. ``u.data`` with ``ua.test`` of MovieLens 100K), else :class:`DataError`.
    """
    where = test_pairs.source or "the test file"
    users = inter.user_map.indices(test_pairs.user_ids[test_pairs.user_idx], missing="mask")
    items = inter.item_map.indices(test_pairs.item_ids[test_pairs.item_idx], missing="mask")
    key = inter.user_idx * inter.n_items + inter.item_idx
    listed = users * inter.n_items + items
    found = np.isin(listed, key) & (users >= 0) & (items >= 0)
    if not found.all():
        first = int(np.flatnonzero(~found)[0])
        u = test_pairs.user_ids[test_pairs.user_idx[first]]
        i = test_pairs.item_ids[test_pairs.item_idx[first]]
        raise DataError(
            f"{where}: {int((~found).sum())} (user, item) pair(s) are not interactions of "
            f"{inter.source or 'the data'}, e.g. user {u!r} item {i!r}"
        )
    return _split(inter, np.isin(key, listed))


def cold_items(train: Interactions, test: Interactions) -> np.ndarray:
    """Indices of items that appear in ``test`` but have no train interaction."""
    in_train = np.bincount(train.item_idx, minlength=train.n_items) > 0
    in_test = np.bincount(test.item_idx, minlength=test.n_items) > 0
    return np.flatnonzero(in_test & ~in_train)


# ---- a split as a run config describes it ----------------------------------------------
def read_test_pairs(d: DataConfig, test: str) -> Interactions:
    """The test file of a ``given`` split: in the dataset's folder and layout, or like [data]."""
    if d.is_dataset:  # load_data has found (or fetched) the folder; no second read
        folder = find_local(spec(d.interactions), None) or load_dataset(d.interactions).path
        return read_ratings_file(d.interactions, folder / test)
    cols = (d.user_col or "", d.item_col or "", d.weight_col, d.time_col)
    return read_interactions(test, *cols, sep=d.sep, has_header=d.has_header)


def make_split(
    inter: Interactions, s: SplitConfig, data: DataConfig | None = None
) -> tuple[Interactions, Interactions, np.ndarray | None]:
    """``(train, test, candidates)``; candidates are the cold item ids for ``cold_items``."""
    if s.method == "given":
        if data is None or s.test is None:
            raise ConfigError("a 'given' split needs the [data] table and a test file")
        return (*given_split(inter, read_test_pairs(data, s.test)), None)
    if s.method == "random":
        train, test = random_split(inter, s.test_fraction, s.stratify, s.seed)
    elif s.method == "hash":
        train, test = hash_split(inter, s.test_fraction, s.seed)
    elif s.method == "temporal":
        train, test = temporal_split(inter, s.test_fraction, seed=s.seed)
    elif s.method == "leave_last":
        train, test = leave_last_n(inter, s.n_last, seed=s.seed)
    else:
        train, test = cold_item_split(inter, s.test_fraction, s.seed)
        return train, test, train.item_map.external(cold_items(train, test))
    return train, test, None
