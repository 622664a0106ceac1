"""Issue 27: models on disk (the manifest's own checksum, arrays that must fit the claimed type,
finite and positive blend arrays), the blend's inputs, and a reader racing a writer."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys_embed import models
from recsys_embed.errors import DataError
from recsys_embed.models import persist
from recsys_embed.testing import fit, planted

ROOT = Path(__file__).resolve().parents[1]
ALS = {"type": "als", "factors": 8, "regularization": 1.0, "iterations": 10}


def edit_manifest(path: Path, edit, *, recompute: bool) -> None:
    """Change the manifest; ``recompute``: also rewrite manifest.sha256, as a deliberate
    tamperer would."""
    doc = json.loads((path / "manifest.json").read_text())
    edit(doc)
    (path / "manifest.json").write_text(json.dumps(doc))
    if recompute:
        persist.write_manifest_digest(path)


def put_array(path: Path, name: str, arr: np.ndarray) -> None:
    """Replace an array and its checksum in the manifest (then manifest.sha256)."""
    np.save(path / f"{name}.npy", arr)
    digest = hashlib.sha256((path / f"{name}.npy").read_bytes()).hexdigest()
    edit_manifest(path, lambda d: d["arrays"].__setitem__(name, digest), recompute=True)


@pytest.fixture(scope="module")
def als_dir(tmp_path_factory):
    model = fit(models.create("als", **{k: v for k, v in ALS.items() if k != "type"}), planted())
    return model.save(tmp_path_factory.mktemp("als") / "model")


def fresh_copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


# ---- 1. the manifest's own checksum; arrays must fit the type it claims --------------------
CLAIMS = [("popularity", {}), ("ease", {"l2": 500.0}), ("random", {"factors": 16})]


def test_a_manifest_edited_alone_fails_its_checksum(als_dir, tmp_path):
    # an edit that leaves a self-consistent model: only the manifest's checksum tells
    path = fresh_copy(als_dir, tmp_path)
    edit_manifest(path, lambda d: d["params"].update(regularization=5.0), recompute=False)
    with pytest.raises(DataError, match=rf"^{path}: manifest\.json checksum mismatch"):
        models.load(path)
    persist.write_manifest_digest(path)  # recomputed: a valid model again
    assert models.load(path).params["regularization"] == 5.0


@pytest.mark.parametrize("recompute", [False, True])
@pytest.mark.parametrize(("kind", "params"), CLAIMS)
def test_arrays_that_do_not_fit_the_claimed_type_are_refused(
    als_dir, tmp_path, kind, params, recompute
):
    # with the checksums recomputed too, the arrays themselves must fit the type
    path = fresh_copy(als_dir, tmp_path)
    edit_manifest(path, lambda d: d.update(type=kind, params=params), recompute=recompute)
    with pytest.raises(DataError, match=rf"^{path}: a '{kind}' model .* 8-wide"):
        models.load(path)


def test_a_folder_saved_without_the_manifest_checksum_still_loads(als_dir, tmp_path):
    path = fresh_copy(als_dir, tmp_path)
    (path / persist.MANIFEST_DIGEST).unlink()
    again, before = models.load(path), models.load(als_dir)
    assert again.recommend([0], k=5)[0].tolist() == before.recommend([0], k=5)[0].tolist()


def test_every_registered_type_passes_its_own_load_checks(tmp_path):
    # the widths named per type are those the models write (a blend checks each member)
    inter = planted()
    for name, params in [
        ("als", {"factors": 5}),
        ("als-wr", {"factors": 5, "iterations": 2}),
        ("bpr", {"factors": 5}),
        ("bpr-uniform", {"factors": 5, "epochs": 2}),
        ("lightfm", {"no_components": 5, "epochs": 2}),
        ("popularity", {}),
        ("random", {"factors": 5}),
        ("ease", {"l2": 5.0}),
    ]:
        model = fit(models.create(name, **params), inter)
        again = models.load(model.save(tmp_path / name))
        np.testing.assert_array_equal(again.item_factors_, model.item_factors_)


@pytest.fixture(scope="module")
def blend_dir(tmp_path_factory):
    blend = fit(models.create("blend", models=[ALS, {"type": "ease", "l2": 5.0}]), planted())
    return blend.save(tmp_path_factory.mktemp("blend") / "blend")


def test_blend_members_swapped_in_the_manifest_are_refused(blend_dir, tmp_path):
    path = fresh_copy(blend_dir, tmp_path)
    edit_manifest(path, lambda d: d["params"]["models"].reverse(), recompute=True)
    with pytest.raises(DataError, match=r"a 'ease' model .* 30-wide item vectors; .* 8-wide"):
        models.load(path)


# ---- 2. finite and positive blend arrays ---------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("m0_item_factors", np.nan, "array m0_item_factors holds NaN or infinite values"),
        ("m1_item_factors", np.inf, "array m1_item_factors holds NaN or infinite values"),
        ("member_scales", np.nan, "array member_scales holds NaN or infinite values"),
        ("member_scales", -1.0, r"member_scales must be finite and > 0, got \[-1.0"),
        ("member_scales", 0.0, r"member_scales must be finite and > 0, got \[0.0"),
    ],
)
def test_blend_arrays_must_be_finite_and_scales_positive(blend_dir, tmp_path, name, value, needle):
    path = fresh_copy(blend_dir, tmp_path)
    arr = np.load(path / f"{name}.npy")
    arr.flat[0] = value
    put_array(path, name, arr)
    with pytest.raises(DataError, match=rf"^{path}: {needle}"):
        models.load(path)


# ---- 5. a reader racing a writer over the same folder --------------------------------------
WRITER = """
import sys, time
from recsys_embed import models
from recsys_embed.models.blend import Blend
from recsys_embed.testing import fit, planted
path, seconds = sys.argv[1], float(sys.argv[2])
pair = []
for seed in (1, 2):
    inter = planted(seed=seed)
    pop = fit(models.create("popularity"), inter)
    pair.append(Blend.of([pop, fit(models.create("random", factors=4, random_state=seed), inter)]))
