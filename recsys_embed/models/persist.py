"""Model files without pickle: a directory of .npy arrays and a JSON manifest with checksums.

Reading is defensive: the manifest is checked against its schema before any array is opened;
array names are plain names (letters, digits, ``_``), opened inside the folder without following
symbolic links; each file's declared dtype and shape must match its size before it is loaded;
then the standard arrays are checked against the declared sizes (ids unique, CSR well formed,
factors finite). Every failure is a :class:`DataError` naming the model folder.

What the checksums protect against: a corrupt, truncated or half-copied folder, and an edit of
any file (arrays, or the manifest itself through ``manifest.sha256``) that does not also update
the checksums. What they do not: a deliberate edit that recomputes them (they are unkeyed; anyone
who can write the folder can write any model). Against that, loading checks that the arrays fit
the model they claim to be (:mod:`recsys_embed.models.registry`), so a tampered folder fails with
a :class:`DataError` at load rather than later, or serves a self-consistent model. A reader racing
a writer that replaces the folder reads the old or the new model whole (it retries on a swap).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from importlib import metadata
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from recsys_embed import atomic
from recsys_embed.data.idmap import IdMap
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.models.ann import index_to_array
from recsys_embed.models.arrays import check_arrays, factors_digest
from recsys_embed.models.params import check_params
from recsys_embed.version import __version__

FORMAT = "recsys_embed.model/2"  # 2: may hold an approximate index (ann_index, manifest "ann")
FORMATS = ("recsys_embed.model/1", FORMAT)  # folders of every earlier version load
ANN_KEYS = {"library": str, "m": int, "ef_construction": int, "item_factors_sha256": str}
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"  # sha256 of manifest.json's bytes (absent before issue 27)
MAX_MANIFEST_BYTES = 16 << 20
SWAP_RETRIES = 20  # reads restarted because a writer swapped the folder mid-read
_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def ids_to_array(ids: np.ndarray) -> np.ndarray:
    """Ids in a pickle-free dtype: int64 stays, strings become fixed-width unicode."""
    return ids if ids.dtype != object else np.asarray(ids.tolist(), dtype=str)


def ids_from_array(arr: np.ndarray) -> np.ndarray:
    return arr.astype(object) if arr.dtype.kind == "U" else arr


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def write_model_dir(
    path: str | Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Path:
    """Write arrays + manifest into a temp folder beside ``path``, then publish it in one step.

    An existing model at ``path`` is swapped out only once the new one is complete (see
    :func:`recsys_embed.atomic.publish_dir`); ``path`` never holds a partial or mixed model. A
    ``path`` that exists but is neither a model folder nor empty is refused, never replaced.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path}: exists and is not a folder; refusing to replace it")
    if path.is_dir() and not is_model_dir(path) and any(path.iterdir()):
        raise ConfigError(
            f"{path}: a non-empty folder that is not a saved model; refusing to replace it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.sweep_stale(path)
    tmp = atomic.temp_dir(path)
    try:
        sums = {}
        for name, arr in arrays.items():
            file = tmp / f"{name}.npy"
            with file.open("wb") as fh:
                np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            sums[name] = _sha256(file)
        full = {"format": FORMAT, **manifest, "arrays": sums}
        with (tmp / MANIFEST).open("w") as fh:
            json.dump(full, fh, indent=2, sort_keys=True, default=_json_default)
            fh.flush()
            os.fsync(fh.fileno())
        write_manifest_digest(tmp)
        atomic.publish_dir(tmp, path)
    except OSError as exc:
        atomic.remove(tmp)
        raise atomic.naming(exc, path) from None
    except BaseException:
        atomic.remove(tmp)
        raise
    return path


def write_manifest_digest(folder: Path) -> None:
    """Write ``manifest.sha256``: the manifest's own checksum, beside it."""
    with (folder / MANIFEST_DIGEST).open("w") as fh:
        fh.write(_sha256(folder / MANIFEST) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def manifest_intact(dir_fd: int, raw: bytes, where: str) -> bool:
    """Whether the manifest's bytes match ``manifest.sha256`` (a folder saved without one, before
    issue 27, counts as intact)."""
    try:
        fh = _open_inside(dir_fd, MANIFEST_DIGEST, where)
    except DataError as exc:
        if "is missing" in str(exc):
            return True
        raise
    with fh:
        recorded = fh.read(200).decode("ascii", "replace").strip()
    return recorded == hashlib.sha256(raw).hexdigest()


def manifest_mismatch(where: str) -> DataError:
    return DataError(
        f"{where}: {MANIFEST} checksum mismatch; the model file is corrupt or was modified"
    )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return _digest(fh)


def _digest(fh: IO[bytes]) -> str:
    h = hashlib.sha256()
    while chunk := fh.read(1 << 20):
        h.update(chunk)
    return h.hexdigest()


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**40


def check_manifest(manifest: Any, where: str) -> dict[str, Any]:
    """The manifest, if it has the schema this version writes; DataError naming ``where`` if not."""
    if not isinstance(manifest, dict) or manifest.get("format") not in FORMATS:
        raise DataError(f"{where}: unknown model format; expected format {FORMAT!r}")
    for key in ("type", "params", "arrays", "n_users", "n_items"):
        if key not in manifest:
            raise DataError(f"{where}: manifest lacks {key!r}")
    if not isinstance(manifest["type"], str):
        raise DataError(f"{where}: manifest 'type' must be a string")
    if not isinstance(manifest["params"], dict):
        raise DataError(f"{where}: manifest 'params' must be an object")
    for key in ("n_users", "n_items"):
        if not _is_count(manifest[key]):
            raise DataError(f"{where}: manifest {key!r} must be a non-negative int")
    fit = manifest.get("fit_seconds")
    if fit is not None and (not isinstance(fit, (int, float)) or isinstance(fit, bool)):
        raise DataError(f"{where}: manifest 'fit_seconds' must be a number or null")
    arrays = manifest["arrays"]
    if not isinstance(arrays, dict):
        raise DataError(f"{where}: manifest 'arrays' must be an object of name: sha256")
    for name, digest in arrays.items():
        if not _NAME.match(name):
            raise DataError(
                f"{where}: array name {name[:40]!r} is not a plain name (letters, digits, _)"
            )
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise DataError(f"{where}: array {name!r} has no sha256 checksum")
    ann = manifest.get("ann")
    if ann is not None or "ann_index" in arrays:
        ok = isinstance(ann, dict) and "ann_index" in arrays and set(ann) == set(ANN_KEYS)
        if not ok or not all(type(manifest["ann"][key]) is t for key, t in ANN_KEYS.items()):
            raise DataError(
                f"{where}: manifest 'ann' must describe array ann_index with {sorted(ANN_KEYS)}"
            )
    return manifest


def _open_inside(dir_fd: int, name: str, where: str) -> IO[bytes]:
    """A regular file of the folder, opened without following a symbolic link."""
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0), dir_fd=dir_fd)
    except FileNotFoundError:
        raise DataError(f"{where}: file {name} is missing") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a symbolic link
            raise DataError(f"{where}: {name} is a symbolic link; expected a plain file") from None
        raise DataError(f"{where}: cannot open {name} ({exc.strerror})") from None
    fh = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fh.close()
        raise DataError(f"{where}: {name} is not a regular file")
    return fh


