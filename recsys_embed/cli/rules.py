"""``recommend``'s retrieval and business-rule flags: read the files, count unknown ids."""

from __future__ import annotations

import argparse
from typing import Any

from recsys_embed.cli.log import Log
from recsys_embed.errors import ConfigError

RULE_FLAGS = {"eligible": "--eligible", "exclude_items": "--exclude-items"}


def add_rule_args(p: argparse.ArgumentParser) -> None:
    """--retrieval, --eligible, --exclude-items, --exclude-pairs."""
    p.add_argument(
        "--retrieval",
        choices=("exact", "ann"),
        default="exact",
        help="exact (default) or ann: approximate top-k for big catalogues, needs "
        'pip install "recsys-embed[ann]" (see docs/big-catalogues.md)',
    )
    ids = ".txt one per line, or an item_id column (.csv/.parquet)"
    p.add_argument("--eligible", help=f"only these items may be recommended: {ids} (default: all)")
    p.add_argument("--exclude-items", help=f"never recommend these items: {ids} (default: none)")
    p.add_argument(
        "--exclude-pairs",
        help="user_id,item_id pairs (.csv/.parquet) never recommended to that user (default: none)",
    )


def has_rules(args: argparse.Namespace) -> bool:
    return any(getattr(args, name, None) for name in ("eligible", "exclude_items", "exclude_pairs"))


def rule_options(args: argparse.Namespace, model: Any, log: Log) -> dict[str, Any]:
    """``write_recommendations`` keywords from the flags; unknown ids are counted and named."""
    from recsys_embed.data.loaders import read_histories, read_ids
    from recsys_embed.models.rules import make_rules

    dtype = model.item_map_.ids.dtype
    options: dict[str, Any] = {"retrieval": args.retrieval}
    for name in RULE_FLAGS:
        path = getattr(args, name, None)
        options[name] = None if path is None else read_ids(path, dtype, "item")
    if args.exclude_pairs is not None:
        pairs = read_histories(args.exclude_pairs, dtype)
        if model.user_map_.ids.dtype == object:  # text user ids: "12" is not the int 12
            pairs = {str(user): items for user, items in pairs.items()}
        users = list(pairs)
        unknown = [
            u for u, i in zip(users, model.user_map_.indices(users, "mask"), strict=True) if i < 0
        ]
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5])
            more = "" if len(unknown) <= 5 else ", ..."
            log(
                f"{len(unknown)} user id(s) in --exclude-pairs the model does not know: "
                f"{shown}{more}"
            )
        options["exclude_pairs"] = pairs
    rules = make_rules(
        model.item_map_,
        None,
        options["eligible"],
        options["exclude_items"],
        options.get("exclude_pairs"),
    )
    flags = {**RULE_FLAGS, "exclude_pairs": "--exclude-pairs"}
    for name, (count, examples) in rules.unknown.items():
        shown = ", ".join(repr(e) for e in examples)
        more = "" if count <= len(examples) else ", ..."
        log(f"{count} item id(s) in {flags[name]} the model does not know, ignored: {shown}{more}")
    if options["eligible"] is not None and rules.candidates is not None:
        log(f"{len(rules.candidates)} of {len(model.item_map_)} items may be recommended")
    if options.get("exclude_pairs") is not None:
        options["exclude_pairs"] = rules  # resolved once
    return options


def refuse_rules(args: argparse.Namespace, where: str) -> None:
    """Paths that do not take the rules yet say so instead of ignoring them."""
    if has_rules(args) or args.retrieval != "exact":
        raise ConfigError(
            f"--retrieval ann, --eligible, --exclude-items and --exclude-pairs are not "
            f"supported with {where} yet"
        )


def with_retrieval(config: Any, method: str | None, on_spark: bool) -> Any:
    """The run config with ``evaluate --retrieval`` applied (None: the config's own table)."""
    import dataclasses

    if method is not None:
        retrieval = dataclasses.replace(config.retrieval, method=method)
        config = dataclasses.replace(config, retrieval=retrieval)
    if on_spark and config.retrieval.method != "exact":
        raise ConfigError("retrieval ann is not supported with the Spark engine yet")
    return config
