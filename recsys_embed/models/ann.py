"""Approximate retrieval: a faiss HNSW index behind :class:`Retrieval.search`.

Dot-product ranking is searched as a nearest-neighbour (L2) search with one extra dimension:
item vectors get ``sqrt(R^2 - |v|^2)`` (``R`` the largest item norm), queries 0, so that
``|q - v|^2 = |q|^2 + R^2 - 2 q.v`` ranks items as the dot product does. On vectors like a
trained ALS model's this recalls more than faiss's inner-product HNSW at the same speed
(evaluation/results/retrieval.md).

Chosen by measurement (evaluation/results/retrieval.md): faiss is maintained, its
single-threaded HNSW build is deterministic (fixed level seed) and it serialises to a byte
array, saved in the model folder beside the factors under the same checksums.

The index only proposes candidates. Each row fetches ``k`` plus ``overfetch`` items, drops the
row's exclusions, re-scores the rest exactly (a dot product with the item factors) and ranks
them by the package's rules (higher score first, equal scores: lower item index first; ``-1`` /
``-inf`` padding). A row left with fewer than ``k`` items while more are eligible is searched
again, wider (``k`` + its exclusions, at least 4x the first fetch); a row still short then is
ranked exactly. An eligible set (``candidates``) filters inside the graph search; a set under
``1/EXACT_FRACTION`` of the catalogue is ranked exactly (scoring it is cheaper than searching).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from recsys_embed.errors import ConfigError, DataError
from recsys_embed.models.retrieval import ExactRetrieval

INSTALL = 'pip install "recsys-embed[ann]"'
EXACT_FRACTION = 20  # an eligible set under 1/20 of the catalogue is ranked exactly
LIBRARY = "faiss-hnsw"
RESCORE_ROWS = 256  # rows re-scored per product (memory: rows x their fetched items)


@dataclass(frozen=True)
class AnnSettings:
    """Settings of the approximate index (defaults chosen in evaluation/results/retrieval.md).

    ``m``: graph links per item (index memory grows with it); ``ef_construction``: the build's
    search width; ``ef_search``: the query's search width (recall against speed);
    ``overfetch``: extra candidates fetched per row beyond ``k`` before exclusions are removed.
    Only ``m`` and ``ef_construction`` change the index itself.
    """

    m: int = 16
    ef_construction: int = 256
    ef_search: int = 256
    overfetch: int = 32

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            low = 0 if name == "overfetch" else (2 if name == "m" else 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"ann {name} must be an int >= {low}, got {value!r}")

    def build_key(self) -> dict[str, Any]:
        """What the index depends on: a saved index with other values is rebuilt."""
        return {"library": LIBRARY, "m": self.m, "ef_construction": self.ef_construction}


def choice_of(config: Any) -> Literal["exact"] | AnnSettings:
    """``"exact"`` or the ann settings of a ``[retrieval]`` table (:class:`RetrievalConfig`)."""
    if config.method == "exact":
        return "exact"
    keys = ("m", "ef_construction", "ef_search", "overfetch")
    return AnnSettings(**{key: getattr(config, key) for key in keys})


def faiss_module() -> Any:
    """faiss, imported on first use; a clear error naming the extra when it is missing."""
    try:
        import faiss
    except ImportError:
        raise ConfigError(f"retrieval='ann' needs faiss: {INSTALL}") from None
    return faiss


@contextmanager
def faiss_threads(faiss: Any, threads: int | None) -> Iterator[None]:
    """faiss's OpenMP threads set for one call, then put back."""
    before = faiss.omp_get_max_threads()
    if threads is not None:
        faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def check_width(item_factors: np.ndarray) -> None:
    """Refuse vectors as wide as the catalogue (EASE, item-kNN): nothing to search approximately."""
    n, d = item_factors.shape
    if d >= n:
        raise ConfigError(
            f"retrieval='ann' needs item vectors narrower than the catalogue; these are {d} wide "
            f"for {n} items (an item-item model such as EASE scores every item by design): "
            "use retrieval='exact'"
        )


