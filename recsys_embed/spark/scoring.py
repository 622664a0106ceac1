"""Batch top-k on Spark for any model with user and item vectors, published atomically.

Item vectors are broadcast; each Arrow batch of users is scored ``chunk_size`` users at a time
(memory ``chunk_size x n_items`` floats, never the 10,000-row Arrow batch at once) with one BLAS
thread, seen items masked and this package's exact top-k (ties: lower item index first), so
lists equal the one-process batch (:mod:`recsys_embed.batch`) up to GEMM rounding on near-ties.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recsys_embed import atomic
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.models.base import Recommender
from recsys_embed.models.retrieval import ExactRetrieval, top_k_chunks

OUT_COLUMNS = ("user_id", "rank", "item_id", "score")


def _id_type(ids: np.ndarray) -> T.DataType:
    return T.StringType() if ids.dtype == object else T.LongType()


def _id_arrow(ids: np.ndarray) -> pa.Array:
    return pa.array(ids.tolist(), pa.string()) if ids.dtype == object else pa.array(ids, pa.int64())


def _list_array(offsets: np.ndarray, values: np.ndarray) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))


def users_frame(spark: SparkSession, model: Recommender) -> DataFrame:
    """``user_id, user_idx, factors, seen`` of every user of a fitted (local) model."""
    core = model.require_fitted()
    uf = core.user_factors
    n, d = uf.shape
    table = pa.table(
        {
            "user_id": _id_arrow(core.user_map.ids),
            "user_idx": pa.array(np.arange(n, dtype=np.int32)),
            "factors": _list_array(np.arange(n + 1) * d, uf.reshape(-1)),
            "seen": _list_array(core.seen.indptr, core.seen.indices.astype(np.int32)),
        }
    )
    return spark.createDataFrame(table)


@dataclass(frozen=True)
class ItemSide:
    """What every executor needs: item retrieval, item ids, and the popular list for unknowns."""

    retrieval: ExactRetrieval  # over the (n_items, d) float32 item vectors, one thread
    ids: np.ndarray
    popular_idx: np.ndarray  # (k,) int64, -1 padded
    popular_scores: np.ndarray  # (k,) float32


def item_side(model: Recommender, k: int, n_items: int | None = None) -> ItemSide:
    """The model's items (the first ``n_items`` only, if given) and its top-``k`` popular items."""
    core = model.require_fitted()
    cand = None if n_items is None else np.arange(n_items)
    pop_idx, pop_vals = core.popular(k, cand)
    factors = core.item_factors if n_items is None else core.item_factors[:n_items]
    ids = core.item_map.ids if n_items is None else core.item_map.ids[:n_items]
    retrieval = ExactRetrieval(np.ascontiguousarray(factors), threads=1)
    return ItemSide(retrieval, ids, pop_idx[0], pop_vals[0].astype(np.float32))


def _score_batches(
    batches: Iterator[pa.RecordBatch], items: ItemSide, k: int, chunk_size: int, exclude_seen: bool
) -> Iterator[pa.RecordBatch]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        for batch in batches:
            yield from _score_batch(batch, items, k, chunk_size, exclude_seen)


