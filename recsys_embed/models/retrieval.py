"""Retrieval: the top-k step of scoring, and the one chunked loop every caller runs it through.

A retrieval backend answers "the best ``k`` items for these user vectors". :class:`ExactRetrieval`
scores every item (a dense product), masks exclusions and takes an exact top-k; an approximate
backend plugs in behind the same :meth:`~ExactRetrieval.search`. :func:`top_k_chunks` is the only
loop that walks users in bounded chunks: recommend, the batch, history recommendations,
evaluation and the Spark executors all use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from recsys_embed.errors import ConfigError
from recsys_embed.memory import check_memory, dense_scores_bytes
from recsys_embed.models.topk import mask_rows, topk

ScoreHook = Callable[[slice, np.ndarray], None]


class Retrieval(Protocol):
    """A backend: the top-k item indices (``-1`` padded) and scores (``-inf`` padded)."""

    n_items: int

    def search(
        self,
        user_vectors: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        candidates: np.ndarray | None = None,
        on_scores: Callable[[np.ndarray], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...


class ExactRetrieval:
    """Every item scored by a dot product; ties rank the lower item index first.

    ``threads``: workers of the top-k selection (None: every core; 1 inside Spark executors).
    The result does not depend on it.
    """

    def __init__(self, item_factors: np.ndarray, threads: int | None = None) -> None:
        self.item_factors = item_factors
        self.threads = threads
        self.n_items = int(item_factors.shape[0])
        self.gathered: tuple[np.ndarray, np.ndarray] | None = None  # (candidates, their rows)

    def scores(self, user_vectors: np.ndarray, candidates: np.ndarray | None = None) -> np.ndarray:
        """Dense scores: (n_users x n_items), or x len(candidates)."""
        if candidates is None:
            return user_vectors @ self.item_factors.T
        got = self.gathered  # read once: another thread may be ranking other candidates
        if got is None or got[0] is not candidates:  # gathered once per ranking
            got = (candidates, self.item_factors[candidates])
            self.gathered = got
        return user_vectors @ got[1].T

    def search(
        self,
        user_vectors: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        candidates: np.ndarray | None = None,
        on_scores: Callable[[np.ndarray], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` of each row of ``user_vectors``; ``exclude`` (one row per user, item columns)
        is never returned; ``candidates`` (sorted item indices) restricts the ranking.
        ``on_scores`` sees the dense scores before masking (the evaluator's AUC)."""
        scores = self.scores(user_vectors, candidates)
        if on_scores is not None:
            on_scores(scores)
        return rank_scores(scores, k, self.n_items, exclude, candidates, self.threads)


def rank_scores(
    scores: np.ndarray,
    k: int,
    n_items: int,
    exclude: sp.csr_matrix | None = None,
    candidates: np.ndarray | None = None,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k item indices (``-1`` padded) and scores (``-inf`` padded) of a score matrix.

    ``exclude`` has one row per score row; its items are never returned. With ``candidates``,
    score columns are those item indices of a catalogue of ``n_items``. ``scores`` is modified
    in place.
    """
    if exclude is not None and exclude.nnz:
        pos = None
        if candidates is not None:
            pos = np.full(n_items, -1, dtype=np.int64)
            pos[candidates] = np.arange(len(candidates))
        mask_rows(scores, exclude, pos)
    idx, vals = topk(scores, k, threads)
    if candidates is not None:
        idx = candidates[idx]
    idx[np.isneginf(vals)] = -1
    return idx, vals


def check_k(k: object) -> int:
    """``k`` as an int, if it is a positive int."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"k must be a positive int, got {k!r}")
    return int(k)


def check_chunk(rows: int, cols: int, what: str, hint: str = "score fewer rows at a time") -> None:
    """Refuse a chunk of dense scores that would not fit in memory, before scoring it."""
    check_memory(dense_scores_bytes(rows, cols), f"{what} ({rows} x {cols})", hint)


def top_k_chunks(
    retrieval: Retrieval,
    user_vectors: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    candidates: np.ndarray | None = None,
    chunk_size: int = 1024,
    on_scores: ScoreHook | None = None,
    chunks: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """``(rows, idx, scores)`` of each chunk of ``chunk_size`` users, in order.

    ``user_vectors`` and ``exclude`` have one row per user; a chunk's dense scores are the only
    large allocation (``chunk_size x n_items``). ``on_scores(rows, scores)`` sees each chunk's
    scores before masking; ``chunks`` wraps the chunk starts (a progress bar).
    """
    starts: Iterable[int] = range(0, user_vectors.shape[0], chunk_size)
    if chunks is not None:
        starts = chunks(starts)
    for s in starts:
        rows = slice(s, min(s + chunk_size, user_vectors.shape[0]))
        hook = None if on_scores is None else (lambda scores, r=rows: on_scores(r, scores))
        block = None if exclude is None else exclude[rows]
        idx, vals = retrieval.search(user_vectors[rows], k, block, candidates, hook)
        yield rows, idx, vals


def top_k(
    retrieval: Retrieval,
    user_vectors: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    candidates: np.ndarray | None = None,
    chunk_size: int = 1024,
    chunks: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every user's top-``k`` through :func:`top_k_chunks`: item indices (``-1`` padded) and
    scores (``-inf`` padded), each (n_users x k)."""
    n = user_vectors.shape[0]
    if k > retrieval.n_items:  # lists of mostly padding (k=10**12): refused if they cannot fit
        check_memory(24 * n * k, f"top-k lists ({n} x {k})", "ask for a smaller k")
    out_idx = np.full((n, k), -1, dtype=np.int64)
    out_val = np.full((n, k), -np.inf, dtype=np.float32)
    parts = top_k_chunks(retrieval, user_vectors, k, exclude, candidates, chunk_size, None, chunks)
    for rows, idx, vals in parts:
        out_idx[rows, : idx.shape[1]] = idx
        out_val[rows, : vals.shape[1]] = vals
    return out_idx, out_val