def augmented(item_factors: np.ndarray) -> np.ndarray:
    """Item vectors with the extra dimension ``sqrt(R^2 - |v|^2)`` (see the module docstring)."""
    items = np.asarray(item_factors, dtype=np.float64)
    sq = np.einsum("ij,ij->i", items, items)
    extra = np.sqrt(np.maximum(sq.max(initial=0.0) - sq, 0.0))
    return np.ascontiguousarray(np.hstack([items, extra[:, None]]), dtype=np.float32)


def build_index(item_factors: np.ndarray, settings: AnnSettings) -> Any:
    """A faiss HNSW index of the augmented item vectors, built on one thread (deterministic)."""
    check_width(item_factors)
    faiss = faiss_module()
    index = faiss.IndexHNSWFlat(item_factors.shape[1] + 1, settings.m, faiss.METRIC_L2)
    index.hnsw.efConstruction = settings.ef_construction
    with faiss_threads(faiss, 1):
        index.add(augmented(item_factors))
    return index


def index_to_array(index: Any) -> np.ndarray:
    """The index as a uint8 array (saved as ``ann_index.npy``)."""
    return np.asarray(faiss_module().serialize_index(index), dtype=np.uint8)


def index_from_array(data: np.ndarray, item_factors: np.ndarray, where: str) -> Any:
    """An index read back from :func:`index_to_array`; DataError if it does not fit the factors."""
    faiss = faiss_module()
    try:
        index = faiss.deserialize_index(np.ascontiguousarray(data, dtype=np.uint8))
    except RuntimeError as exc:
        raise DataError(f"{where}: ann_index is not a faiss index ({str(exc)[:80]})") from None
    n, d = item_factors.shape
    if not isinstance(index, faiss.IndexHNSWFlat) or index.ntotal != n or index.d != d + 1:
        raise DataError(
            f"{where}: ann_index does not fit the item factors; expected an HNSW index of "
            f"{n} items x {d + 1}, got {type(index).__name__} of {index.ntotal} x {index.d}"
        )
    return index


