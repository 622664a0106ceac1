"""Precomputed item vectors from any encoder (sentence encoder, LLM embeddings, CLIP).

Files: a parquet with an ``item_id`` column and one list/array column of floats, or a ``.npy``
matrix (n_items x dim) with the ids in a text file, one per line (``ids`` argument; by default
the ``.npy`` path with the suffix ``.ids.txt``). Ids are integers when every line parses as
one, otherwise strings. :class:`ItemVectorTable` centres the vectors over the items that have
one and L2-normalises them, as the text featurizer does with pooled word vectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys_embed.errors import DataError


def default_ids_path(path: Path) -> Path:
    return path.with_suffix(".ids.txt")


def _read_ids(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"{path}: ids file of the item vectors not found (one item id per line)")
    lines = [ln.strip() for ln in path.read_text(encoding="utf8").splitlines()]
    lines = [ln for ln in lines if ln]
    try:
        return np.array([int(x) for x in lines], dtype=np.int64)
    except ValueError:
        return np.array(lines, dtype=object)


def _read_parquet(path: Path) -> tuple[np.ndarray, np.ndarray]:
    frame = pl.read_parquet(path)
    if "item_id" not in frame.columns:
        raise DataError(f"{path}: item-vector parquet lacks an item_id column; has {frame.columns}")
    vec_cols = [
        c for c, t in frame.schema.items() if c != "item_id" and isinstance(t, (pl.List, pl.Array))
    ]
    if len(vec_cols) != 1:
        raise DataError(
            f"{path}: expected exactly one list/array column of floats beside item_id, "
            f"found {vec_cols or 'none'} in {frame.columns}"
        )
    col = frame[vec_cols[0]]
    nulls = int(col.is_null().sum())
    if nulls:
        raise DataError(f"{path}: {nulls} item(s) have a null vector in column {vec_cols[0]!r}")
    lengths = col.list.len() if isinstance(col.dtype, pl.List) else None
    if lengths is not None and lengths.n_unique() > 1:
        bad = int((lengths != lengths[0]).arg_max() or 0)
        raise DataError(
            f"{path}: row {bad} has a vector of length {lengths[bad]}; expected {lengths[0]}"
        )
    try:
        matrix = np.asarray(col.to_list(), dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{path}: column {vec_cols[0]!r} is not numeric vectors") from None
    ids = frame["item_id"].to_numpy()
    return (ids.astype(object) if ids.dtype.kind in "OUS" else ids.astype(np.int64)), matrix


def read_item_vectors(path: str | Path, ids: str | Path | None = None) -> dict[Any, np.ndarray]:
    """``{item_id: vector}`` from a parquet or a ``.npy`` (+ ids text file); checked."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: item-vector file not found")
    if path.suffix == ".parquet":
        item_ids, matrix = _read_parquet(path)
    elif path.suffix == ".npy":
        try:
            matrix = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise DataError(f"{path}: cannot read the item-vector array ({exc})") from None
        if matrix.ndim != 2 or matrix.dtype.kind not in "fiu":
            raise DataError(
                f"{path}: item vectors must be a 2-D numeric array, got {matrix.dtype} "
                f"of shape {matrix.shape}"
            )
        ids_path = Path(ids).expanduser() if ids is not None else default_ids_path(path)
        item_ids = _read_ids(ids_path)
        if len(item_ids) != matrix.shape[0]:
            raise DataError(
                f"{ids_path}: {len(item_ids)} ids for {matrix.shape[0]} vectors in {path}"
            )
    else:
        raise DataError(f"{path}: item vectors must be a .parquet or .npy file")
    return check_vectors(
        dict(zip(item_ids.tolist(), matrix, strict=True)), str(path), len(item_ids)
    )


def vectors_by_id(item_vectors: Any) -> dict[Any, np.ndarray]:
    """``{item_id: vector}`` from a mapping, or a frame with item_id and one list column."""
    if isinstance(item_vectors, Mapping):
        return check_vectors(item_vectors, "item_vectors")
    frame = item_vectors
    if not isinstance(frame, pl.DataFrame):
        try:
            frame = pl.from_pandas(frame)
        except (TypeError, ValueError):
            raise DataError(
                "item_vectors must be {item_id: vector} or a frame with item_id and a list column"
            ) from None
    vec_cols = [c for c in frame.columns if c != "item_id"]
    if "item_id" not in frame.columns or len(vec_cols) != 1:
        raise DataError(
            f"item_vectors frame needs item_id and one vector column; found {frame.columns}"
        )
    pairs = zip(frame["item_id"].to_list(), frame[vec_cols[0]].to_list(), strict=True)
    return check_vectors(dict(pairs), "item_vectors", frame.height)


def check_vectors(vectors: Mapping[Any, Any], where: str, n_rows: int | None = None) -> dict:
    """Float64 vectors of one length, finite, ids unique; errors name ``where``."""
    if n_rows is not None and len(vectors) != n_rows:
        raise DataError(f"{where}: {n_rows - len(vectors)} duplicate item id(s)")
    out = {}
    dim = None
    for item, vec in vectors.items():
        arr = np.asarray(vec, dtype=np.float64).ravel()
        if dim is None:
            dim = len(arr)
        if len(arr) != dim:
            raise DataError(
                f"{where}: item {item!r} has a vector of length {len(arr)}; expected {dim}"
            )
        if not np.isfinite(arr).all():
            raise DataError(f"{where}: item {item!r} has a non-finite value in its vector")
        out[item] = arr
    if not out:
        raise DataError(f"{where}: no item vectors")
    return out


class ItemVectorTable:
    """Item vectors, centred over the items that have one, L2-normalised; zeros for the rest."""

    def fit(self, vectors: Mapping[Any, np.ndarray]) -> ItemVectorTable:
        matrix = np.vstack(list(vectors.values()))
        self.dim_ = int(matrix.shape[1])
        self.mean_ = matrix.mean(axis=0)
        return self

    def transform(self, item_ids: Any, vectors: Mapping[Any, np.ndarray]) -> np.ndarray:
        """(len(item_ids), dim) float32; items without a vector get zeros."""
        out = np.zeros((len(item_ids), self.dim_))
        for r, item in enumerate(item_ids):
            vec = vectors.get(item)
            if vec is None:
                continue
            if len(vec) != self.dim_:
                raise DataError(
                    f"item {item!r} has a vector of length {len(vec)}; expected {self.dim_}"
                )
            v = vec - self.mean_
            n = np.linalg.norm(v)
            out[r] = v / n if n > 0 else v
        return out.astype(np.float32)
