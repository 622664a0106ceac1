"""Ranking metrics as DataFrame aggregates, under :mod:`recsys_embed.metrics`' conventions.

Binary relevance (a test interaction is relevant); users with >= 1 test item are evaluated and
users with an empty or hit-less list count 0. recall@k = hits / |relevant|; precision@k =
hits / k; NDCG@k with ideal DCG over min(k, |relevant|) positions; AP@k = sum of precision at
hit ranks / min(k, |relevant|); MRR@k; hit rate@k; coverage@k = distinct recommended items /
catalogue size. Equal to the local evaluator to float rounding (~1e-15) on the same lists.
One join and one group-by for every k at once; no per-user loop and no driver-side collect.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recsys_embed.errors import ConfigError

SPARK_METRICS = ("recall", "precision", "ndcg", "map", "mrr", "hit_rate", "coverage")


def check_metrics(metrics: Sequence[str]) -> None:
    bad = [m for m in metrics if m not in SPARK_METRICS]
    if bad:
        raise ConfigError(
            f"metric(s) {bad} are not computed on Spark (AUC needs every score, novelty the "
            f"training counts); available there: {list(SPARK_METRICS)}"
        )


def _ideal_dcg(n: Column) -> Column:
    """sum over r = 1..n of 1 / log2(r + 1) (0 for n = 0)."""
    return F.aggregate(
        F.sequence(F.lit(1), F.greatest(n, F.lit(1))),
        F.lit(0.0),
        lambda acc, r: acc + F.when(r <= n, 1.0 / F.log2(r + 1)).otherwise(0.0),
    )


def per_user_metrics(
    recs: DataFrame, test: DataFrame, ks: Sequence[int], metrics: Sequence[str]
) -> DataFrame:
    """``user_idx, n_relevant`` and one column per ``metric@k`` for every user with a test item.

    ``recs`` has ``user_idx, rank, item_idx`` (rank 1 = best; padding not stored); ``test`` has
    ``user_idx, item_idx`` (the held-out interactions).
    """
    check_metrics(metrics)
    truth = test.select("user_idx", "item_idx").distinct()
    n_rel = truth.groupBy("user_idx").agg(F.count(F.lit(1)).alias("n_relevant"))
    hits = recs.select("user_idx", "rank", "item_idx").join(truth, ["user_idx", "item_idx"])
    order = Window.partitionBy("user_idx").orderBy("rank")
    hits = hits.withColumn("j", F.row_number().over(order))  # hits so far, this one included
    aggs = []
    for k in ks:
        inside = F.col("rank") <= k
        aggs += [
            F.count_if(inside).alias(f"h{k}"),
            F.sum(F.when(inside, 1.0 / F.log2(F.col("rank") + 1)).otherwise(0.0)).alias(f"dcg{k}"),
            F.sum(F.when(inside, F.col("j") / F.col("rank")).otherwise(0.0)).alias(f"ap{k}"),
            F.min(F.when(inside, F.col("rank"))).alias(f"first{k}"),
        ]
    per_hit = hits.groupBy("user_idx").agg(*aggs)
    joined = n_rel.join(per_hit, "user_idx", "left")
    cols = [F.col("user_idx"), F.col("n_relevant")]
    n = F.col("n_relevant").cast("double")
    for k in ks:
        h = F.coalesce(F.col(f"h{k}"), F.lit(0)).cast("double")
        cut = F.least(F.col("n_relevant"), F.lit(k))
        formulas = {
            "recall": h / n,
            "precision": h / k,
            "ndcg": F.coalesce(F.col(f"dcg{k}"), F.lit(0.0)) / _ideal_dcg(cut),
            "map": F.coalesce(F.col(f"ap{k}"), F.lit(0.0)) / cut,
            "mrr": F.coalesce(1.0 / F.col(f"first{k}"), F.lit(0.0)),
            "hit_rate": (h > 0).cast("double"),
        }
        cols += [formulas[m].alias(f"{m}@{k}") for m in metrics if m in formulas]
    return joined.select(*cols)


def metric_means(
    recs: DataFrame,
    test: DataFrame,
    ks: Sequence[int],
    metrics: Sequence[str],
    n_catalogue: int,
) -> dict[str, float]:
    """``{"ndcg@10": mean, ...}``: means over evaluated users, and coverage, as aggregates."""
    per_user = per_user_metrics(recs, test, ks, metrics)
    keys = [f"{m}@{k}" for m in metrics for k in ks if m != "coverage"]
    out: dict[str, float] = {}
    if keys:
        row = per_user.agg(*[F.avg(F.col(f"`{c}`")).alias(c) for c in keys]).collect()[0]
        out.update({c: float(row[c]) for c in keys})
    if "coverage" in metrics:
        out.update(coverage(recs, ks, n_catalogue))
    return out


def coverage(recs: DataFrame, ks: Sequence[int], n_catalogue: int) -> dict[str, float]:
    aggs = [
        F.count_distinct(F.when(F.col("rank") <= k, F.col("item_idx"))).alias(f"coverage@{k}")
        for k in ks
    ]
    row = recs.agg(*aggs).collect()[0]
    return {f"coverage@{k}": float(row[f"coverage@{k}"]) / n_catalogue for k in ks}
