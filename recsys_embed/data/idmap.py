"""IdMap: external ids <-> dense indices, frozen."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from recsys_embed.errors import DataError, UnknownIdError

INT64_RANGE = (-(2**63), 2**63)  # [low, high) of int64 ids


def as_id_array(ids: Any) -> np.ndarray:
    """External ids as a 1-d numpy array: int64 for integers, object (str) otherwise."""
    if isinstance(ids, (str, bytes)) or np.isscalar(ids):
        ids = [ids]
    arr = np.asarray(ids)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind in "UST":
        return arr.astype(object)
    return arr


def ids_like(values: list[Any], dtype: np.dtype, where: str, kind: str = "item") -> np.ndarray:
    """``values`` as ids of a model whose ids have ``dtype``: int64 (integers, integral floats
    and integer text; never truncated) or str; else a DataError naming ``where``, the row and
    the id."""
    as_int = np.dtype(dtype).kind in "iu"
    out: list[Any] = []
    for row, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise DataError(f"{where}: row {row} has no {kind} id; expected one on every row")
        if not as_int:
            out.append(str(value))
            continue
        number = _exact_int(value)
        if number is None:
            raise DataError(
                f"{where}: {kind} id {value!r} at row {row} is not an integer, as this model's "
                f"{kind} ids are"
            )
        if not INT64_RANGE[0] <= number < INT64_RANGE[1]:
            raise DataError(
                f"{where}: {kind} id {str(value)[:40]} at row {row} is outside the 64-bit integer "
                f"range of this model's {kind} ids"
            )
        out.append(number)
    return np.asarray(out, dtype=np.int64 if as_int else object)


def _exact_int(value: Any) -> int | None:
    """``value`` as an int if it is one exactly (``3``, ``3.0``, ``"3"``), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if np.isfinite(value) and float(value).is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        return int(text) if digits.isascii() and digits.isdigit() else None
    return None


@dataclass(frozen=True, eq=False)
class IdMap:
    """External ids in index order; ``ids[i]`` is the external id of index ``i``.

    Ids are unique. Integer ids are stored as int64, string ids as an object array of ``str``.
    """

    ids: np.ndarray
    kind: str = "item"  # "user" or "item": only used in error messages

    def __post_init__(self) -> None:
        ids = as_id_array(self.ids)
        ids.setflags(write=False)
        object.__setattr__(self, "ids", ids)
        if len(self._index) != len(ids) or not self._index.is_unique:
            raise ValueError(f"{self.kind} ids must be unique")

    @cached_property
    def _index(self) -> pd.Index:
        return pd.Index(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
        return len(self) == len(other) and bool(np.all(self.ids == other.ids))

    __hash__ = None  # type: ignore[assignment]

    def indices(self, ids: Any, missing: Literal["raise", "mask"] = "raise") -> np.ndarray:
        """Dense indices (int64) of external ids.

        ``missing="raise"`` raises :class:`UnknownIdError` naming the unknown ids;
        ``missing="mask"`` returns -1 for them.
        """
        arr = as_id_array(ids)
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        try:
            idx = self._index.get_indexer(pd.Index(arr)).astype(np.int64)
        except TypeError:  # ids of a type the index cannot compare
            idx = np.full(len(arr), -1, dtype=np.int64)
        if missing == "raise" and (idx < 0).any():
            unknown = arr[idx < 0]
            shown = ", ".join(repr(x) for x in unknown[:10].tolist())
            more = f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""
            raise UnknownIdError(f"{len(unknown)} unknown {self.kind} id(s): {shown}{more}")
        return idx

    def external(self, idx: np.ndarray) -> np.ndarray:
        """External ids of dense indices."""
        return self.ids[np.asarray(idx, dtype=np.int64)]
