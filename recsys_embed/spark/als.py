"""ALS trained on Spark (MLlib, implicitPrefs) and turned into a package ``als-wr`` model.

Parameters and their mapping to the package's ALS and ALS-WR: :mod:`recsys_embed.spark.params`.
``als-wr`` minimises MLlib's objective, so the saved model's parameters are exact. A
checkpoint directory is always set (:func:`recsys_embed.spark.session.get_session`): without it
MLlib ALS dies of a StackOverflowError past ~20 iterations.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from pyspark.ml.recommendation import ALS as MLlibALS
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys_embed.data.idmap import IdMap
from recsys_embed.models import persist
from recsys_embed.models.alswr import ALSWR
from recsys_embed.models.params import check_params
from recsys_embed.spark.data import SparkInteractions, ids_of
from recsys_embed.spark.params import SPARK_ALS_PARAMS, alswr_equivalent


def fit_mllib(
    spark: SparkSession, train: SparkInteractions, params: dict[str, Any]
) -> tuple[DataFrame, DataFrame, float]:
    """MLlib ALS on ``train``: ``(user_factors, item_factors, seconds)`` as ``id, features``."""
    p = check_params("spark-als", SPARK_ALS_PARAMS, dict(params))
    blocks = p["blocks"] or spark.sparkContext.defaultParallelism
    ratings = train.frame.select(
        F.col("user_idx").alias("user"),
        F.col("item_idx").alias("item"),
        (F.lit(1.0) if p["weighting"] == "binary" else F.col("weight")).cast("float").alias("r"),
    )
    als = MLlibALS(
        rank=p["factors"],
        maxIter=p["iterations"],
        regParam=p["regularization"],
        alpha=p["alpha"],
        implicitPrefs=True,
        userCol="user",
        itemCol="item",
        ratingCol="r",
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        checkpointInterval=p["checkpoint_interval"],
        seed=p["random_state"],
        coldStartStrategy="drop",  # never NaN scores; unknown users are handled by the scorer
    )
    start = time.perf_counter()
    fitted = als.fit(ratings)
    users, items = fitted.userFactors.cache(), fitted.itemFactors.cache()
    users.count(), items.count()
    return users, items, time.perf_counter() - start


def _dense(factors: DataFrame, n: int, dim: int) -> np.ndarray:
    """Rows ``id -> features`` as an (n, dim) float32 array; ids without a row stay 0."""
    table = factors.toArrow()
    out = np.zeros((n, dim), dtype=np.float32)
    ids = table.column("id").to_numpy()
    flat = table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    out[ids] = flat.reshape(len(ids), dim)
    return out


def fit_spark_als(
    spark: SparkSession, train: SparkInteractions, params: dict[str, Any] | None = None
) -> ALSWR:
    """Train on Spark; return a fitted package :class:`ALSWR` (factors, id maps, seen items).

    The result serves locally (``recommend``, ``save`` / ``models.load``) and on Spark. Its
    ``params`` are the exact ``als-wr`` equivalents; ``spark_params_`` keeps MLlib's.
    """
    p = check_params("spark-als", SPARK_ALS_PARAMS, dict(params or {}))
    user_factors, item_factors, seconds = fit_mllib(spark, train, p)
    pairs = train.frame.select("user_idx", "item_idx").toArrow()
    rows, cols = pairs.column("user_idx").to_numpy(), pairs.column("item_idx").to_numpy()
    seen = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(train.n_users, train.n_items)
    )
    seen.sum_duplicates()
    model = ALSWR(**alswr_equivalent(p))
    model.set_factors(
        IdMap(ids_of(train.users, "user", train.n_users), "user"),
        IdMap(ids_of(train.items, "item", train.n_items), "item"),
        seen,
        _dense(user_factors, train.n_users, p["factors"]),
        _dense(item_factors, train.n_items, p["factors"]),
    )
    model.fit_seconds_ = seconds
    model.spark_params_ = p  # type: ignore[attr-defined]
    user_factors.unpersist()
    item_factors.unpersist()
    return model


def save_spark_als(model: ALSWR, path: str | Path) -> Path:
    """Save as a normal ``als-wr`` model folder; the manifest also records MLlib's parameters."""
    trained_on = {"engine": "spark", "type": "spark-als", "params": model.spark_params_}  # type: ignore[attr-defined]
    return persist.save_model(model, path, {"trained_on": trained_on})
