"""Random: scores drawn at random, the floor any model must clear."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.interactions import Interactions
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import Param


class Random(Recommender):
    """Random user and item vectors (standard normal, seeded): a random ranking per user.

    New users (fold-in) get a fresh random vector, seeded by ``random_state``.
    """

    name = "random"
    PARAMS: ClassVar[dict[str, Param]] = {
        "factors": Param(16, int, "dimensions of the random vectors", minimum=1),
        "random_state": Param(0, int, "seed", nullable=True),
    }

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.params["random_state"])
        f = self.params["factors"]
        return rng.standard_normal((train.n_users, f)), rng.standard_normal((train.n_items, f))

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        rng = np.random.default_rng(self.params["random_state"])
        return rng.standard_normal((history.shape[0], self.params["factors"])).astype(np.float32)
