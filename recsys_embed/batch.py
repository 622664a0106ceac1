"""Scheduled batch recommendation: chunked scoring, streamed to an atomically renamed file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq

from recsys_embed.atomic import file_mode
from recsys_embed.errors import ConfigError
from recsys_embed.models.base import Recommender
from recsys_embed.models.frames import top_lists_frame
from recsys_embed.progress import counter

FORMATS = (".parquet", ".csv")
__all__ = ["BatchSummary", "check_output", "top_lists_frame", "write_recommendations"]


@dataclass(frozen=True)
class BatchSummary:
    path: Path
    users_written: int
    rows_written: int
    unknown_users: int  # requested users the model does not know
    unknown_policy: str  # "skip" or "popular"


def _chunks(
    model: Recommender,
    k: int,
    users: np.ndarray | None,
    chunk_size: int,
    exclude_seen: bool,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    if users is None:
        yield from model.recommend_all(k=k, chunk_size=chunk_size, exclude_seen=exclude_seen)
        return
    for s in range(0, len(users), chunk_size):
        ids = users[s : s + chunk_size]
        items, scores = model.recommend(
            ids, k=k, exclude_seen=exclude_seen, unknown="popular", chunk_size=chunk_size
        )
        yield ids, items, scores


def check_output(out: str | Path) -> Path:
    """The output path, if its format is known and its directory exists."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out {out}: expected a {' or '.join(FORMATS)} file name")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: output directory {out.parent} does not exist")
    return out


def write_recommendations(
    model: Recommender,
    out: str | Path,
    k: int = 10,
    users: Any = None,
    chunk_size: int = 1024,
    exclude_seen: bool = True,
    unknown: Literal["skip", "popular"] = "skip",
    progress: Callable[[int, int], None] | None = None,
    show_progress: bool | None = None,
) -> BatchSummary:
    """Top-``k`` per user to ``out`` (``.parquet`` or ``.csv``): user_id, rank, item_id, score.

    ``users`` limits the batch to those ids (default: every user of the model). Users the model
    does not know are counted and either skipped (``unknown="skip"``) or given the most popular
    items (``"popular"``). Rows are streamed chunk by chunk into a temporary file in the target
    directory, flushed and fsynced, then renamed over ``out``: an interrupted run never leaves
    a partial file at ``out`` and never destroys an earlier one. Padding slots are not written.
    Progress: a bar over users on a terminal, log lines off it (``show_progress``, see
    :mod:`recsys_embed.progress`), or the ``progress(done, total)`` callback instead.
    """
    out = check_output(out)
    if unknown not in ("skip", "popular"):
        raise ConfigError(f"unknown must be 'skip' or 'popular', got {unknown!r}")
    model._require_fitted()
    ids = None
    n_unknown = 0
    if users is not None:
        ids = np.asarray(users)
        known = model.user_map_.indices(ids, missing="mask") >= 0
        n_unknown = int((~known).sum())
        if unknown == "skip":
            ids = ids[known]
    total = len(model.user_map_) if ids is None else len(ids)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    done = rows = 0
    bar = counter(
        total=total, desc="recommend", show=False if progress else show_progress, unit="user"
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = None
            for chunk_users, items, scores in _chunks(model, k, ids, chunk_size, exclude_seen):
                frame = top_lists_frame(chunk_users, items, scores)
                if out.suffix.lower() == ".csv":
                    frame.write_csv(fh, include_header=done == 0)
                else:
                    table = frame.to_arrow()
                    if writer is None:
                        writer = pq.ParquetWriter(fh, table.schema)
                    writer.write_table(table)
                done += len(chunk_users)
                rows += frame.height
                bar.update(len(chunk_users))
                if progress is not None:
                    progress(done, total)
            if out.suffix.lower() == ".parquet":
                if writer is None:  # no user at all: still a valid, empty file
                    none = np.zeros((0, k))
                    empty = top_lists_frame(model.user_map_.ids[:0], none, none)
                    writer = pq.ParquetWriter(fh, empty.to_arrow().schema)
                writer.close()
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    return BatchSummary(out, done, rows, n_unknown, unknown)
