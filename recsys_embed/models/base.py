"""Recommender: parameters, the fit template and fold-in. A fit ends in a
:class:`~recsys_embed.models.vectors.FittedVectors` (user and item factors, biases folded in as
columns), the core that ranks, scores and finds similar items for every model.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import DataError, NotFittedError
from recsys_embed.models import persist
from recsys_embed.models.foldin import default_confidence, implicit_least_squares, out_fixed
from recsys_embed.models.frames import Output
from recsys_embed.models.params import FOLD_IN_PARAMS, EpochHook, Parametrised, check_params
from recsys_embed.models.vectors import FittedVectors, RetrievalChoice, require_finite

__all__ = ["FOLD_IN_PARAMS", "EpochHook", "Recommender"]


class Recommender(Parametrised, ABC):
    """Base class: ``fit`` learns factors; recommend, score, similar items and I/O are shared.

    Subclasses set ``name`` and ``PARAMS`` and implement ``_fit_factors``. ``fixed_user_column``
    names a user-factor column that is constant 1 (its item column then holds the item bias).
    """

    name: ClassVar[str] = ""
    fixed_user_column: ClassVar[int | None] = None
    epoch_param: ClassVar[str | None] = None  # the parameter counting epochs _epoch_done sees
    epoch_hook: EpochHook | None = None
    fit_seconds_: float | None

    @property
    def is_fitted(self) -> bool:
        """True once ``fit`` (or ``load``) has given the model its factors."""
        return "vectors_" in vars(self)

    # ---- fitting ------------------------------------------------------------------------
    def fit(
        self, train: Interactions, item_text: Any = None, *, show_progress: bool | None = None
    ) -> Recommender:
        """Learn factors from ``train``; starts from scratch on every call. Returns ``self``.

        Every model takes the same call: ``item_text`` (a frame with ``item_id`` and ``text``,
        or ``{item_id: text}``) is read by the text models and ignored by the others;
        ``show_progress`` as in :mod:`recsys_embed.progress` (None: a bar on a terminal).
        """
        self._show_progress = show_progress
        self.params = check_params(type(self).__name__, self.PARAMS, self.params)
        if not isinstance(train, Interactions):
            raise DataError(f"fit expects Interactions, got {type(train).__name__}")
        if train.nnz == 0:
            raise DataError("fit needs at least one interaction; train is empty")
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("_")]:
            delattr(self, attr)
        start = time.perf_counter()
        user_factors, item_factors = self._fit_factors(train)
        self.fit_seconds_ = time.perf_counter() - start
        require_finite(self.name, self.params, user_factors, item_factors)
        catalogue = self._catalogue(train)
        return self.set_factors(train.user_map, catalogue, train.matrix, user_factors, item_factors)

    def _epoch_done(
        self,
        train: Interactions,
        epoch: int,
        factors: Callable[[], tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """Models that fit in epochs call this after each one; ``epoch_hook`` may see the model."""
        hook = self.epoch_hook
        if hook is not None and hook.wants(epoch):
            self.set_factors(train.user_map, self._catalogue(train), train.matrix, *factors())
            hook(epoch, self)

    def _catalogue(self, train: Interactions) -> IdMap:
        """The items the model ranks: the training items (text models add text-only items)."""
        return train.item_map

    @abstractmethod
    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        """User and item factors learned from ``train``: each concrete model's only job."""

    # ---- the fitted vectors ----------------------------------------------------------------
    def set_factors(
        self,
        user_map: IdMap,
        item_map: IdMap,
        seen: sp.csr_matrix,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
    ) -> Recommender:
        """Make the model fitted with these vectors (:meth:`FittedVectors.build`); ``self``."""
        self.vectors_ = FittedVectors.build(user_map, item_map, seen, user_factors, item_factors)
        return self

    def require_fitted(self) -> FittedVectors:
        """The fitted vectors; :class:`NotFittedError` before ``fit``."""
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")
        return self.vectors_

    user_map_ = property(lambda self: self.vectors_.user_map, doc="training users' id map")
    item_map_ = property(lambda self: self.vectors_.item_map, doc="the catalogue's id map")
    seen_ = property(lambda self: self.vectors_.seen, doc="users x items, 1 where seen")
    user_factors_ = property(lambda self: self.vectors_.user_factors, doc="(n_users, d)")
    item_factors_ = property(lambda self: self.vectors_.item_factors, doc="(n_items, d)")
    item_popularity_ = property(lambda self: self.vectors_.popularity, doc="training users/item")

    # ---- ranking: the core does it --------------------------------------------------------
    def recommend(
        self,
        user_ids: Any,
        k: int = 10,
        exclude_seen: bool = True,
        items: Any = None,
        unknown: Literal["raise", "popular"] = "raise",
        chunk_size: int = 1024,
        *,
        output: Output = "arrays",
        show_progress: bool | None = False,
        retrieval: RetrievalChoice = "exact",
        **rules: Any,
    ) -> Any:
        """Top-``k`` items for each user: ``(item_ids, scores)``, each of shape (n_users, k).

        ``items`` restricts ranking to those item ids. ``unknown="raise"``: UnknownIdError for
        users not seen in training; ``"popular"``: they get the most popular training items.
        Padding: see :mod:`recsys_embed.models.vectors`. ``output="polars"`` or ``"pandas"``:
        a frame ``user_id, rank, item_id, score`` (rank from 1, no padding), as the batch writes.
        ``show_progress``: a bar (or log lines) over the chunks (:mod:`recsys_embed.progress`).
        ``retrieval``: ``"exact"``, ``"ann"`` or :class:`~recsys_embed.models.ann.AnnSettings`
        (:mod:`recsys_embed.models.ann`). ``rules`` (:mod:`recsys_embed.models.rules`): only
        ``eligible=`` item ids, never ``exclude_items=``, never a user's ``exclude_pairs=``.
        """
        args = (user_ids, k, exclude_seen, items, unknown, chunk_size, output, show_progress)
        return self.require_fitted().recommend(*args, retrieval=retrieval, **rules)

    def recommend_all(
        self,
        k: int = 10,
        chunk_size: int = 1024,
        exclude_seen: bool = True,
        items: Any = None,
        **options: Any,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield ``(user_ids, item_ids, scores)`` of every training user, ``chunk_size`` at once
        (memory per step: ``chunk_size x n_items`` scores; ``options`` as in :meth:`recommend`)."""
        return self.require_fitted().recommend_all(k, chunk_size, exclude_seen, items, **options)

    def score(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """Scores of (user, item) pairs, element-wise: ``len(user_ids) == len(item_ids)``."""
        return self.require_fitted().score(user_ids, item_ids)

    def similarity_vectors(self) -> np.ndarray:
        """Item vectors for cosine similarity: the factors without bias columns."""
        factors = self.require_fitted().item_factors
        if self.fixed_user_column is None:
            return factors
        keep = np.ones(factors.shape[1], dtype=bool)
        keep[self.fixed_user_column] = False
        return factors[:, keep]

    def similar_items(
        self, item_ids: Any, k: int = 10, items: Any = None, *, output: Output = "arrays", **kw: Any
    ) -> Any:
        """The ``k`` most cosine-similar items to each item (itself excluded).

        Returns ``(item_ids, scores)`` of shape (n, k), or with ``output="polars"``/``"pandas"``
        a frame ``item_id, rank, similar_item_id, score`` (padding left out). ``retrieval=``
        ``"ann"``: a cosine index of its own, built on first use.
        """
        core = self.require_fitted()
        return core.similar(item_ids, k, items, output, self.similarity_vectors(), **kw)

    # ---- fold-in ----------------------------------------------------------------------------
    def _fold_in_confidence(self, history: sp.csr_matrix) -> tuple[np.ndarray, float | np.ndarray]:
        """Confidence of each history entry, and the absolute ridge (or one per history row),
        for :meth:`fold_in`."""
        alpha, reg = self.params["fold_in_alpha"], self.params["fold_in_regularization"]
        return default_confidence(history, self.similarity_vectors(), alpha, reg)

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User vectors for new users from a (n_new x n_items) history matrix: Hu, Koren &
        Volinsky's (2008) implicit least squares against the fixed item factors
        (:func:`~recsys_embed.models.foldin.implicit_least_squares`), with ALS's own alpha and
        ridge (its exact user update) or else ``fold_in_alpha`` and ``fold_in_regularization``.
        """
        factors = self.require_fitted().item_factors
        if factors.shape[1] - (self.fixed_user_column is not None) == 0:  # nothing to solve
            return out_fixed(history.shape[0], factors.shape[1], self.fixed_user_column)
        conf, reg = self._fold_in_confidence(history)
        return implicit_least_squares(factors, self.fixed_user_column, history, conf, reg)

    def recommend_for_history(
        self,
        histories: Sequence[Any] | Mapping[Any, Any],
        k: int = 10,
        exclude_seen: bool = True,
        items: Any = None,
        weights: Sequence[Any] | None = None,
        *,
        output: Output = "arrays",
        chunk_size: int = 1024,
        retrieval: RetrievalChoice = "exact",
    ) -> Any:
        """Recommend for users not seen in training, from the item ids each interacted with.

        ``histories[j]`` lists user j's item ids (unknown item ids are ignored and counted in
        ``self.last_unknown_history_items_``); ``weights[j]`` optional weights aligned with them.
        ``histories`` may also map user ids to item ids (``{"new-user": [1, 50]}``): the frame
        output then names them (else ``user_id`` is the position j). ``output``: as in
        :meth:`recommend`; ``chunk_size`` users scored at a time.
        """
        lists, self.last_unknown_history_items_ = self.require_fitted().recommend_history(
            histories, weights, self.fold_in, k, exclude_seen, items, output, chunk_size, retrieval
        )
        return lists

    # ---- persistence ------------------------------------------------------------------------
    def extra_arrays(self) -> dict[str, np.ndarray]:
        """Arrays beyond the vectors that a saved model needs (models with more state add)."""
        return {}

    def restore_extra(self, arrays: dict[str, np.ndarray]) -> None:
        """Take back what :meth:`extra_arrays` saved (after the vectors are set)."""
        return None

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to a directory (.npy arrays, manifest.json), atomically."""
        self.require_fitted()
        return persist.save_model(self, path)

    @classmethod
    def from_arrays(cls, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> Recommender:
        """A fitted model of this class from a saved manifest and its arrays."""
        model: Recommender = persist.restore_model(cls, manifest, arrays)
        return model
