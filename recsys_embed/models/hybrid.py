"""LightFM hybrid whose item features are word embeddings of the item text."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.interactions import Interactions
from recsys_embed.features.codes import sparse_codes, spherical_kmeans
from recsys_embed.models import persist
from recsys_embed.models.base import FOLD_IN_PARAMS
from recsys_embed.models.foldin import default_confidence, implicit_least_squares
from recsys_embed.models.lightfm import LightFM, fit_lightfm, folded_factors
from recsys_embed.models.params import Param
from recsys_embed.models.textbase import (
    TEXT_PARAMS,
    TextModel,
    content_param,
    length_param,
    year_param,
)


def top_m(dense: np.ndarray, m: int) -> np.ndarray:
    """``dense`` with all but each row's ``m`` largest-magnitude entries set to 0 (m=0: as is).

    LightFM's cost per item grows with its non-zero features; a few coordinates keep most of
    a centred text vector's direction.
    """
    if m <= 0 or m >= dense.shape[1]:
        return dense
    out = np.zeros_like(dense)
    keep = np.argpartition(-np.abs(dense), m - 1, axis=1)[:, :m]
    rows = np.arange(dense.shape[0])[:, None]
    out[rows, keep] = dense[rows, keep]
    return out


class LightFMHybrid(TextModel):
    """LightFM with item features ``[identity | text vector | token one-hots]``.

    - identity: one column per item with training interactions (``identity=True``), so warm
      items keep a free vector; cold and text-only items have none.
    - text: the item's pooled word vectors (see :mod:`recsys_embed.features.text`) or its
      ``item_vectors``, mean-centred and L2-normalised, times ``text_weight``. By default coded
      sparsely (``text_codes``): the item's ``text_top_m`` = 8 nearest of at most 512 spherical
      k-means centroids (one per 8 items at most), weighted by cosine; LightFM's cost grows with
      an item's non-zero features, so 8 codes fit ~4x faster than a dense 64-d block.
    - tokens (``token_features=True``): one-hot of tokens found in >= ``token_min_items`` = 5
      items (genres, frequent tags), the row L2-normalised, times ``token_weight`` = 0.5
      (a token seen in fewer items gets an embedding LightFM barely trains).
    - length: log(1 + tokens) and log(1 + distinct tokens) of the item's text, standardised
      over the catalogue, times ``length_weight`` = 0.5 (how much text an item has, e.g. how
      many users tagged it, hints at its popularity; normalised blocks lose it).
    - year: the decade of a ``(1995)``-style year in the text, one-hot, times ``year_weight``
      = 0.5.

    The score is LightFM's plus ``content_weight`` times text-knn's cosine (the content term of
    :class:`~recsys_embed.models.textbase.TextModel`, shared with ``als-text-map``).

    Real-valued, signed features: LightFM represents an item as ``sum_j f_ij e_j`` and accepts
    any real ``f``; only its ``Dataset`` helper L1-normalises rows, which assumes non-negative
    counts and shrinks a dense text block against the identity column. The matrix is passed
    as built here, un-normalised (it measured better than L1-normalised rows).
    Items without training interactions are scored from their text (and tokens) alone;
    :meth:`add_items` adds new ones after fitting. With ``content_weight=0`` scores equal
    LightFM's ``predict``.

    Defaults were chosen for ranking cold items on validation cold splits of four catalogue
    shapes (evaluation/README.md): no identity block, 8 text codes, token one-hots (tokens in
    >= 5 items, weight 0.5), text length and decade (weights 0.5), 32 components, 15 epochs,
    content weight 2 (evaluation/studies/sweep_content.py, evaluation/results/shapes_validation.md).
    For mostly-warm catalogues set ``identity=True`` (the default run does); for item-to-item
    neighbours by title, ``text_codes=0`` (dense block, slower).
    """

    name = "lightfm-hybrid"
    fixed_user_column = -1
    epoch_param = "epochs"
    PARAMS: ClassVar[dict[str, Param]] = {
        **{k: v for k, v in LightFM.PARAMS.items() if k not in FOLD_IN_PARAMS},
        "no_components": Param(32, int, "latent dimensions", minimum=1, search=(16, 256, "log")),
        "epochs": Param(
            15, int, "passes over the interactions", minimum=1, search=(10, 100, "log")
        ),
        **TEXT_PARAMS,
        "text_weight": Param(1.0, float, "scale of the text block against identity", minimum=0),
        "identity": Param(False, bool, "an identity feature for every item seen in training"),
        "token_features": Param(True, bool, "one-hot tokens (genres, tags) beside the text"),
        "token_weight": Param(0.5, float, "scale of the token block", minimum=0),
        "token_min_items": Param(
            5, int, "a token gets a one-hot column when at least this many items have it", minimum=1
        ),
        "text_codes": Param(
            512,
            int,
            "code the text as its nearest of this many k-means centroids, at most one per 8 "
            "items with text (0: dense)",
            minimum=0,
        ),
        "text_top_m": Param(
            8,
            int,
            "with text_codes: centroids kept per item; else the m largest-magnitude text "
            "coordinates kept (0: all)",
            minimum=0,
        ),
        "length_weight": length_param(0.5),
        "year_weight": year_param(0.5),
        # on LightFM's score scale (WARP scores span several units), unlike als-text-map's
        "content_weight": content_param(2.0),
        **FOLD_IN_PARAMS,
    }

    def _side_features(
        self, text: np.ndarray, docs: list[list[str]], texts: list[str]
    ) -> sp.csr_matrix:
        p = self.params
        if p["text_codes"]:
            text = sparse_codes(text, self.centroids_, p["text_top_m"] or 4)
        else:
            text = top_m(text, p["text_top_m"])
        blocks = self._feature_blocks(text, docs, texts)
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        catalogue = self._catalogue(train)
        n_items = len(catalogue)
        text = self._fit_text(catalogue)
        texts, docs = self._fit_tokens_and_lengths(catalogue)
        # at most one centroid per 8 items with text: codes shared by a handful of items
        n_codes = min(p["text_codes"], max(1, int((np.abs(text).sum(axis=1) > 0).sum()) // 8))
        self.centroids_ = (
            spherical_kmeans(text, n_codes, seed=p["random_state"] or 0)
            if p["text_codes"]
            else np.zeros((0, text.shape[1]))
        )
        side = self._side_features(text, docs, texts)
        counts = np.bincount(train.matrix.indices, minlength=n_items)
        blocks = []
        if p["identity"]:
            warm = np.flatnonzero(counts > 0)
            blocks.append(
                sp.csr_matrix(
                    (np.ones(len(warm), np.float32), (warm, np.arange(len(warm)))),
                    shape=(n_items, len(warm)),
                )
            )
        features = sp.hstack([*blocks, side], format="csr", dtype=np.float32)
        interactions = sp.coo_matrix(
            (np.ones(train.nnz, np.float32), (train.user_idx, train.item_idx)),
            shape=(train.n_users, n_items),
        )

        def on_epoch(epoch: int, fitted: Any) -> None:
            self._epoch_done(
                train, epoch, lambda: self._fitted_vectors(fitted, features, train, text)
            )

        hook = on_epoch if self.epoch_hook is not None else None
        model = fit_lightfm(
            p, interactions, features, self._show_progress, "lightfm-hybrid", on_epoch=hook
        )
        self._lightfm, self._item_features = model, features  # for equivalence checks; not saved
        n_side = side.shape[1]
        self.side_embeddings_ = np.asarray(model.item_embeddings[-n_side:], dtype=np.float32)
        self.side_biases_ = np.asarray(model.item_biases[-n_side:], dtype=np.float32)
        return self._fitted_vectors(model, features, train, text)

    def _fitted_vectors(
        self, model: Any, features: sp.csr_matrix, train: Interactions, text: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """[p_u, w * unit(mean text), b_u, 1] . [q_i, t_i, 1, b_i]: LightFM's + w * text-knn's."""
        users, items = folded_factors(model, features)
        return self._add_content(users, items, train.matrix, text, at=self.params["no_components"])

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """The base fold-in (see :meth:`Recommender.fold_in`) on LightFM's part of the item
        vectors; the content block is the user's unit mean text vector, as in training."""
        self.require_fitted()
        own = self._own_item_factors()
        p = self.params
        # the ridge's scale: LightFM's item embeddings (bias columns and content block left out)
        conf, reg = default_confidence(
            history, own[:, :-2], p["fold_in_alpha"], p["fold_in_regularization"]
        )
        users = implicit_least_squares(own, self.fixed_user_column, history, conf, reg)
        return self._content_users(users, history)

    def _new_item_factors(
        self, ids: list[Any], texts: list[str], vectors: dict[Any, Any]
    ) -> np.ndarray:
        docs = self._docs(texts)
        dense = self._dense_new(ids, texts, vectors)
        side = self._side_features(dense, docs, texts)
        emb = side @ self.side_embeddings_
        bias = side @ self.side_biases_
        own = np.hstack([emb, np.ones((len(texts), 1)), np.asarray(bias).reshape(-1, 1)])
        return self._content_items(own, dense)

    def similarity_vectors(self) -> np.ndarray:
        return self.item_factors_[:, :-2]

    def extra_arrays(self) -> dict[str, np.ndarray]:
        return {
            **super().extra_arrays(),
            "side_embeddings": self.side_embeddings_,
            "side_biases": self.side_biases_,
            "text_centroids": self.centroids_,
            "tokens": persist.ids_to_array(np.asarray(self.tokens_, dtype=object)),
        }

    def restore_extra(self, arrays: dict[str, np.ndarray]) -> None:
        super().restore_extra(arrays)
        self.side_embeddings_ = arrays["side_embeddings"]
        self.side_biases_ = arrays["side_biases"]
        self.centroids_ = arrays["text_centroids"]
        self.tokens_ = [str(t) for t in arrays["tokens"].tolist()]
