"""The item subcommands: ``similar`` and ``add-items``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from recsys_embed.cli.log import Log
from recsys_embed.errors import ConfigError, DataError


def _read_item_ids(args: argparse.Namespace, dtype: Any) -> Any:
    import numpy as np

    from recsys_embed.data.loaders import read_ids

    ids: list[Any] = []
    if args.items is not None:
        ids.extend(read_ids(args.items, dtype, "item").tolist())
    for value in args.item:
        if dtype.kind in "iu":
            if not value.lstrip("-").isdigit():
                raise DataError(f"--item {value!r}: this model's item ids are integers")
            ids.append(int(value))
        else:
            ids.append(value)
    if args.items is None and not args.item:
        return None
    return np.asarray(ids, dtype=np.int64 if dtype.kind in "iu" else object)


def _write_frame(frame: Any, out: Path | None) -> None:
    """A frame to ``out`` (.csv / .parquet, atomically), or as CSV to stdout."""
    from recsys_embed.atomic import atomic_write, write_parquet

    if out is None:
        sys.stdout.write(frame.write_csv())
    elif out.suffix.lower() == ".csv":
        atomic_write(out, lambda p: frame.write_csv(p))
    else:
        write_parquet(out, frame)


def _similar(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.batch import check_output
    from recsys_embed.models.registry import load

    if args.k < 1:
        raise ConfigError(f"--k must be a positive int, got {args.k}")
    if args.out is not None:
        check_output(args.out)
    model = load(args.model)
    ids = _read_item_ids(args, model.item_map_.ids.dtype)
    if ids is None:
        ids = model.item_map_.ids
    log(f"top {args.k} similar items for {len(ids)} items")
    frame = model.similar_items(ids, k=args.k, output="polars", retrieval=args.retrieval)
    _write_frame(frame, args.out)
    if args.out is not None:
        log(f"wrote {frame.height} rows to {args.out}")


def _add_items(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.data.loaders import read_item_text
    from recsys_embed.models.registry import load

    model = load(args.model)
    add = getattr(model, "add_items", None)
    if add is None:
        raise ConfigError(
            f"{args.model}: model type {model.name!r} cannot add items from text; "
            "only text models can (lightfm-hybrid, text-knn)"
        )
    items = read_item_text(args.items, args.id_col, args.text_cols, sep=args.sep)
    before = len(model.item_map_)
    added = add(items)
    path = model.save(args.out)
    log(f"added {added} items ({before} -> {len(model.item_map_)}); saved to {path}")
