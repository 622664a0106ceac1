"""The real command line, driven in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

from recsys_embed import IdMap, models
from tests.conftest import REPO, requires_ml100k, shared_data_dir


def run(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    if shared_data_dir() is not None:
        full_env.setdefault("RECSYS_EMBED_DATA", str(shared_data_dir()))
    return subprocess.run(
        [sys.executable, "-m", "recsys_embed", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=600,
    )


def one_error_line(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("recsys-embed: error:")]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


ML100K_CONFIG = """
[data]
interactions = "movielens-100k"

[split]
method = "random"
test_fraction = 0.25
stratify = "user"
seed = 42

[evaluate]
k = [5, 10]
metrics = ["recall", "ndcg", "precision", "map"]

[models.pop]
type = "popularity"

[models.als]
type = "als"
factors = 32
"""


@requires_ml100k
def test_evaluate_on_ml100k_files_and_recomputed_recall(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(ML100K_CONFIG)
    proc = run("evaluate", "--config", str(cfg), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    for name in (
        "metrics.json",
        "metrics.md",
        "recommendations.parquet",
        "train.parquet",
        "test.parquet",
        "config.toml",
        "metrics.png",
    ):
        assert (out / name).is_file(), name
    assert "| als |" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"]["interactions"] == 100_000
    assert set(metrics["models"]) == {"pop", "als"}
    assert metrics["models"]["als"]["params"]["factors"] == 32
    assert metrics["versions"]["implicit"]
    recs = pl.read_parquet(out / "recommendations.parquet")
    train = pl.read_parquet(out / "train.parquet")
    test = pl.read_parquet(out / "test.parquet")
    assert train.height + test.height == 100_000
    # recompute recall@10 of als from the written files alone
    top = recs.filter((pl.col("model") == "als") & (pl.col("rank") <= 10))
    hits = top.join(test, on=["user_id", "item_id"], how="inner").group_by("user_id").len()
    per_user = test.group_by("user_id").len().join(hits, on="user_id", how="left", suffix="_hit")
    recall = (per_user["len_hit"].fill_null(0) / per_user["len"]).mean()
    assert recall == pytest.approx(metrics["models"]["als"]["metrics"]["recall@10"], abs=1e-12)
    # no recommended item is in that user's train set
    assert recs.join(train, on=["user_id", "item_id"], how="inner").height == 0


def test_default_evaluate_runs_on_shipped_latest_small(tmp_path):
    proc = run("evaluate", "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics["models"]) == {"popularity", "als", "bpr", "lightfm", "hybrid", "text-map"}
    assert metrics["dataset"]["interactions"] == 100_836
    ndcg = {m: v["metrics"]["ndcg@10"] for m, v in metrics["models"].items()}
    assert ndcg["als"] > ndcg["popularity"] + 0.1  # measured 0.373 vs 0.211


FILE_CONFIG = """
[data]
interactions = "{ratings}"
user_col = "userId"
item_col = "movieId"
weight_col = "rating"
time_col = "timestamp"
min_weight = 3.5
binary = true

[split]
method = "temporal"
test_fraction = 0.2

[models.als]
type = "als"
factors = 16
iterations = 5
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    cfg = tmp / "cfg.toml"
    cfg.write_text(FILE_CONFIG.format(ratings=REPO / "datasets/ml-latest-small/ratings.csv"))
    proc = run("train", "--config", str(cfg), "--model", "als", "--out", str(tmp / "model"))
    assert proc.returncode == 0, proc.stderr
    return tmp / "model"