def _load_array(fh: IO[bytes], name: str, where: str) -> np.ndarray:
    """One .npy array, after checking that its declared dtype and shape fit the file's size."""
    size = os.fstat(fh.fileno()).st_size
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        if dtype.hasobject or dtype.kind not in "biufU":
            raise DataError(f"{where}: array {name} has dtype {dtype}; expected numbers or text")
        need = fh.tell() + int(np.prod(shape, dtype=object)) * dtype.itemsize
        if need != size:
            raise DataError(
                f"{where}: array {name} declares shape {shape} ({need} bytes) "
                f"but its file holds {size} bytes"
            )
        fh.seek(0)
        return np.load(fh, allow_pickle=False)
    except DataError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{where}: cannot read array {name} ({exc})") from None


class _Swapped(Exception):
    """The folder being read was replaced by a writer (and the old one is being deleted)."""


def _swapped(path: Path, dir_fd: int) -> bool:
    """Whether ``path`` no longer names the folder open as ``dir_fd``."""
    opened = os.fstat(dir_fd)
    try:
        now = os.stat(path)
    except OSError:
        return True
    return (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino)


class ModelFolder(NamedTuple):
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray]
    manifest_intact: bool  # False: manifest.sha256 disagrees (the caller reports it, last)


def read_model_dir(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a model directory; refuses a missing, corrupt, tampered or unsafe one."""
    folder = read_model_folder(path)
    if not folder.manifest_intact:
        raise manifest_mismatch(str(path))
    return folder.manifest, folder.arrays


def read_model_folder(path: str | Path) -> ModelFolder:
    """Read and check a model directory, leaving the manifest's own checksum to the caller (so
    that a more specific reason is reported first, where there is one).

    The folder is opened once and every file read through that handle, so one read never mixes
    two models; if a writer swaps a new model in meanwhile (and deletes the old one under the
    reader), the read starts again on the new folder.
    """
    path = Path(path)
    for _ in range(SWAP_RETRIES):
        try:
            return _read_pinned(path)
        except _Swapped:
            continue
    raise DataError(f"{path}: the model was replaced {SWAP_RETRIES} times while being read")


def _read_pinned(path: Path) -> ModelFolder:
    where = str(path)
    try:
        dir_fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        raise DataError(f"{where}: not a model directory (no {MANIFEST})") from None
    try:
        return _read_files(dir_fd, where)
    except DataError:
        if _swapped(path, dir_fd):
            raise _Swapped from None
        raise
    finally:
        os.close(dir_fd)


def _read_files(dir_fd: int, where: str) -> ModelFolder:
    try:
        mfh = _open_inside(dir_fd, MANIFEST, where)
    except DataError as exc:
        if "is missing" in str(exc):
            raise DataError(f"{where}: not a model directory (no {MANIFEST})") from None
        raise
    with mfh:
        raw = mfh.read(MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise DataError(f"{where}: {MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = json.loads(raw.decode("utf8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:80]
        raise DataError(f"{where}: manifest is not valid JSON ({reason})") from None
    check_manifest(manifest, where)
    arrays = {}
    for name, digest in manifest["arrays"].items():
        with _open_inside(dir_fd, f"{name}.npy", where) as fh:
            if _digest(fh) != digest:
                raise DataError(
                    f"{where}: {name}.npy checksum mismatch; "
                    "the model file is corrupt or was modified"
                )
            fh.seek(0)
            arrays[name] = _load_array(fh, name, where)
    check_arrays(manifest, arrays, where)
    return ModelFolder(manifest, arrays, manifest_intact(dir_fd, raw, where))


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model or a run depends on (written to manifests)."""
    out = {}
    for dist in ("numpy", "scipy", "implicit", "rectools-lightfm", "polars", "faiss-cpu"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def save_model(model: Any, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write a fitted :class:`~recsys_embed.models.base.Recommender` to ``path`` (``extra``:
    more manifest entries, e.g. where it was trained)."""
    arrays = {
        "user_ids": ids_to_array(model.user_map_.ids),
        "item_ids": ids_to_array(model.item_map_.ids),
        "user_factors": model.user_factors_,
        "item_factors": model.item_factors_,
        "seen_indptr": model.seen_.indptr,
        "seen_indices": model.seen_.indices,
        **model.extra_arrays(),
    }
    built = model.vectors_.built_index()
    ann = None
    if built is not None:  # the approximate index travels with the factors it was built from
        arrays["ann_index"] = index_to_array(built[1])
        ann = {**built[0], "item_factors_sha256": factors_digest(model.item_factors_)}
    manifest = {
        "type": model.name,
        "params": model.params,
        "fit_seconds": getattr(model, "fit_seconds_", None),
        "versions": {"recsys_embed": __version__, **library_versions()},
        "n_users": len(model.user_map_),
        "n_items": len(model.item_map_),
        **({"ann": ann} if ann is not None else {}),
        **(extra or {}),
    }
    return write_model_dir(path, manifest, arrays)


def restore_model(cls: Any, manifest: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    """A model of class ``cls`` from a manifest and its arrays (see :func:`read_model_dir`)."""
    model = cls(**manifest["params"])
    model.params = check_params(cls.__name__, cls.PARAMS, model.params)
    need = ("user_ids", "item_ids", "user_factors", "item_factors", "seen_indptr", "seen_indices")
    missing = [n for n in need if n not in arrays]
    if missing:
        raise DataError(f"model file lacks arrays {missing}")
    users = IdMap(ids_from_array(arrays["user_ids"]), "user")
    items = IdMap(ids_from_array(arrays["item_ids"]), "item")
    indices = arrays["seen_indices"]
    seen = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, arrays["seen_indptr"]),
        shape=(len(users), len(items)),
    )
    uf, itf = arrays["user_factors"], arrays["item_factors"]
    if uf.shape[0] != len(users) or itf.shape[0] != len(items) or uf.shape[1] != itf.shape[1]:
        raise DataError("model file arrays disagree in shape with its id maps")
    model.set_factors(users, items, seen, uf, itf)
    model.restore_extra(arrays)
    ann = manifest.get("ann")
    if ann is not None:
        if ann["item_factors_sha256"] != factors_digest(model.item_factors_):
            raise DataError("model file's ann_index was built from other item factors")
        key = {k: ann[k] for k in ("library", "m", "ef_construction")}
        model.vectors_.attach_saved_index(key, arrays["ann_index"], "model file")
    model.fit_seconds_ = manifest.get("fit_seconds")
    return model