def _score_batch(
    batch: pa.RecordBatch, items: ItemSide, k: int, chunk_size: int, exclude_seen: bool
) -> Iterator[pa.RecordBatch]:
    n = batch.num_rows
    m, d = items.retrieval.item_factors.shape
    fac_col = batch.column(batch.schema.get_field_index("factors"))
    known = ~np.asarray(fac_col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    user_vecs = np.zeros((n, d), dtype=np.float32)
    if known.any():
        flat = fac_col.drop_null().flatten().to_numpy(zero_copy_only=False).astype(np.float32)
        user_vecs[known] = flat.reshape(-1, d)
    seen_col = batch.column(batch.schema.get_field_index("seen"))
    lengths = seen_col.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    seen_vals = seen_col.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    keep = seen_vals < m  # a catalogue cut to the first m items drops the rest
    seen_rows = np.repeat(np.arange(n), lengths)[keep]
    seen = sp.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (seen_rows, seen_vals[keep])), shape=(n, m)
    )
    user_ids = batch.column(batch.schema.get_field_index("user_id"))
    exclude = seen if exclude_seen else None
    for rows, idx, vals in top_k_chunks(items.retrieval, user_vecs, k, exclude, None, chunk_size):
        s, e = rows.start, rows.stop
        unknown = ~known[s:e]
        if unknown.any():
            pk = min(idx.shape[1], len(items.popular_idx))
            idx[unknown, :pk] = items.popular_idx[:pk]
            vals[unknown, :pk] = items.popular_scores[:pk]
        filled = np.isfinite(vals)
        rows_out = np.repeat(np.arange(e - s), filled.sum(axis=1))
        ranks = np.cumsum(filled, axis=1)[filled].astype(np.int32)
        item_idx = idx[filled]
        yield pa.RecordBatch.from_arrays(
            [
                user_ids.slice(s, e - s).take(pa.array(rows_out)),
                pa.array(ranks, pa.int32()),
                _id_arrow(items.ids[item_idx]),
                pa.array(vals[filled].astype(np.float32), pa.float32()),
                pa.array(item_idx.astype(np.int32), pa.int32()),
            ],
            names=[*OUT_COLUMNS, "item_idx"],
        )


