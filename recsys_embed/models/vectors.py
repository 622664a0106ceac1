"""The fitted-vectors core: what every fitted model is, and everything done with it after the fit.

A :class:`FittedVectors` holds the id maps, the seen items, the user and item vectors (biases
folded in as columns, so a score is one dot product) and item popularity. Ranking, scoring,
similar items and top-k lists happen here, once, through one retrieval backend
(:mod:`recsys_embed.models.retrieval`). Public methods speak external ids; ``*_idx`` are
dense indices.

Padding rule: when fewer than ``k`` items are left to rank for a user (seen items excluded,
or a small candidate set), the remaining slots hold score ``-inf`` and item id ``-1`` (int ids)
or ``None`` (string ids). Seen items are never used as padding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap, as_id_array
from recsys_embed.errors import ConfigError, FitError
from recsys_embed.models.ann import AnnRetrieval, AnnSettings, build_index, index_from_array
from recsys_embed.models.foldin import history_matrix
from recsys_embed.models.frames import Output, check_output, to_output, top_lists_frame
from recsys_embed.models.retrieval import (
    ExactRetrieval,
    Retrieval,
    check_chunk,
    check_k,
    rank_scores,
    top_k,
    top_k_chunks,
)
from recsys_embed.models.rules import Rules, join_exclusions, make_rules
from recsys_embed.models.topk import topk, unit_rows
from recsys_embed.progress import progress

SIMILAR_STEP = 1024  # queries per block of similar_items
RetrievalChoice = Literal["exact", "ann"] | AnnSettings


def ann_settings(retrieval: Any) -> AnnSettings | None:
    """None for exact retrieval, the index settings for approximate retrieval."""
    if isinstance(retrieval, AnnSettings):
        return retrieval
    if retrieval == "exact":
        return None
    if retrieval == "ann":
        return AnnSettings()
    raise ConfigError(f"retrieval must be 'exact', 'ann' or AnnSettings, got {retrieval!r}")


def require_finite(
    name: str, params: dict[str, Any], user_factors: np.ndarray, item_factors: np.ndarray
) -> None:
    """A fit that diverged (NaN or infinite factors) must fail, not save garbage."""
    bad = sum(  # checked as stored: float32 (a finite 1e39 in float64 is inf there)
        int(np.count_nonzero(~np.isfinite(np.asarray(f, dtype=np.float32))))
        for f in (user_factors, item_factors)
    )
    if bad:
        total = user_factors.size + item_factors.size
        raise FitError(
            f"model {name!r} diverged: {bad} of {total} factor values are NaN or infinite "
            f"with parameters {params}; try a smaller learning_rate or more regularization"
        )


@dataclass(frozen=True, eq=False)
class FittedVectors:
    """A fitted model's vectors and id maps; build with :meth:`build`.

    ``seen`` is (n_users x n_items) with ones where a user interacted in training;
    ``popularity`` counts each item's training users (unknown users get the most popular items).
    """

    user_map: IdMap
    item_map: IdMap
    seen: sp.csr_matrix
    user_factors: np.ndarray  # (n_users, d) float32
    item_factors: np.ndarray  # (n_items, d) float32
    popularity: np.ndarray  # (n_items,) float32
    retrieval: Retrieval = field(init=False, repr=False)
    # approximate indexes, built on first use: "items" (recommend) and "similar" (cosine) map to
    # (build key, index); "saved" to (build key, array, where) read from a model folder
    indexes: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "retrieval", ExactRetrieval(self.item_factors))
        object.__setattr__(self, "indexes", {})

    # ---- retrieval backends ---------------------------------------------------------------
    def backend(self, retrieval: RetrievalChoice = "exact") -> Retrieval:
        """The backend ``retrieval`` names: exact, or the approximate index (built on first use,
        or read back from the model folder when its settings match)."""
        settings = ann_settings(retrieval)
        if settings is None:
            return self.retrieval
        return AnnRetrieval(self.item_factors, self.ann_index(settings), settings)

    def ann_index(self, settings: AnnSettings) -> Any:
        """The recommend index with ``settings``' build key (built, or read back, once)."""
        key = settings.build_key()
        got = self.indexes.get("items")
        if got is not None and got[0] == key:
            return got[1]
        saved = self.indexes.get("saved")
        if saved is not None and saved[0] == key:
            index = index_from_array(saved[1], self.item_factors, saved[2])
        else:
            index = build_index(self.item_factors, settings)
        self.indexes["items"] = (key, index)
        return index

    def attach_saved_index(self, key: dict[str, Any], data: np.ndarray, where: str) -> None:
        """An index read from a model folder, deserialised when first asked for."""
        self.indexes["saved"] = (key, data, where)

    def built_index(self) -> tuple[dict[str, Any], Any] | None:
        """(build key, index) of the recommend index, if one was built or read back."""
        got = self.indexes.get("items")
        if got is None and "saved" in self.indexes:
            key = self.indexes["saved"][0]
            settings = AnnSettings(m=key["m"], ef_construction=key["ef_construction"])
            self.ann_index(settings)
            got = self.indexes.get("items")
        return got

    def rules(self, items: Any, eligible: Any, exclude_items: Any, exclude_pairs: Any) -> Rules:
        """The business rules resolved against this catalogue (see :mod:`.rules`)."""
        return make_rules(self.item_map, items, eligible, exclude_items, exclude_pairs)

    @classmethod
    def build(
        cls,
        user_map: IdMap,
        item_map: IdMap,
        seen: sp.csr_matrix,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
    ) -> FittedVectors:
        """Vectors of a model fitted on ``seen`` (its users x training items; the catalogue
        ``item_map`` may extend the training items, e.g. text-only items)."""
        shape = (seen.shape[0], len(item_map))
        ones = sp.csr_matrix(
            (np.ones(seen.nnz, dtype=np.float32), seen.indices, seen.indptr), shape=shape
        )
        return cls(
            user_map,
            item_map,
            ones,
            np.ascontiguousarray(user_factors, dtype=np.float32),
            np.ascontiguousarray(item_factors, dtype=np.float32),
            np.bincount(seen.indices, minlength=shape[1]).astype(np.float32),
        )

    def with_items(self, ids: np.ndarray, factors: np.ndarray) -> FittedVectors:
        """New vectors with items ``ids`` (not in the catalogue) appended, never seen."""
        item_map = IdMap(
            np.concatenate([self.item_map.ids, ids.astype(self.item_map.ids.dtype)]), "item"
        )
        n = len(item_map)
        grown = FittedVectors(
            self.user_map,
            item_map,
            sp.csr_matrix(
                (self.seen.data, self.seen.indices, self.seen.indptr), (len(self.user_map), n)
            ),
            self.user_factors,
            np.vstack([self.item_factors, factors.astype(np.float32)]),
            np.concatenate([self.popularity, np.zeros(len(ids), np.float32)]),
        )
        built = self.built_index()
        if built is not None:  # new item vectors: the index is rebuilt with the same settings
            key = built[0]
            grown.ann_index(AnnSettings(m=key["m"], ef_construction=key["ef_construction"]))
        return grown

    # ---- helpers of every ranking ---------------------------------------------------------
    def candidates(self, items: Any) -> np.ndarray | None:
        """Sorted item indices of ``items`` (external ids), or None for the whole catalogue."""
        return None if items is None else np.unique(self.item_map.indices(items))

    def external_items(self, idx: np.ndarray, k: int) -> np.ndarray:
        """External item ids of an index matrix, ``k`` wide; ``-1`` becomes the padding id."""
        ids = self.item_map.ids
        out = np.full((idx.shape[0], k), -1 if ids.dtype != object else None, dtype=ids.dtype)
        got = idx[:, :k]
        filled = got >= 0
        sub = out[:, : got.shape[1]]
        sub[filled] = ids[got[filled]]
        return out

    def popular(
        self, k: int, candidates: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most popular items (among ``candidates``): indices and counts, (1 x k)."""
        pop = self.popularity if candidates is None else self.popularity[candidates]
        idx, vals = topk(pop[None, :], k)
        return (idx if candidates is None else candidates[idx]), vals

    def check_chunk(self, rows: int, candidates: np.ndarray | None, what: str) -> None:
        cols = self.item_factors.shape[0] if candidates is None else len(candidates)
        check_chunk(rows, cols, what)

    # ---- top-k lists ------------------------------------------------------------------------
    def recommend(
        self,
        user_ids: Any,
        k: int = 10,
        exclude_seen: bool = True,
        items: Any = None,
        unknown: Literal["raise", "popular"] = "raise",
        chunk_size: int = 1024,
        output: Output = "arrays",
        show_progress: bool | None = False,
        *,
        retrieval: RetrievalChoice = "exact",
        eligible: Any = None,
        exclude_items: Any = None,
        exclude_pairs: Any = None,
    ) -> Any:
        """Top-``k`` items of training users: see :meth:`Recommender.recommend`."""
        k = check_k(k)
        check_output(output)
        if unknown not in ("raise", "popular"):
            raise ConfigError(f"unknown must be 'raise' or 'popular', got {unknown!r}")
        user_idx = self.user_map.indices(
            user_ids, missing="raise" if unknown == "raise" else "mask"
        )
        rules = self.rules(items, eligible, exclude_items, exclude_pairs)
        cand = rules.candidates
        self.check_chunk(min(chunk_size, len(user_idx)), cand, "recommend: a chunk of scores")
        backend = self.backend(retrieval)  # may build the index: after the checks
        known = user_idx >= 0
        vecs = np.zeros((len(user_idx), self.user_factors.shape[1]), dtype=np.float32)
        vecs[known] = self.user_factors[user_idx[known]]
        exclude = None
        if exclude_seen:
            exclude = self.seen[np.where(known, user_idx, 0)]
            if not known.all():  # no history: no exclusions
                exclude = sp.diags(known.astype(np.float32)) @ exclude
                exclude.eliminate_zeros()
        pairs = rules.exclude_rows(user_ids, len(self.item_map))
        exclude = join_exclusions(exclude, pairs)

        def chunks(starts: Any) -> Any:
            return progress(starts, desc="recommend", show=show_progress, unit="chunk")

        out_idx, out_val = top_k(backend, vecs, k, exclude, cand, chunk_size, chunks)
        if not known.all():
            pop_idx, pop_vals = self.popular(k, cand)
            out_idx[~known, : pop_idx.shape[1]] = pop_idx
            out_val[~known, : pop_vals.shape[1]] = pop_vals
            own = np.flatnonzero(~known)
            if pairs is not None and pairs[own].nnz:  # unknown users with excluded pairs
                own = own[np.diff(pairs[own].indptr) > 0]
                pop = np.tile(self.popularity, (len(own), 1))
                idx, vals = rank_scores(
                    pop[:, cand] if cand is not None else pop,
                    k,
                    len(self.item_map),
                    pairs[own],
                    cand,
                )
                out_idx[own], out_val[own] = -1, -np.inf
                out_idx[own, : idx.shape[1]], out_val[own, : vals.shape[1]] = idx, vals
        return self.lists(as_id_array(user_ids), out_idx, out_val, k, output)

    def recommend_history(
        self,
        histories: Sequence[Any] | Mapping[Any, Any],
        weights: Sequence[Any] | None,
        fold_in: Callable[[sp.csr_matrix], np.ndarray],
        k: int = 10,
        exclude_seen: bool = True,
        items: Any = None,
        output: Output = "arrays",
        chunk_size: int = 1024,
        retrieval: RetrievalChoice = "exact",
    ) -> tuple[Any, int]:
        """Top-``k`` of new users from their item histories (see :func:`history_matrix`), their
        vectors ``fold_in(history)``, and the count of unknown history items left out. A user
        with no known item gets padding only (no rows in a frame)."""
        k = check_k(k)
        check_output(output)
        user_ids, history, unknown = history_matrix(histories, weights, self.item_map)
        cand = self.candidates(items)
        self.check_chunk(min(chunk_size, history.shape[0]), cand, "recommend_for_history")
        exclude = history if exclude_seen else None
        backend = self.backend(retrieval)
        idx, vals = top_k(backend, fold_in(history), k, exclude, cand, chunk_size)
        nothing_known = np.diff(history.indptr) == 0  # no list rather than a list of zeros
        idx[nothing_known], vals[nothing_known] = -1, -np.inf
        return self.lists(user_ids, idx, vals, k, output), unknown

    def lists(
        self, user_ids: np.ndarray, idx: np.ndarray, vals: np.ndarray, k: int, output: Output
    ) -> Any:
        """Index results as ``(item_ids, scores)`` arrays or a frame, as ``output`` asks."""
        item_ids = self.external_items(idx, k)
        if output == "arrays":
            return item_ids, vals
        return to_output(top_lists_frame(user_ids, item_ids, vals), output)

    def recommend_all(
        self,
        k: int = 10,
        chunk_size: int = 1024,
        exclude_seen: bool = True,
        items: Any = None,
        *,
        retrieval: RetrievalChoice = "exact",
        eligible: Any = None,
        exclude_items: Any = None,
        exclude_pairs: Any = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield ``(user_ids, item_ids, scores)`` of every training user, ``chunk_size`` at once."""
        k = check_k(k)
        backend = self.backend(retrieval)
        rules = self.rules(items, eligible, exclude_items, exclude_pairs)
        cand = rules.candidates
        n_users = self.user_factors.shape[0]
        self.check_chunk(min(chunk_size, n_users), cand, "recommend_all: a chunk of scores")
        exclude = join_exclusions(
            self.seen if exclude_seen else None,
            rules.exclude_rows(self.user_map.ids, len(self.item_map)),
        )
        parts = top_k_chunks(backend, self.user_factors, k, exclude, cand, chunk_size)
        for rows, idx, vals in parts:
            padded = np.full((vals.shape[0], k), -np.inf, dtype=np.float32)
            padded[:, : vals.shape[1]] = vals
            yield self.user_map.ids[rows], self.external_items(idx, k), padded

    def score(self, user_ids: Any, item_ids: Any) -> np.ndarray:
        """Scores of (user, item) pairs, element-wise."""
        u = self.user_map.indices(user_ids)
        i = self.item_map.indices(item_ids)
        if len(u) != len(i):
            raise ConfigError(f"score needs as many users as items, got {len(u)} and {len(i)}")
        return np.einsum("ij,ij->i", self.user_factors[u], self.item_factors[i])

    def unit_backend(self, unit: np.ndarray, retrieval: RetrievalChoice) -> Retrieval:
        """Cosine retrieval over unit item vectors: exact, or its own index (built once)."""
        settings = ann_settings(retrieval)
        if settings is None:
            return ExactRetrieval(unit)
        key = settings.build_key()
        got = self.indexes.get("similar")
        if got is None or got[0] != key or not np.array_equal(got[2], unit):
            got = (key, build_index(unit, settings), unit)
            self.indexes["similar"] = got
        return AnnRetrieval(unit, got[1], settings)

    def similar(
        self,
        item_ids: Any,
        k: int,
        items: Any = None,
        output: Output = "arrays",
        vectors: np.ndarray | None = None,
        retrieval: RetrievalChoice = "exact",
    ) -> Any:
        """The ``k`` most cosine-similar items to each item, itself excluded: ranked through the
        same loop as users, the query items as unit vectors and each query its own exclusion.
        ``vectors``: the item vectors to compare (default: the item factors)."""
        k = check_k(k)
        check_output(output)
        query = as_id_array(item_ids)
        idx = self.item_map.indices(query)
        cand = self.candidates(items)
        self.check_chunk(
            min(SIMILAR_STEP, len(idx)), cand, "similar_items: a block of similarities"
        )
        unit = unit_rows(self.item_factors if vectors is None else vectors)
        own = sp.csr_matrix(
            (np.ones(len(idx), np.float32), (np.arange(len(idx)), idx)), shape=(len(idx), len(unit))
        )
        top, vals = top_k(self.unit_backend(unit, retrieval), unit[idx], k, own, cand, SIMILAR_STEP)
        similar = self.external_items(top, k)
        if output == "arrays":
            return similar, vals
        frame = top_lists_frame(query, similar, vals, key="item_id", value="similar_item_id")
        return to_output(frame, output)
