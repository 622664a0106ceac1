"""Each maintained benchmark's ``--smoke`` run (tiny generated data, seconds), so they cannot rot.

Every run is the command a user types, ``python -m evaluation.<kind>.<name> --smoke --out FILE``,
in a fresh process; the checks read the table it prints and the report it writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO


def smoke(module: str, tmp_path: Path, *more: str) -> list[str]:
    """Run one smoke; return its printed lines, after checking that ``--out`` holds them (the
    cold-start protocol's report adds a title, so it is checked on its own)."""
    out = tmp_path / "report.md"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", module, *more, "--smoke", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if module != "evaluation.protocols.coldstart":
        assert out.read_text().strip() in proc.stdout
    return proc.stdout.splitlines()


def table(lines: list[str], header: str) -> dict[str, list[str]]:
    """The markdown table whose header row starts with ``header``: first cell -> other cells."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header}"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def number(cell: str) -> float:
    """A table cell's leading number: "1,234" -> 1234.0, "3.73x" -> 3.73, "812 (process)" -> 812."""
    return float(cell.split()[0].rstrip("x").replace(",", ""))


def test_load_smoke(tmp_path):
    lines = smoke("evaluation.benchmarks.load", tmp_path)
    assert lines[0].startswith("2,000 rows, ")
    rows = table(lines, "loader")
    assert list(rows) == [
        "recsys_embed.read_interactions",
        "pandas.read_csv + coo_matrix",
        "polars.read_csv (floor)",
    ]
    assert rows["polars.read_csv (floor)"][1] == "1.00x"
    for seconds, ratio in rows.values():
        assert number(seconds) >= 0 and number(ratio) > 0


def test_recommend_smoke(tmp_path):
    lines = smoke("evaluation.benchmarks.recommend", tmp_path)
    fits = table(lines, "model")
    assert list(fits) == ["als", "bpr", "lightfm"]
    for ours, direct, ratio in fits.values():  # seconds and ratio are rounded to 3 decimals
        o, d, half = number(ours), number(direct), 5e-4
        assert (
            (o - half) / (d + half) - half
            <= number(ratio)
            <= (o + half) / max(d - half, 1e-9) + half
        )
    rec_rows = [line for line in lines if line.startswith("| tiny |")]
    assert [row.split("|")[2].strip() for row in rec_rows] == [
        "recsys_embed recommend_all (chunk 1024)",
        "implicit recommend, 1 thread",
    ]
    for row in rec_rows:
        seconds, users_per_s, rss, _ = (number(c) for c in row.strip("|").split("|")[2:])
        assert seconds >= 0 and users_per_s > 0 and rss > 0


def test_evaluate_smoke(tmp_path):
    lines = smoke("evaluation.benchmarks.evaluate", tmp_path)
    rows = [line.strip("|").split("|") for line in lines if line.startswith("| tiny |")]
    assert [r[1].strip() for r in rows] == [
        "recsys_embed evaluate, chunk 1024",
        "implicit ranking_metrics_at_k, 1 thread",
    ]
    for r in rows:
        seconds, rss, working = (number(c) for c in r[2:])
        assert seconds >= 0 and rss > 0 and working >= 0


def test_batch_smoke_writes_every_users_top_10(tmp_path):
    cache = tmp_path / "cache"
    lines = smoke("evaluation.benchmarks.batch", tmp_path, "--cache", str(cache))
    assert "2,000 users x 500 items" in lines[0]
    rows = table(lines, "job")
    assert list(rows) == [
        "recsys-embed recommend, chunk 256",
        "recsys-embed recommend, chunk 2048, --threads 2",
        "implicit recommend (all cores, no output file)",
    ]
    for _, users_per_s, rss in rows.values():
        assert number(users_per_s) > 0 and number(rss) > 0
    assert json.loads(lines[-1])["model_dir_mb"] > 0
    recs = pl.read_parquet(cache / "batch_recs.parquet")  # the last CLI run's output
    assert recs.height == 2_000 * 10 and recs["user_id"].n_unique() == 2_000


def test_ease_memory_smoke(tmp_path):
    lines = smoke("evaluation.benchmarks.ease_memory", tmp_path)
    rows = table(lines, "EASE fit, generated (300 users x 400 items)")
    assert list(rows) == ["recsys_embed", "previous float64 formula"]
    for peak, before, seconds in rows.values():
        assert number(peak) >= number(before) > 0 and number(seconds) >= 0


def test_spark_benchmark_smoke_local_half(tmp_path):
    cache = tmp_path / "cache"
    lines = smoke("evaluation.benchmarks.spark", tmp_path, "batch", "--cache", str(cache))
    rows = table(lines, "job")
    assert list(rows) == ["local batch, BLAS 1 thread(s)", "local batch, BLAS 2 thread(s)"]
    assert json.loads(lines[-1])["lists"] is None  # no Spark half, nothing compared
    recs = pl.read_parquet(cache / "spark_bench_local.parquet")
    assert recs.height == 2_000 * 10


@pytest.mark.spark
def test_spark_benchmark_smoke_lists_match(tmp_path):
    lines = smoke("evaluation.benchmarks.spark", tmp_path, "batch", "--spark")
    rows = table(lines, "job")
    assert list(rows)[2:] == ["Spark local[2], 1 partition(s)", "Spark local[2], 2 partition(s)"]
    lists = json.loads(lines[-1])["lists"]
    assert lists["users"] == lists["same_users"] == 2_000
    assert lists["differing_slots"] == 0


def test_tune_smoke(tmp_path):
    lines = smoke("evaluation.benchmarks.tune", tmp_path)
    assert lines[0].startswith("`python -m evaluation.benchmarks.tune --model als --repeats 1")
    (cells,) = table(lines, "model | validation").values()
    mode, trials, pruned = cells[0], int(cells[1]), int(cells[2])
    assert mode == "plain" and trials == 2 and 0 <= pruned <= trials
    chosen, defaults = cells[-1].replace("(", "").replace(")", "").split()
    assert 0 < float(chosen) <= 1 and 0 < float(defaults) <= 1


def test_coldstart_smoke_text_beats_chance(tmp_path):
    lines = smoke("evaluation.protocols.coldstart", tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# Cold items on catalogue shapes\n")
    assert "### generated, 150 items of 6 topics (test)" in report
    rows = table(lines, "model | recall@20")
    assert list(rows) == [
        "random",
        "text-knn (ppmi-svd)",
        "als-text-map (ppmi-svd)",
        "lightfm-hybrid (ppmi-svd)",
    ]
    auc = {label: number(cells[2]) for label, cells in rows.items()}
    assert auc["random"] == pytest.approx(0.5, abs=0.1)
    # the generated text names each item's topic and users keep to one topic
    assert min(auc["text-knn (ppmi-svd)"], auc["als-text-map (ppmi-svd)"]) > 0.7
    paired = table(lines[lines.index("| model | recall@20 | NDCG@10 | AUC |") :], "model")
    assert list(paired) == ["als-text-map (ppmi-svd)", "lightfm-hybrid (ppmi-svd)"]
