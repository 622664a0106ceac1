"""The command line: the only place that parses arguments, reads the environment, sets threads
and exits.

Exit codes: 0 success; 2 usage or config error (a bad argument, config key or output location);
3 data error (a bad input file or model file, unknown ids, a fit that diverged to NaN/inf factors,
or a batch that would write no row); 4 the system refused a read or write (disk full, quota,
I/O error, out of memory), naming the file; 1 a bug (anything else). Errors are one line on
stderr naming the file, key, row or id (a traceback only with --verbose).

Outputs are published whole: ``train --out`` and ``evaluate --out`` are built in a temporary
folder beside the target and swapped in at once; ``recommend --out`` is renamed into place.
A killed run leaves the previous output intact; its temporary files are removed by the next run.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import math
import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from threadpoolctl import threadpool_limits

from recsys_embed.errors import ConfigError, DataError, FitError, UnknownIdError
from recsys_embed.version import __version__

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA, EXIT_IO = 0, 1, 2, 3, 4
MAX_K = 1_000_000  # --k beyond this is a typo, not a top list
MAX_THREADS = 4096


class UsageError(Exception):
    pass


class _Help(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default (or that it is required) and keeps the example."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.help == argparse.SUPPRESS:
            return text
        if action.required:
            return f"{text} (required)"
        if isinstance(action, argparse._StoreTrueAction):
            return f"{text} (default: off)"
        if action.default is None or action.default == argparse.SUPPRESS:  # --help, --version
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # one line, exit 2
        raise UsageError(f"{message} (see: {self.prog} --help)")


class Log:
    """Timestamped lines when stderr is not a terminal (cron logs); live progress when it is."""

    def __init__(self, quiet: bool = False, verbose: bool = False, stream: TextIO | None = None):
        self.quiet, self.verbose = quiet, verbose
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0
        # library progress: None = a bar on a terminal, log lines off it; --quiet: nothing
        self.show_progress: bool | None = False if quiet else None

    @contextlib.contextmanager
    def library_lines(self) -> Iterator[None]:
        """While a command runs, print the library's log lines (progress off a terminal) as
        this log's lines; nothing with --quiet."""
        if self.quiet:
            yield
            return
        logger = logging.getLogger("recsys_embed")
        handler, level = _LogHandler(self), logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if self.tty:
            print(message, file=self.stream, flush=True)
        else:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            print(f"{stamp} recsys-embed: {message}", file=self.stream, flush=True)

    def progress(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            end = "\n" if done >= total else ""
            print(f"\r  {done}/{total} users", end=end, file=self.stream, flush=True)
        elif done >= total or time.monotonic() - self._last > 10:
            self._last = time.monotonic()
            self(f"{done}/{total} users")


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if not 0 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected 0 (all cores) to {MAX_THREADS}, got {value}")
    return value


class _LogHandler(logging.Handler):
    def __init__(self, log: Log) -> None:
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log(record.getMessage())


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars or log lines (default: bars on a terminal, log lines off it)",
    )
    p.add_argument("--verbose", action="store_true", help="tracebacks on errors")
    p.add_argument(
        "--threads",
        type=_threads,
        default=1,
        help="threads for model fitting and BLAS (default 1: reproducible; 0 = all cores)",
    )


