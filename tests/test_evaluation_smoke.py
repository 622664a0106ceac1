"""Each maintained benchmark's ``--smoke`` run (tiny generated data, seconds), so they cannot rot.

Every run is the command a user types, ``python -m evaluation.<kind>.<name> --smoke --out FILE``,
in a fresh process; the checks read the table it prints and the report it writes. The selected
tests' runs start together when the module's first test runs, two at a time (one per core of
the project's machine), since each spends most of its time starting Python processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO

# test -> (module and its arguments before --smoke, whether it takes --cache, kept for the test)
SMOKES: dict[str, tuple[list[str], bool]] = {
    "test_load_smoke": (["evaluation.benchmarks.load"], True),
    "test_recommend_smoke": (["evaluation.benchmarks.recommend"], True),
    "test_evaluate_smoke": (["evaluation.benchmarks.evaluate"], True),
    "test_batch_smoke_writes_every_users_top_10": (["evaluation.benchmarks.batch"], True),
    "test_ease_memory_smoke": (["evaluation.benchmarks.ease_memory"], False),
    "test_spark_benchmark_smoke_local_half": (["evaluation.benchmarks.spark", "batch"], True),
    "test_spark_benchmark_smoke_lists_match": (
        ["evaluation.benchmarks.spark", "batch", "--spark"],
        True,
    ),
    "test_tune_smoke": (["evaluation.benchmarks.tune"], True),
    "test_coldstart_smoke_text_beats_chance": (["evaluation.protocols.coldstart"], False),
}


def run_smoke(args: list[str], takes_cache: bool, folder: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", *args, "--smoke", "--out", str(folder / "report.md")]
    if takes_cache:
        command += ["--cache", str(folder / "cache")]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory) -> Iterator[dict[str, tuple[Path, Future]]]:
    """The selected tests' smoke runs, started two at a time: test name -> (folder, run)."""
    selected = [item.name for item in request.session.items if item.name in SMOKES]
    with ThreadPoolExecutor(max_workers=2) as pool:
        started = {}
        for name in selected:
            folder = tmp_path_factory.mktemp(name)
            started[name] = (folder, pool.submit(run_smoke, *SMOKES[name], folder))
        yield started


def smoke(runs: dict[str, tuple[Path, Future]], request) -> tuple[list[str], Path]:
    """This test's smoke run: its printed lines and its folder (report.md, cache/), after
    checking that it exited 0 and that ``--out`` holds what it printed (the cold-start
    protocol's report adds a title, so it is checked on its own)."""
    folder, run = runs[request.node.name]
    proc = run.result()
    assert proc.returncode == 0, proc.stderr[-3000:]
    if "evaluation.protocols.coldstart" not in proc.args:
        assert (folder / "report.md").read_text().strip() in proc.stdout
    return proc.stdout.splitlines(), folder


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


def test_load_smoke(runs, request):
    lines, _ = smoke(runs, request)
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


def test_recommend_smoke(runs, request):
    lines, _ = smoke(runs, request)
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


def test_evaluate_smoke(runs, request):
    lines, _ = smoke(runs, request)
    rows = [line.strip("|").split("|") for line in lines if line.startswith("| tiny |")]
    assert [r[1].strip() for r in rows] == [
        "recsys_embed evaluate, chunk 1024",
        "implicit ranking_metrics_at_k, 1 thread",
    ]
    for r in rows:
        seconds, rss, working = (number(c) for c in r[2:])
        assert seconds >= 0 and rss > 0 and working >= 0


def test_batch_smoke_writes_every_users_top_10(runs, request):
    lines, folder = smoke(runs, request)
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
    recs = pl.read_parquet(folder / "cache" / "batch_recs.parquet")  # the last CLI run's output
    assert recs.height == 2_000 * 10 and recs["user_id"].n_unique() == 2_000


def test_ease_memory_smoke(runs, request):
    lines, _ = smoke(runs, request)
    rows = table(lines, "EASE fit, generated (300 users x 400 items)")
    assert list(rows) == ["recsys_embed", "previous float64 formula"]
    for peak, before, seconds in rows.values():
        assert number(peak) >= number(before) > 0 and number(seconds) >= 0


def test_spark_benchmark_smoke_local_half(runs, request):
    lines, folder = smoke(runs, request)
    rows = table(lines, "job")
    assert list(rows) == ["local batch, BLAS 1 thread(s)", "local batch, BLAS 2 thread(s)"]
    assert json.loads(lines[-1])["lists"] is None  # no Spark half, nothing compared
    recs = pl.read_parquet(folder / "cache" / "spark_bench_local.parquet")
    assert recs.height == 2_000 * 10


@pytest.mark.spark
def test_spark_benchmark_smoke_lists_match(runs, request):
    lines, _ = smoke(runs, request)
    rows = table(lines, "job")
    assert list(rows)[2:] == ["Spark local[2], 1 partition(s)", "Spark local[2], 2 partition(s)"]
    lists = json.loads(lines[-1])["lists"]
    assert lists["users"] == lists["same_users"] == 2_000
    assert lists["differing_slots"] == 0


def test_tune_smoke(runs, request):
    lines, _ = smoke(runs, request)
    assert lines[0].startswith("`python -m evaluation.benchmarks.tune --model als --repeats 1")
    (cells,) = table(lines, "model | validation").values()
    mode, trials, pruned = cells[0], int(cells[1]), int(cells[2])
    assert mode == "plain" and trials == 2 and 0 <= pruned <= trials
    chosen, defaults = cells[-1].replace("(", "").replace(")", "").split()
    assert 0 < float(chosen) <= 1 and 0 < float(defaults) <= 1


def test_coldstart_smoke_text_beats_chance(runs, request):
    lines, folder = smoke(runs, request)
    report = (folder / "report.md").read_text()
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
