"""Recommender: the shared half of every model. Models only fit and return factors.

Scores are dot products ``user_factors_[u] @ item_factors_[i]``; biases, where a model has them,
are folded in as extra columns. Public methods speak external ids; ``*_idx`` are dense indices.

Padding rule: when fewer than ``k`` items are left to rank for a user (seen items excluded,
or a small candidate set), the remaining slots hold score ``-inf`` and item id ``-1`` (int ids)
or ``None`` (string ids). Seen items are never used as padding.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap, as_id_array
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError, DataError, FitError, NotFittedError
from recsys_embed.memory import check_memory, dense_scores_bytes
from recsys_embed.models import persist
from recsys_embed.models.foldin import history_matrix, implicit_least_squares, out_fixed
from recsys_embed.models.frames import Output, check_output, to_output, top_lists_frame
from recsys_embed.models.params import Param, check_params, reject_unknown
from recsys_embed.models.topk import cosine_topk, mask_rows, topk
from recsys_embed.progress import counter, progress

FOLD_IN_PARAMS = {
    "fold_in_alpha": Param(
        5.0, float, "extra confidence of a new user's items in fold-in", above=0
    ),
    "fold_in_regularization": Param(
        1.0, float, "fold-in ridge, relative to the mean squared item-factor norm", above=0
    ),
}


class EpochHook(Protocol):
    """Watches a fit epoch by epoch (the tuner's pruning).

    ``wants(n)``: whether to build the model after epoch ``n`` (1-based); the call then sees it
    fitted so far, and may raise to stop the fit.
    """

    def wants(self, epoch: int) -> bool: ...

    def __call__(self, epoch: int, model: Recommender) -> None: ...


class Recommender(ABC):
    """Base class: ``fit`` learns factors; recommend, score, similar items and I/O are shared.

    Subclasses set ``name`` and ``PARAMS`` and implement ``_fit_factors``. ``fixed_user_column``
    names a user-factor column that is constant 1 (its item column then holds the item bias).
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, Param]] = {}
    fixed_user_column: ClassVar[int | None] = None
    epoch_param: ClassVar[str | None] = None  # the parameter counting epochs _epoch_done sees
    epoch_hook: EpochHook | None = None
    fit_seconds_: float | None

    def __init__(self, **params: Any) -> None:
        reject_unknown(type(self).__name__, self.PARAMS, params)
        self.params = {k: params.get(k, p.default) for k, p in self.PARAMS.items()}

    def get_params(self) -> dict[str, Any]:
        """The model's parameters, as given to ``__init__`` (defaults filled in)."""
        return dict(self.params)

    def set_params(self, **params: Any) -> Recommender:
        """Change parameters (checked now, like ``create``); takes effect at the next ``fit``.

        Returns ``self``. A fitted model keeps its factors until it is fitted again.
        """
        reject_unknown(type(self).__name__, self.PARAMS, params)
        self.params = check_params(type(self).__name__, self.PARAMS, {**self.params, **params})
        return self

    def clone(self, **params: Any) -> Recommender:
        """A new, unfitted model of the same class and parameters (``params`` override)."""
        return type(self)(**{**self.params, **params})

    @property
    def is_fitted(self) -> bool:
        """True once ``fit`` (or ``load``) has given the model its factors."""
        return hasattr(self, "item_factors_")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"

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
        _require_finite(self, user_factors, item_factors)
        catalogue = self._catalogue(train)
        self._set_state(train.user_map, catalogue, train.matrix, user_factors, item_factors)
        return self

    def _epoch_done(
        self,
        train: Interactions,
        epoch: int,
        factors: Callable[[], tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """Models that fit in epochs call this after each one; ``epoch_hook`` may see the model."""
        hook = self.epoch_hook
        if hook is not None and hook.wants(epoch):
            self._set_state(train.user_map, self._catalogue(train), train.matrix, *factors())
            hook(epoch, self)

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

    def _catalogue(self, train: Interactions) -> IdMap:
        """The items the model ranks: the training items (text models add text-only items)."""
        return train.item_map

    @abstractmethod
    def _fit_factors(self, train: Interactions) -> tuple[np.ndarray, np.ndarray]:
        """User and item factors learned from ``train``: each concrete model's only job."""

    def _set_state(
        self,
        user_map: IdMap,
        item_map: IdMap,
        seen: sp.csr_matrix,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
    ) -> None:
        self.user_map_ = user_map
        self.item_map_ = item_map
        shape = (seen.shape[0], len(item_map))  # the catalogue may extend the training items
        self.seen_ = sp.csr_matrix(
            (np.ones(seen.nnz, dtype=np.float32), seen.indices, seen.indptr), shape=shape
        )
        self.item_popularity_ = np.bincount(seen.indices, minlength=shape[1]).astype(np.float32)
        self.user_factors_ = np.ascontiguousarray(user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(item_factors, dtype=np.float32)

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    # ---- ranking --------------------------------------------------------------------------
    def scores_for_users(
        self, user_idx: np.ndarray, candidates: np.ndarray | None = None
    ) -> np.ndarray:
        """Dense scores (n_users x n_items, or x len(candidates)) of training users by index."""
        self._require_fitted()
        return self.score_vectors(self.user_factors_[user_idx], candidates)

    def score_vectors(
        self, user_vectors: np.ndarray, candidates: np.ndarray | None = None
    ) -> np.ndarray:
        items = self.item_factors_ if candidates is None else self.item_factors_[candidates]
        return user_vectors @ items.T

    def rank_scores(
        self,
        scores: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        candidates: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item indices (``-1`` padded) and scores (``-inf`` padded) of a score matrix.

        ``exclude`` has one row per score row; its items are never returned. With
        ``candidates``, score columns are those item indices. ``scores`` is modified in place.
        """
        if exclude is not None and exclude.nnz:
            pos = None
            if candidates is not None:
                pos = np.full(self.item_factors_.shape[0], -1, dtype=np.int64)
                pos[candidates] = np.arange(len(candidates))
            mask_rows(scores, exclude, pos)
        idx, vals = topk(scores, k)
        if candidates is not None:
            idx = candidates[idx]
        idx[np.isneginf(vals)] = -1
        return idx, vals

    def _external_items(self, idx: np.ndarray, k: int) -> np.ndarray:
        ids = self.item_map_.ids
        out = np.full((idx.shape[0], k), -1 if ids.dtype != object else None, dtype=ids.dtype)
        got = idx[:, :k]
        filled = got >= 0
        sub = out[:, : got.shape[1]]
        sub[filled] = ids[got[filled]]
        return out

    @staticmethod
    def _pad_scores(vals: np.ndarray, k: int) -> np.ndarray:
        out = np.full((vals.shape[0], k), -np.inf, dtype=np.float32)
        out[:, : vals.shape[1]] = vals
        return out

    def _candidate_idx(self, items: Any) -> np.ndarray | None:
        return None if items is None else np.unique(self.item_map_.indices(items))

    def _check_k(self, k: int) -> int:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ConfigError(f"k must be a positive int, got {k!r}")
        return int(k)

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
    ) -> Any:
        """Top-``k`` items for each user: ``(item_ids, scores)``, each of shape (n_users, k).

        ``items`` restricts ranking to those item ids. ``unknown="raise"`` raises
        :class:`UnknownIdError` for users not seen in training; ``unknown="popular"`` gives them
        the most popular training items instead. Padding: see the module docstring.
        ``output="polars"`` or ``"pandas"`` returns a frame instead, one row per recommendation:
        ``user_id, rank, item_id, score`` (rank from 1, padding left out), as the batch writes.
        ``show_progress``: a bar (or log lines) over the chunks; see :mod:`recsys_embed.progress`.
        """
        self._require_fitted()
        k = self._check_k(k)
        check_output(output)
        if unknown not in ("raise", "popular"):
            raise ConfigError(f"unknown must be 'raise' or 'popular', got {unknown!r}")
        user_idx = self.user_map_.indices(
            user_ids, missing="raise" if unknown == "raise" else "mask"
        )
        cand = self._candidate_idx(items)
        self._check_dense(min(chunk_size, len(user_idx)), cand, "recommend: a chunk of scores")
        out_idx = np.full((len(user_idx), k), -1, dtype=np.int64)
        out_val = np.full((len(user_idx), k), -np.inf, dtype=np.float32)
        starts = range(0, len(user_idx), chunk_size)
        for s in progress(starts, desc="recommend", show=show_progress, unit="chunk"):
            rows = user_idx[s : s + chunk_size]
            known = rows >= 0
            vecs = np.zeros((len(rows), self.user_factors_.shape[1]), dtype=np.float32)
            vecs[known] = self.user_factors_[rows[known]]
            exclude = self.seen_[np.where(known, rows, 0)] if exclude_seen else None
            if exclude is not None and not known.all():
                exclude = sp.diags(known.astype(np.float32)) @ exclude  # no history: no exclusions
                exclude.eliminate_zeros()
            idx, vals = self.rank_scores(self.score_vectors(vecs, cand), k, exclude, cand)
            if not known.all():
                pop_idx, pop_vals = self._popular_idx(k, cand)
                idx[~known], vals[~known] = pop_idx, pop_vals
            out_idx[s : s + chunk_size, : idx.shape[1]] = idx
            out_val[s : s + chunk_size, : vals.shape[1]] = vals
        item_ids = self._external_items(out_idx, k)
        if output == "arrays":
            return item_ids, out_val
        return to_output(top_lists_frame(as_id_array(user_ids), item_ids, out_val), output)

    def _check_dense(self, rows: int, cand: np.ndarray | None, what: str) -> None:
        cols = self.item_factors_.shape[0] if cand is None else len(cand)
        check_memory(
            dense_scores_bytes(rows, cols),
            f"{what} ({rows} x {cols})",
            "score fewer rows at a time",
        )

    def _popular_idx(self, k: int, cand: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        pop = self.item_popularity_ if cand is None else self.item_popularity_[cand]
        idx, vals = topk(pop[None, :], k)
        return (idx if cand is None else cand[idx]), vals

    def recommend_all(
        self, k: int = 10, chunk_size: int = 1024, exclude_seen: bool = True, items: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield ``(user_ids, item_ids, scores)`` for every training user, ``chunk_size`` at a time.

        Memory per step is bounded by ``chunk_size x n_items`` scores.
        """
        self._require_fitted()
        k = self._check_k(k)
        cand = self._candidate_idx(items)
        n_users = self.user_factors_.shape[0]
        self._check_dense(min(chunk_size, n_users), cand, "recommend_all: a chunk of scores")
        for s in range(0, n_users, chunk_size):
            rows = np.arange(s, min(s + chunk_size, n_users))
            exclude = self.seen_[rows] if exclude_seen else None
            idx, vals = self.rank_scores(self.scores_for_users(rows, cand), k, exclude, cand)
            yield self.user_map_.ids[rows], self._external_items(idx, k), self._pad_scores(vals, k)

    def score(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """Scores of (user, item) pairs, element-wise: ``len(user_ids) == len(item_ids)``."""
        self._require_fitted()
        u = self.user_map_.indices(user_ids)
        i = self.item_map_.indices(item_ids)
        if len(u) != len(i):
            raise ConfigError(f"score needs as many users as items, got {len(u)} and {len(i)}")
        return np.einsum("ij,ij->i", self.user_factors_[u], self.item_factors_[i])

    def _similarity_factors(self) -> np.ndarray:
        """Item vectors for cosine similarity: the factors without bias columns."""
        if self.fixed_user_column is None:
            return self.item_factors_
        keep = np.ones(self.item_factors_.shape[1], dtype=bool)
        keep[self.fixed_user_column] = False
        return self.item_factors_[:, keep]

    def similar_items(
        self, item_ids: Any, k: int = 10, items: Any = None, *, output: Output = "arrays"
    ) -> Any:
        """The ``k`` most cosine-similar items to each item (itself excluded).

        Returns ``(item_ids, scores)`` of shape (n, k), or with ``output="polars"``/``"pandas"``
        a frame ``item_id, rank, similar_item_id, score`` (padding left out).
        """
        self._require_fitted()
        k = self._check_k(k)
        check_output(output)
        query = as_id_array(item_ids)
        idx = self.item_map_.indices(query)
        vecs = self._similarity_factors()
        cand = self._candidate_idx(items)
        step = 1024
        self._check_dense(min(step, len(idx)), cand, "similar_items: a block of similarities")
        top, vals = cosine_topk(vecs, idx, k, cand, step)
        similar, scores = self._external_items(top, k), self._pad_scores(vals, k)
        if output == "arrays":
            return similar, scores
        frame = top_lists_frame(query, similar, scores, key="item_id", value="similar_item_id")
        return to_output(frame, output)

    # ---- fold-in ----------------------------------------------------------------------------
    def _fold_in_confidence(self, history: sp.csr_matrix) -> tuple[np.ndarray, float | np.ndarray]:
        """Confidence of each history entry, and the absolute ridge (or one per history row),
        for :meth:`fold_in`."""
        y = self._similarity_factors()
        reg = self.params["fold_in_regularization"] * float(np.mean(np.sum(y * y, axis=1)))
        return np.full(history.nnz, 1.0 + self.params["fold_in_alpha"]), reg

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """User vectors for new users from a (n_new x n_items) history matrix.

        Solves the implicit-feedback least squares of Hu, Koren & Volinsky (2008) against the
        fixed item factors: preference 1 with confidence ``c`` on the user's items, preference 0
        with confidence 1 elsewhere, ridge ``reg``. A bias column (``fixed_user_column``) stays 1
        and its item biases are subtracted from the targets. ALS uses its own alpha and
        regularization, which makes this its exact user update; other models use
        ``fold_in_alpha`` and ``fold_in_regularization``.
        """
        self._require_fitted()
        free = np.ones(self.item_factors_.shape[1], dtype=bool)
        if self.fixed_user_column is not None:
            free[self.fixed_user_column] = False
        if not free.any():  # nothing user-specific to solve for (popularity)
            return out_fixed(history.shape[0], len(free), self.fixed_user_column)
        conf, reg = self._fold_in_confidence(history)
        return implicit_least_squares(
            self.item_factors_, self.fixed_user_column, history, conf, reg
        )

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
    ) -> Any:
        """Recommend for users not seen in training, from the item ids each interacted with.

        ``histories[j]`` lists user j's item ids (unknown item ids are ignored and counted in
        ``self.last_unknown_history_items_``); ``weights[j]`` optional weights aligned with them.
        ``histories`` may also map user ids to item ids (``{"new-user": [1, 50]}``): the frame
        output then names them (else ``user_id`` is the position j). ``output``: as in
        :meth:`recommend`. Scoring runs ``chunk_size`` users at a time.
        """
        self._require_fitted()
        k = self._check_k(k)
        check_output(output)
        user_ids, history, self.last_unknown_history_items_ = history_matrix(
            histories, weights, self.item_map_
        )
        cand = self._candidate_idx(items)
        self._check_dense(min(chunk_size, history.shape[0]), cand, "recommend_for_history")
        out_idx = np.full((history.shape[0], k), -1, dtype=np.int64)
        out_val = np.full((history.shape[0], k), -np.inf, dtype=np.float32)
        for s in range(0, history.shape[0], chunk_size):
            block = history[s : s + chunk_size]
            scores = self.score_vectors(self.fold_in(block), cand)
            idx, sc = self.rank_scores(scores, k, block if exclude_seen else None, cand)
            out_idx[s : s + chunk_size, : idx.shape[1]] = idx
            out_val[s : s + chunk_size, : sc.shape[1]] = sc
        item_ids = self._external_items(out_idx, k)
        if output == "arrays":
            return item_ids, out_val
        return to_output(top_lists_frame(user_ids, item_ids, out_val), output)

    # ---- persistence ------------------------------------------------------------------------
    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _restore_extra(self, arrays: dict[str, np.ndarray]) -> None:
        return None

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to a directory (.npy arrays, manifest.json), atomically."""
        self._require_fitted()
        return persist.save_model(self, path)

    @classmethod
    def _from_arrays(cls, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> Recommender:
        model: Recommender = persist.restore_model(cls, manifest, arrays)
        return model


def _require_finite(model: Recommender, user_factors: np.ndarray, item_factors: np.ndarray) -> None:
    """A fit that diverged (NaN or infinite factors) must fail, not save garbage."""
    bad = sum(  # checked as stored: float32 (a finite 1e39 in float64 is inf there)
        int(np.count_nonzero(~np.isfinite(np.asarray(f, dtype=np.float32))))
        for f in (user_factors, item_factors)
    )
    if bad:
        total = user_factors.size + item_factors.size
        raise FitError(
            f"model {model.name!r} diverged: {bad} of {total} factor values are NaN or infinite "
            f"with parameters {model.params}; try a smaller learning_rate or more regularization"
        )
