"""A tuning folder's lock: one run at a time appends to its ``trials.jsonl``.

The lock is the file ``tune.lock`` in the folder, holding the holder's pid, and locked with
``flock``: the kernel releases it when the holder exits or is killed, so the file a dead run
left behind is simply taken over, and a pid reused by another program never blocks a run.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recsys_embed.errors import ConfigError

LOCK_NAME = "tune.lock"


@contextmanager
def folder_lock(out: Path, what: str | None = None) -> Iterator[Path]:
    """Hold ``out/tune.lock`` for the ``with`` block; a ConfigError naming ``out`` (or
    ``what``) and the holder's pid if another run holds it. Yields the lock file's path."""
    path = out / LOCK_NAME
    fd = _acquire(path, what or str(out))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)  # before unlocking: a waiting run then opens a new file
        os.close(fd)


def _acquire(path: Path, what: str) -> int:
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise ConfigError(
                f"{what}: in use by another tune (pid {holder}, lock file {path}); "
                "wait for it to finish or use another folder"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:  # not a file its last holder removed while this run opened it
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _holder(fd: int) -> str:
    """The pid written in a lock file ("unknown" while its holder has not written it yet)."""
    text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    return text if text.isdigit() else "unknown"
