"""Parameters of the models that train on Spark (no pyspark import: config checks use them).

``spark-als`` is MLlib's ALS with ``implicitPrefs``. Its parameters mean other things than the
package's ``als`` (implicit's), derived from both sources:

- MLlib: confidence of an observed entry ``1 + alpha * r`` (``c1 = alpha * |rating|``, then
  ``ls.add(y, 1 + c1, c1)``); implicit: ``alpha * w`` (its ``Cui``). Equal confidences need
  ``alpha_implicit * w = 1 + alpha_spark * r``: on binary data ``alpha_implicit = 1 + alpha_spark``.
- MLlib solves each user's (item's) ridge with ``regParam * n`` where ``n`` is that row's number
  of positive entries (``solver.solve(ls, numExplicits * regParam)``, ALS-WR); implicit's
  ``regularization`` is one constant. They agree for a row with ``n`` entries when
  ``regularization = regParam * n``.

A Spark-trained ALS is saved as a package ``als`` model with ``alpha`` mapped exactly and
``regularization = regParam x mean entries per user`` (used only by fold-in of new users).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

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


def implicit_equivalent(params: dict[str, Any], mean_user_entries: float) -> dict[str, Any]:
    """The package ``als`` parameters that match ``spark-als`` ones (see the module docstring)."""
    return {
        "factors": params["factors"],
        "regularization": float(params["regularization"]) * float(mean_user_entries),
        "alpha": 1.0 + float(params["alpha"]),
        "iterations": params["iterations"],
        "weighting": params["weighting"],
        "random_state": params["random_state"],
    }


def spark_vocabulary(vocab: Vocabulary) -> Vocabulary:
    """``vocab`` with the Spark-only model types added."""

    def check(kind: str, params: dict[str, Any]) -> None:
        if kind in SPARK_MODELS:
            check_params(kind, SPARK_MODELS[kind], params)
        else:
            vocab.check_model(kind, params)

    return replace(vocab, model_types=(*vocab.model_types, *SPARK_MODELS), check_model=check)
