"""Model files without pickle: a directory of .npy arrays and a JSON manifest with checksums."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys_embed.data.idmap import IdMap
from recsys_embed.errors import DataError
from recsys_embed.models.params import check_params
from recsys_embed.version import __version__

FORMAT = "recsys_embed.model/1"
MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def ids_to_array(ids: np.ndarray) -> np.ndarray:
    """Ids in a pickle-free dtype: int64 stays, strings become fixed-width unicode."""
    return ids if ids.dtype != object else np.asarray(ids.tolist(), dtype=str)


def ids_from_array(arr: np.ndarray) -> np.ndarray:
    return arr.astype(object) if arr.dtype.kind == "U" else arr


def write_model_dir(
    path: str | Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Path:
    """Write arrays + manifest to ``path`` atomically: a temp dir beside it, then renames.

    An existing model at ``path`` is replaced only once the new one is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-"))
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
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_model_dir(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a model directory; refuses a missing, corrupt or tampered one."""
    path = Path(path)
    mfile = path / MANIFEST
    if not mfile.is_file():
        raise DataError(f"{path}: not a model directory (no {MANIFEST})")
    try:
        manifest = json.loads(mfile.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{mfile}: manifest is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{mfile}: unknown model format; expected format {FORMAT!r}")
    for key in ("type", "params", "arrays"):
        if key not in manifest:
            raise DataError(f"{mfile}: manifest lacks {key!r}")
    arrays = {}
    for name, digest in manifest["arrays"].items():
        file = path / f"{name}.npy"
        if not file.is_file():
            raise DataError(f"{path}: array file {file.name} is missing")
        if _sha256(file) != digest:
            raise DataError(f"{file}: checksum mismatch; the model file is corrupt or was modified")
        try:
            arrays[name] = np.load(file, allow_pickle=False)
        except ValueError as exc:
            raise DataError(f"{file}: cannot read array ({exc})") from None
    return manifest, arrays


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model or a run depends on (written to manifests)."""
    out = {}
    for dist in ("numpy", "scipy", "implicit", "rectools-lightfm", "polars"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def save_model(model: Any, path: str | Path) -> Path:
    """Write a fitted :class:`~recsys_embed.models.base.Recommender` to ``path``."""
    arrays = {
        "user_ids": ids_to_array(model.user_map_.ids),
        "item_ids": ids_to_array(model.item_map_.ids),
        "user_factors": model.user_factors_,
        "item_factors": model.item_factors_,
        "seen_indptr": model.seen_.indptr,
        "seen_indices": model.seen_.indices,
        **model._extra_arrays(),
    }
    manifest = {
        "type": model.name,
        "params": model.params,
        "fit_seconds": getattr(model, "fit_seconds_", None),
        "versions": {"recsys_embed": __version__, **library_versions()},
        "n_users": len(model.user_map_),
        "n_items": len(model.item_map_),
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
    model._set_state(users, items, seen, uf, itf)
    model._restore_extra(arrays)
    model.fit_seconds_ = manifest.get("fit_seconds")
    return model
