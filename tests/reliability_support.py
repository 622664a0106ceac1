"""Shared helpers of the reliability tests: a small planted log, configs, CLI runners, snapshots."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from recsys_embed import cli
from tests.conftest import REPO


def small_log(path: Path, n_users: int = 60, n_items: int = 40, seed: int = 0) -> Path:
    """Two planted taste groups: users of group g rate mostly items of group g."""
    rng = np.random.default_rng(seed)
    lines = ["user,item,rating"]
    for u in range(n_users):
        group = u % 2
        items = rng.choice(np.arange(group, n_items, 2), size=8, replace=False)
        lines += [f"{u + 1},{i + 100},{1 + (u + i) % 5}" for i in items]
    path.write_text("\n".join(lines) + "\n")
    return path


def config(path: Path, log: Path, models: str = "", **data: object) -> Path:
    extra = "".join(f"{k} = {v!r}\n" for k, v in data.items()).replace("'", '"')
    path.write_text(
        f'[data]\ninteractions = "{log}"\nuser_col = "user"\nitem_col = "item"\n'
        f'weight_col = "rating"\n{extra}\n[split]\nmethod = "random"\nseed = 1\n\n'
        f'[evaluate]\nk = [5]\nmetrics = ["recall"]\n\n'
        + (
            models
            or '[models.pop]\ntype = "popularity"\n\n[models.als]\ntype = "als"\nfactors = 4\niterations = 2\n'
        )
    )
    return path


def run_cli(*args: str, capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """The CLI in this process (fast): exit code and stderr."""
    capsys.readouterr()
    code = cli.main([*args, "--quiet"] if args[0] != "datasets" else list(args))
    return code, capsys.readouterr().err


def run_sub(
    *args: str, fault: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, optionally killed at a fault point (test-only env var)."""
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_EMBED_TEST_FAULT"}
    if fault:
        env["RECSYS_EMBED_TEST_FAULT"] = fault
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "recsys_embed", *args, "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


def snapshot(folder: Path) -> dict[str, str]:
    """File name -> sha256 of every file in a folder (recursively)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def litter(parent: Path) -> list[str]:
    """Our temporaries in a folder (hidden names with the package's marker)."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and ".rse-" in p.name)


def one_line(err: str, *needles: str) -> str:
    lines = [x for x in err.splitlines() if x.startswith("recsys-embed: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]
