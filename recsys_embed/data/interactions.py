"""Interactions: a users x items CSR matrix with its user and item id maps."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap
from recsys_embed.errors import DataError


@dataclass(frozen=True, eq=False)
class Interactions:
    """A users x items interaction matrix plus its id maps.

    Attributes
    ----------
    matrix : csr_matrix, float32, shape (n_users, n_items)
        Aggregated weights, canonical CSR (sorted indices, one entry per (user, item)).
    user_map, item_map : IdMap
        External ids in index order.
    weights : ndarray of float64, shape (nnz,)
        The same weights at full precision, aligned with ``matrix.data``.
    timestamps : ndarray or None, shape (nnz,)
        Per-interaction time (numeric or datetime64), aligned with ``matrix.data``.
    n_duplicates : int
        How many input rows were merged into an earlier (user, item) row on construction.
        Duplicates are aggregated by summing their weights and keeping the latest timestamp.
    """

    matrix: sp.csr_matrix
    user_map: IdMap
    item_map: IdMap
    weights: np.ndarray
    timestamps: np.ndarray | None = None
    n_duplicates: int = 0
    source: str | None = field(default=None, compare=False)
    n_unknown_dropped: int = 0  # rows dropped by from_frame(..., like=, unknown="drop")

    # ---- constructors -------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        df: Any,
        user_col: str = "user",
        item_col: str = "item",
        weight_col: str | None = None,
        time_col: str | None = None,
        *,
        source: str | None = None,
        like: Interactions | None = None,
        unknown: Literal["raise", "drop"] = "raise",
        ints_from_text: bool = False,
    ) -> Interactions:
        """Build from a pandas or polars frame with one row per interaction.

        Without ``weight_col`` every row weighs 1. Ids may be ints or strings; the index order
        of the id maps is the sorted order of the ids; text ids are trimmed of surrounding
        whitespace. Rows are validated: null ids, non-numeric, NaN, infinite, zero or negative
        weights, weights that overflow or underflow float32 (alone, or summed over duplicates),
        and null timestamps raise :class:`DataError` naming ``source``, the column and the first
        offending row (0-based, header excluded), or the merged (user, item) pair.

        ``like=train`` builds the interactions in ``train``'s id space (its id maps, shared),
        as a test or holdout set for :func:`recsys_embed.evaluate`. Ids ``train`` does not
        know raise :class:`DataError` naming the first few (``unknown="raise"``), or their
        rows are dropped and counted in ``n_unknown_dropped`` (``unknown="drop"``).

        ``ints_from_text=True``: a text id column whose every value is a plain integer
        (``"42"``, not ``"042"`` or ``"+42"``) becomes ints, as :func:`read_interactions` does
        (the frame is validated once, here).
        """
        from recsys_embed.data.validate import validated_columns

        frame = _to_polars(df, source)
        _refuse_ids_past_int64(frame, (user_col, item_col), source)
        users, items, weights, times = validated_columns(
            frame, user_col, item_col, weight_col, time_col, source, ints_from_text=ints_from_text
        )
        if like is not None:
            return _in_id_space(like, users, items, weights, times, source, unknown)
        user_ids, user_idx = _encode(users)
        item_ids, item_idx = _encode(items)
        return cls.from_indices(
            user_idx,
            item_idx,
            IdMap(user_ids, "user"),
            IdMap(item_ids, "item"),
            weights=weights,
            timestamps=times,
            source=source,
        )

    @classmethod
    def from_indices(
        cls,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        user_map: IdMap,
        item_map: IdMap,
        weights: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        source: str | None = None,
    ) -> Interactions:
        """Build from dense index triplets in the given id space (duplicates aggregated)."""
        user_idx = np.asarray(user_idx, dtype=np.int64)
        item_idx = np.asarray(item_idx, dtype=np.int64)
        n_users, n_items = len(user_map), len(item_map)
        if weights is None:
            weights = np.ones(len(user_idx), dtype=np.float64)
        weights = np.asarray(weights, dtype=np.float64)
        key = user_idx * n_items + item_idx
        key, weights, timestamps = _sorted_by_key(key, weights, timestamps)
        n_duplicates = 0
        if len(key) > 1:
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
            n_duplicates = len(key) - len(starts)
            if n_duplicates:
                key = key[starts]
                weights = np.add.reduceat(weights, starts)
                if timestamps is not None:
                    timestamps = np.maximum.reduceat(timestamps, starts)
        rows, cols = np.divmod(key, n_items) if n_items else (key, key)
        with np.errstate(over="ignore"):
            data = weights.astype(np.float32)
        if not np.isfinite(data).all():
            r = int(np.flatnonzero(~np.isfinite(data))[0])
            where = f"{source}: " if source else ""
            user, item = user_map.ids[rows[r : r + 1]].tolist()[0], item_map.ids[cols[r : r + 1]]
            raise DataError(
                f"{where}user {user!r}, item {item.tolist()[0]!r}: the "
                f"merged weight {float(weights[r])} is not a finite float32 (max "
                f"{float(np.finfo(np.float32).max):.4g}); expected smaller weights"
            )
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
        matrix = sp.csr_matrix((data, cols.astype(np.int32), indptr), shape=(n_users, n_items))
        matrix.has_sorted_indices = True
        return cls(matrix, user_map, item_map, weights, timestamps, n_duplicates, source)

    # ---- shape and ids --------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    @property
    def user_ids(self) -> np.ndarray:
        return self.user_map.ids

    @property
    def item_ids(self) -> np.ndarray:
        return self.item_map.ids

    @property
    def user_idx(self) -> np.ndarray:
        """Row index of each stored interaction, aligned with ``matrix.data``."""
        return np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(self.matrix.indptr))

    @property
    def item_idx(self) -> np.ndarray:
        """Column index of each stored interaction, aligned with ``matrix.data``."""
        return self.matrix.indices.astype(np.int64)

    def __len__(self) -> int:
        return self.nnz

    def __repr__(self) -> str:
        ts = ", timestamps" if self.timestamps is not None else ""
        size = f"{self.n_users} users x {self.n_items} items, {self.nnz} interactions"
        return f"Interactions({size}{ts})"

    # ---- derived views --------------------------------------------------------------------
    def subset(self, mask: np.ndarray) -> Interactions:
        """The interactions where ``mask`` (aligned with ``matrix.data``) is true, same id space."""
        mask = np.asarray(mask, dtype=bool)
        return Interactions.from_indices(
            self.user_idx[mask],
            self.item_idx[mask],
            self.user_map,
            self.item_map,
            weights=self.weights[mask],
            timestamps=self.timestamps[mask] if self.timestamps is not None else None,
            source=self.source,
        )

    def with_unit_weights(self) -> Interactions:
        """The same interactions, every weight 1 (timestamps kept)."""
        return Interactions.from_indices(
            self.user_idx,
            self.item_idx,
            self.user_map,
            self.item_map,
            timestamps=self.timestamps,
            source=self.source,
        )

    def compact(self) -> Interactions:
        """Drop users and items that have no interaction (the id maps shrink)."""
        keep_u = np.flatnonzero(np.diff(self.matrix.indptr) > 0)
        keep_i = np.flatnonzero(np.bincount(self.matrix.indices, minlength=self.n_items) > 0)
        if len(keep_u) == self.n_users and len(keep_i) == self.n_items:
            return self
        new_u = np.full(self.n_users, -1, dtype=np.int64)
        new_u[keep_u] = np.arange(len(keep_u))
        new_i = np.full(self.n_items, -1, dtype=np.int64)
        new_i[keep_i] = np.arange(len(keep_i))
        return Interactions.from_indices(
            new_u[self.user_idx],
            new_i[self.item_idx],
            IdMap(self.user_map.ids[keep_u], "user"),
            IdMap(self.item_map.ids[keep_i], "item"),
            weights=self.weights,
            timestamps=self.timestamps,
            source=self.source,
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per interaction: ``user_id, item_id, weight`` (+ ``timestamp``), external ids."""
        cols: dict[str, Any] = {
            "user_id": _ids_series("user_id", self.user_map.ids[self.user_idx]),
            "item_id": _ids_series("item_id", self.item_map.ids[self.item_idx]),
            "weight": pl.Series("weight", self.weights, dtype=pl.Float64),
        }
        if self.timestamps is not None:
            cols["timestamp"] = pl.Series("timestamp", self.timestamps)
        return pl.DataFrame(cols)


