"""Checksummed-but-malformed and unsafe model folders: each refused with exit 3, one line.

Every tamper below re-writes the manifest's checksums, so only the schema and the array checks
stand between it and a load.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_embed import IdMap, models
from recsys_embed.errors import DataError
from tests.reliability_support import one_line, run_cli


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def model_dir(tmp_path):
    m = models.ALS(factors=3)
    rng = np.random.default_rng(0)
    seen = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    m.set_factors(
        IdMap(np.array([1, 2, 3]), "user"),
        IdMap(np.array([10, 20, 30, 40]), "item"),
        seen,
        rng.random((3, 3)),
        rng.random((4, 3)),
    )
    return m.save(tmp_path / "model")


def manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def write_manifest(path: Path, doc) -> None:
    (path / "manifest.json").write_text(json.dumps(doc))


def put(path: Path, name: str, arr: np.ndarray) -> None:
    """Replace an array and re-checksum it: a tamper that the checksum does not catch."""
    np.save(path / f"{name}.npy", arr, allow_pickle=True)
    doc = manifest(path)
    doc["arrays"][name] = _sha(path / f"{name}.npy")
    write_manifest(path, doc)


def swap_ids(p):
    u, i = np.load(p / "user_ids.npy"), np.load(p / "item_ids.npy")
    put(p, "user_ids", i)
    put(p, "item_ids", u)


def huge_shape(p):
    f = p / "user_factors.npy"
    raw = f.read_bytes()
    head_len = int.from_bytes(raw[8:10], "little")
    header = raw[10 : 10 + head_len].decode("latin1")
    new = header.replace("(3, 3)", "(1000000000000, 256)")  # 931 TiB of float32
    grow = len(new) - len(header)
    assert new.endswith(" " * grow + "\n")  # take the growth out of the header's padding
    new = new[: -grow - 1] + "\n"
    f.write_bytes(raw[:10] + new.encode("latin1") + raw[10 + head_len :])
    doc = manifest(p)
    doc["arrays"]["user_factors"] = _sha(f)
    write_manifest(p, doc)


def truncated(p):
    f = p / "item_factors.npy"
    f.write_bytes(f.read_bytes()[:-8])
    doc = manifest(p)
    doc["arrays"]["item_factors"] = _sha(f)
    write_manifest(p, doc)


def set_key(key, value):
    def tamper(p):
        doc = manifest(p)
        doc[key] = value
        write_manifest(p, doc)

    return tamper


def deep_json(p):
    (p / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)


def outside_name(name_of):
    def tamper(p):
        secret = p.parent / "secret.npy"
        np.save(secret, np.arange(3))
        doc = manifest(p)
        doc["arrays"][name_of(secret, p)] = _sha(secret)
        write_manifest(p, doc)

    return tamper


def symlink_out(p):
    secret = p.parent / "outside.npy"
    np.save(secret, np.load(p / "user_ids.npy"))
    (p / "user_ids.npy").unlink()
    os.symlink(secret, p / "user_ids.npy")
    doc = manifest(p)
    doc["arrays"]["user_ids"] = _sha(secret)
    write_manifest(p, doc)


CASES = {
    "swapped id arrays": (swap_ids, "user_ids must be 3"),
    "indptr not monotone": (
        lambda p: put(p, "seen_indptr", np.array([0, 2, 1, 4], dtype=np.int32)),
        "not monotone",
    ),
    "indptr wrong length": (
        lambda p: put(p, "seen_indptr", np.array([0, 4], dtype=np.int32)),
        "not a CSR of 3 rows",
    ),
    "indices out of range": (
        lambda p: put(p, "seen_indices", np.array([0, 2, 1, 99], dtype=np.int32)),
        "outside [0, 4)",
    ),
    "repeated seen item": (
        lambda p: put(p, "seen_indices", np.array([0, 0, 1, 3], dtype=np.int32)),
        "repeat an item",
    ),
    "duplicate user ids": (lambda p: put(p, "user_ids", np.array([1, 1, 3])), "duplicate ids"),
    "declared shape 931 TiB": (huge_shape, "declares shape"),
    "truncated array": (truncated, "declares shape"),
    "3-d factors": (lambda p: put(p, "user_factors", np.zeros((3, 3, 1))), "2-d float"),
    "string factors": (lambda p: put(p, "item_factors", np.full((4, 3), "x")), "2-d float"),
    "object (pickle) array": (
        lambda p: put(p, "item_factors", np.array([{}, {}], dtype=object)),
        "expected numbers or text",
    ),
    "NaN factors": (
        lambda p: put(p, "item_factors", np.full((4, 3), np.nan, dtype=np.float32)),
        "NaN or infinite",
    ),
    "factor widths differ": (
        lambda p: put(p, "item_factors", np.zeros((4, 2), dtype=np.float32)),
        "differ in width",
    ),
    "arrays as a list": (set_key("arrays", ["user_ids"]), "'arrays' must be an object"),
    "n_users a string": (set_key("n_users", "3"), "'n_users' must be a non-negative int"),
    "n_users wrong": (set_key("n_users", 5), "user_ids must be 5"),
    "type a number": (set_key("type", 7), "'type' must be a string"),
    "params a list": (set_key("params", [1]), "'params' must be an object"),
    "fit_seconds a string": (set_key("fit_seconds", "1s"), "fit_seconds"),
    "manifest a list": (lambda p: write_manifest(p, [1, 2]), "unknown model format"),
    "200k-deep JSON": (deep_json, "nested too deeply"),
    "unknown model type": (set_key("type", "svd"), "unknown model type"),
    "bad parameter": (lambda p: set_key("params", {"factors": -1})(p), "bad parameters"),
    "array name ../../x": (outside_name(lambda s, p: "../secret"), "not a plain name"),
    "absolute array name": (outside_name(lambda s, p: str(s.with_suffix(""))), "not a plain name"),
    "symlink out of the folder": (symlink_out, "symbolic link"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_model_refused(model_dir, case, capsys, tmp_path):
    tamper, needle = CASES[case]
    tamper(model_dir)
    with pytest.raises(DataError, match=None) as info:
        models.load(model_dir)
    assert needle in str(info.value)
    code, err = run_cli(
        "recommend", "--model", str(model_dir), "--out", str(tmp_path / "r.csv"), capsys=capsys
    )
    assert code == 3
    one_line(err, needle)
    assert not (tmp_path / "r.csv").exists()


def test_untampered_model_still_loads(model_dir):
    m = models.load(model_dir)
    assert m.user_map_.ids.tolist() == [1, 2, 3] and m.seen_.nnz == 4


def test_errors_do_not_reveal_whether_outside_files_exist(model_dir, tmp_path):
    """A symlink to an existing outside file and one to a missing file give the same message."""
    messages = []
    for target in (tmp_path / "exists.npy", tmp_path / "missing.npy"):
        if target.name == "exists.npy":
            np.save(target, np.arange(3))
        link = model_dir / "user_ids.npy"
        link.unlink()
        os.symlink(target, link)
        with pytest.raises(DataError) as info:
            models.load(model_dir)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "exists" not in messages[0] and "missing.npy" not in messages[0]