def top_k_frame(
    spark: SparkSession,
    users: DataFrame,
    items: ItemSide,
    k: int,
    chunk_size: int = 1024,
    exclude_seen: bool = True,
) -> DataFrame:
    """``user_id, rank, item_id, score, item_idx`` rows of each user's top ``k`` (no padding).

    ``users`` has ``user_id``, ``factors`` (array<float>, null: unknown user, given the popular
    items) and ``seen`` (array<int> of item indices to exclude).
    """
    if k < 1 or chunk_size < 1:
        raise ConfigError(f"k and chunk_size must be positive, got {k} and {chunk_size}")
    shared = spark.sparkContext.broadcast(items)
    schema = T.StructType(
        [
            T.StructField("user_id", users.schema["user_id"].dataType),
            T.StructField("rank", T.IntegerType()),
            T.StructField("item_id", _id_type(items.ids)),
            T.StructField("score", T.FloatType()),
            T.StructField("item_idx", T.IntegerType()),
        ]
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _score_batches(batches, shared.value, k, chunk_size, exclude_seen)

    return users.select("user_id", "factors", "seen").mapInArrow(run, schema)


def requested_users(spark: SparkSession, path: str, id_kind: str) -> DataFrame:
    """``user_id`` rows of a users file: ``.txt`` one per line, or a ``user_id`` column."""
    from recsys_embed.spark.data import read_frame

    tabular = path.lower().rstrip("/").endswith((".csv", ".tsv", ".parquet", ".pq"))
    if tabular or Path(path).is_dir():  # as the local reader, plus parquet directories
        frame = read_frame(spark, path)
        if "user_id" not in frame.columns:
            raise DataError(f"{path}: needs a user_id column; found {frame.columns}")
        col = F.trim(F.col("user_id").cast("string"))
    else:
        frame = read_frame(spark, path, sep="\n", has_header=False, column_names=["user_id"])
        col = F.trim(F.col("user_id"))
    ids = frame.select(col.alias("user_id")).filter(
        F.col("user_id").isNotNull() & (F.col("user_id") != "")
    )
    if id_kind == "int":
        bad = ids.filter(~F.col("user_id").rlike(r"^-?[0-9]+$")).limit(1).collect()
        if bad:
            raise DataError(
                f"{path}: user id {bad[0][0]!r} is not an integer, as this model's ids are"
            )
        ids = ids.select(F.col("user_id").cast("bigint").alias("user_id"))
    return ids


@dataclass(frozen=True)
class SparkBatchSummary:
    path: str
    users_written: int
    rows_written: int
    unknown_users: int
    unknown_policy: str


def recommend_to_parquet(
    spark: SparkSession,
    model: Recommender,
    out: str,
    k: int = 10,
    users_path: str | None = None,
    chunk_size: int = 1024,
    exclude_seen: bool = True,
    unknown: str = "skip",
    partitions: int | None = None,
) -> SparkBatchSummary:
    """Top-``k`` per user of a fitted model into the directory ``out`` of parquet part files.

    Columns and types are those of the local ``recommend`` (``user_id, rank, item_id, score``).
    ``users_path`` limits the batch to those users; unknown ones are skipped or given the most
    popular items (``unknown``). Published atomically: see :func:`publish_parquet`.
    """
    if unknown not in ("skip", "popular"):
        raise ConfigError(f"unknown must be 'skip' or 'popular', got {unknown!r}")
    frame = users_frame(spark, model)
    n_unknown = 0
    if users_path is not None:
        kind = "str" if model.user_map_.ids.dtype == object else "int"
        wanted = requested_users(spark, users_path, kind).cache()
        joined = wanted.join(frame, "user_id", "left")
        n_unknown = joined.filter(F.col("user_idx").isNull()).count()
        frame = joined.filter(F.col("user_idx").isNotNull()) if unknown == "skip" else joined
    if partitions is not None:
        frame = frame.repartition(partitions)
    top = top_k_frame(spark, frame, item_side(model, k), k, chunk_size, exclude_seen)
    publish_parquet(spark, top.select(*OUT_COLUMNS), out)
    written = (
        spark.read.parquet(out)
        .agg(F.count(F.lit(1)).alias("rows"), F.countDistinct("user_id").alias("users"))
        .collect()[0]
    )
    return SparkBatchSummary(out, int(written["users"]), int(written["rows"]), n_unknown, unknown)


def _fs(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath


def sweep_stale_outputs(spark: SparkSession, out: str) -> list[str]:
    """Remove this package's temporaries beside ``out`` left by a killed driver on this host
    (names and liveness rule of :func:`recsys_embed.atomic.stale_names`, on any Hadoop file
    system); a moved-aside earlier output goes back to ``out`` if ``out`` is missing."""
    fs, target = _fs(spark, out)
    parent = target.getParent()
    if parent is None or not fs.exists(parent):
        return []
    names = [st.getPath().getName() for st in fs.listStatus(parent)]
    done = []
    for name, is_old in atomic.stale_names(target.getName(), names):
        path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(parent, name)  # type: ignore[union-attr]
        if not (is_old and not fs.exists(target) and fs.rename(path, target)):
            fs.delete(path, True)
        done.append(path.toString())
    return done


def publish_parquet(spark: SparkSession, frame: DataFrame, out: str) -> str:
    """Write ``frame`` as parquet under a temporary name beside ``out``, check Spark's
    ``_SUCCESS`` marker, then rename it to ``out`` (an earlier ``out`` is moved aside first and
    deleted last). A job killed before the rename leaves the earlier output untouched; the next
    run removes what it left (:func:`sweep_stale_outputs`)."""
    fs, target = _fs(spark, out)
    parent = target.getParent()
    if parent is not None and not fs.exists(parent):
        raise ConfigError(f"out {out}: output directory {parent} does not exist")
    sweep_stale_outputs(spark, out)
    jvm = spark.sparkContext._jvm
    tmp_name = atomic.temp_name(target.getName())
    tmp = jvm.org.apache.hadoop.fs.Path(parent, tmp_name)  # type: ignore[union-attr]
    frame.write.parquet(tmp.toString())
    if not fs.exists(jvm.org.apache.hadoop.fs.Path(tmp, "_SUCCESS")):  # type: ignore[union-attr]
        fs.delete(tmp, True)
        raise DataError(f"{out}: Spark wrote no _SUCCESS marker; output not published")
    old = None
    if fs.exists(target):
        old = jvm.org.apache.hadoop.fs.Path(parent, atomic.old_name(tmp_name))  # type: ignore[union-attr]
        if not fs.rename(target, old):
            raise DataError(f"{out}: cannot move the earlier output aside")
    if not fs.rename(tmp, target):
        if old is not None:
            fs.rename(old, target)
        raise DataError(f"{out}: cannot rename {tmp.toString()} to it")
    if old is not None:
        fs.delete(old, True)
    return out
