"""Sparse codes of dense item vectors: each item's m nearest of k spherical k-means centroids.

A factorisation model that sums one embedding per non-zero feature (LightFM) pays per
non-zero; a dense 64-d text block costs 64 of them per item, m codes only m. The code weights
are the item's cosine to each kept centroid (clipped at 0), the row L2-normalised, so items
with similar text share codes and weights. Deterministic for a seed.
"""

from __future__ import annotations

import numpy as np

from recsys_embed.errors import ConfigError


def _unit(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(n > 0, n, 1.0)


def spherical_kmeans(
    vectors: np.ndarray, k: int, seed: int = 0, iterations: int = 20
) -> np.ndarray:
    """(k, dim) unit centroids of the non-zero rows of ``vectors`` (cosine k-means)."""
    if k < 1:
        raise ConfigError(f"the number of codes must be a positive int, got {k}")
    x = _unit(vectors[np.linalg.norm(vectors, axis=1) > 0].astype(np.float64))
    if len(x) == 0:
        return np.zeros((k, vectors.shape[1]))
    rng = np.random.default_rng(seed)
    centroids = x[rng.choice(len(x), size=min(k, len(x)), replace=False)]
    for _ in range(iterations):
        assign = np.argmax(x @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, x)
        empty = np.linalg.norm(sums, axis=1) == 0
        sums[empty] = centroids[empty]  # an empty cluster keeps its centroid
        centroids = _unit(sums)
    if len(centroids) < k:
        centroids = np.vstack([centroids, np.zeros((k - len(centroids), x.shape[1]))])
    return centroids


def sparse_codes(vectors: np.ndarray, centroids: np.ndarray, m: int) -> np.ndarray:
    """(n, k) codes: each row's ``m`` most similar centroids, weights its cosine (>= 0),
    the row L2-normalised; a zero row stays zero."""
    sims = _unit(vectors.astype(np.float64)) @ centroids.T
    m = min(m, sims.shape[1])
    keep = np.argpartition(-sims, m - 1, axis=1)[:, :m]
    rows = np.arange(len(sims))[:, None]
    out = np.zeros_like(sims)
    out[rows, keep] = np.clip(sims[rows, keep], 0, None)
    return _unit(out)
