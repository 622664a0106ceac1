"""Interaction logs in Spark: read, validate, merge, filter and index like the local loaders.

Ids get dense indices in sorted id order, exactly the local :class:`IdMap` order (ints
numerically, strings by code point), computed with a distributed sort and ``zipWithIndex``: no
step collects all rows on the driver. Validation errors name the source, the column and a
sample bad row, as :class:`DataError`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from recsys_embed.data.idmap import IdMap
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.movielens import find_local, load_dataset, spec
from recsys_embed.errors import DataError

PARQUET_EXT = (".parquet", ".pq")
SEP_BY_EXT = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
SNIFF_SEPS = ("::", "\t", ",", ";", "|")
INT_ID = r"^(0|-?[1-9][0-9]{0,17})$"  # plain integers that round-trip through int64


@dataclass(frozen=True)
class SparkInteractions:
    """A log in Spark, indexed: the Spark twin of :class:`Interactions`.

    ``frame`` has ``user_idx``, ``item_idx`` (int32), ``weight`` (double, duplicates summed)
    and ``timestamp`` (latest of the merged rows) when the log has times; ``users`` / ``items``
    map ``user_id`` / ``item_id`` to the indices.
    """

    frame: DataFrame
    users: DataFrame
    items: DataFrame
    n_users: int
    n_items: int
    has_time: bool
    source: str
    n_duplicates: int = 0

    def subset(self, frame: DataFrame) -> SparkInteractions:
        """Same id space, other rows (a split's train or test)."""
        return replace(self, frame=frame)

    def cache(self) -> SparkInteractions:
        return replace(
            self, frame=self.frame.cache(), users=self.users.cache(), items=self.items.cache()
        )


def _is_parquet(path: str) -> bool:
    p = path.rstrip("/")
    return p.lower().endswith(PARQUET_EXT) or (Path(p).is_dir() and not p.startswith("hdfs:"))


def _sniff(spark: SparkSession, path: str) -> str:
    first = spark.read.text(path).limit(1).collect()
    line = first[0][0] if first else ""
    counts = {s: line.count(s) for s in SNIFF_SEPS}
    best = max(counts, key=lambda s: counts[s])
    if counts[best] == 0:
        raise DataError(
            f"{path}: cannot tell the separator from the first line {line[:80]!r}; pass sep="
        )
    return best


def read_frame(
    spark: SparkSession,
    path: str,
    sep: str | None = None,
    has_header: bool = True,
    column_names: list[str] | None = None,
) -> DataFrame:
    """A parquet file/directory, or delimited text read as strings (types decided later)."""
    path = str(path)
    try:
        if _is_parquet(path):
            frame = spark.read.parquet(path)
        else:
            sep = sep or SEP_BY_EXT.get(Path(path).suffix.lower()) or _sniff(spark, path)
            frame = spark.read.csv(path, sep=sep, header=has_header, inferSchema=False)
    except Exception as exc:  # AnalysisException: missing path, unreadable file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read with Spark: {first}") from None
    if column_names:
        frame = frame.toDF(*column_names[: len(frame.columns)], *frame.columns[len(column_names) :])
    return frame


def _sample(frame: DataFrame, bad: Column) -> dict[str, Any]:
    rows = frame.filter(bad).limit(1).collect()
    return rows[0].asDict() if rows else {}


def _id_column(frame: DataFrame, col: str, path: str, all_int: bool) -> Column:
    """The id column as bigint when every value is a plain integer (local rule), else string."""
    kind = frame.schema[col].dataType
    c = F.col(f"`{col}`")
    if isinstance(kind, (T.IntegerType, T.LongType, T.ShortType, T.ByteType)):
        return c.cast("bigint")
    if isinstance(kind, (T.FloatType, T.DoubleType, T.DecimalType)):
        bad = (c != F.round(c, 0)) | F.isnan(c) | c.isin(float("inf"), float("-inf"))
        row = _sample(frame, bad)
        if row:
            raise DataError(
                f"{path}: column {col!r} holds non-integer number {row[col]!r} (e.g. row {row}); "
                "expected int or string ids"
            )
        return c.cast("bigint")
    if not isinstance(kind, T.StringType):
        raise DataError(
            f"{path}: column {col!r} has type {kind.simpleString()}; expected int or string ids"
        )
    return c.cast("bigint") if all_int else c


def _not_int(frame: DataFrame, col: str, pattern: str) -> Column:
    """Rows whose text value is not a plain integer (false for non-string columns)."""
    if not isinstance(frame.schema[col].dataType, T.StringType):
        return F.lit(False)
    c = F.col(f"`{col}`")
    return c.isNotNull() & ~c.rlike(pattern)


def read_log(
    spark: SparkSession,
    path: str,
    user_col: str,
    item_col: str,
    weight_col: str | None = None,
    time_col: str | None = None,
    sep: str | None = None,
    has_header: bool = True,
    column_names: list[str] | None = None,
) -> DataFrame:
    """``user_id, item_id, weight[, timestamp]`` rows, validated like the local loaders.

    Null ids, non-numeric / null / non-finite / non-positive weights and null or non-numeric
    timestamps raise :class:`DataError` naming ``path``, the column and a sample bad row.
    """
    path = str(path)
    frame = read_frame(spark, path, sep, has_header, column_names)
    wanted = [c for c in (user_col, item_col, weight_col, time_col) if c]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found columns {frame.columns}")
    checks: dict[str, tuple[Column, str]] = {}
    for col in (user_col, item_col):
        checks[col] = (
            F.col(f"`{col}`").isNull(),
            "a missing id; expected an int or string id on every row",
        )
    if weight_col:
        w = F.col(f"`{weight_col}`")
        wd = (
            w.try_cast("double")
            if isinstance(frame.schema[weight_col].dataType, T.StringType)
            else w.cast("double")
        )
        bad_w = wd.isNull() | F.isnan(wd) | wd.isin(float("inf"), float("-inf")) | (wd <= 0)
        checks[weight_col] = (bad_w, "a weight that is not a positive finite number")
    if time_col:
        t = F.col(f"`{time_col}`")
        td = (
            t.try_cast("double") if isinstance(frame.schema[time_col].dataType, T.StringType) else t
        )
        checks[time_col] = (td.isNull(), "a missing or non-numeric timestamp")
    types = [_not_int(frame, user_col, INT_ID), _not_int(frame, item_col, INT_ID)]
    types.append(_not_int(frame, time_col, r"^-?[0-9]+$") if time_col else F.lit(False))
    counts = frame.agg(
        F.count(F.lit(1)).alias("rows"),
        *[F.count_if(bad).alias(f"bad{i}") for i, (bad, _) in enumerate(checks.values())],
        *[F.count_if(t).alias(f"type{i}") for i, t in enumerate(types)],
    ).collect()[0]
    if counts["rows"] == 0:
        raise DataError(f"{path}: no rows; expected at least one interaction")
    for i, (col, (bad, what)) in enumerate(checks.items()):
        if counts[f"bad{i}"]:
            row = _sample(frame, bad)
            raise DataError(
                f"{path}: column {col!r} has {counts[f'bad{i}']} row(s) with {what}, "
                f"e.g. {col} = {row.get(col)!r} in row {row}"
            )
    user = _id_column(frame, user_col, path, counts["type0"] == 0)
    item = _id_column(frame, item_col, path, counts["type1"] == 0)
    cols = [user.alias("user_id"), item.alias("item_id")]
    if weight_col:
        cols.append(wd.alias("weight"))
    else:
        cols.append(F.lit(1.0).alias("weight"))
    if time_col:
        cols.append(_time_column(frame, time_col, counts["type2"] == 0).alias("timestamp"))
    return frame.select(*cols)


def _time_column(frame: DataFrame, col: str, whole: bool) -> Column:
    t = F.col(f"`{col}`")
    kind = frame.schema[col].dataType
    if isinstance(kind, T.StringType):
        return t.cast("bigint") if whole else t.try_cast("double")
    if isinstance(kind, (T.IntegerType, T.LongType, T.ShortType)):
        return t.cast("bigint")
    return t


def _index(ids: DataFrame, name: str) -> tuple[DataFrame, int]:
    """``(name_id, name_idx)`` in sorted id order, by a distributed sort and zipWithIndex."""
    distinct = ids.distinct().orderBy(f"{name}_id")
    schema = T.StructType(
        [distinct.schema[f"{name}_id"], T.StructField(f"{name}_idx", T.LongType(), False)]
    )
    indexed = distinct.rdd.zipWithIndex().map(lambda p: (p[0][0], p[1])).toDF(schema)
    indexed = indexed.select(f"{name}_id", F.col(f"{name}_idx").cast("int").alias(f"{name}_idx"))
    n = indexed.count()
    if n >= 2**31 - 1:
        raise DataError(f"{n} distinct {name}s: Spark ALS and this engine index them as int32")
    return indexed.cache(), n


def index_log(
    log: DataFrame, source: str, min_weight: float | None = None, binary: bool = False
) -> SparkInteractions:
    """Merge duplicates (weights summed, latest time), filter, index: like the local path.

    ``min_weight`` keeps merged rows with weight >= it (users and items left empty vanish from
    the id maps, as ``filter_min_weight`` compacts); ``binary`` then sets every weight to 1.
    """
    has_time = "timestamp" in log.columns
    aggs = [F.sum("weight").alias("weight"), F.count(F.lit(1)).alias("n")]
    if has_time:
        aggs.append(F.max("timestamp").alias("timestamp"))
    merged = log.groupBy("user_id", "item_id").agg(*aggs)
    stats = merged.agg(F.count(F.lit(1)).alias("pairs"), F.sum("n").alias("rows")).collect()[0]
    n_dup = int(stats["rows"]) - int(stats["pairs"])
    merged = merged.drop("n")
    if min_weight is not None:
        merged = merged.filter(F.col("weight") >= float(min_weight))
    if binary:
        merged = merged.withColumn("weight", F.lit(1.0))
    merged = merged.cache()
    users, n_users = _index(merged.select("user_id"), "user")
    items, n_items = _index(merged.select("item_id"), "item")
    cols = ["user_idx", "item_idx", "weight"] + (["timestamp"] if has_time else [])
    frame = merged.join(users, "user_id").join(items, "item_id").select(*cols)
    return SparkInteractions(frame, users, items, n_users, n_items, has_time, source, n_dup)


def ids_of(table: DataFrame, name: str, n: int) -> np.ndarray:
    arrow = table.orderBy(f"{name}_idx").select(f"{name}_id").toArrow()
    col = arrow.column(0)
    ids = (
        np.asarray(col.to_pylist(), dtype=object)
        if pa.types.is_string(col.type)
        else col.to_numpy()
    )
    if len(ids) != n:
        raise DataError(f"{name} id map has {len(ids)} ids, expected {n}")
    return ids


def to_local(si: SparkInteractions) -> Interactions:
    """Collect to the driver as :class:`Interactions` (same id maps, weights and times)."""
    users = IdMap(ids_of(si.users, "user", si.n_users), "user")
    items = IdMap(ids_of(si.items, "item", si.n_items), "item")
    table = si.frame.toArrow()
    times = table.column("timestamp").to_numpy() if si.has_time else None
    inter = Interactions.from_indices(
        table.column("user_idx").to_numpy(),
        table.column("item_idx").to_numpy(),
        users,
        items,
        weights=table.column("weight").to_numpy().astype(np.float64),
        timestamps=times,
        source=si.source,
    )
    return replace(inter, n_duplicates=si.n_duplicates)


def ids_frame(spark: SparkSession, ids: np.ndarray, name: str) -> DataFrame:
    """``(name_id, name_idx)`` of an id array in index order (ids from a local id map)."""
    values = (
        pa.array(ids.tolist(), pa.string()) if ids.dtype == object else pa.array(ids, pa.int64())
    )
    table = pa.table(
        {f"{name}_id": values, f"{name}_idx": pa.array(np.arange(len(ids), dtype=np.int32))}
    )
    return spark.createDataFrame(table)


def from_local(spark: SparkSession, inter: Interactions) -> SparkInteractions:
    """The Spark twin of local :class:`Interactions` (same indices)."""
    cols = {
        "user_idx": pa.array(inter.user_idx.astype(np.int32)),
        "item_idx": pa.array(inter.item_idx.astype(np.int32)),
        "weight": pa.array(inter.weights),
    }
    if inter.timestamps is not None:
        cols["timestamp"] = pa.array(inter.timestamps)
    return SparkInteractions(
        spark.createDataFrame(pa.table(cols)),
        ids_frame(spark, inter.user_ids, "user"),
        ids_frame(spark, inter.item_ids, "item"),
        inter.n_users,
        inter.n_items,
        inter.timestamps is not None,
        inter.source or "<local interactions>",
        inter.n_duplicates,
    )


RATING_COLS = ["user", "item", "rating", "timestamp"]


def dataset_log(spark: SparkSession, name: str, file: str | None = None) -> DataFrame:
    """A known dataset's rating log (or another file of its layout, e.g. ``ua.test``) on Spark."""
    folder = find_local(spec(name), None) or load_dataset(name).path
    if (folder / "ratings.csv").is_file() and (file is None or file.endswith(".csv")):
        path = folder / (file or "ratings.csv")
        return read_log(spark, str(path), "userId", "movieId", "rating", "timestamp")
    default = "u.data" if spec(name).folder == "ml-100k" else "ratings.dat"
    sep = "\t" if spec(name).folder == "ml-100k" else "::"
    path = folder / (file or default)
    user, item, rating, stamp = RATING_COLS
    return read_log(
        spark, str(path), user, item, rating, stamp, sep, has_header=False, column_names=RATING_COLS
    )
