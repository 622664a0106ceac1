"""TextKNN: the content-only baseline. Users are the mean text vector of their items."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.interactions import Interactions
from recsys_embed.models.params import Param
from recsys_embed.models.textbase import TEXT_PARAMS, TextModel, text_profiles


class TextKNN(TextModel):
    """Cosine between a user's mean item text vector and each item's text vector.

    Item vectors are the featurizer's (centred, L2-normalised); a user vector is the
    L2-normalised mean of their training items' vectors, so the dot product is the cosine.
    Items without known words score 0. Fold-in for a new user is the same mean.
    """

    name = "text-knn"
    PARAMS: ClassVar[dict[str, Param]] = {
        **TEXT_PARAMS,
        "random_state": Param(0, int, "seed of word2vec", nullable=True),
    }

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        items = self._fit_text(self._catalogue(train)).astype(np.float64)
        return text_profiles(train.matrix, items), items

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        return text_profiles(history, self.item_factors_).astype(np.float32)

    def _new_item_factors(
        self, ids: list[Any], texts: list[str], vectors: dict[Any, Any]
    ) -> np.ndarray:
        return self._dense_new(ids, texts, vectors)
