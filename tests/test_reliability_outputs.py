"""Nothing lost, nothing mixed: outputs killed at exact moments hold the old or the new whole.

Runs are killed with the test-only fault points of :mod:`recsys_embed.atomic` (SIGKILL at a named
moment, e.g. between the two halves of the folder swap), then the next run must clean up.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from recsys_embed import IdMap, atomic, models, read_interactions
from recsys_embed.batch import write_recommendations
from recsys_embed.errors import ConfigError, DataError, FitError
from tests.conftest import REPO
from tests.reliability_support import (
    config,
    litter,
    one_line,
    run_cli,
    run_sub,
    small_log,
    snapshot,
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rel")
    log = small_log(tmp / "log.csv")
    cfg = config(tmp / "run.toml", log)
    cfg2 = config(
        tmp / "run2.toml",
        log,
        '[models.pop]\ntype = "popularity"\n\n[models.als]\ntype = "als"\nfactors = 6\niterations = 3\n',
    )
    return tmp, cfg, cfg2


def _train(cfg, out, fault=None):
    return run_sub("train", "--config", str(cfg), "--model", "als", "--out", str(out), fault=fault)


@pytest.mark.parametrize("fault", ["dir-before-swap", "dir-after-swap"])
def test_train_killed_in_the_swap_keeps_a_whole_model_and_next_run_cleans(setup, tmp_path, fault):
    _, cfg, cfg2 = setup
    out = tmp_path / "model"
    assert _train(cfg, out).returncode == 0
    old = snapshot(out)
    proc = _train(cfg2, out, fault=fault)
    assert proc.returncode == -signal.SIGKILL
    now = snapshot(out)
    assert now == old or models.load(out).get_params()["factors"] == 6  # whole old or whole new
    if fault == "dir-before-swap":
        assert now == old
    else:
        assert now != old and models.load(out).get_params()["factors"] == 6
    assert litter(tmp_path), "the kill should have left a temporary folder"
    assert _train(cfg2, out).returncode == 0  # the next run removes what the dead one left
    assert litter(tmp_path) == []
    assert models.load(out).get_params()["factors"] == 6


def test_fallback_two_rename_swap_killed_between_is_restored(tmp_path):
    """Where no atomic exchange exists, a kill between the renames is undone by the next sweep."""
    target = tmp_path / "out"
    target.mkdir()
    (target / "a.txt").write_text("old")
    pid = os.fork()
    if pid == 0:  # child: no exchange available, killed between the two renames
        try:
            staged = atomic.temp_dir(target)
            (staged / "a.txt").write_text("new")
            atomic._exchange = lambda a, b: False
            os.environ[atomic.FAULT_ENV] = "dir-between-renames"
            atomic.publish_dir(staged, target)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert not target.exists()
    atomic.sweep_stale(target)
    assert (target / "a.txt").read_text() == "old"
    assert litter(tmp_path) == []


def test_train_fallback_swap_without_exchange(tmp_path, monkeypatch):
    target = tmp_path / "out"
    target.mkdir()
    (target / "a.txt").write_text("old")
    staged = atomic.temp_dir(target)
    (staged / "a.txt").write_text("new")
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    atomic.publish_dir(staged, target)
    assert (target / "a.txt").read_text() == "new" and litter(tmp_path) == []


@pytest.mark.parametrize("fault", ["file-before-rename", "dir-before-swap", "dir-after-swap"])
def test_evaluate_killed_never_mixes_runs(setup, tmp_path, fault):
    _, cfg, cfg2 = setup
    out = tmp_path / "run"
    assert run_sub("evaluate", "--config", str(cfg), "--out", str(out)).returncode == 0
    old = snapshot(out)
    assert {"metrics.json", "train.parquet", "config.toml"} <= set(old)
    proc = run_sub("evaluate", "--config", str(cfg2), "--out", str(out), fault=fault)
    assert proc.returncode == -signal.SIGKILL
    now = snapshot(out)
    new_run = "factors = 6" in (out / "config.toml").read_text()
    if fault == "dir-after-swap":
        assert new_run and set(now) == set(old)  # the whole new run
    else:
        assert now == old  # the whole old run, byte for byte
    assert litter(tmp_path)
    assert run_sub("evaluate", "--config", str(cfg2), "--out", str(out)).returncode == 0
    assert litter(tmp_path) == []
    assert "factors = 6" in (out / "config.toml").read_text()


def test_evaluate_refuses_a_foreign_folder_unless_overwrite(setup, tmp_path, capsys):
    _, cfg, _ = setup
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    code, err = run_cli("evaluate", "--config", str(cfg), "--out", str(out), capsys=capsys)
    assert code == 2
    one_line(err, f"--out {out}", "--overwrite")
    assert (out / "thesis.tex").read_text() == "precious"
    code, _ = run_cli(
        "evaluate", "--config", str(cfg), "--out", str(out), "--overwrite", capsys=capsys
    )
    assert code == 0 and not (out / "thesis.tex").exists()
    assert (out / "metrics.json").is_file()


def test_train_refuses_a_foreign_folder_or_file(setup, tmp_path, capsys):
    _, cfg, _ = setup
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    code, err = run_cli(
        "train",
        "--config",
        str(cfg),
        "--model",
        "als",
        "--out",
        str(tmp_path / "docs"),
        capsys=capsys,
    )
    assert code == 2 and (tmp_path / "docs" / "a.txt").read_text() == "x"
    one_line(err, "not a saved model")
    (tmp_path / "f").write_text("x")
    code, err = run_cli(
        "train", "--config", str(cfg), "--model", "als", "--out", str(tmp_path / "f"), capsys=capsys
    )
    assert code == 2
    one_line(err, "not a folder")


def _model(tmp_path, nan=False, all_seen=False):
    n_users, n_items = 5, 4
    m = models.ALS(factors=2)
    rows = np.repeat(np.arange(n_users), n_items) if all_seen else np.array([0])
    cols = np.tile(np.arange(n_items), n_users) if all_seen else np.array([1])
    seen = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items))
    rng = np.random.default_rng(0)
    m.set_factors(
        IdMap(np.arange(n_users) + 1, "user"),
        IdMap(np.arange(n_items) + 10, "item"),
        seen,
        rng.random((n_users, 2)),
        rng.random((n_items, 2)),
    )
    return m


def test_recommend_killed_before_rename_keeps_file_and_next_run_cleans(tmp_path):
    model = _model(tmp_path).save(tmp_path / "m")
    out = tmp_path / "recs.csv"
    out.write_text("yesterday\n")
    proc = run_sub(
        "recommend", "--model", str(model), "--out", str(out), fault="batch-before-rename"
    )
    assert proc.returncode == -signal.SIGKILL
    assert out.read_text() == "yesterday\n" and len(litter(tmp_path)) == 1
    assert run_sub("recommend", "--model", str(model), "--out", str(out)).returncode == 0
    # 4 items: users 2-5 get all 4, user 1 has seen one of them and gets 3 (k 10 capped at 4)
    assert litter(tmp_path) == [] and pl.read_csv(out).height == 4 * 4 + 3


def test_zero_rows_for_users_is_an_error_and_keeps_previous_file(tmp_path, capsys):
    model_dir = _model(tmp_path, all_seen=True).save(tmp_path / "m")
    out = tmp_path / "recs.parquet"
    out.write_bytes(b"previous")
    code, err = run_cli("recommend", "--model", str(model_dir), "--out", str(out), capsys=capsys)
    assert code == 3
    one_line(err, "no recommendation for any of 5 users", "previous file is kept")
    assert out.read_bytes() == b"previous" and litter(tmp_path) == []


def test_write_recommendations_checks_chunk_size(tmp_path):
    m = _model(tmp_path)
    for bad in (-1, 0, 1.5, True):
        with pytest.raises(ConfigError, match="chunk_size must be a positive int"):
            write_recommendations(m, tmp_path / "r.csv", chunk_size=bad)
    assert not (tmp_path / "r.csv").exists()
    s = write_recommendations(m, tmp_path / "r.csv", k=2, chunk_size=10**9)
    assert s.rows_written == 10  # 5 users x 2; a huge chunk is lowered, not refused


def test_diverged_fit_fails_clearly_and_writes_nothing(setup, tmp_path, capsys):
    tmp, _, _ = setup
    cfg = config(
        tmp_path / "nan.toml",
        tmp / "log.csv",
        '[models.b]\ntype = "bpr-uniform"\nlearning_rate = 1000\nepochs = 2\nfactors = 8\n',
    )
    code, err = run_cli(
        "train", "--config", str(cfg), "--model", "b", "--out", str(tmp_path / "m"), capsys=capsys
    )
    assert code == 3
    one_line(err, "'bpr-uniform' diverged", "learning_rate': 1000.0")
    assert not (tmp_path / "m").exists() and litter(tmp_path) == []
    inter = read_interactions(tmp / "log.csv", "user", "item", "rating")
    model = models.create("bpr-uniform", learning_rate=1000.0, epochs=2, factors=8)
    with pytest.raises(FitError, match="diverged"):  # the library raises its own class
        model.fit(inter, show_progress=False)
    assert not hasattr(model, "user_factors_")


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_model_folders_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = _model(tmp_path).save(tmp_path / f"m{umask}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((path / "manifest.json").stat().st_mode) == 0o666 & ~umask


def test_disk_full_names_the_file_and_keeps_the_previous_one(tmp_path):
    """A file-size limit makes writes fail as a full disk would (EFBIG instead of ENOSPC)."""
    model = _model(tmp_path).save(tmp_path / "m")
    big = models.load(model)
    n = 20_000
    rng = np.random.default_rng(0)
    big.set_factors(
        IdMap(np.arange(n), "user"),
        IdMap(np.arange(50), "item"),
        sp.csr_matrix((n, 50), dtype=np.float32),
        rng.random((n, 2)),
        rng.random((50, 2)),
    )
    path = big.save(tmp_path / "big")
    out = tmp_path / "recs.csv"
    out.write_text("previous\n")

    def limit():  # 64 KiB files at most; the write fails instead of killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "recsys_embed",
            "recommend",
            "--model",
            str(path),
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        preexec_fn=limit,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert proc.returncode == 4, proc.stderr
    one_line(proc.stderr, str(out))
    assert out.read_text() == "previous\n" and litter(tmp_path) == []


def test_numba_without_writable_cache_locations(tmp_path):
    """Read-only install, no writable home: bpr-uniform still fits (cache off), no exit 1.

    The package is copied where its ``__pycache__`` cannot be created (a plain file holds the
    name), and $HOME / $XDG_CACHE_HOME point below a file: numba finds no cache location.
    As a non-root user the copy is also made read-only.
    """
    import shutil

    pkg = tmp_path / "site"
    shutil.copytree(
        REPO / "recsys_embed", pkg / "recsys_embed", ignore=shutil.ignore_patterns("__pycache__")
    )
    (pkg / "recsys_embed" / "models" / "__pycache__").write_text("not a folder")
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("")
    if os.geteuid() != 0:
        for p in pkg.rglob("*"):
            p.chmod(p.stat().st_mode & ~0o222)
    log = small_log(tmp_path / "log.csv")
    code = (
        "import recsys_embed as r; from recsys_embed.models import create;"
        f"i = r.read_interactions({str(log)!r}, 'user', 'item');"
        "m = create('bpr-uniform', epochs=2, factors=4).fit(i, show_progress=False);"
        "print(m.user_factors_.shape)"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(HOME=str(blocker / "h"), XDG_CACHE_HOME=str(blocker / "c"), PYTHONPATH=str(pkg))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(60, 5)"
    if os.geteuid() != 0:
        for p in pkg.rglob("*"):
            p.chmod(p.stat().st_mode | 0o200)


def test_stale_sweep_only_touches_dead_owners_of_our_names(tmp_path):
    target = tmp_path / "out.csv"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    host = atomic._HOST
    ours_dead = tmp_path / f".out.csv.rse-{host}-{dead_pid}-abc123.tmp"
    ours_live = tmp_path / f".out.csv.rse-{host}-{os.getpid()}-abc123.tmp"
    other_host = tmp_path / f".out.csv.rse-00000000-{dead_pid}-abc123.tmp"
    not_ours = tmp_path / ".out.csv.tmp"
    for p in (ours_dead, ours_live, other_host, not_ours):
        p.write_text("x")
    removed = atomic.sweep_stale(target)
    assert removed == [ours_dead]
    assert ours_live.exists() and other_host.exists() and not_ours.exists()


def test_model_dir_refuses_missing_manifest_and_dataerror_class(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a model directory"):
        models.load(tmp_path / "empty")
