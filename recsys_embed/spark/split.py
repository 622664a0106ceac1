"""Splits on Spark that give exactly the local train/test sets.

``hash`` (the seeded-hash random split, :func:`recsys_embed.data.splits.hash_split`), ``given``
(a published test file) and a time cutoff are computed per row; ``temporal`` and ``leave_last``
order each user's rows in a window by time, then the same seeded hash draw the local engine
breaks ties with (:func:`recsys_embed.data.splits.time_order_key`), then item index. All equal the
local ones. The local ``random`` and ``cold_items`` splits draw from numpy's generator over the
whole log, which Spark cannot reproduce: they are refused with the reason.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from recsys_embed.config import DataConfig, SplitConfig
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.spark.data import SparkInteractions

SparkSplit = tuple[SparkInteractions, SparkInteractions]
SPARK_SPLITS = ("hash", "given", "temporal", "leave_last", "time_cutoff")


def hash_draw(seed: int) -> Column:
    """The uniform draw of :func:`recsys_embed.data.splits.hash_uniform`, bit for bit."""
    h = F.xxhash64(
        F.lit(int(seed)).cast("bigint"),
        F.col("user_idx").cast("bigint"),
        F.col("item_idx").cast("bigint"),
    )
    return F.shiftrightunsigned(h, 11).cast("double") / float(2**53)


def _check_fraction(test_fraction: float | None) -> float:
    if not isinstance(test_fraction, (int, float)) or not 0.0 < float(test_fraction) < 1.0:
        raise ConfigError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")
    return float(test_fraction)


def _split(si: SparkInteractions, is_test: Column) -> SparkSplit:
    marked = si.frame.withColumn("_test", is_test).cache()
    return (
        si.subset(marked.filter(~F.col("_test")).drop("_test")),
        si.subset(marked.filter(F.col("_test")).drop("_test")),
    )


def hash_split(si: SparkInteractions, test_fraction: float = 0.25, seed: int = 42) -> SparkSplit:
    return _split(si, hash_draw(seed) < _check_fraction(test_fraction))


def temporal_split(
    si: SparkInteractions,
    test_fraction: float | None = 0.25,
    n_last: int | None = None,
    seed: int = 42,
) -> SparkSplit:
    """Each user's latest rows to test, exactly as :func:`recsys_embed.data.splits.temporal_split`.

    ``test_fraction`` puts ``min(floor(n * f + 0.5), n - 1)`` of a user's ``n`` rows in test;
    ``n_last`` puts ``min(n_last, n - 1)``. Latest means by timestamp, then the seeded hash draw,
    then item index (the local tie order).
    """
    if not si.has_time:
        raise DataError(f"{si.source}: temporal_split needs timestamps; load with time_col=")
    n = F.count(F.lit(1)).over(Window.partitionBy("user_idx"))
    if n_last is not None:
        if not isinstance(n_last, int) or isinstance(n_last, bool) or n_last < 1:
            raise ConfigError(f"n_last must be a positive int, got {n_last!r}")
        n_test = F.least(F.lit(n_last).cast("bigint"), n - 1)
    else:
        f = _check_fraction(test_fraction)
        n_test = F.least(F.floor(n.cast("double") * F.lit(f) + F.lit(0.5)), n - 1)
    latest_first = Window.partitionBy("user_idx").orderBy(
        F.col("timestamp").desc(), hash_draw(seed).desc(), F.col("item_idx").desc()
    )
    return _split(si, F.row_number().over(latest_first) <= n_test)


def leave_last_n(si: SparkInteractions, n: int = 1, seed: int = 42) -> SparkSplit:
    """Each user's last ``n`` rows by time to test (at least one kept in train)."""
    return temporal_split(si, test_fraction=None, n_last=n, seed=seed)


def time_cutoff_split(
    si: SparkInteractions, cutoff: float | None = None, test_fraction: float | None = None
) -> SparkSplit:
    """Rows at or after ``cutoff`` to test; with ``test_fraction``, the local quantile rule."""
    if not si.has_time:
        raise DataError(f"{si.source}: time_cutoff_split needs timestamps; load with time_col=")
    if (cutoff is None) == (test_fraction is None):
        raise ConfigError("give exactly one of cutoff= or test_fraction=")
    if cutoff is None:
        n = si.frame.count()
        pos = min(n - 1, int(n * (1 - float(test_fraction)) + 0.5))  # type: ignore[arg-type]
        times = si.frame.select("timestamp").orderBy("timestamp").rdd.zipWithIndex()
        cutoff = times.filter(lambda p: p[1] == pos).map(lambda p: p[0][0]).first()
    return _split(si, F.col("timestamp") >= F.lit(cutoff))


def given_split(si: SparkInteractions, test_pairs: DataFrame, where: str) -> SparkSplit:
    """Pairs (``user_id, item_id``) of ``test_pairs`` to test; each must be an interaction."""
    pairs = test_pairs.select("user_id", "item_id").distinct()
    known = si.frame.join(si.users, "user_idx").join(si.items, "item_idx")
    absent = pairs.join(known, ["user_id", "item_id"], "left_anti")
    bad = absent.limit(1).collect()
    if bad:
        n = absent.count()
        raise DataError(
            f"{where}: {n} (user, item) pair(s) are not interactions of {si.source}, "
            f"e.g. user {bad[0]['user_id']!r} item {bad[0]['item_id']!r}"
        )
    keys = pairs.join(si.users, "user_id").join(si.items, "item_id").select("user_idx", "item_idx")
    marked = si.frame.join(keys.withColumn("_test", F.lit(True)), ["user_idx", "item_idx"], "left")
    marked = marked.withColumn("_test", F.coalesce(F.col("_test"), F.lit(False))).cache()
    return (
        si.subset(marked.filter(~F.col("_test")).drop("_test")),
        si.subset(marked.filter(F.col("_test")).drop("_test")),
    )


def make_split(
    spark: SparkSession, si: SparkInteractions, s: SplitConfig, data: DataConfig
) -> SparkSplit:
    """The configured split on Spark (``hash``, ``temporal``, ``leave_last`` or ``given``),
    equal to the local one."""
    from recsys_embed.spark.data import dataset_log, read_log

    if s.method == "hash":
        return hash_split(si, s.test_fraction, s.seed)
    if s.method == "temporal":
        return temporal_split(si, s.test_fraction, seed=s.seed)
    if s.method == "leave_last":
        return leave_last_n(si, s.n_last, seed=s.seed)
    if s.method == "given" and s.test is not None:
        if data.is_dataset:
            pairs = dataset_log(spark, data.interactions, s.test)
        else:
            cols = (data.user_col or "", data.item_col or "", data.weight_col, data.time_col)
            pairs = read_log(spark, s.test, *cols, sep=data.sep, has_header=data.has_header)
        return given_split(si, pairs, s.test)
    raise ConfigError(
        f"split method {s.method!r} is not available on Spark: it draws from numpy's generator "
        "over the whole log. Use method = 'hash' (a seeded-hash random split that the local "
        "engine offers too), 'temporal', 'leave_last' or 'given'"
    )