def _engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=("local", "spark"),
        help="where to run: local (default) or spark (the [engine] table of a config otherwise)",
    )
    p.add_argument(
        "--master", help="Spark master URL, e.g. 'local[2]' (default: [engine] master, local[*])"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="recsys-embed", description="Embedding-based recommendation jobs.")
    parser.add_argument("--version", action="version", version=f"recsys-embed {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ev = sub.add_parser("evaluate", help="fit and evaluate the configured models on a split")
    ev.add_argument(
        "--config",
        type=Path,
        help="TOML run config, see README (default: ml-latest-small, 5 models)",
    )
    ev.add_argument("--out", type=Path, required=True, help="directory for the run's files")
    ev.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an --out folder that is not a previous run (a previous run is replaced)",
    )
    _engine_args(ev)
    _common(ev)

    tr = sub.add_parser("train", help="fit one configured model on all the data and save it")
    tr.add_argument("--config", type=Path, required=True, help="TOML run config, see README")
    tr.add_argument("--model", required=True, help="a [models.NAME] of the config")
    tr.add_argument("--out", type=Path, required=True, help="model directory to write")
    _engine_args(tr)
    _common(tr)

    tu = sub.add_parser(
        "tune", help="search a model's parameters on validation, then evaluate the best on test"
    )
    tu.add_argument("--config", type=Path, required=True, help="TOML run config, see README")
    tu.add_argument("--model", required=True, help="a [models.NAME] of the config")
    tu.add_argument(
        "--trials",
        type=int,
        help="trials in all, resumed ones included (default: [tune] trials, else 20)",
    )
    tu.add_argument(
        "--timeout",
        type=float,
        help="seconds after which no new trial starts (default: [tune] timeout, else none)",
    )
    tu.add_argument(
        "--sampler", choices=("auto", "random", "tpe"), help="search sampler (default: [tune])"
    )
    tu.add_argument(
        "--validation",
        choices=("split", "random", "temporal"),
        help="carve validation like [split], or per user (default: [tune], else split)",
    )
    tu.add_argument(
        "--repeats",
        type=int,
        help="validation carves; their mean is the objective (default: [tune], else 1)",
    )
    tu.add_argument(
        "--pruning",
        type=float,
        help="stop-early quantile in [0, 1); 0: off (default: [tune], else 0.25)",
    )
    tu.add_argument(
        "--decision",
        choices=("bootstrap", "best"),
        help="bootstrap: the winner replaces the defaults only above the noise "
        "(default: [tune], else bootstrap)",
    )
    tu.add_argument("--out", type=Path, required=True, help="directory; rerun it to resume")
    _common(tu)

    rc = sub.add_parser("recommend", help="batch top-k for every user of a saved model")
    rc.add_argument("--model", type=Path, required=True, help="a directory written by train")
    rc.add_argument("--k", type=int, default=10, help="items per user")
    rc.add_argument("--out", type=Path, required=True, help=".parquet or .csv file to write")
    rc.add_argument(
        "--users",
        type=Path,
        help="only these users: .txt one per line, or a user_id column (default: every user)",
    )
    rc.add_argument(
        "--history",
        type=Path,
        help="new users' histories (user_id, item_id columns; .csv/.parquet): recommend by "
        "fold-in, without retraining (default: none)",
    )
    rc.add_argument("--chunk-size", type=int, default=1024, help="users scored at a time")
    rc.add_argument(
        "--unknown",
        choices=("skip", "popular"),
        default="skip",
        help="users in --users that the model does not know: skip them, or popular items",
    )
    rc.add_argument("--include-seen", action="store_true", help="do not exclude training items")
    rc.add_argument(
        "--strict", action="store_true", help="any --users id the model does not know: exit 3"
    )
    _engine_args(rc)
    _common(rc)

    ds = sub.add_parser("datasets", help="list or fetch the known datasets")
    ds_sub = ds.add_subparsers(dest="action", required=True, parser_class=_Parser)
    ds_list = ds_sub.add_parser("list", help="known datasets, where they are, their URL")
    _common(ds_list)
    fetch = ds_sub.add_parser("fetch", help="download (checksummed) and unpack a dataset")
    fetch.add_argument("name", help="a dataset name, as `datasets list` prints it")
    fetch.add_argument("--data-dir", type=Path, help="default: $RECSYS_EMBED_DATA, else the cache")
    _common(fetch)
    _add_item_commands(sub)
    _add_examples(parser)
    return parser


EXAMPLES = {
    "evaluate": "recsys-embed evaluate --out runs/default",
    "train": "recsys-embed train --config run.toml --model als --out models/als",
    "tune": "recsys-embed tune --config run.toml --model als --trials 40 --out tuned/als",
    "recommend": "recsys-embed recommend --model models/als --k 20 --out recs.parquet\n"
    "  recsys-embed recommend --model models/als --history new_users.csv --out new.csv",
    "similar": "recsys-embed similar --model models/als --item 1 --item 50 --k 5",
    "add-items": "recsys-embed add-items --model models/hybrid --items new_movies.csv "
    "--id-col movieId --text-cols title genres --out models/hybrid-new",
    "datasets": "recsys-embed datasets list",
    "list": "recsys-embed datasets list",
    "fetch": "recsys-embed datasets fetch movielens-100k",
}


