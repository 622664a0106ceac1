"""The subcommands: each takes the parsed arguments and the log; ``COMMANDS`` maps names to them."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recsys_embed.cli.item_commands import add_items_command, capped_k, similar_command, write_frame
from recsys_embed.cli.log import Log
from recsys_embed.cli.rules import refuse_rules, rule_options, with_retrieval
from recsys_embed.errors import ConfigError

if TYPE_CHECKING:
    from recsys_embed.config import RunConfig
    from recsys_embed.engine import Engine

MAX_K = 1_000_000  # --k beyond this is a typo, not a top list
SWITCH_ENGINE = "run with --engine {engine} (or [engine] name = '{engine}')"


def _run_config(args: argparse.Namespace) -> tuple[RunConfig, Engine[Any]]:
    """The run config (Spark-only model types allowed) and the engine it runs on, its models
    (``--model``, else all) checked before anything is read."""
    from recsys_embed import preflight
    from recsys_embed.config import load_config
    from recsys_embed.engine import LocalEngine
    from recsys_embed.pipeline import VOCABULARY
    from recsys_embed.spark.params import spark_vocabulary

    config = load_config(args.config, spark_vocabulary(VOCABULARY))
    on_spark = (args.engine or config.engine.name) == "spark"
    if args.master and not on_spark:
        raise ConfigError("--master needs the Spark engine: add --engine spark")
    model = getattr(args, "model", None)
    if model is not None:
        config.model(model)  # fails early, naming the configured models
    names = [m.name for m in config.models] if model is None else [model]
    if not on_spark:
        local = LocalEngine()
        preflight.check_models(config, names, local, SWITCH_ENGINE)
        return config, local
    from recsys_embed.spark import require_spark

    require_spark()
    from recsys_embed.spark.jobs import SparkEngine

    spark = SparkEngine(config.engine, args.master)
    preflight.check_models(config, names, spark, SWITCH_ENGINE)
    return config, spark


def _evaluate(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed import atomic, preflight
    from recsys_embed.pipeline import run_evaluation

    out: Path = args.out
    preflight.check_run_folder(
        out, args.overwrite, f"--out {out}", "pass --overwrite to replace it"
    )
    config, engine = _run_config(args)
    on_spark = (args.engine or config.engine.name) == "spark"
    config = with_retrieval(config, args.retrieval, on_spark)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.sweep_stale(out)
    staged = atomic.temp_dir(out)

    def say(message: str) -> None:  # the log names --out, not the staging folder
        log(message.replace(str(staged), str(out)))

    try:  # the whole run is written aside, then swapped in: never a mix of two runs
        report = run_evaluation(config, staged, say, args.threads, log.show_progress, engine)
        atomic.publish_dir(staged, out)
    except BaseException:
        atomic.remove(staged)
        raise
    print(report.to_markdown(), end="")


def _train(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed import preflight
    from recsys_embed.pipeline import train_model

    out: Path = args.out
    preflight.check_model_folder(out, f"--out {out}")
    config, engine = _run_config(args)
    train_model(config, args.model, out, log, args.threads, log.show_progress, engine)


def _tune(args: argparse.Namespace, log: Log) -> None:
    import dataclasses

    from recsys_embed import preflight
    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY, run_tuning
    from recsys_embed.reports import json_text

    if args.trials is not None and not 1 <= args.trials <= 1_000_000:
        raise ConfigError(f"--trials must be an int from 1 to 1000000, got {args.trials}")
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ConfigError(
            f"--timeout must be a finite positive number of seconds, got {args.timeout}"
        )
    if args.repeats is not None and not 1 <= args.repeats <= 100:
        raise ConfigError(f"--repeats must be an int from 1 to 100, got {args.repeats}")
    if args.pruning is not None and not 0 <= args.pruning < 1:
        raise ConfigError(f"--pruning must be a quantile in [0, 1), got {args.pruning}")
    preflight.check_tune_folder(args.out, f"--out {args.out}")
    config = load_config(args.config, VOCABULARY)
    config.model(args.model)
    given = {"validation": args.validation, "repeats": args.repeats}
    given |= {"pruning": args.pruning, "decision": args.decision}
    tune = dataclasses.replace(config.tune, **{k: v for k, v in given.items() if v is not None})
    config = dataclasses.replace(config, tune=tune)
    result = run_tuning(
        config, args.model, args.out, log, args.trials, args.timeout, args.sampler, args.threads
    )
    doc = result.to_json()
    keys = ("model", "chosen", "decision", "searched", "defaults", "winner", "test_metrics")
    print(json_text({k: doc[k] for k in keys}, indent=2))


def _recommend(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.batch import check_output, write_recommendations
    from recsys_embed.models.registry import load
    from recsys_embed.pipeline import read_user_ids

    if not 1 <= args.k <= MAX_K:
        raise ConfigError(f"--k must be an int from 1 to {MAX_K}, got {args.k}")
    if args.chunk_size < 1:
        raise ConfigError(f"--chunk-size must be a positive int, got {args.chunk_size}")
    if args.engine == "spark":
        refuse_rules(args, "--engine spark")
        _recommend_spark(args, log)
        return
    if args.master:
        raise ConfigError("--master needs the Spark engine: add --engine spark")
    if args.history is not None:
        refuse_rules(args, "--history")
        return _recommend_history(args, log)
    check_output(args.out, "--out")
    model = load(args.model)
    k = capped_k(args.k, len(model.item_map_), log)
    users = read_user_ids(args.users, model.user_map_.ids.dtype) if args.users else None
    n_users = len(users) if users is not None else len(model.user_map_)
    log(f"recommending top {k} for {n_users} users")
    summary = write_recommendations(
        model,
        args.out,
        k=k,
        users=users,
        chunk_size=args.chunk_size,
        exclude_seen=not args.include_seen,
        unknown="raise" if args.strict else args.unknown,
        show_progress=log.show_progress,
        out_name="--out",
        **rule_options(args, model, log),
    )
    if summary.unknown_users:
        action = "skipped" if args.unknown == "skip" else "given popular items"
        shown = ", ".join(repr(u) for u in summary.unknown_examples)
        more = "" if summary.unknown_users <= len(summary.unknown_examples) else ", ..."
        log(f"{summary.unknown_users} unknown user(s) {action}: {shown}{more}")
    log(f"wrote {summary.rows_written} rows for {summary.users_written} users to {summary.path}")


def _recommend_spark(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.config import EngineConfig
    from recsys_embed.spark import require_spark

    require_spark()
    from recsys_embed.spark.jobs import recommend_on_spark

    if str(args.out).lower().endswith(".csv"):
        raise ConfigError(
            f"--out {args.out}: the Spark engine writes a directory of parquet part files"
        )
    log(f"recommending top {args.k} on Spark ({args.master or 'local[*]'})")
    summary = recommend_on_spark(
        args.model,
        str(args.out),
        args.k,
        str(args.users) if args.users else None,
        args.chunk_size,
        args.unknown,
        not args.include_seen,
        EngineConfig(name="spark"),
        args.master,
    )
    if summary.unknown_users:
        action = "skipped" if args.unknown == "skip" else "given popular items"
        log(f"{summary.unknown_users} unknown user(s) {action}")
    log(f"wrote {summary.rows_written} rows for {summary.users_written} users to {summary.path}")


def _datasets(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.data.movielens import DATASETS, find_local, load_dataset

    if args.action == "list":
        for name, spec in DATASETS.items():
            local = find_local(spec, None)
            print(f"{name}\t{'local: ' + str(local) if local else 'not downloaded'}\t{spec.url}")
        return
    ds = load_dataset(args.name, data_dir=args.data_dir)
    log(f"{args.name}: {ds.interactions} at {ds.path}")


def _recommend_history(args: argparse.Namespace, log: Log) -> None:
    """``recommend --history``: fold-in for users unseen in training."""
    from recsys_embed.batch import check_output
    from recsys_embed.data.loaders import read_histories
    from recsys_embed.models.registry import load

    if args.users is not None:
        raise ConfigError("--history and --users exclude each other")
    check_output(args.out, "--out")
    model = load(args.model)
    k = capped_k(args.k, len(model.item_map_), log)
    histories = read_histories(args.history, model.item_map_.ids.dtype)
    log(f"recommending top {k} for {len(histories)} users from their histories")
    frame = model.recommend_for_history(
        histories,
        k=k,
        exclude_seen=not args.include_seen,
        output="polars",
        chunk_size=args.chunk_size,
    )
    if model.last_unknown_history_items_:
        log(f"{model.last_unknown_history_items_} history item(s) unknown to the model ignored")
    write_frame(frame, args.out)
    log(f"wrote {frame.height} rows for {len(histories)} users to {args.out}")


COMMANDS = {
    "evaluate": _evaluate,
    "train": _train,
    "tune": _tune,
    "recommend": _recommend,
    "datasets": _datasets,
    "similar": similar_command,
    "add-items": add_items_command,
}
