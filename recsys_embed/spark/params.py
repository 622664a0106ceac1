"""Parameters of the models that train on Spark (no pyspark import: config checks use them).

``spark-als`` is MLlib's ALS with ``implicitPrefs``. Its parameters mean other things than the
package's ``als`` (implicit's), derived from both sources:

- MLlib: confidence of an observed entry ``1 + alpha * r`` (``c1 = alpha * |rating|``, then
  ``ls.add(y, 1 + c1, c1)``); implicit: ``alpha * w`` (its ``Cui``). Equal confidences need
  ``alpha_implicit * w = 1 + alpha_spark * r``: on binary data ``alpha_implicit = 1 + alpha_spark``.
- MLlib solves each user's (item's) ridge with ``regParam * n`` where ``n`` is that row's number
  of positive entries (``solver.solve(ls, numExplicits * regParam)``, ALS-WR): its objective's
  penalty is ``regParam * (sum_u n_u |x_u|^2 + sum_i n_i |y_i|^2)``. implicit's is
  ``regularization * (sum_u |x_u|^2 + sum_i |y_i|^2)``: one constant, which equals MLlib's ridge
  only for rows of one count. :func:`equivalent_ridge_scale` picks the constant whose penalty is
  MLlib's at the constant-ridge solution: per side, ``sum n |v|^2 / sum |v|^2``, which is the
  entry-weighted mean count ``sum n^2 / sum n`` because squared factor norms grow in proportion
  to the counts (MovieLens 100K: the norm-weighted counts of the mapped fits are 125-149, the
  formula gives 139); and a user-side constant ``a`` with an
  item-side ``b`` give the same scores as ``sqrt(a * b)`` on both sides (``(X, Y)`` solves one
  iff ``(X * (a / b) ** 0.25, Y * (b / a) ** 0.25)`` solves the other), so implicit's single
  constant loses nothing there: ``regularization = regParam * sqrt(sum n_u^2 * sum n_i^2) / nnz``.

The mapping to ``als`` is not exact for a whole fit: per-row ridges shrink heavy users and
popular items more than any constant does, and MLlib's NDCG@10 changes less with regParam than
implicit's with its constant. On MovieLens 100K (evaluation/README.md, "ALS on Spark") the two
differ by 0.006 to 0.014, and no constant factor puts regParam 0.1 and 0.2 (alpha 1) both
within 0.005. The package's ``als-wr`` (:mod:`recsys_embed.models.alswr`) minimises MLlib's
objective itself: ``regularization = regParam``, ``alpha = 1 + alpha_spark``
(:func:`alswr_equivalent`). A Spark-trained ALS is saved as an ``als-wr`` model with these
parameters, so its fold-in of new users is MLlib's own user update.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from recsys_embed.config import Vocabulary
from recsys_embed.models.params import Param, check_params

SPARK_ALS_PARAMS: dict[str, Param] = {
    "factors": Param(64, int, "latent dimensions (MLlib rank)", minimum=1),
    "regularization": Param(
        0.2, float, "MLlib regParam: ridge per row = regParam x the row's entries", minimum=0
    ),
    "alpha": Param(
        1.0, float, "MLlib alpha: confidence 1 + alpha * r (implicit's alpha is 1 + this)", above=0
    ),
    "iterations": Param(15, int, "ALS sweeps (maxIter)", minimum=1),
    "weighting": Param(
        "binary", str, "input ratings: binary (1) or raw weights", choices=("binary", "raw")
    ),
    "random_state": Param(0, int, "seed of the initial factors"),
    "blocks": Param(0, int, "user and item blocks (0: Spark's default parallelism)", minimum=0),
    "checkpoint_interval": Param(5, int, "iterations between lineage checkpoints", minimum=1),
}
SPARK_MODELS = {"spark-als": SPARK_ALS_PARAMS}


def equivalent_ridge_scale(user_counts: np.ndarray, item_counts: np.ndarray) -> float:
    """The factor from MLlib's ``regParam`` to implicit's ``regularization`` (module docstring).

    ``sqrt(sum n_u^2 * sum n_i^2) / nnz``: the geometric mean of the users' and the items'
    entry-weighted mean counts. ``user_counts`` / ``item_counts``: entries per user / per item.
    """
    users = np.asarray(user_counts, dtype=np.float64)
    items = np.asarray(item_counts, dtype=np.float64)
    nnz = users.sum()
    if nnz <= 0 or users.min(initial=0) < 0 or items.min(initial=0) < 0 or items.sum() != nnz:
        raise ValueError(
            f"row counts must be non-negative with equal positive totals, got users "
            f"{users.sum():g}, items {items.sum():g}"
        )
    return float(np.sqrt(np.dot(users, users) * np.dot(items, items)) / nnz)


def alswr_equivalent(params: dict[str, Any]) -> dict[str, Any]:
    """The package ``als-wr`` parameters of ``spark-als`` ones: the same objective on binary
    input (``alpha + 1``; with raw weights MLlib's ``1 + alpha * r`` has no exact match)."""
    return {
        "factors": params["factors"],
        "regularization": float(params["regularization"]),
        "alpha": 1.0 + float(params["alpha"]),
        "iterations": params["iterations"],
        "weighting": params["weighting"],
        "random_state": params["random_state"],
    }


def implicit_equivalent(
    params: dict[str, Any], user_counts: np.ndarray, item_counts: np.ndarray
) -> dict[str, Any]:
    """The package ``als`` parameters that match ``spark-als`` ones on a train matrix whose
    users and items have ``user_counts`` and ``item_counts`` entries (module docstring)."""
    scale = equivalent_ridge_scale(user_counts, item_counts)
    exact = alswr_equivalent(params)  # the same keys; only the ridge differs
    return {**exact, "regularization": exact["regularization"] * scale}


def spark_vocabulary(vocab: Vocabulary) -> Vocabulary:
    """``vocab`` with the Spark-only model types added."""

    def check(kind: str, params: dict[str, Any]) -> None:
        if kind in SPARK_MODELS:
            check_params(kind, SPARK_MODELS[kind], params)
        else:
            vocab.check_model(kind, params)

    return replace(vocab, model_types=(*vocab.model_types, *SPARK_MODELS), check_model=check)
