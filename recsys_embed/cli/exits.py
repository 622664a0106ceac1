"""Exit codes of the command line and the classifier that maps an error to one (see
``recsys_embed.cli``)."""

from __future__ import annotations

import errno

from recsys_embed.errors import ConfigError, DataError, FitError, UnknownIdError

EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_DATA, EXIT_IO = 0, 1, 2, 3, 4


class UsageError(Exception):
    pass


def classify(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message of an error (see the ``recsys_embed.cli`` docstring)."""
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