class AnnRetrieval:
    """Approximate top-k: the index proposes, exact dot products rank (see the module docstring).

    ``threads``: faiss's search threads (None: every core); results do not depend on it.
    """

    def __init__(
        self,
        item_factors: np.ndarray,
        index: Any,
        settings: AnnSettings,
        threads: int | None = None,
    ) -> None:
        self.item_factors = item_factors
        self.index = index
        self.settings = settings
        self.threads = threads
        self.n_items = int(item_factors.shape[0])
        self.exact = ExactRetrieval(item_factors, threads)

    def search(
        self,
        user_vectors: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        candidates: np.ndarray | None = None,
        on_scores: Callable[[np.ndarray], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`ExactRetrieval.search`; ``on_scores`` (AUC) gets the exact dense scores."""
        if on_scores is not None:
            on_scores(self.exact.scores(user_vectors, candidates))
        n_eligible = self.n_items if candidates is None else len(candidates)
        if n_eligible * EXACT_FRACTION < self.n_items:
            return self.exact.search(user_vectors, k, exclude, candidates)
        excluded = eligible_excluded(exclude, candidates, user_vectors.shape[0], self.n_items)
        fetch = k + self.settings.overfetch
        idx, vals, open_tie = self.ranked(user_vectors, k, fetch, exclude, candidates)
        # rows short of k while enough eligible items remain, or whose k-th score ties the last
        # fetched one (an equal score may lie beyond the fetch): wider, then exact
        want = np.minimum(k, n_eligible - excluded)
        for wider in (True, False):
            short = np.flatnonzero(((idx >= 0).sum(axis=1) < want) | open_tie)
            if not len(short):
                break
            sub = None if exclude is None else exclude[short]
            if wider:
                width = max(4 * fetch, k + int(excluded[short].max()))
                width = min(width, self.n_items)
                idx[short], vals[short], tie = self.ranked(
                    user_vectors[short], k, width, sub, candidates
                )
                open_tie = np.zeros(len(idx), dtype=bool)
                open_tie[short] = tie
            else:
                idx[short], vals[short] = self.exact.search(user_vectors[short], k, sub, candidates)
        return idx, vals

    def ranked(
        self,
        user_vectors: np.ndarray,
        k: int,
        fetch: int,
        exclude: sp.csr_matrix | None,
        candidates: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The index's ``fetch`` nearest of each row, exclusions dropped, re-scored exactly, ranked;
        the top ``k`` (``-1`` / ``-inf`` padded), and per row whether its ``k``-th score equals
        the lowest fetched score of a full fetch (a tie the fetch may have cut)."""
        faiss = faiss_module()
        fetch = min(fetch, self.n_items)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.settings.ef_search, fetch)
        if candidates is not None:
            bitmap = np.zeros(self.n_items, dtype=bool)
            bitmap[candidates] = True
            packed = np.packbits(bitmap, bitorder="little")
            params.sel = faiss.IDSelectorBitmap(self.n_items, faiss.swig_ptr(packed))
        queries = np.zeros((user_vectors.shape[0], user_vectors.shape[1] + 1), np.float32)
        queries[:, :-1] = user_vectors
        with faiss_threads(faiss, self.threads):
            found = self.index.search(queries, fetch, params=params)[1]
        keep = found >= 0
        if exclude is not None and exclude.nnz:
            keep &= ~is_excluded(exclude, found)
        scores = self.rescore(user_vectors, np.where(keep, found, 0))
        scores = np.where(keep, scores, -np.inf).astype(np.float32)
        full = (found >= 0).all(axis=1) & (fetch < self.n_items)
        lowest = np.where(keep, scores, np.inf).min(axis=1, initial=np.inf)
        order = np.lexsort((np.where(keep, found, self.n_items), -scores), axis=-1)[:, :k]
        idx = np.take_along_axis(np.where(keep, found, -1), order, axis=1)
        vals = np.take_along_axis(scores, order, axis=1)
        if idx.shape[1] < k:  # a catalogue smaller than k
            pad = k - idx.shape[1]
            idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
            vals = np.pad(vals, ((0, 0), (0, pad)), constant_values=-np.inf)
        open_tie = full & np.isfinite(vals[:, -1]) & (vals[:, -1] == lowest)
        return idx.astype(np.int64), vals, open_tie

    def rescore(self, user_vectors: np.ndarray, found: np.ndarray) -> np.ndarray:
        """Exact scores of the found items: one product with the union of a block's items, the
        same computation as exact retrieval, so equal inputs give bit-identical scores."""
        out = np.empty(found.shape, dtype=np.float32)
        for s in range(0, found.shape[0], RESCORE_ROWS):
            block = found[s : s + RESCORE_ROWS]
            union, pos = np.unique(block, return_inverse=True)
            dense = user_vectors[s : s + RESCORE_ROWS] @ self.item_factors[union].T
            out[s : s + RESCORE_ROWS] = np.take_along_axis(dense, pos.reshape(block.shape), 1)
        return out


def eligible_excluded(
    exclude: sp.csr_matrix | None, candidates: np.ndarray | None, rows: int, n_items: int
) -> np.ndarray:
    """Per row, how many of its excluded items are eligible (in ``candidates``)."""
    if exclude is None:
        return np.zeros(rows, np.int64)
    if candidates is None:
        return np.diff(exclude.indptr).astype(np.int64)
    eligible = np.zeros(n_items, dtype=bool)
    eligible[candidates] = True
    row_of = np.repeat(np.arange(rows), np.diff(exclude.indptr))
    return np.bincount(row_of[eligible[exclude.indices]], minlength=rows).astype(np.int64)


def is_excluded(exclude: sp.csr_matrix, found: np.ndarray) -> np.ndarray:
    """``found[r, j]`` is in row ``r`` of ``exclude`` (one boolean per entry)."""
    n = exclude.shape[1]
    rows = np.repeat(np.arange(exclude.shape[0], dtype=np.int64), np.diff(exclude.indptr))
    keys = np.sort(rows * n + exclude.indices)
    query = np.arange(found.shape[0], dtype=np.int64)[:, None] * n + np.maximum(found, 0)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return (keys[pos] == query) & (found >= 0)
