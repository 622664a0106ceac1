"""Models fitted by ``implicit``: its iterations on a progress bar, the epoch hook after each."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.interactions import Interactions
from recsys_embed.models.base import Recommender
from recsys_embed.progress import counter


class ImplicitRecommender(Recommender):
    """A model whose factors come from an ``implicit`` model's ``fit``."""

    def _fit_implicit(
        self, model: Any, matrix: sp.csr_matrix, train: Interactions, desc: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit an ``implicit`` model, counting its iterations on a progress bar and calling the
        tuner's epoch hook after each; its user and item factors."""

        def factors() -> tuple[np.ndarray, np.ndarray]:
            return np.asarray(model.user_factors), np.asarray(model.item_factors)

        def on_iteration(it: int, *_: Any) -> None:
            bar.update(1)
            self._epoch_done(train, it + 1, factors)

        with counter(
            total=model.iterations, desc=desc, show=self._show_progress, unit="iteration"
        ) as bar:
            model.fit(matrix, show_progress=False, callback=on_iteration)
        return factors()