pair[0].save(path)
print("ready", flush=True)
end, n = time.monotonic() + seconds, 0
while time.monotonic() < end:
    pair[n % 2].save(path)
    n += 1
print("saves", n, flush=True)
"""


def test_a_reader_racing_a_writer_reads_one_model_whole(tmp_path):
    path = tmp_path / "model"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "4"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    wanted = {}
    for seed in (1, 2):  # the two models' random member, told apart by its user factors
        rng_model = fit(models.create("random", factors=4, random_state=seed), planted(seed=seed))
        wanted[seed] = rng_model.user_factors_
    loads, failures = 0, []
    while writer.poll() is None:
        try:
            m = models.load(path)
        except DataError as exc:
            failures.append(str(exc))
            continue
        loads += 1
        member = m.members_[1].user_factors_
        same = [s for s, want in wanted.items() if np.array_equal(member, want)]
        assert len(same) == 1, "a load mixed two models"
        pop_counts = m.members_[0].item_factors_[:, 0]
        assert np.array_equal(
            pop_counts,
            np.bincount(planted(seed=same[0]).matrix.indices, minlength=len(pop_counts)).astype(
                np.float32
            ),
        ), "a load mixed two models"
    out = writer.communicate()[0]
    assert writer.returncode == 0
    saves = int(out.split()[-1])
    assert failures == [] and loads > 20 and saves > 20, (loads, saves, failures[:3])


def test_a_read_that_meets_a_swap_starts_again(tmp_path, monkeypatch):
    # deterministic: the first read finds its folder swapped out, the second reads the new one
    model = fit(models.create("popularity"), planted())
    path = model.save(tmp_path / "model")
    calls = []
    real = persist._read_files

    def swap_then_read(dir_fd, where):
        calls.append(where)
        if len(calls) == 1:
            model.save(path)  # replaces the folder: the open handle is the deleted old one
        return real(dir_fd, where)

    monkeypatch.setattr(persist, "_read_files", swap_then_read)
    again = models.load(path)
    assert len(calls) == 2
    np.testing.assert_array_equal(again.item_factors_, model.item_factors_)
