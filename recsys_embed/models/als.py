"""ALS: implicit's CPU AlternatingLeastSquares (Hu, Koren & Volinsky 2008)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_embed.data.interactions import Interactions
from recsys_embed.data.transforms import WEIGHTINGS, weight_matrix
from recsys_embed.models.implicit_fit import ImplicitRecommender
from recsys_embed.models.params import Param


class ALS(ImplicitRecommender):
    """Implicit-feedback matrix factorisation by alternating least squares (``implicit``).

    ``alpha`` is implicit's: the confidence of an observed entry is ``alpha * w`` (not
    ``1 + alpha * w``), where ``w`` is the input after ``weighting``. ``regularization`` is not
    scaled by the number of interactions, so good values are large (about 50 on MovieLens,
    measured on its validation grids, evaluation/results/tuning_grids.md); the defaults are
    those measured best.
    Fold-in (:meth:`recommend_for_history`) is ALS's own exact user update.
    Reproducible with ``random_state`` set, also multi-threaded (the solver is deterministic).
    """

    name = "als"
    epoch_param = "iterations"
    PARAMS: ClassVar[dict[str, Param]] = {
        # ranges from validation grids (evaluation/studies/tuning_grids.py; bm25 never won) and from
        # where settings win after the refit on all of train: the best alpha and regularization
        # fall as the data grows, so alpha above 10 wins on the smaller fitting part and loses
        # after the refit (evaluation/README.md, "Search ranges and data size")
        "factors": Param(64, int, "latent dimensions", minimum=1, search=(32, 256, "log")),
        "regularization": Param(
            50.0, float, "L2 penalty (absolute)", minimum=0, search=(20.0, 100.0, "log")
        ),
        "alpha": Param(
            5.0,
            float,
            "confidence multiplier of observed entries",
            above=0,
            search=(2.0, 10.0, "log"),
        ),
        "iterations": Param(15, int, "ALS sweeps", minimum=1, search=(8, 30, "log")),
        "weighting": Param(
            "binary", str, "input weighting", choices=WEIGHTINGS, search=("binary", "log")
        ),
        "random_state": Param(0, int, "seed of the initial factors", nullable=True),
        "num_threads": Param(1, int, "solver threads (0 = all cores)", minimum=0),
    }

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        # implicit warns unless BLAS is single-threaded: its own threads do the work.
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=p["factors"],
                regularization=p["regularization"],
                alpha=p["alpha"],
                iterations=p["iterations"],
                random_state=p["random_state"],
                num_threads=p["num_threads"],
            )
            return self._fit_implicit(
                model, weight_matrix(train.matrix, p["weighting"]), train, "als"
            )

    def _fold_in_confidence(self, history: sp.csr_matrix) -> tuple[np.ndarray, float]:
        weighted = weight_matrix(history, self.params["weighting"])
        return self.params["alpha"] * weighted.data.astype(np.float64), self.params[
            "regularization"
        ]
