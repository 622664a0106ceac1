"""The item subcommands: ``similar`` and ``add-items``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from recsys_embed.cli.log import Log
from recsys_embed.errors import ConfigError, DataError, UnknownIdError


def _read_item_ids(args: argparse.Namespace, dtype: Any) -> Any:
    import numpy as np

    from recsys_embed.data.idmap import INT64_RANGE
    from recsys_embed.data.loaders import read_ids

    ids: list[Any] = []
    if args.items is not None:
        ids.extend(read_ids(args.items, dtype, "item").tolist())
    for value in args.item:
        if dtype.kind in "iu":
            if not value.lstrip("-").isdigit():
                raise DataError(f"--item {value!r}: this model's item ids are integers")
            if not INT64_RANGE[0] <= int(value) < INT64_RANGE[1]:  # no int64 id: unknown
                raise UnknownIdError(f"1 unknown item id(s): {value[:40]}")
            ids.append(int(value))
        else:
            ids.append(value)
    if args.items is None and not args.item:
        return None
    return np.asarray(ids, dtype=np.int64 if dtype.kind in "iu" else object)


def write_frame(frame: Any, out: Path | None) -> None:
    """A frame to ``out`` (.csv / .parquet, atomically), or as CSV to stdout."""
    from recsys_embed.atomic import atomic_write, write_parquet

    if out is None:
        sys.stdout.write(frame.write_csv())
    elif out.suffix.lower() == ".csv":
        atomic_write(out, lambda p: frame.write_csv(p))
    else:
        write_parquet(out, frame)


def capped_k(k: int, n_items: int, log: Log) -> int:
    """``k`` capped at the catalogue, with a warning (as ``recommend`` does)."""
    if k > n_items:
        log(f"warning: --k {k} is more than the {n_items} items the model knows; using {n_items}")
    return min(k, n_items)


def similar_command(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.batch import check_output
    from recsys_embed.models.registry import load

    if args.k < 1:
        raise ConfigError(f"--k must be a positive int, got {args.k}")
    if args.out is not None:
        check_output(args.out, "--out")
    model = load(args.model)
    k = capped_k(args.k, len(model.item_map_), log)
    ids = _read_item_ids(args, model.item_map_.ids.dtype)
    if ids is None:
        ids = model.item_map_.ids
    log(f"top {k} similar items for {len(ids)} items")
    frame = model.similar_items(ids, k=k, output="polars", retrieval=args.retrieval)
    write_frame(frame, args.out)
    if args.out is not None:
        log(f"wrote {frame.height} rows to {args.out}")


def add_items_command(args: argparse.Namespace, log: Log) -> None:
    import polars as pl

    from recsys_embed.data.idmap import ids_like
    from recsys_embed.data.loaders import read_item_text
    from recsys_embed.models.registry import REGISTRY, load

    model = load(args.model)
    add = getattr(model, "add_items", None)
    if add is None:
        able = ", ".join(name for name, cls in REGISTRY.items() if hasattr(cls, "add_items"))
        raise ConfigError(
            f"{args.model}: model type {model.name!r} cannot add items from text; "
            f"only text models can ({able})"
        )
    items = read_item_text(args.items, args.id_col, args.text_cols, sep=args.sep)
    ids = ids_like(items["item_id"].to_list(), model.item_map_.ids.dtype, str(args.items))
    known = model.item_map_.indices(ids, missing="mask") >= 0
    if known.any():
        row = int(known.argmax())
        raise DataError(
            f"{args.items}: item id {ids.tolist()[row]!r} at row {row} is already in the "
            f"catalogue of {args.model} ({int(known.sum())} such id(s)); expected new items only"
        )
    items = items.with_columns(pl.Series("item_id", ids.tolist()))
    before = len(model.item_map_)
    added = add(items)
    path = model.save(args.out)
    log(f"added {added} items ({before} -> {len(model.item_map_)}); saved to {path}")
