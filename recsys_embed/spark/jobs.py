"""The command-line jobs on Spark: evaluate, train and recommend, writing what the local jobs do.

``evaluate``: load, split, fit (``spark-als`` on Spark; other models locally on the collected
train matrix), score on Spark, metrics as DataFrame aggregates, then the same run files as
:func:`recsys_embed.pipeline.run_evaluation`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys_embed import __version__
from recsys_embed.config import EngineConfig, RunConfig
from recsys_embed.data.loaders import read_item_text
from recsys_embed.data.movielens import load_dataset
from recsys_embed.errors import ConfigError
from recsys_embed.evaluate import ModelResult, Report
from recsys_embed.models.base import Recommender
from recsys_embed.models.registry import REGISTRY, library_versions
from recsys_embed.spark.als import fit_spark_als, save_spark_als
from recsys_embed.spark.data import (
    SparkInteractions,
    dataset_log,
    index_log,
    read_log,
    to_local,
)
from recsys_embed.spark.metrics import check_metrics, coverage, per_user_metrics
from recsys_embed.spark.scoring import (
    SparkBatchSummary,
    item_side,
    recommend_to_parquet,
    top_k_frame,
    users_frame,
)
from recsys_embed.spark.session import get_session
from recsys_embed.spark.split import make_split

Log = Callable[[str], None]


def session_for(engine: EngineConfig, master: str | None = None) -> SparkSession:
    """The session for a run: ``--master`` over ``[engine] master``; conf and checkpoint dir."""
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


def _item_text(config: RunConfig) -> pl.DataFrame | None:
    d = config.data
    if d.items is not None:
        it = d.items
        return read_item_text(
            it.path,
            it.id_col,
            list(it.text_cols),
            it.sep,
            tags_path=it.tags_path,
            tag_col=it.tag_col,
        )
    if d.is_dataset and any(
        getattr(REGISTRY.get(m.type), "needs_item_text", False) for m in config.models
    ):
        return load_dataset(d.interactions).items
    return None


def _fit(
    spark: SparkSession,
    config: RunConfig,
    name: str,
    train_s: SparkInteractions,
    train: object,
    items: pl.DataFrame | None,
    threads: int | None,
    log: Log,
) -> Recommender:
    from recsys_embed.pipeline import build_model, fit_model

    m = config.model(name)
    log(f"fitting {name} ({m.type}{' on Spark' if m.type == 'spark-als' else ' locally'})")
    if m.type == "spark-als":
        model: Recommender = fit_spark_als(spark, train_s, m.params)
    else:
        model = build_model(config, name, threads)
        fit_model(model, name, train, items)  # type: ignore[arg-type]
    log(f"fitted {name} in {model.fit_seconds_:.2f}s")
    return model


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


def run_spark_evaluation(
    config: RunConfig,
    out_dir: str | Path,
    log: Log,
    threads: int | None = None,
    master: str | None = None,
) -> Report:
    """``recsys-embed evaluate --engine spark``: see the module docstring."""
    from recsys_embed.pipeline import resolved_config, write_run

    ev = config.evaluate
    check_metrics(ev.metrics)
    spark = session_for(config.engine, master)
    log(f"loading {config.data.interactions} on Spark ({spark.sparkContext.master})")
    si = load_spark_data(spark, config)
    log(f"{si.n_users} users x {si.n_items} items")
    train_s, test_s = make_split(spark, si, config.split, config.data)
    train, test = to_local(train_s), to_local(test_s)
    log(f"split {config.split.method}: {train.nnz} train, {test.nnz} test interactions")
    items = _item_text(config)
    models = {
        m.name: _fit(spark, config, m.name, train_s, train, items, threads, log)
        for m in config.models
    }
    ks = list(ev.k)
    user_idx = np.flatnonzero(np.diff(test.matrix.indptr) > 0)
    results = {}
    for name, model in models.items():
        log(f"evaluating {name} on Spark")
        start = time.perf_counter()
        recs, per_user, scalars = evaluate_on_spark(
            spark, model, train_s, test_s, ks, list(ev.metrics), ev.chunk_size, ev.exclude_train
        )
        results[name] = _result(
            name, model, recs, per_user, scalars, user_idx, max(ks), time.perf_counter() - start
        )
        recs.unpersist()
    conventions = {
        "users": "users with >= 1 test item",
        "excluded": "each user's train items are never ranked"
        if ev.exclude_train
        else "nothing: train items are ranked (and are AUC negatives)",
        "ranking": "full catalogue",
        "recall_denominator": "relevant",
        "ndcg_ideal": "relevant",
        "only_with_recommendations": False,
        "ties": "equal scores rank the lower item index first",
        "ci": "normal",
        "engine": f"spark ({spark.sparkContext.master})",
    }
    report = Report(results, user_idx, ks, list(ev.metrics), conventions, train, test)
    extra = {
        "dataset": {
            "source": config.data.interactions,
            "users": si.n_users,
            "items": si.n_items,
            "interactions": train.nnz + test.nnz,
        },
        "split": dataclasses.asdict(config.split),
        "versions": {"recsys_embed": __version__, "pyspark": spark.version, **library_versions()},
    }
    resolved = resolved_config(config, {})
    resolved["models"] = {m.name: {"type": m.type, **m.params} for m in config.models}
    resolved["engine"] = {"name": "spark", "master": spark.sparkContext.master}
    write_run(report, Path(out_dir), extra, resolved, log)
    return report


def train_on_spark(
    config: RunConfig,
    name: str,
    out_dir: str | Path,
    log: Log,
    threads: int | None = None,
    master: str | None = None,
) -> Path:
    """``recsys-embed train --engine spark``: all the data, no split; a normal model folder."""
    spark = session_for(config.engine, master)
    si = load_spark_data(spark, config)
    m = config.model(name)
    model: Recommender
    if m.type == "spark-als":
        als = fit_spark_als(spark, si, m.params)
        path, model = save_spark_als(als, out_dir), als
    else:
        model = _fit(spark, config, name, si, to_local(si), _item_text(config), threads, log)
        path = model.save(out_dir)
    log(f"saved {name} to {path} ({model.fit_seconds_:.2f}s fit)")
    return path


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
        raise ConfigError(f"--out {out}: the Spark engine writes a directory of parquet part files")
    model = load(model_dir)
    spark = session_for(engine, master)
    return recommend_to_parquet(spark, model, out, k, users, chunk_size, exclude_seen, unknown)
