"""Fold-in: user vectors for users unseen in training, from the items they interacted with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_embed.data.idmap import IdMap, as_id_array
from recsys_embed.errors import ConfigError, DataError, UnknownIdError
from recsys_embed.models.solve import solve_weighted_rows


def history_matrix(
    histories: Sequence[Any] | Mapping[Any, Any],
    weights: Sequence[Any] | None,
    item_map: IdMap,
) -> tuple[np.ndarray, sp.csr_matrix, int]:
    """``(user_ids, history, unknown)`` of new users' item histories.

    ``history`` is (n_users x len(item_map)), duplicates summed, ``weights[j]`` aligned with
    ``histories[j]`` (1 without weights); item ids not in ``item_map`` are left out and counted
    in ``unknown``. ``user_ids``: the keys of a mapping, else the positions 0..n-1.
    Weights must be positive and finite. No history at all, or not one known item among them
    all, is an error (nothing to recommend from); a user without a known item gets a row of
    zeros (the caller pads that user's list).
    """
    user_ids = np.arange(len(histories))
    if isinstance(histories, Mapping):
        user_ids = as_id_array(list(histories.keys()))
        histories = list(histories.values())
    if len(histories) == 0:
        raise DataError("no user histories given; expected at least one user with item ids")
    rows, cols, vals = [], [], []
    unknown = 0
    examples: list[Any] = []  # a few unknown ids, for the error
    for j, hist in enumerate(histories):
        items = as_id_array(hist)
        idx = item_map.indices(items, missing="mask")
        w = np.ones(len(idx)) if weights is None else np.asarray(weights[j], dtype=np.float64)
        if len(w) != len(idx):
            raise ConfigError(f"weights[{j}] has {len(w)} values for {len(idx)} items")
        bad = ~(np.isfinite(w) & (w > 0))
        if bad.any():
            at = int(np.argmax(bad))
            user, item = user_ids[j : j + 1].tolist()[0], items[at : at + 1].tolist()[0]
            raise DataError(
                f"history of user {user!r}: weight {float(w[at])!r} of item {item!r} "
                "is not a positive finite number"
            )
        known = idx >= 0
        unknown += int((~known).sum())
        examples += items[~known][: 3 - len(examples)].tolist()
        rows.append(np.full(int(known.sum()), j))
        cols.append(idx[known])
        vals.append(w[known])
    no_idx = [np.zeros(0, int)]  # no histories at all
    history = sp.csr_matrix(
        (
            np.concatenate(vals or [np.zeros(0)]),
            (np.concatenate(rows or no_idx), np.concatenate(cols or no_idx)),
        ),
        shape=(len(histories), len(item_map)),
    )
    history.sum_duplicates()
    if history.nnz == 0:
        got = f"none of the {unknown} history item(s)" if unknown else "no history item"
        if examples:
            got += f" ({', '.join(repr(x) for x in examples)}{', ...' if unknown > 3 else ''})"
        raise UnknownIdError(
            f"{got} of the {len(histories)} user(s) is known to the model; expected item ids "
            "of its catalogue"
        )
    return user_ids, history, unknown


def out_fixed(n: int, dim: int, fixed_column: int | None) -> np.ndarray:
    """User vectors of zeros with the fixed (bias) column set to 1."""
    out = np.zeros((n, dim), dtype=np.float32)
    if fixed_column is not None:
        out[:, fixed_column] = 1.0
    return out


def default_confidence(
    history: sp.csr_matrix, factors: np.ndarray, alpha: float, regularization: float
) -> tuple[np.ndarray, float]:
    """Fold-in confidence and ridge of a model without its own (its ``fold_in_alpha`` and
    ``fold_in_regularization``): ``1 + alpha`` on every history entry, and ``regularization``
    times the mean squared norm of the item vectors ``factors`` (bias columns left out), so the
    ridge follows the scale of the model's factors."""
    reg = regularization * float(np.mean(np.sum(factors * factors, axis=1)))
    return np.full(history.nnz, 1.0 + alpha), reg


def implicit_least_squares(
    item_factors: np.ndarray,
    fixed_column: int | None,
    history: sp.csr_matrix,
    confidence: np.ndarray,
    regularization: float | np.ndarray,
) -> np.ndarray:
    """Solve Hu, Koren & Volinsky's (2008) implicit least squares for each history row.

    Preference 1 with confidence ``confidence`` (aligned with ``history.data``) on the user's
    items, preference 0 with confidence 1 elsewhere, ridge ``regularization`` (one for all rows,
    or one per row). The fixed column stays 1; its item column holds item biases, which are
    subtracted from the targets. With ALS's own confidence and ridge this is exactly ALS's user
    update. Solved in float64 by :func:`~recsys_embed.models.solve.solve_weighted_rows`;
    returns float32 (n_rows x item_factors' columns).
    """
    full = item_factors.astype(np.float64)
    out = out_fixed(history.shape[0], full.shape[1], fixed_column)
    free = np.ones(full.shape[1], dtype=bool)
    bias = np.zeros(0)
    if fixed_column is not None:
        free[fixed_column] = False
        bias = np.ascontiguousarray(full[:, fixed_column])
    ridge = np.broadcast_to(np.asarray(regularization, dtype=np.float64), (history.shape[0],))
    solved = np.empty((history.shape[0], int(free.sum())))
    with threadpool_limits(limits=1, user_api="blas"):  # k x k solves: threads only cost
        solve_weighted_rows(
            history.indptr,
            history.indices,
            np.ascontiguousarray(confidence, dtype=np.float64),
            np.ascontiguousarray(full[:, free]),
            bias,
            np.ascontiguousarray(ridge),
            solved,
        )
    out[:, free] = solved
    return out
