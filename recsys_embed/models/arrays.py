"""Checks of a loaded model's standard arrays against its manifest and each other (ids unique,
factors finite and of the declared sizes, the seen-items CSR well formed, every float array
finite). Every failure is a :class:`DataError` naming the model folder."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from recsys_embed.errors import DataError


def check_arrays(manifest: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
    """The standard arrays agree with the declared sizes and with each other."""
    n = {"user": manifest["n_users"], "item": manifest["n_items"]}
    for who in ("user", "item"):
        ids = arrays.get(f"{who}_ids")
        if ids is not None:
            if ids.ndim != 1 or ids.dtype.kind not in "iuU" or len(ids) != n[who]:
                raise DataError(
                    f"{where}: {who}_ids must be {n[who]} int or text ids, got "
                    f"{ids.dtype} of shape {ids.shape}"
                )
            if len(np.unique(ids)) != len(ids):
                raise DataError(f"{where}: {who}_ids holds duplicate ids")
        f = arrays.get(f"{who}_factors")
        if f is not None:
            if f.ndim != 2 or f.dtype.kind != "f" or f.shape[0] != n[who]:
                raise DataError(
                    f"{where}: {who}_factors must be a 2-d float array with {n[who]} rows, "
                    f"got {f.dtype} of shape {f.shape}"
                )
            if not np.isfinite(f).all():
                raise DataError(f"{where}: {who}_factors holds NaN or infinite values")
    uf, itf = arrays.get("user_factors"), arrays.get("item_factors")
    if uf is not None and itf is not None and uf.shape[1] != itf.shape[1]:
        raise DataError(f"{where}: user and item factors differ in width")
    indptr, indices = arrays.get("seen_indptr"), arrays.get("seen_indices")
    if indptr is not None and indices is not None:
        _check_csr(indptr, indices, n["user"], n["item"], where)
    for name, arr in arrays.items():
        if arr.ndim > 2:
            raise DataError(f"{where}: array {name} has {arr.ndim} dimensions; expected 1 or 2")
    bad = [n for n, arr in arrays.items() if arr.dtype.kind == "f" and not np.isfinite(arr).all()]
    if bad:
        raise DataError(f"{where}: array {bad[0]} holds NaN or infinite values")


def _check_csr(indptr: np.ndarray, indices: np.ndarray, rows: int, cols: int, where: str) -> None:
    ok = (
        indptr.ndim == 1
        and indices.ndim == 1
        and indptr.dtype.kind in "iu"
        and indices.dtype.kind in "iu"
        and len(indptr) == rows + 1
    )
    if not ok:
        raise DataError(f"{where}: seen_indptr / seen_indices are not a CSR of {rows} rows")
    if indptr[0] != 0 or indptr[-1] != len(indices) or (np.diff(indptr) < 0).any():
        raise DataError(f"{where}: seen_indptr is not monotone from 0 to {len(indices)}")
    if len(indices) and (indices.min() < 0 or indices.max() >= cols):
        raise DataError(f"{where}: seen_indices holds item indices outside [0, {cols})")
    row = np.repeat(np.arange(rows, dtype=np.int64), np.diff(indptr).astype(np.int64))
    if len(np.unique(row * cols + indices)) != len(indices):
        raise DataError(f"{where}: seen_indices repeat an item within one user")


def factors_digest(factors: np.ndarray) -> str:
    """sha256 of the item factors' float32 bytes: ties a saved index to its factors."""
    return hashlib.sha256(np.ascontiguousarray(factors, dtype=np.float32).tobytes()).hexdigest()
