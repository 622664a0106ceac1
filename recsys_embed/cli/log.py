"""The command line's log: timestamped lines or live progress, and the library's log lines."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from typing import TextIO


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


class _LogHandler(logging.Handler):
    def __init__(self, log: Log) -> None:
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log(record.getMessage())
