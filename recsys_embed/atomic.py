"""Atomic output: files and folders are written under a temporary name beside the target, then
published in one step, so a reader (or a killed run) never sees a partial output.

Temporary names are ``.{target name}.rse-{host}-{pid}-{random}.tmp``: they say which host and
process own them, so the next run can remove those whose process is gone (:func:`sweep_stale`).

Test-only fault points: when the environment variable ``RECSYS_EMBED_TEST_FAULT`` equals a point's
name, the process kills itself (SIGKILL) there. The reliability tests use them to stop a run at an
exact moment (e.g. between the two halves of a folder swap). Never set it outside tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

FAULT_ENV = "RECSYS_EMBED_TEST_FAULT"
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_RENAME_EXCHANGE = 2  # linux/fs.h


def fault_point(name: str) -> None:
    """Test-only: SIGKILL this process here when ``$RECSYS_EMBED_TEST_FAULT == name``."""
    if os.environ.get(FAULT_ENV) == name:
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permissions a plain ``open()`` would give a new file (0666 less the umask)."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """Permissions a plain ``mkdir()`` would give a new folder (0777 less the umask)."""
    return 0o777 & ~_umask()


def _prefix(target: Path) -> str:
    return f".{target.name}.rse-{_HOST}-{os.getpid()}-"


def _pattern(target: Path) -> re.Pattern[str]:
    return re.compile(
        rf"^\.{re.escape(target.name)}\.rse-{_HOST}-(\d+)-[A-Za-z0-9_]+(\.old)?\.tmp$"
    )


def temp_name(target: str | Path) -> str:
    """A fresh temporary name (no path) for ``target``, of the pattern :func:`sweep_stale` knows.

    For outputs written by other writers (e.g. Spark on any Hadoop file system).
    """
    return f"{_prefix(Path(target))}{uuid.uuid4().hex[:12]}.tmp"


def old_name(temp: str) -> str:
    """The name an earlier output is moved aside to while ``temp`` replaces it."""
    return temp[: -len(".tmp")] + ".old.tmp"


def stale_names(target: str | Path, names: Iterable[str]) -> list[tuple[str, bool]]:
    """Those of ``names`` that are this host's temporaries of ``target`` whose process is gone,
    each with whether it is a moved-aside ``.old`` folder."""
    pattern = _pattern(Path(target))
    found = []
    for name in names:
        m = pattern.match(name)
        if m is not None and not _alive(int(m.group(1))):
            found.append((name, bool(m.group(2))))
    return found


def temp_file(target: Path) -> tuple[int, Path]:
    """An open descriptor and path of a new temporary file beside ``target``."""
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=_prefix(target), suffix=".tmp")
    except OSError as exc:  # name the target, not the temporary
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    return fd, Path(name)


def temp_dir(target: Path) -> Path:
    """A new, empty temporary folder beside ``target``, with the umask's permissions."""
    try:
        path = Path(tempfile.mkdtemp(dir=target.parent, prefix=_prefix(target), suffix=".tmp"))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    os.chmod(path, dir_mode())
    return path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove(path: Path) -> None:
    """Delete a file or a folder tree; symlinks are removed, never followed."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep_stale(target: str | Path) -> list[Path]:
    """Remove this package's temporaries beside ``target`` whose process is no longer alive.

    Only names of our own pattern, made on this host, are touched. A stale ``.old`` folder left
    by an interrupted two-rename swap is moved back to ``target`` if ``target`` is missing.
    Returns what was removed or restored.
    """
    target = Path(target)
    done: list[Path] = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return done
    for name, is_old in stale_names(target, names):
        path = target.parent / name
        if is_old and not os.path.lexists(target):
            with contextlib.suppress(OSError):
                os.rename(path, target)
                done.append(path)
                continue
        remove(path)
        done.append(path)
    return done


def naming(exc: OSError, target: Path) -> OSError:
    """The same error, naming ``target`` when it named no file (e.g. a full disk mid-write)."""
    if exc.filename:
        return exc
    code = exc.errno or errno.EIO
    return OSError(code, f"cannot write ({exc.strerror or exc})", str(target))


def atomic_write(path: str | Path, write: Any) -> Path:
    """Call ``write(tmp_path)`` for a temp file beside ``path``, fsync it, then rename over it."""
    path = Path(path)
    sweep_stale(path)
    fd, tmp = temp_file(path)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        fault_point("file-before-rename")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise naming(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text))


def write_parquet(path: str | Path, frame: pl.DataFrame) -> Path:
    return atomic_write(path, lambda p: frame.write_parquet(p))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # kernel or file system without exchange: caller falls back
    raise OSError(err, os.strerror(err), str(b))


def publish_dir(staged: Path, target: Path) -> Path:
    """Make the complete folder ``staged`` appear at ``target`` in one step.

    A missing ``target`` is a plain rename. An existing folder is swapped with ``staged`` by an
    atomic exchange, so ``target`` always holds either the complete old or the complete new
    folder; the old one is then deleted. Where no exchange exists (not Linux, or a file system
    without it) the old folder is renamed aside first; :func:`sweep_stale` restores it if the
    process dies in between.
    """
    staged, target = Path(staged), Path(target)
    with contextlib.suppress(OSError):
        fd = os.open(staged, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if not os.path.lexists(target):
        os.rename(staged, target)
        return target
    fault_point("dir-before-swap")
    if _exchange(staged, target):
        fault_point("dir-after-swap")
        remove(staged)  # now the old folder
        return target
    old = staged.with_name(staged.name[: -len(".tmp")] + ".old.tmp")
    os.rename(target, old)
    fault_point("dir-between-renames")
    os.rename(staged, target)
    remove(old)
    return target
