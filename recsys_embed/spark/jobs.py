"""The Spark engine of :mod:`recsys_embed.pipeline` (:class:`SparkEngine`) and the batch on Spark.

Only what differs on Spark is here: the log is read, merged, filtered and indexed on Spark,
split there, ``spark-als`` trains with MLlib (the other models fit locally on the collected
train matrix), the top lists are scored on Spark and the metrics are DataFrame aggregates.
The checks, the order of the steps, the conventions and the run's files are the pipeline's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys_embed.config import EngineConfig, RunConfig, resolved_config
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.movielens import load_dataset
from recsys_embed.engine import build_model, fit_model, read_items
from recsys_embed.errors import ConfigError
from recsys_embed.evaluate import ModelResult, Report
from recsys_embed.features.cache import WordVectorCache
from recsys_embed.metrics import conventions
from recsys_embed.models.alswr import ALSWR
from recsys_embed.models.base import Recommender
from recsys_embed.models.registry import REGISTRY
from recsys_embed.models.textbase import share_word_vectors
from recsys_embed.spark.als import fit_spark_als, save_spark_als
from recsys_embed.spark.data import (
    SparkInteractions,
    dataset_log,
    index_log,
    read_log,
    to_local,
)
from recsys_embed.spark.metrics import check_metrics, coverage, per_user_metrics
from recsys_embed.spark.params import SPARK_MODELS
from recsys_embed.spark.scoring import (
    SparkBatchSummary,
    item_side,
    recommend_to_parquet,
    top_k_frame,
    users_frame,
)
from recsys_embed.spark.session import get_session
from recsys_embed.spark.split import make_split

__all__ = [
    "SparkEngine",
    "SparkLog",
    "dataset_log",
    "evaluate_on_spark",
    "load_spark_data",
    "recommend_on_spark",
    "session_for",
]
Log = Callable[[str], None]


def session_for(engine: EngineConfig, master: str | None = None) -> SparkSession:
    """The session for a run: ``master`` over ``[engine] master``; conf and checkpoint dir."""
    return get_session(master or engine.master, engine.conf, engine.checkpoint_dir)


def load_spark_data(spark: SparkSession, config: RunConfig) -> SparkInteractions:
    """The configured log on Spark, validated, merged, filtered and indexed like the local one."""
    d = config.data
    if d.is_dataset:
        log = dataset_log(spark, d.interactions)
    else:
        cols = (d.user_col or "", d.item_col or "", d.weight_col, d.time_col)
        log = read_log(spark, d.interactions, *cols, sep=d.sep, has_header=d.has_header)
    return index_log(log, d.interactions, d.min_weight, d.binary).cache()


def evaluate_on_spark(
    spark: SparkSession,
    model: Recommender,
    train_s: SparkInteractions,
    test_s: SparkInteractions,
    ks: list[int],
    metrics: list[str],
    chunk_size: int = 1024,
    exclude_train: bool = True,
) -> tuple[DataFrame, DataFrame, dict[str, float]]:
    """``(recs, per_user, scalars)``: the top lists of users with a test item, scored on Spark,
    their per-user metrics and the coverage values (DataFrame aggregates)."""
    check_metrics(metrics)
    n_items = train_s.n_items if len(model.item_map_) > train_s.n_items else None
    test_users = test_s.frame.select("user_idx").distinct()
    users = users_frame(spark, model).join(test_users, "user_idx")
    if not exclude_train:
        users = users.withColumn("seen", F.array().cast("array<int>"))
    top = top_k_frame(spark, users, item_side(model, max(ks), n_items), max(ks), chunk_size)
    recs = top.join(train_s.users, "user_id").cache()
    per_user = per_user_metrics(recs, test_s.frame, ks, [m for m in metrics if m != "coverage"])
    scalars = coverage(recs, ks, n_items or train_s.n_items) if "coverage" in metrics else {}
    return recs, per_user, scalars


def _result(
    name: str,
    model: Recommender,
    recs: DataFrame,
    per_user: DataFrame,
    scalars: dict[str, float],
    user_idx: np.ndarray,
    kmax: int,
    seconds: float,
) -> ModelResult:
    table = per_user.orderBy("user_idx").toArrow()
    got = table.column("user_idx").to_numpy()
    if not np.array_equal(got, user_idx):
        raise ConfigError(
            f"model {name!r}: Spark evaluated other users than the split's test users"
        )
    values = {
        c: table.column(c).to_numpy().astype(np.float64) for c in table.column_names if "@" in c
    }
    lists = recs.select("user_idx", "rank", "item_idx", "score").toArrow()
    row = np.searchsorted(user_idx, lists.column("user_idx").to_numpy())
    col = lists.column("rank").to_numpy() - 1
    top = np.full((len(user_idx), kmax), -1, dtype=np.int64)
    top_scores = np.full((len(user_idx), kmax), -np.inf, dtype=np.float32)
    top[row, col] = lists.column("item_idx").to_numpy()
    top_scores[row, col] = lists.column("score").to_numpy()
    return ModelResult(
        name, values, scalars, top, top_scores, model.get_params(), model.fit_seconds_, seconds
    )


@dataclass
class SparkLog:
    """A log (or a split's part) on Spark, and its local copy once one is needed."""

    spark: SparkInteractions
    _local: Interactions | None = field(default=None, repr=False)

    def local(self) -> Interactions:
        if self._local is None:
            self._local = to_local(self.spark)
        return self._local


class SparkEngine:
    """The pipeline's steps on Spark (see the module docstring). The session starts when the
    log is first read: ``[engine]``'s master and settings, ``master`` overriding its master."""

    name = "spark"
    model_types: Collection[str] = (*REGISTRY, *SPARK_MODELS)

    def __init__(self, engine: EngineConfig, master: str | None = None) -> None:
        self.engine, self.master_arg = engine, master

    @cached_property
    def spark(self) -> SparkSession:
        return session_for(self.engine, self.master_arg)

    @property
    def master(self) -> str:
        return str(self.spark.sparkContext.master)

    @property
    def label(self) -> str:
        return f" on Spark ({self.master})"

    def where(self, kind: str) -> str:
        return " on Spark" if kind in SPARK_MODELS else " locally"

    def check_evaluation(self, config: RunConfig) -> None:
        check_metrics(config.evaluate.metrics)

    def load(self, config: RunConfig, with_text: bool) -> tuple[SparkLog, pl.DataFrame | None]:
        items = read_items(config)
        if items is None and config.data.is_dataset and with_text:
            items = load_dataset(config.data.interactions).items
        return SparkLog(load_spark_data(self.spark, config)), items

    def size(self, data: SparkLog) -> tuple[int, int, int]:
        return data.spark.n_users, data.spark.n_items, data.spark.frame.count()

    def split(self, config: RunConfig, data: SparkLog) -> tuple[SparkLog, SparkLog, Any]:
        train, test = make_split(self.spark, data.spark, config.split, config.data)
        return SparkLog(train), SparkLog(test), None

    def local(self, data: SparkLog) -> Interactions:
        return data.local()

    def fit(
        self,
        config: RunConfig,
        name: str,
        train: SparkLog,
        items: pl.DataFrame | None,
        threads: int | None,
        show_progress: bool | None,
        word_vectors: WordVectorCache | None = None,
    ) -> Recommender:
        m = config.model(name)
        if m.type in SPARK_MODELS:
            return fit_spark_als(self.spark, train.spark, m.params)
        model = share_word_vectors(build_model(config, name, threads), word_vectors)
        fit_model(model, name, train.local(), items, show_progress)
        return model

    def evaluate(
        self,
        models: Mapping[str, Recommender],
        train: SparkLog,
        test: SparkLog,
        candidates: Any,
        config: RunConfig,
        show_progress: bool | None,
        log: Log,
    ) -> Report:
        ev = config.evaluate
        ks = list(ev.k)
        user_idx = np.flatnonzero(np.diff(test.local().matrix.indptr) > 0)
        results = {}
        for name, model in models.items():
            log(f"evaluating {name} on Spark")
            start = time.perf_counter()
            recs, per_user, scalars = evaluate_on_spark(
                self.spark,
                model,
                train.spark,
                test.spark,
                ks,
                list(ev.metrics),
                ev.chunk_size,
                ev.exclude_train,
            )
            seconds = time.perf_counter() - start
            results[name] = _result(
                name, model, recs, per_user, scalars, user_idx, max(ks), seconds
            )
            recs.unpersist()
        used = {**conventions(ev.exclude_train), "engine": f"spark ({self.master})"}
        return Report(results, user_idx, ks, list(ev.metrics), used, train.local(), test.local())

    def save(self, config: RunConfig, name: str, model: Recommender, out: Path) -> Path:
        if config.model(name).type in SPARK_MODELS and isinstance(model, ALSWR):
            return save_spark_als(model, out)
        return model.save(out)

    def versions(self) -> dict[str, str]:
        return {"pyspark": str(self.spark.version)}

    def resolved(self, config: RunConfig, models: Mapping[str, Recommender]) -> dict[str, Any]:
        """The config's own model tables (a ``spark-als`` model holds its ``als-wr`` twin's
        parameters) and the engine."""
        resolved = resolved_config(config, {})
        resolved["models"] = {m.name: {"type": m.type, **m.params} for m in config.models}
        resolved["engine"] = {"name": "spark", "master": self.master}
        return resolved


def recommend_on_spark(
    model_dir: str | Path,
    out: str,
    k: int,
    users: str | None,
    chunk_size: int,
    unknown: str,
    exclude_seen: bool,
    engine: EngineConfig,
    master: str | None = None,
) -> SparkBatchSummary:
    """``recsys-embed recommend --engine spark``: a directory of parquet part files."""
    from recsys_embed.models.registry import load

    if out.lower().endswith(".csv"):
        raise ConfigError(f"{out}: the Spark engine writes a directory of parquet part files")
    model = load(model_dir)
    spark = session_for(engine, master)
    return recommend_to_parquet(spark, model, out, k, users, chunk_size, exclude_seen, unknown)
