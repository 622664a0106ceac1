"""The command line: the only place that parses arguments, reads the environment, sets threads
and exits.

Exit codes: 0 success; 2 usage or config error; 3 data error (bad input file or model file);
1 anything else. Errors are one line on stderr (a traceback only with --verbose).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from threadpoolctl import threadpool_limits

from recsys_embed import __version__
from recsys_embed.errors import ConfigError, DataError, UnknownIdError

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        raise UsageError(f"{message} (see: {self.prog} --help)")


class Log:
    """Timestamped lines when stderr is not a terminal (cron logs); live progress when it is."""

    def __init__(self, quiet: bool = False, verbose: bool = False, stream: TextIO | None = None):
        self.quiet, self.verbose = quiet, verbose
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0

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


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress or log lines")
    p.add_argument("--verbose", action="store_true", help="tracebacks on errors")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for model fitting and BLAS (default 1: reproducible; 0 = all cores)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="recsys-embed", description="Embedding-based recommendation jobs.")
    parser.add_argument("--version", action="version", version=f"recsys-embed {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ev = sub.add_parser("evaluate", help="fit and evaluate the configured models on a split")
    ev.add_argument(
        "--config", type=Path, help="TOML run config (default: ml-latest-small, 5 models)"
    )
    ev.add_argument("--out", type=Path, required=True, help="directory for the run's files")
    _common(ev)

    tr = sub.add_parser("train", help="fit one configured model on all the data and save it")
    tr.add_argument("--config", type=Path, required=True)
    tr.add_argument("--model", required=True, help="a [models.NAME] of the config")
    tr.add_argument("--out", type=Path, required=True, help="model directory to write")
    _common(tr)

    tu = sub.add_parser(
        "tune", help="search a model's parameters on validation, then evaluate the best on test"
    )
    tu.add_argument("--config", type=Path, required=True)
    tu.add_argument("--model", required=True, help="a [models.NAME] of the config")
    tu.add_argument("--trials", type=int, help="trials in all, resumed ones included ([tune])")
    tu.add_argument("--timeout", type=float, help="seconds after which no new trial starts")
    tu.add_argument("--sampler", choices=("auto", "random", "tpe"), help="default: [tune]")
    tu.add_argument(
        "--validation",
        choices=("split", "random", "temporal"),
        help="carve validation like [split], or per user (default: [tune], else split)",
    )
    tu.add_argument("--repeats", type=int, help="validation carves, their mean is the objective")
    tu.add_argument("--pruning", type=float, help="stop-early quantile in [0, 1); 0: off")
    tu.add_argument(
        "--decision",
        choices=("bootstrap", "best"),
        help="bootstrap: the winner replaces the defaults only above the noise (default)",
    )
    tu.add_argument("--out", type=Path, required=True, help="directory; rerun it to resume")
    _common(tu)

    rc = sub.add_parser("recommend", help="batch top-k for every user of a saved model")
    rc.add_argument("--model", type=Path, required=True, help="a directory written by train")
    rc.add_argument("--k", type=int, default=10)
    rc.add_argument("--out", type=Path, required=True, help=".parquet or .csv file to write")
    rc.add_argument(
        "--users", type=Path, help="only these users (.txt one per line, or a user_id column)"
    )
    rc.add_argument("--chunk-size", type=int, default=1024, help="users scored at a time")
    rc.add_argument(
        "--unknown",
        choices=("skip", "popular"),
        default="skip",
        help="users in --users that the model does not know: skip them, or popular items",
    )
    rc.add_argument("--include-seen", action="store_true", help="do not exclude training items")
    _common(rc)

    ds = sub.add_parser("datasets", help="list or fetch the known datasets")
    ds_sub = ds.add_subparsers(dest="action", required=True, parser_class=_Parser)
    ds_list = ds_sub.add_parser("list")
    _common(ds_list)
    fetch = ds_sub.add_parser("fetch")
    fetch.add_argument("name")
    fetch.add_argument("--data-dir", type=Path, help="default: $RECSYS_EMBED_DATA, else the cache")
    _common(fetch)
    return parser


def _evaluate(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY, run_evaluation

    config = load_config(args.config, VOCABULARY)
    report = run_evaluation(config, args.out, log, threads=args.threads)
    print(report.to_markdown(), end="")


def _train(args: argparse.Namespace, log: Log) -> None:
    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY, train_model

    config = load_config(args.config, VOCABULARY)
    config.model(args.model)  # fails early, naming the configured models
    train_model(config, args.model, args.out, log, threads=args.threads)


def _tune(args: argparse.Namespace, log: Log) -> None:
    import dataclasses
    import json

    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY, run_tuning

    if args.trials is not None and args.trials < 1:
        raise ConfigError(f"--trials must be a positive int, got {args.trials}")
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError(f"--timeout must be positive seconds, got {args.timeout}")
    if args.repeats is not None and args.repeats < 1:
        raise ConfigError(f"--repeats must be a positive int, got {args.repeats}")
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

    if args.k < 1 or args.chunk_size < 1:
        raise ConfigError("--k and --chunk-size must be positive")
    check_output(args.out)
    model = load(args.model)
    users = read_user_ids(args.users, model.user_map_.ids.dtype) if args.users else None
    n_users = len(users) if users is not None else len(model.user_map_)
    log(f"recommending top {args.k} for {n_users} users")
    summary = write_recommendations(
        model,
        args.out,
        k=args.k,
        users=users,
        chunk_size=args.chunk_size,
        exclude_seen=not args.include_seen,
        unknown=args.unknown,
        progress=log.progress,
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


COMMANDS = {
    "evaluate": _evaluate,
    "train": _train,
    "tune": _tune,
    "recommend": _recommend,
    "datasets": _datasets,
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
        with threadpool_limits(limits=threads, user_api="blas"):
            COMMANDS[args.command](args, log)
        return EXIT_OK
    except (ConfigError, UsageError) as exc:
        code, message = EXIT_USAGE, str(exc)
    except (DataError, UnknownIdError) as exc:
        code, message = EXIT_DATA, str(exc)
    except OSError as exc:
        code = EXIT_OTHER
        message = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    except KeyboardInterrupt:
        code, message = EXIT_OTHER, "interrupted"
    except Exception as exc:
        code, message = EXIT_OTHER, f"unexpected {type(exc).__name__}: {exc}"
    if verbose:
        traceback.print_exc()
    print(f"recsys-embed: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
