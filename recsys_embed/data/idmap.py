"""IdMap: external ids <-> dense indices, frozen."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from recsys_embed.errors import UnknownIdError


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
