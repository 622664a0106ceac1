"""Each script in examples/ runs, on small planted data, and produces what it promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from recsys_embed import models
from recsys_embed.testing import GROUP_WORDS, planted, planted_text
from tests.conftest import REPO


def run_example(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def planted_log(tmp_path: Path, timestamps: bool = False) -> Path:
    frame = planted().to_frame().select("user_id", "item_id")
    if timestamps:
        frame = frame.with_columns(pl.int_range(pl.len()).alias("ts"))
    path = tmp_path / "log.csv"
    frame.write_csv(path)
    return path


def test_evaluate_your_log(tmp_path):
    log = planted_log(tmp_path)
    proc = run_example(
        "evaluate_your_log.py", "--log", str(log), "--user-col", "user_id",
        "--item-col", "item_id", "--time-col", "", "--factors", "8", "--regularization", "1", "--out", "report",
        cwd=tmp_path,
    )  # fmt: skip
    assert "| als |" in proc.stdout and "| popularity |" in proc.stdout
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    ndcg = {m: v["metrics"]["ndcg@10"] for m, v in metrics["models"].items()}
    assert ndcg["als"] > ndcg["popularity"] + 0.2  # the planted groups are easy for ALS
    assert (tmp_path / "report" / "test.parquet").is_file()


def test_nightly_batch_and_its_cron_line(tmp_path):
    src = (REPO / "examples" / "nightly_batch.py").read_text()
    cron = next(line for line in src.splitlines() if line.strip().startswith("15 2 * * *"))
    assert "examples/nightly_batch.py" in cron and ">> logs/recs.log 2>&1" in cron
    log = planted_log(tmp_path)
    proc = run_example(
        "nightly_batch.py", "--log", str(log), "--user-col", "user_id", "--item-col", "item_id",
        "--model", "models/als", "--out", "recs.csv", "--k", "5", "--factors", "8",
        cwd=tmp_path,
    )  # fmt: skip
    assert "wrote 300 rows for 60 users to recs.csv" in proc.stderr
    recs = pl.read_csv(tmp_path / "recs.csv")
    model = models.load(tmp_path / "models" / "als")
    ids, _ = model.recommend(recs["user_id"].unique(maintain_order=True).to_list(), k=5)
    assert recs["item_id"].to_list() == ids.ravel().tolist()


def test_cold_start_items(tmp_path):
    log = planted_log(tmp_path)
    inter = planted()
    texts = planted_text(inter)
    pl.DataFrame({"item_id": list(texts), "text": list(texts.values())}).write_csv(
        tmp_path / "items.csv"
    )
    pl.DataFrame(
        {"item_id": [500, 501], "text": [f"{GROUP_WORDS[0]} new", f"{GROUP_WORDS[2]} new"]}
    ).write_csv(tmp_path / "new.csv")
    proc = run_example(
        "cold_start_items.py", "--log", str(log), "--items", "items.csv", "--new-items",
        "new.csv", "--epochs", "20", "--word2vec-dim", "8", "--out", "hybrid", cwd=tmp_path,
    )  # fmt: skip
    assert "added 2 items; the catalogue has 32" in proc.stdout
    model = models.load(tmp_path / "hybrid")
    sim, _ = model.similar_items([500, 501], k=5)
    assert set(sim[0].tolist()) <= set(range(10))  # the space group
    assert set(sim[1].tolist()) <= set(range(20, 30))  # the crime group
