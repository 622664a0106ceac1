"""BPR: implicit's CPU BayesianPersonalizedRanking (Rendle et al. 2009)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from recsys_embed.data.interactions import Interactions
from recsys_embed.models.implicit_fit import ImplicitRecommender
from recsys_embed.models.params import FOLD_IN_PARAMS, Param


class BPR(ImplicitRecommender):
    """Pairwise ranking factorisation by SGD (``implicit``).

    implicit keeps an item bias as the last factor column with the user side fixed at 1, so
    ``factors + 1`` columns are stored and scoring stays a dot product. Measured here, implicit's
    BPR is far below published BPR numbers (evaluation/results/bpr_negatives.md); its library
    defaults (lr 0.01, 100 iterations) score below popularity on MovieLens 100K. The defaults here
    (lr 0.002, 300 iterations) were the best of a small grid there (NDCG@10 0.38, per-user
    75/25 split); more iterations or larger steps made it worse. The cause is its sampler: each
    negative is the item of a random interaction, i.e. drawn by popularity. ``"bpr-uniform"``
    samples negatives uniformly and reaches the published numbers. Reproducible only with
    ``num_threads=1`` (each thread samples on its own). Fold-in: see
    :meth:`Recommender.fold_in` (``fold_in_alpha``, ``fold_in_regularization``).
    """

    name = "bpr"
    fixed_user_column = -1
    epoch_param = "iterations"
    PARAMS: ClassVar[dict[str, Param]] = {
        "factors": Param(
            64,
            int,
            "latent dimensions (an item-bias column is added)",
            minimum=1,
            search=(16, 256, "log"),
        ),
        "learning_rate": Param(
            0.002, float, "SGD step size", above=0, search=(0.0005, 0.01, "log")
        ),
        "regularization": Param(0.01, float, "L2 penalty", minimum=0, search=(1e-4, 0.05, "log")),
        "iterations": Param(
            300, int, "epochs over the interactions", minimum=1, search=(100, 500, "log")
        ),
        "verify_negative_samples": Param(True, bool, "resample negatives that are positives"),
        "random_state": Param(0, int, "seed", nullable=True),
        "num_threads": Param(
            1, int, "SGD threads (0 = all cores; >1 is not reproducible)", minimum=0
        ),
        **FOLD_IN_PARAMS,
    }

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        p = self.params
        # implicit warns unless BLAS is single-threaded: its own threads do the work.
        with threadpool_limits(limits=1, user_api="blas"):
            model = BayesianPersonalizedRanking(
                factors=p["factors"],
                learning_rate=p["learning_rate"],
                regularization=p["regularization"],
                iterations=p["iterations"],
                verify_negative_samples=p["verify_negative_samples"],
                random_state=p["random_state"],
                num_threads=p["num_threads"],
            )
            return self._fit_implicit(model, train.matrix, train, "bpr")
