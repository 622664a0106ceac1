"""Scheduled batch recommendation: chunked scoring, streamed to an atomically renamed file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq

from recsys_embed.atomic import fault_point, file_mode, naming, sweep_stale, temp_file
from recsys_embed.errors import ConfigError, DataError, UnknownIdError
from recsys_embed.models.base import Recommender
from recsys_embed.models.frames import top_lists_frame
from recsys_embed.models.retrieval import check_k
from recsys_embed.models.vectors import RetrievalChoice
from recsys_embed.progress import counter

FORMATS = (".parquet", ".csv")
MAX_SCORE_CELLS = 1 << 28  # scores held at once (1 GiB of float32): bounds the chunk size
UNKNOWN_POLICIES = ("skip", "popular", "raise")
__all__ = ["BatchSummary", "check_output", "top_lists_frame", "write_recommendations"]


@dataclass(frozen=True)
class BatchSummary:
    path: Path
    users_written: int
    rows_written: int
    unknown_users: int  # requested users the model does not know
    unknown_policy: str  # "skip", "popular" or "raise"
    unknown_examples: tuple[Any, ...] = ()  # the first few unknown ids, in input order


def _chunks(
    model: Recommender,
    k: int,
    users: np.ndarray | None,
    chunk_size: int,
    exclude_seen: bool,
    rules: dict[str, Any],
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    if users is None:
        yield from model.recommend_all(
            k=k, chunk_size=chunk_size, exclude_seen=exclude_seen, **rules
        )
        return
    for s in range(0, len(users), chunk_size):
        ids = users[s : s + chunk_size]
        items, scores = model.recommend(
            ids, k=k, exclude_seen=exclude_seen, unknown="popular", chunk_size=chunk_size, **rules
        )
        yield ids, items, scores


def check_output(out: str | Path, what: str = "out") -> Path:
    """The output path, if its format is known and its directory exists. ``what`` names it in
    errors (the CLI says ``--out``)."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"{what} {out}: expected a {' or '.join(FORMATS)} file name")
    if not out.parent.is_dir():
        raise ConfigError(f"{what} {out}: output directory {out.parent} does not exist")
    if out.is_dir():
        raise ConfigError(f"{what} {out}: is a directory; expected a file name")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {out}: output directory {out.parent} is not writable")
    return out


def _describe_unknown(n: int, examples: list[Any]) -> str:
    shown = ", ".join(repr(e) for e in examples)
    more = f" and {n - len(examples)} more" if n > len(examples) else ""
    return f"{n} user id(s) the model does not know: {shown}{more}"


def write_recommendations(
    model: Recommender,
    out: str | Path,
    k: int = 10,
    users: Any = None,
    chunk_size: int = 1024,
    exclude_seen: bool = True,
    unknown: Literal["skip", "popular", "raise"] = "skip",
    progress: Callable[[int, int], None] | None = None,
    show_progress: bool | None = None,
    out_name: str = "out",
    *,
    retrieval: RetrievalChoice = "exact",
    eligible: Any = None,
    exclude_items: Any = None,
    exclude_pairs: Any = None,
) -> BatchSummary:
    """Top-``k`` per user to ``out`` (``.parquet`` or ``.csv``): user_id, rank, item_id, score.

    ``users`` limits the batch to those ids (default: every user of the model). Users the model
    does not know are counted and either skipped (``unknown="skip"``; an error if none is known),
    given the most popular items (``"popular"``), or refused (``"raise"``: UnknownIdError naming
    the first few). A batch that would write no row for a non-empty user set raises DataError and
    keeps the previous file. ``chunk_size`` is lowered where needed so that one chunk's scores
    stay under ``MAX_SCORE_CELLS``, and ``k`` to the catalogue size (neither changes the output).
    Rows are streamed chunk by chunk into a temporary file in the target directory, flushed and
    fsynced, then renamed over ``out``: an interrupted run never leaves a partial file at ``out``
    and never destroys an earlier one; its temporary file is removed by the next run. Padding
    slots are not written. Progress: a bar over users on a terminal, log lines off it
    (``show_progress``, see :mod:`recsys_embed.progress`), or the ``progress(done, total)``
    callback instead. ``out_name`` names ``out`` in errors (the CLI says ``--out``).
    ``retrieval`` and the rules (``eligible``, ``exclude_items``, ``exclude_pairs``) as in
    :meth:`Recommender.recommend`: an excluded item is never written.
    """
    out = check_output(out, out_name)
    if unknown not in UNKNOWN_POLICIES:
        raise ConfigError(f"unknown must be one of {list(UNKNOWN_POLICIES)}, got {unknown!r}")
    if not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool):
        raise ConfigError(f"chunk_size must be a positive int, got {chunk_size!r}")
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive int, got {chunk_size}")
    model.require_fitted()
    k = min(check_k(k), max(1, len(model.item_map_)))
    chunk_size = int(min(chunk_size, max(1, MAX_SCORE_CELLS // max(1, len(model.item_map_)))))
    ids = None
    n_unknown = 0
    examples: list[Any] = []
    if users is not None:
        ids = np.asarray(users)
        known = model.user_map_.indices(ids, missing="mask") >= 0
        n_unknown = int((~known).sum())
        examples = ids[~known][:5].tolist()
        if n_unknown and (unknown == "raise" or (unknown == "skip" and n_unknown == len(ids))):
            raise UnknownIdError(_describe_unknown(n_unknown, examples))
        if unknown == "skip":
            ids = ids[known]
    total = len(model.user_map_) if ids is None else len(ids)
    rules: dict[str, Any] = {"retrieval": retrieval, "eligible": eligible}
    rules.update(exclude_items=exclude_items, exclude_pairs=exclude_pairs)
    if exclude_pairs is not None:  # resolved once, not once per chunk
        rules["exclude_pairs"] = model.require_fitted().rules(None, None, None, exclude_pairs)
    sweep_stale(out)
    try:
        fd, tmp = temp_file(out)
    except OSError as exc:
        raise ConfigError(
            f"{out_name} {out}: cannot create a file in {out.parent} ({exc.strerror or exc})"
        ) from None
    done = rows = 0
    bar = counter(
        total=total, desc="recommend", show=False if progress else show_progress, unit="user"
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = None
            for chunk_users, items, scores in _chunks(
                model, k, ids, chunk_size, exclude_seen, rules
            ):
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
        if rows == 0 and total > 0:
            raise DataError(
                f"{out}: the model gave no recommendation for any of {total} users "
                "(non-finite scores, or every item already seen); the previous file is kept"
            )
        os.chmod(tmp, file_mode())
        fault_point("batch-before-rename")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise naming(exc, out) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    return BatchSummary(out, done, rows, n_unknown, unknown, tuple(examples))