def _add_examples(parser: argparse.ArgumentParser) -> None:
    """An ``example:`` epilog on every subcommand's help."""
    for action in parser._subparsers._group_actions if parser._subparsers else []:
        for name, sub in getattr(action, "choices", {}).items():
            sub.epilog = f"example:\n  {EXAMPLES[name]}"
            _add_examples(sub)


def _add_item_commands(sub: Any) -> None:
    si = sub.add_parser("similar", help="top-k most similar items of items, from a saved model")
    si.add_argument("--model", type=Path, required=True, help="a directory written by train")
    si.add_argument(
        "--item", action="append", default=[], help="an item id; repeat for more (default: none)"
    )
    si.add_argument(
        "--items",
        type=Path,
        help="item ids: .txt one per line, or an item_id column (default: --item, else every "
        "item of the model)",
    )
    si.add_argument("--k", type=int, default=10, help="similar items per item")
    si.add_argument(
        "--out",
        type=Path,
        help=".csv or .parquet file: item_id, rank, similar_item_id, score "
        "(default: CSV on stdout)",
    )
    _common(si)

    ad = sub.add_parser(
        "add-items",
        help="add items known only by their text to a saved text model (lightfm-hybrid, "
        "text-knn), without retraining",
    )
    ad.add_argument("--model", type=Path, required=True, help="a text model written by train")
    ad.add_argument(
        "--items", type=Path, required=True, help="item file (.csv/.tsv/.parquet) with the text"
    )
    ad.add_argument("--id-col", default="item_id", help="the item id column")
    ad.add_argument(
        "--text-cols", nargs="+", default=["text"], help="text columns, joined with ' | '"
    )
    ad.add_argument("--sep", help="field separator of a text file (default: sniffed)")
    ad.add_argument("--out", type=Path, required=True, help="model directory to write")
    _common(ad)


def _run_config(args: argparse.Namespace) -> tuple[Any, bool]:
    """The run config (Spark-only model types allowed) and whether it runs on Spark."""
    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY
    from recsys_embed.spark.params import SPARK_MODELS, spark_vocabulary

    config = load_config(args.config, spark_vocabulary(VOCABULARY))
    on_spark = (args.engine or config.engine.name) == "spark"
    if args.master and not on_spark:
        raise ConfigError("--master needs the Spark engine: add --engine spark")
    if not on_spark:
        for m in config.models:
            if m.type in SPARK_MODELS and (getattr(args, "model", None) in (None, m.name)):
                raise ConfigError(
                    f"{config.source}: [models.{m.name}] type {m.type!r} trains on Spark: "
                    "run with --engine spark (or [engine] name = 'spark')"
                )
    if on_spark:
        from recsys_embed.spark import require_spark

        require_spark()
    return config, on_spark