def _in_id_space(
    like: Interactions,
    users: pl.Series,
    items: pl.Series,
    weights: np.ndarray | None,
    times: np.ndarray | None,
    source: str | None,
    unknown: str,
) -> Interactions:
    """Rows mapped into ``like``'s id maps (see ``from_frame(like=...)``)."""
    if unknown not in ("raise", "drop"):
        raise DataError(f"unknown must be 'raise' or 'drop', got {unknown!r}")
    u_idx = like.user_map.indices(users.to_numpy(), missing="mask")
    i_idx = like.item_map.indices(items.to_numpy(), missing="mask")
    keep = (u_idx >= 0) & (i_idx >= 0)
    if unknown == "raise" and not keep.all():
        where = f"{source}: " if source else ""
        parts = []
        for kind, series, idx in (("user", users, u_idx), ("item", items, i_idx)):
            missing = pl.Series(series.to_numpy()[idx < 0]).unique(maintain_order=True)
            if len(missing):
                shown = ", ".join(repr(x) for x in missing.head(5).to_list())
                more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
                parts.append(f"{len(missing)} {kind} id(s) ({shown}{more})")
        raise DataError(
            f"{where}{' and '.join(parts)} are not in the id space of like= "
            f"(first unknown at row {int(np.flatnonzero(~keep)[0])}); "
            "pass unknown='drop' to drop and count those rows"
        )
    out = Interactions.from_indices(
        u_idx[keep],
        i_idx[keep],
        like.user_map,
        like.item_map,
        weights=None if weights is None else weights[keep],
        timestamps=None if times is None else times[keep],
        source=source,
    )
    return replace(out, n_unknown_dropped=int((~keep).sum()))


