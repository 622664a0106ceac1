"""Top-k lists as frames: ``user_id, rank, item_id, score``, the layout the batch job writes."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl

from recsys_embed.errors import ConfigError

Output = Literal["arrays", "polars", "pandas"]
OUTPUTS = ("arrays", "polars", "pandas")


def top_lists_frame(
    users: np.ndarray,
    items: np.ndarray,
    scores: np.ndarray,
    key: str = "user_id",
    value: str = "item_id",
) -> pl.DataFrame:
    """``user_id, rank, item_id, score`` rows of top-k lists; padding (score -inf) is skipped.

    ``users[j]`` owns row ``j`` of ``items`` and ``scores``; ranks start at 1. ``key`` and
    ``value`` rename the id columns (``similar_items`` writes ``item_id, rank, similar_item_id``).
    """
    filled = np.isfinite(scores)
    rows = np.repeat(np.arange(len(users)), filled.sum(axis=1))
    ranks = (np.cumsum(filled, axis=1))[filled]
    u, i = np.asarray(users)[rows], items[filled]
    return pl.DataFrame(
        {
            key: u.tolist() if u.dtype == object else u,
            "rank": ranks.astype(np.int32),
            value: i.tolist() if i.dtype == object else i,
            "score": scores[filled].astype(np.float32),
        }
    )


def check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise ConfigError(f"output must be one of {list(OUTPUTS)}, got {output!r}")


def to_output(frame: pl.DataFrame, output: str) -> Any:
    """The frame as asked: polars as is, or converted to pandas."""
    return frame.to_pandas() if output == "pandas" else frame
