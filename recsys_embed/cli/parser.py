"""The argument parser: subcommands and options, help with defaults, an example per command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

from recsys_embed.cli.exits import UsageError
from recsys_embed.cli.rules import add_rule_args
from recsys_embed.version import __version__

MAX_THREADS = 4096


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


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if not 0 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected 0 (all cores) to {MAX_THREADS}, got {value}")
    return value


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
    ev.add_argument(
        "--retrieval",
        choices=("exact", "ann"),
        help="how top-k lists are ranked: exact or ann, AUC always exact (default: the "
        "[retrieval] table of the config, else exact)",
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
    add_rule_args(rc)
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
        "--retrieval",
        choices=("exact", "ann"),
        default="exact",
        help="exact or ann: a cosine index of the items, built when first asked for "
        "(default: exact)",
    )
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
