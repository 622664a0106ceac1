"""EASE (Steck 2019): closed-form item-item weights, the bar for factorisation models here."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.interactions import Interactions
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import Param


class EASE(Recommender):
    """Embarrassingly shallow autoencoder: ``B = argmin ||X - XB||^2 + l2 ||B||^2, diag(B) = 0``.

    Honest about the interface: EASE has no user embedding. Its "user vector" is the user's
    binary history row (n_items wide) and its "item vector" is the item's column of the
    (n_items x n_items) weight matrix, so scores are still a dot product, but both grow with
    the catalogue (memory n_items^2; fine up to a few 10k items). Fold-in is exact: a new user's
    vector is their history row. ``similar_items`` uses cosine between the weight columns.
    With the default ``l2 = 500`` (untuned) it scores NDCG@10 0.4815 on MovieLens 100K under the
    Microsoft Recommenders protocol (random 75/25 split stratified per item, seed 42).
    """

    name = "ease"
    PARAMS: ClassVar[dict[str, Param]] = {
        "l2": Param(
            500.0, float, "ridge on the item-item weights", above=0, search=(100.0, 3000.0, "log")
        ),
    }

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        x = sp.csr_matrix(
            (np.ones(train.nnz), train.matrix.indices, train.matrix.indptr),
            shape=train.matrix.shape,
        )
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += self.params["l2"]
        inv = np.linalg.inv(gram)
        weights = inv / -np.diag(inv)
        weights[np.diag_indices_from(weights)] = 0.0
        return x.toarray(), weights.T  # score(u, i) = x_u . weights[:, i]

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        self._require_fitted()
        rows = sp.csr_matrix(
            (np.ones(history.nnz), history.indices, history.indptr), shape=history.shape
        )
        return rows.toarray().astype(np.float32)
