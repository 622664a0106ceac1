"""LightFM (Kula 2015) with its biases folded into the vectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import DataError
from recsys_embed.models.base import FOLD_IN_PARAMS, Recommender
from recsys_embed.models.params import Param
from recsys_embed.progress import progress


def fit_lightfm(
    params: dict[str, Any],
    interactions: sp.coo_matrix,
    item_features: Any,
    show_progress: bool | None = None,
    desc: str = "lightfm",
    on_epoch: Callable[[int, Any], None] | None = None,
) -> Any:
    """A fitted ``lightfm.LightFM`` (the only place the library is used).

    Epochs run one ``fit_partial`` call at a time after a reset, which is what
    ``LightFM.fit`` does in one call (same draws, same result), so progress can be shown and
    ``on_epoch(epoch, model)`` (the tuner's pruning hook) called after each.
    """
    from lightfm import LightFM as _LightFM

    model = _LightFM(
        no_components=params["no_components"],
        loss=params["loss"],
        learning_rate=params["learning_rate"],
        item_alpha=params["item_alpha"],
        user_alpha=params["user_alpha"],
        max_sampled=params["max_sampled"],
        learning_schedule=params["learning_schedule"],
        random_state=params["random_state"],
    )
    model._reset_state()  # what LightFM.fit does before its fit_partial
    epochs = range(1, params["epochs"] + 1)
    for epoch in progress(epochs, desc=desc, show=show_progress, unit="epoch"):
        model.fit_partial(
            interactions,
            item_features=item_features,
            epochs=1,
            num_threads=params["num_threads"],
        )
        if on_epoch is not None:
            on_epoch(epoch, model)
    return model


def folded_factors(model: Any, item_features: Any) -> tuple[np.ndarray, np.ndarray]:
    """User ``[p_u, b_u, 1]`` and item ``[q_i, 1, b_i]`` vectors: dot product == ``predict``."""
    user_bias, user_emb = model.get_user_representations()
    item_bias, item_emb = model.get_item_representations(item_features)
    users = np.hstack([user_emb, user_bias[:, None], np.ones((len(user_bias), 1))])
    items = np.hstack([item_emb, np.ones((len(item_bias), 1)), item_bias[:, None]])
    return users, items


class LightFM(Recommender):
    """LightFM factorisation; WARP is the strong loss (evaluation/RESULTS.md).

    Vectors: user ``[p_u, b_u, 1]`` and item ``[q_i, 1, b_i]``, so a dot product equals
    ``LightFM.predict``. ``fit(train, item_features=F)`` passes an (n_items x n_features)
    matrix to LightFM as given (LightFM then represents item i as ``F[i] @ embeddings``; include
    an identity block yourself if you want per-item vectors). Reproducible only with
    ``num_threads=1``. Fold-in: see :meth:`Recommender.fold_in`.
    """

    name = "lightfm"
    fixed_user_column = -1
    epoch_param = "epochs"
    PARAMS: ClassVar[dict[str, Param]] = {
        # ranges from validation grids (evaluation/studies/tuning_grids.py) and earlier searches:
        # WARP won every time (the other losses are not searched); steps above 0.03 overfit
        "no_components": Param(128, int, "latent dimensions", minimum=1, search=(64, 256, "log")),
        "loss": Param("warp", str, "loss", choices=("warp", "bpr", "logistic", "warp-kos")),
        "learning_rate": Param(0.02, float, "SGD step size", above=0, search=(0.005, 0.03, "log")),
        "epochs": Param(50, int, "passes over the interactions", minimum=1, search=(20, 80, "log")),
        "item_alpha": Param(
            0.0, float, "L2 penalty on item features", minimum=0, search=(1e-8, 1e-5, "log")
        ),
        "user_alpha": Param(
            0.0, float, "L2 penalty on user features", minimum=0, search=(1e-8, 1e-5, "log")
        ),
        "max_sampled": Param(
            10, int, "WARP: negatives tried per positive", minimum=1, search=(5, 50, "log")
        ),
        "learning_schedule": Param(
            "adagrad", str, "step-size schedule", choices=("adagrad", "adadelta")
        ),
        "random_state": Param(0, int, "seed", nullable=True),
        "num_threads": Param(1, int, "Hogwild threads (>1 is not reproducible)", minimum=1),
        **FOLD_IN_PARAMS,
    }

    def fit(
        self,
        train: Interactions,
        item_text: Any = None,
        *,
        item_features: sp.spmatrix | None = None,
        show_progress: bool | None = None,
    ) -> LightFM:
        """Fit on ``train``; ``item_features`` (n_items x n_features) as LightFM takes them.

        ``item_text`` is accepted like every model's and not read (see ``lightfm-hybrid``).
        """
        if item_features is not None and item_features.shape[0] != train.n_items:
            raise DataError(
                f"item_features has {item_features.shape[0]} rows; expected one per item "
                f"({train.n_items})"
            )
        self._item_features = (
            None if item_features is None else sp.csr_matrix(item_features, dtype=np.float32)
        )
        super().fit(train, show_progress=show_progress)
        return self

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        binary = sp.coo_matrix(
            (np.ones(train.nnz, np.float32), (train.user_idx, train.item_idx)),
            shape=train.matrix.shape,
        )
        features = self._item_features

        def on_epoch(epoch: int, model: Any) -> None:
            self._epoch_done(train, epoch, lambda: folded_factors(model, features))

        hook = on_epoch if self.epoch_hook is not None else None
        self._lightfm = fit_lightfm(  # kept for checks
            self.params, binary, features, self._show_progress, on_epoch=hook
        )
        return folded_factors(self._lightfm, self._item_features)

    def similarity_vectors(self) -> np.ndarray:
        return self.item_factors_[:, :-2]