def test_train_then_recommend_every_user(trained, tmp_path):
    out = tmp_path / "recs.parquet"
    proc = run(
        "recommend", "--model", str(trained), "--k", "7", "--out", str(out), "--chunk-size", "100"
    )
    assert proc.returncode == 0, proc.stderr
    recs = pl.read_parquet(out)
    model = models.load(trained)
    assert recs.columns == ["user_id", "rank", "item_id", "score"]
    assert recs["user_id"].n_unique() == len(model.user_map_)
    assert (recs.group_by("user_id").len()["len"] == 7).all()
    seen = pl.DataFrame(
        {
            "user_id": model.user_map_.ids[
                np.repeat(np.arange(len(model.user_map_)), np.diff(model.seen_.indptr))
            ],
            "item_id": model.item_map_.ids[model.seen_.indices],
        }
    )
    assert recs.join(seen, on=["user_id", "item_id"]).height == 0
    ratings = pl.read_csv(REPO / "datasets/ml-latest-small/ratings.csv").filter(
        pl.col("rating") >= 3.5
    )
    assert model.seen_.nnz == ratings.height


def test_recommend_users_file_unknowns_and_csv(trained, tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("1\n2\n999999\n888888\n")
    out = tmp_path / "recs.csv"
    proc = run(
        "recommend", "--model", str(trained), "--k", "3", "--out", str(out), "--users", str(users)
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 unknown user(s) skipped" in proc.stderr
    recs = pl.read_csv(out)
    assert sorted(recs["user_id"].unique().to_list()) == [1, 2]
    proc = run(
        "recommend",
        "--model",
        str(trained),
        "--k",
        "3",
        "--out",
        str(out),
        "--users",
        str(users),
        "--unknown",
        "popular",
    )
    assert "2 unknown user(s) given popular items" in proc.stderr
    recs = pl.read_csv(out)
    assert sorted(recs["user_id"].unique().to_list()) == [1, 2, 888888, 999999]
    pop = recs.filter(pl.col("user_id") == 999999)["item_id"].to_list()
    assert pop == recs.filter(pl.col("user_id") == 888888)["item_id"].to_list()


def big_model(path: Path, n_users: int = 400_000, n_items: int = 3_000) -> Path:
    rng = np.random.default_rng(0)
    model = models.ALS(factors=16)
    seen = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    model.set_factors(
        IdMap(np.arange(n_users), "user"),
        IdMap(np.arange(n_items)),
        seen,
        rng.random((n_users, 16), dtype=np.float32),
        rng.random((n_items, 16), dtype=np.float32),
    )
    return model.save(path)


def test_sigkill_mid_write_keeps_previous_output(tmp_path):
    model_dir = big_model(tmp_path / "big")
    out = tmp_path / "recs.parquet"
    out.write_bytes(b"previous good output")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recsys_embed",
            "recommend",
            "--model",
            str(model_dir),
            "--k",
            "10",
            "--out",
            str(out),
            "--chunk-size",
            "2000",
            "--quiet",
        ],
        cwd=REPO,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".recs.parquet.*.tmp")):
        time.sleep(0.05)
    assert list(tmp_path.glob(".recs.parquet.*.tmp")), "the batch never started writing"
    time.sleep(0.5)
    assert proc.poll() is None, "finished before it could be killed; make the model bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert out.read_bytes() == b"previous good output"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "big",
        "recs.parquet",
    ]


def test_output_location_errors(trained, tmp_path):
    proc = run("recommend", "--model", str(trained), "--out", str(tmp_path / "nope" / "r.parquet"))
    one_error_line(proc, 2, "output directory", "does not exist")
    proc = run("recommend", "--model", str(trained), "--out", str(tmp_path / "r.json"))
    one_error_line(proc, 2, "expected a .parquet or .csv file name")
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc: no read-only directory available to write into")
    proc = run("recommend", "--model", str(trained), "--out", "/proc/recs.parquet")
    one_error_line(proc, 2, "--out /proc/recs.parquet")
    assert ".tmp" not in proc.stderr