def _evaluate(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed import atomic
    from recsys_embed.pipeline import run_evaluation

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    previous = (out / "metrics.json").is_file()
    if out.is_dir() and not previous and any(out.iterdir()) and not args.overwrite:
        raise ConfigError(
            f"--out {out}: a non-empty folder that is not a previous run; "
            "pass --overwrite to replace it"
        )
    config, on_spark = _run_config(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.sweep_stale(out)
    staged = atomic.temp_dir(out)

    def say(message: str) -> None:  # the log names --out, not the staging folder
        log(message.replace(str(staged), str(out)))

    try:  # the whole run is written aside, then swapped in: never a mix of two runs
        if on_spark:
            from recsys_embed.spark.jobs import run_spark_evaluation

            report = run_spark_evaluation(config, staged, say, args.threads, args.master)
        else:
            report = run_evaluation(
                config, staged, say, threads=args.threads, show_progress=log.show_progress
            )
        atomic.publish_dir(staged, out)
    except BaseException:
        atomic.remove(staged)
        raise
    print(report.to_markdown(), end="")


def _train(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.models.persist import is_model_dir
    from recsys_embed.pipeline import train_model

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and not is_model_dir(out) and any(out.iterdir()):
        raise ConfigError(f"--out {out}: a non-empty folder that is not a saved model")
    config, on_spark = _run_config(args)
    config.model(args.model)  # fails early, naming the configured models
    if on_spark:
        from recsys_embed.spark.jobs import train_on_spark

        train_on_spark(config, args.model, out, log, args.threads, args.master)
        return
    train_model(config, args.model, out, log, threads=args.threads, show_progress=log.show_progress)


def _tune(args: argparse.Namespace, log: Log) -> None:
    import dataclasses
    import json

    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY, run_tuning

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
    print(json.dumps({k: doc[k] for k in keys}, indent=2))


def _recommend(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.batch import check_output, write_recommendations
    from recsys_embed.models.registry import load
    from recsys_embed.pipeline import read_user_ids

    if not 1 <= args.k <= MAX_K:
        raise ConfigError(f"--k must be an int from 1 to {MAX_K}, got {args.k}")
    if args.chunk_size < 1:
        raise ConfigError(f"--chunk-size must be a positive int, got {args.chunk_size}")
    if args.engine == "spark":
        _recommend_spark(args, log)
        return
    if args.master:
        raise ConfigError("--master needs the Spark engine: add --engine spark")
    if args.history is not None:
        return _recommend_history(args, log)
    check_output(args.out)
    model = load(args.model)
    k = _capped_k(args.k, len(model.item_map_), log)
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
    frame = model.similar_items(ids, k=args.k, output="polars")
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


def _capped_k(k: int, n_items: int, log: Log) -> int:
    if k > n_items:
        log(f"warning: --k {k} is more than the {n_items} items the model knows; using {n_items}")
    return min(k, n_items)


def _recommend_history(args: argparse.Namespace, log: Log) -> None:
    """``recommend --history``: fold-in for users unseen in training."""
    from recsys_embed.batch import check_output
    from recsys_embed.data.loaders import read_histories
    from recsys_embed.models.registry import load

    if args.users is not None:
        raise ConfigError("--history and --users exclude each other")
    check_output(args.out)
    model = load(args.model)
    k = _capped_k(args.k, len(model.item_map_), log)
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
    _write_frame(frame, args.out)
    log(f"wrote {frame.height} rows for {len(histories)} users to {args.out}")


COMMANDS = {
    "evaluate": _evaluate,
    "train": _train,
    "tune": _tune,
    "recommend": _recommend,
    "datasets": _datasets,
    "similar": _similar,
    "add-items": _add_items,
}


def main(argv: Sequence[str] | None = None) -> int:
    verbose = "--verbose" in (argv if argv is not None else sys.argv[1:])
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"recsys-embed: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    log = Log(args.quiet, args.verbose)
    try:
        threads = None if args.threads == 0 else args.threads
        if args.threads == 0:  # the models take a count, not "all"
            args.threads = os.cpu_count() or 1
        with threadpool_limits(limits=threads, user_api="blas"), log.library_lines():
            COMMANDS[args.command](args, log)
        return EXIT_OK
    except BaseException as exc:  # classified below; a traceback only with --verbose
        code, message = _classify(exc)
        if verbose:
            traceback.print_exc()
    print(f"recsys-embed: error: {message}", file=sys.stderr)
    return code


def _classify(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message of an error (see the module docstring)."""
    if isinstance(exc, (ConfigError, UsageError)):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, (DataError, UnknownIdError, FitError)):
        return EXIT_DATA, str(exc)
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, MemoryError):
        return EXIT_IO, "out of memory (try a smaller --chunk-size or --k)"
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_OTHER, "interrupted"
    if not isinstance(exc, Exception):
        raise exc
    return EXIT_OTHER, f"unexpected {type(exc).__name__}: {exc}"


def _os_error(exc: OSError) -> tuple[int, str]:
    """A refused read or write: exit 4, naming the file (no file: a bug, exit 1)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename:
        return EXIT_IO, f"{exc.filename}: {reason}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG):
        return EXIT_IO, reason
    return EXIT_OTHER, f"unexpected {type(exc).__name__}: {reason}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
