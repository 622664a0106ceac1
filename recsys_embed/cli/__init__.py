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

Layout of this package: ``parser`` builds the argument parser; ``commands`` and ``item_commands``
hold the subcommands; ``log`` the log; ``exits`` the exit codes and the error classifier;
``main`` (here) runs one command and turns any error into its exit code.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

from threadpoolctl import threadpool_limits

from recsys_embed.cli.commands import COMMANDS, MAX_K
from recsys_embed.cli.exits import (
    EXIT_DATA,
    EXIT_IO,
    EXIT_OK,
    EXIT_OTHER,
    EXIT_USAGE,
    UsageError,
    classify,
)
from recsys_embed.cli.log import Log
from recsys_embed.cli.parser import EXAMPLES, MAX_THREADS, build_parser

__all__ = [
    "COMMANDS",
    "EXAMPLES",
    "EXIT_DATA",
    "EXIT_IO",
    "EXIT_OK",
    "EXIT_OTHER",
    "EXIT_USAGE",
    "MAX_K",
    "MAX_THREADS",
    "Log",
    "UsageError",
    "build_parser",
    "main",
]


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
        code, message = classify(exc)
        if verbose:
            traceback.print_exc()
    print(f"recsys-embed: error: {message}", file=sys.stderr)
    return code
