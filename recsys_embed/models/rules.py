"""Business rules of a ranking: an eligible set, a global exclude list, per-user exclusions.

They become what the retrieval backends already honour: the eligible set minus the excluded
items is the ``candidates`` of every search, and a user's excluded pairs join the rows of
``exclude`` (beside the seen items). Ids the model does not know are counted (:attr:`Rules.unknown`)
and otherwise ignored: an unknown item is never recommended anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap, as_id_array
from recsys_embed.errors import ConfigError


def pair_columns(pairs: Any) -> tuple[np.ndarray, np.ndarray]:
    """User and item ids of ``pairs``: a frame with ``user_id`` and ``item_id`` columns, a
    mapping ``{user_id: [item_id, ...]}``, or a sequence of ``(user_id, item_id)``."""
    columns = getattr(pairs, "columns", None)
    if columns is not None:
        if "user_id" not in columns or "item_id" not in columns:
            raise ConfigError(
                f"exclude_pairs needs columns user_id and item_id, got {list(columns)}"
            )
        return as_id_array(list(pairs["user_id"])), as_id_array(list(pairs["item_id"]))
    if isinstance(pairs, dict):
        users = [u for u, items in pairs.items() for _ in items]
        return as_id_array(users), as_id_array([i for items in pairs.values() for i in items])
    rows = list(pairs)
    if any(len(r) != 2 for r in rows):
        raise ConfigError("exclude_pairs must hold (user_id, item_id) pairs")
    return as_id_array([r[0] for r in rows]), as_id_array([r[1] for r in rows])


@dataclass(frozen=True)
class Rules:
    """Rules resolved against a catalogue; build with :func:`make_rules`.

    ``candidates``: sorted item indices that may be recommended (None: every item);
    ``pair_users`` / ``pair_items``: each listed user's excluded items (users x catalogue);
    ``unknown``: per rule (``eligible``, ``exclude_items``, ``exclude_pairs``), the count and
    the first few ids the model does not know (pairs: their item ids).
    """

    candidates: np.ndarray | None = None
    pair_users: IdMap | None = None
    pair_items: sp.csr_matrix | None = None
    unknown: dict[str, tuple[int, list[Any]]] = field(default_factory=dict)

    def exclude_rows(self, user_ids: Any, n_items: int) -> sp.csr_matrix | None:
        """Excluded items of each of ``user_ids`` (one row each), or None without pair rules."""
        if self.pair_users is None or self.pair_items is None:
            return None
        pos = self.pair_users.indices(user_ids, missing="mask")
        rows = self.pair_items[np.maximum(pos, 0)]
        if not (pos >= 0).all():
            rows = (sp.diags((pos >= 0).astype(np.float32)) @ rows).tocsr()
            rows.eliminate_zeros()
        return sp.csr_matrix(rows, shape=(len(pos), n_items))


def known_indices(item_map: IdMap, ids: Any, rule: str, unknown: dict) -> np.ndarray:
    """Indices of the known ``ids``; the unknown ones are counted under ``rule``."""
    arr = as_id_array(ids)
    idx = item_map.indices(arr, missing="mask")
    bad = idx < 0
    if bad.any():
        unknown[rule] = (int(bad.sum()), arr[bad][:5].tolist())
    return idx


def make_rules(
    item_map: IdMap,
    items: Any = None,
    eligible: Any = None,
    exclude_items: Any = None,
    exclude_pairs: Any = None,
) -> Rules:
    """Resolve the rules: ``items`` and ``eligible`` (item ids; both restrict, so they
    intersect), ``exclude_items`` (item ids never recommended), ``exclude_pairs`` (see
    :func:`pair_columns`, or the :class:`Rules` of an earlier call)."""
    n = len(item_map)
    unknown: dict[str, tuple[int, list[Any]]] = {}
    cand = None
    for rule, ids in (("items", items), ("eligible", eligible)):
        if ids is not None:
            idx = known_indices(item_map, ids, rule, unknown)
            allowed = np.unique(idx[idx >= 0])
            cand = allowed if cand is None else np.intersect1d(cand, allowed)
    if exclude_items is not None:
        idx = known_indices(item_map, exclude_items, "exclude_items", unknown)
        base = np.arange(n, dtype=np.int64) if cand is None else cand
        cand = np.setdiff1d(base, idx[idx >= 0])
    pair_users = pair_items = None
    if isinstance(exclude_pairs, Rules):  # pairs resolved once for many calls (the batch)
        pair_users, pair_items = exclude_pairs.pair_users, exclude_pairs.pair_items
    elif exclude_pairs is not None:
        users, pair_ids = pair_columns(exclude_pairs)
        idx = known_indices(item_map, pair_ids, "exclude_pairs", unknown)
        users, idx = users[idx >= 0], idx[idx >= 0]
        uniq, row = np.unique(users, return_inverse=True) if len(users) else (users, users)
        pair_users = IdMap(uniq, "user")
        pair_items = sp.csr_matrix(
            (np.ones(len(idx), np.float32), (np.asarray(row, np.int64), idx)),
            shape=(len(uniq), n),
        )
        pair_items.sum_duplicates()
        pair_items.data[:] = 1
    return Rules(cand, pair_users, pair_items, unknown)


def join_exclusions(
    first: sp.csr_matrix | None, second: sp.csr_matrix | None
) -> sp.csr_matrix | None:
    """The union of two exclusion matrices of the same rows (either may be None)."""
    if first is None or second is None:
        return first if second is None else second
    both = (first + second).tocsr()
    both.data[:] = 1
    return both
