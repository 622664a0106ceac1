"""Popularity: every user gets the items with the most training interactions."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recsys_embed.data.interactions import Interactions
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import Param


class Popularity(Recommender):
    """The honest baseline: score(u, i) = number of training users who interacted with i.

    One factor column: users are 1, items are their counts. Ties rank the lower item index
    first. Fold-in gives a new user the same popularity scores.
    """

    name = "popularity"
    fixed_user_column = 0
    PARAMS: ClassVar[dict[str, Param]] = {}

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        counts = np.bincount(train.matrix.indices, minlength=train.n_items).astype(np.float32)
        return np.ones((train.n_users, 1), dtype=np.float32), counts[:, None]

    def similarity_vectors(self) -> np.ndarray:
        return self.item_factors_