def test_corrupt_model_dir(trained, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(trained, bad)
    (bad / "user_factors.npy").write_bytes(b"garbage")
    proc = run("recommend", "--model", str(bad), "--out", str(tmp_path / "r.parquet"))
    one_error_line(proc, 3, "checksum mismatch")
    proc = run("recommend", "--model", str(tmp_path), "--out", str(tmp_path / "r.parquet"))
    one_error_line(proc, 3, "not a model directory")
    assert not (tmp_path / "r.parquet").exists()


def test_config_errors_name_file_table_key(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[data]\ninteractions = "movielens-100k"\ncolour = "red"\n[models.a]\ntype = "als"\n'
    )
    one_error_line(
        run("evaluate", "--config", str(cfg), "--out", str(tmp_path / "o")),
        2,
        str(cfg),
        "[data]",
        "'colour'",
        "allowed",
    )
    cfg.write_text(
        '[data]\ninteractions = "movielens-100k"\n[models.a]\ntype = "als"\nfactors = "many"\n'
    )
    one_error_line(
        run("evaluate", "--config", str(cfg), "--out", str(tmp_path / "o")),
        2,
        "[models.a]",
        "factors must be int",
    )
    cfg.write_text(
        '[data]\ninteractions = "movielens-100k"\n[split]\nmethod = "sorted"\n[models.a]\ntype = "als"\n'
    )
    one_error_line(
        run("evaluate", "--config", str(cfg), "--out", str(tmp_path / "o")),
        2,
        "[split] method = 'sorted'",
        "one of ['random'",
    )
    one_error_line(
        run("evaluate", "--config", str(tmp_path / "missing.toml"), "--out", "o"), 2, "not found"
    )


def test_malformed_interactions_file(tmp_path):
    (tmp_path / "log.csv").write_text("u,i,w\n1,2,5\n1,3,-4\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[data]\ninteractions = "log.csv"\nuser_col = "u"\nitem_col = "i"\nweight_col = "w"\n'
        '[models.p]\ntype = "popularity"\n'
    )
    proc = run("evaluate", "--config", str(cfg), "--out", str(tmp_path / "o"), "--quiet")
    one_error_line(proc, 3, "log.csv", "column 'w'", "row 1")


def test_usage_errors_are_one_line():
    one_error_line(run("evaluate"), 2, "--out")
    one_error_line(run("frobnicate"), 2, "invalid choice")


def test_datasets_list():
    proc = run("datasets", "list")
    assert proc.returncode == 0
    assert "movielens-latest-small" in proc.stdout and "movielens-1m" in proc.stdout


COLD_CONFIG = """
[data]
interactions = "ml/ratings.csv"
user_col = "userId"
item_col = "movieId"

[data.items]
path = "ml/movies.csv"
id_col = "movieId"
text_cols = ["title", "genres"]
tags_path = "ml/tags.csv"

[split]
method = "cold_items"
test_fraction = 0.2
seed = 0

[evaluate]
k = [10, 20]
metrics = ["recall", "ndcg", "auc"]

[models.pop]
type = "popularity"

[models.content]
type = "text-knn"
vectors = "word2vec"
"""


def test_cold_items_run_ranks_only_cold_items(tmp_path):
    (tmp_path / "ml").symlink_to(REPO / "datasets" / "ml-latest-small")
    cfg = tmp_path / "cold.toml"
    cfg.write_text(COLD_CONFIG)
    proc = run("evaluate", "--config", str(cfg), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["conventions"]["ranking"] == "1945 candidate items only"
    content, pop = metrics["models"]["content"]["metrics"], metrics["models"]["pop"]["metrics"]
    assert content["auc@20"] > 0.75 > pop["auc@20"]  # measured 0.81 vs 0.5 (no cold popularity)
    recs = pl.read_parquet(tmp_path / "out" / "recommendations.parquet")
    train = pl.read_parquet(tmp_path / "out" / "train.parquet")
    assert not set(recs["item_id"].to_list()) & set(train["item_id"].to_list())


@requires_ml100k
def test_datasets_fetch_reads_a_local_copy_without_network():
    proc = run("datasets", "fetch", "movielens-100k", "--data-dir", str(shared_data_dir()))
    assert proc.returncode == 0, proc.stderr
    assert "943 users x 1682 items, 100000 interactions" in proc.stderr
    one_error_line(run("datasets", "fetch", "movielens-5m"), 3, "unknown dataset 'movielens-5m'")


TUNE_CONFIG = """
[data]
interactions = "movielens-100k"

[split]
method = "random"
test_fraction = 0.25
stratify = "item"
seed = 42

[evaluate]
k = [10]
metrics = ["ndcg", "recall"]

[tune]
sampler = "random"
validation = "temporal"
validation_fraction = 0.2
seed = 3

[tune.space.als]
factors = [8, 32]
iterations = [3, 6]

[models.als]
type = "als"
weighting = "binary"
"""


@requires_ml100k
def test_tune_writes_trials_best_and_resumes(tmp_path):
    cfg = tmp_path / "tune.toml"
    cfg.write_text(TUNE_CONFIG)
    out = tmp_path / "tuned"
    args = ("tune", "--config", str(cfg), "--model", "als", "--out", str(out))
    first = run(*args, "--trials", "2")
    assert first.returncode == 0, first.stderr
    again = run(*args, "--trials", "3")
    assert again.returncode == 0, again.stderr
    assert "resuming: 2 trial(s)" in again.stderr
    trials = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    assert [t["number"] for t in trials] == [0, 1, 2]
    assert trials[0]["params"]["factors"] == 64 and trials[0]["origin"] == "defaults"
    for t in trials[1:]:
        assert 8 <= t["params"]["factors"] <= 32 and 3 <= t["params"]["iterations"] <= 6
        assert "weighting" not in t["params"]  # set in [models.als]: held, not searched
    best = json.loads((out / "best.json").read_text())
    top = max((t for t in trials if t["value"] is not None), key=lambda t: t["value"])
    assert best["winner"]["searched"] == top["params"] and best["params"]["weighting"] == "binary"
    assert best["winner"]["validation_metrics"] == top["validation_metrics"]
    chosen = best["winner"] if best["chosen"] == "tuned" else best["defaults"]
    assert best["searched"] == chosen["searched"] and best["test_metrics"] == chosen["test_metrics"]
    assert set(best["test_metrics"]) == {"ndcg@10", "recall@10"}
    assert 0.3 < best["test_metrics"]["ndcg@10"] < 0.6
    assert json.loads(again.stdout)["test_metrics"] == best["test_metrics"]
    # best.toml is a [models] table that evaluate accepts as is
    run_cfg = tmp_path / "best_run.toml"
    run_cfg.write_text(TUNE_CONFIG.split("[tune]")[0] + (out / "best.toml").read_text())
    ev = run("evaluate", "--config", str(run_cfg), "--out", str(tmp_path / "ev"))
    assert ev.returncode == 0, ev.stderr
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["models"]["als"]["metrics"]["ndcg@10"] == pytest.approx(
        best["test_metrics"]["ndcg@10"], abs=1e-9
    )


def test_tune_errors_are_one_line(tmp_path):
    cfg = tmp_path / "tune.toml"
    base = (
        '[data]\ninteractions = "x.csv"\nuser_col = "u"\nitem_col = "i"\n[models.a]\ntype = "als"\n'
    )
    (tmp_path / "x.csv").write_text("u,i\n1,1\n1,2\n2,1\n2,2\n")
    cfg.write_text(base + '[tune]\nmetric = "ndcg"\n')
    one_error_line(
        run("tune", "--config", str(cfg), "--model", "a", "--out", str(tmp_path / "o")),
        2,
        "[tune] metric",
        "ndcg@10",
    )
    cfg.write_text(base + "[tune.space.a]\nfactors = [64, 8]\n")
    one_error_line(
        run("tune", "--config", str(cfg), "--model", "a", "--out", str(tmp_path / "o")),
        2,
        "[models.a]",
        "low < high",
    )
    cfg.write_text(base)
    one_error_line(
        run("tune", "--config", str(cfg), "--model", "b", "--out", str(tmp_path / "o")),
        2,
        "no [models.b]",
    )
    one_error_line(
        run(
            "tune",
            "--config",
            str(cfg),
            "--model",
            "a",
            "--trials",
            "0",
            "--out",
            str(tmp_path / "o"),
        ),
        2,
        "--trials",
    )