def _ids_series(name: str, ids: np.ndarray) -> pl.Series:
    if ids.dtype == object:
        return pl.Series(name, ids.tolist(), dtype=pl.String)
    return pl.Series(name, ids)


def _to_polars(df: Any, source: str | None) -> pl.DataFrame:
    if isinstance(df, pl.DataFrame):
        return df
    if isinstance(df, pl.LazyFrame):
        return df.collect()
    import pandas as pd

    if isinstance(df, pd.DataFrame):
        try:
            return pl.from_pandas(df)
        except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:  # e.g. mixed-type ids
            where = f"{source}: " if source else ""
            raise DataError(f"{where}cannot convert the pandas frame: {exc}") from None
    where = f"{source}: " if source else ""
    raise DataError(f"{where}expected a pandas or polars DataFrame, got {type(df).__name__}")


def _refuse_ids_past_int64(frame: pl.DataFrame, cols: tuple[str, str], source: str | None) -> None:
    """Unsigned 64-bit ids above int64's range cannot be this package's int64 ids."""
    for col in cols:
        if col in frame.columns and frame[col].dtype == pl.UInt64:
            too_big = frame[col] > 2**63 - 1
            if too_big.any():
                row = int(too_big.arg_max() or 0)
                where = f"{source}: " if source else ""
                raise DataError(
                    f"{where}column {col!r} has id {frame[col][row]} at row {row}, above the "
                    "64-bit signed integer range of ids; expected ids below 2**63 (or text ids)"
                )


def _encode(col: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids and the dense index of every row."""
    if col.dtype.is_integer():
        values = col.to_numpy()
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= 4 * len(values) + 1024:  # compact range: O(n) presence table, no sort
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[values - lo] = True
            codes = np.cumsum(present, dtype=np.int64) - 1
            return np.flatnonzero(present).astype(np.int64) + lo, codes[values - lo]
    codes = (col.rank("dense") - 1).cast(pl.Int64).to_numpy()
    uniques = col.unique().sort()
    if uniques.dtype == pl.String:
        ids = np.asarray(uniques.to_list(), dtype=object)
    else:
        ids = uniques.to_numpy()
    return ids, codes


def _sorted_by_key(
    key: np.ndarray, weights: np.ndarray, timestamps: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Rows ordered by key (stable; polars sorts on all cores)."""
    if len(key) < 2 or bool(np.all(key[1:] >= key[:-1])):
        return key, weights, timestamps
    cols = {"k": key, "w": weights}
    if timestamps is not None:
        cols["t"] = timestamps
    frame = pl.DataFrame(cols).sort("k", maintain_order=True)
    t = frame["t"].to_numpy() if timestamps is not None else None
    return frame["k"].to_numpy(), frame["w"].to_numpy(), t
