"""ALS-WR: implicit-feedback ALS whose ridge grows with each row's interactions.

The objective of Spark MLlib's ALS with ``implicitPrefs`` (Hu, Koren & Volinsky 2008 with the
weighted-lambda regularization of Zhou et al. 2008): preference 1 with confidence ``c`` on a
user's items, 0 with confidence 1 elsewhere, and a ridge of ``regularization * n`` on a user
(item) with ``n`` interactions. The package's ``als`` (implicit's) takes one constant ridge
instead, so the two only approximately match (``recsys_embed.spark.params``); this model is the
exact local counterpart of ``spark-als``: with ``alpha = 1 + alpha_spark`` on binary data and
``regularization = regParam`` it minimises the same function. Each half-step solves every row
exactly with :func:`~recsys_embed.models.solve.solve_weighted_rows` (the kernel of fold-in too);
items are updated first, then users, as MLlib does, so the final user vectors are the exact
solution against the final item vectors (and fold-in of a training user reproduces it).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_embed.data.interactions import Interactions
from recsys_embed.data.transforms import WEIGHTINGS, weight_matrix
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import Param
from recsys_embed.models.solve import solve_weighted_rows
from recsys_embed.progress import progress


class ALSWR(Recommender):
    """Implicit ALS with a per-interaction ridge (MLlib's objective), solved exactly in numba.

    ``alpha``: confidence ``alpha * w`` of an observed entry, as in ``als`` (MLlib's
    ``1 + alpha * r``: on binary data ``alpha = 1 + alpha_spark``). ``regularization``: the
    ridge per interaction (MLlib's ``regParam``). Defaults: MLlib's best measured on MovieLens
    100K (regParam 0.2, alpha 1: evaluation/README.md, Spark). Deterministic for a seed.
    """

    name = "als-wr"
    epoch_param = "iterations"
    PARAMS: ClassVar[dict[str, Param]] = {
        "factors": Param(64, int, "latent dimensions", minimum=1, search=(32, 256, "log")),
        "regularization": Param(
            0.2,
            float,
            "ridge per interaction: a row with n interactions gets regularization * n",
            minimum=0,
            search=(0.05, 1.0, "log"),
        ),
        "alpha": Param(
            2.0,
            float,
            "confidence multiplier of observed entries (MLlib's alpha is this - 1)",
            above=0,
            search=(1.5, 20.0, "log"),
        ),
        "iterations": Param(15, int, "ALS sweeps", minimum=1, search=(8, 30, "log")),
        "weighting": Param("binary", str, "input weighting", choices=WEIGHTINGS),
        "random_state": Param(0, int, "seed of the initial factors", nullable=True),
    }

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        by_user = sp.csr_matrix(weight_matrix(train.matrix, p["weighting"]), dtype=np.float64)
        by_item = sp.csr_matrix(by_user.T)
        k = p["factors"]
        rng = np.random.default_rng(p["random_state"])
        users = rng.normal(size=(by_user.shape[0], k)) / np.sqrt(k)  # items are solved first
        items = np.zeros((by_user.shape[1], k))
        reg = float(p["regularization"])
        item_conf, user_conf = p["alpha"] * by_item.data, p["alpha"] * by_user.data
        item_ridge = reg * np.diff(by_item.indptr).astype(np.float64)  # reg x the row's count
        user_ridge = reg * np.diff(by_user.indptr).astype(np.float64)
        no_bias = np.zeros(0)
        with threadpool_limits(limits=1, user_api="blas"):  # numba's solve calls LAPACK
            for it in progress(
                range(1, p["iterations"] + 1), desc="als-wr", show=self._show_progress, unit="it"
            ):
                solve_weighted_rows(
                    by_item.indptr,
                    by_item.indices,
                    item_conf,
                    users,
                    no_bias,
                    item_ridge,
                    items,
                )
                solve_weighted_rows(
                    by_user.indptr,
                    by_user.indices,
                    user_conf,
                    items,
                    no_bias,
                    user_ridge,
                    users,
                )
                self._epoch_done(train, it, lambda: (users, items))
        return users, items

    def _fold_in_confidence(self, history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """ALS-WR's own user update: its confidence, and ``regularization`` x the row's count."""
        weighted = weight_matrix(history, self.params["weighting"])
        counts = np.diff(sp.csr_matrix(history).indptr).astype(np.float64)
        return self.params["alpha"] * weighted.data.astype(np.float64), (
            self.params["regularization"] * counts
        )
