"""The Spark engine against the one-process path: same data, splits, lists, metrics and files.

One session-scoped local[2] SparkSession bound to loopback; small data (ML-100K, tiny frames).
"""

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

import recsys_embed as rse
from recsys_embed.batch import write_recommendations
from recsys_embed.config import DataConfig, SplitConfig
from recsys_embed.data import splits
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.evaluate import evaluate
from recsys_embed.models.registry import create, load
from tests.conftest import REPO, requires_ml100k, shared_data_dir

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

METRICS = ["recall", "ndcg", "precision", "map", "mrr", "hit_rate", "coverage"]


@pytest.fixture(scope="session")
def spark():
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from recsys_embed.spark.session import get_session

    session = get_session("local[2]", {"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def _lists(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort("user_id", "rank")


# ---- import hygiene and missing dependencies ------------------------------------------------
def test_importing_the_package_starts_no_jvm():
    code = (
        "import sys, recsys_embed, recsys_embed.cli, recsys_embed.pipeline, recsys_embed.spark, "
        "recsys_embed.spark.params; assert 'pyspark' not in sys.modules, 'pyspark imported'"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_missing_pyspark_or_java_is_one_line_exit_2(monkeypatch, tmp_path, capsys):
    import recsys_embed.spark as rs
    from recsys_embed.cli import main

    monkeypatch.setattr(rs, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r'pip install "recsys-embed\[spark\]"'):
        rs.require_spark()
    code = main(
        ["recommend", "--model", str(tmp_path), "--out", str(tmp_path / "o"), "--engine", "spark"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "recsys-embed[spark]" in err
    monkeypatch.undo()
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ConfigError, match="Java 17"):
        rs.require_spark()


# ---- the seeded-hash split -------------------------------------------------------------------
def test_numpy_xxhash_is_sparks_bit_for_bit(spark):
    from pyspark.sql import functions as F

    rng = np.random.default_rng(0)
    vals = np.r_[rng.integers(-(2**63), 2**63 - 1, 200, dtype=np.int64), 0, -1, 2**31, 7]
    seeds = rng.integers(-(2**40), 2**40, len(vals))
    frame = spark.createDataFrame(
        [(int(a), int(b)) for a, b in zip(vals, seeds, strict=True)], "v long, s long"
    )
    got = np.array([r[0] for r in frame.select(F.xxhash64("s", "v")).collect()], dtype=np.int64)
    want = splits.xxhash64_long(vals, splits.xxhash64_long(seeds, 42))
    assert np.array_equal(got, want)


def test_hash_split_is_seeded_and_near_the_fraction():
    rng = np.random.default_rng(1)
    frame = pl.DataFrame({"u": rng.integers(0, 500, 20000), "i": rng.integers(0, 300, 20000)})
    inter = rse.Interactions.from_frame(frame, "u", "i")
    tr, te = splits.hash_split(inter, 0.3, seed=5)
    assert tr.nnz + te.nnz == inter.nnz and abs(te.nnz / inter.nnz - 0.3) < 0.02
    _, te2 = splits.hash_split(inter, 0.3, seed=5)
    assert (te2.matrix != te.matrix).nnz == 0
    _, te3 = splits.hash_split(inter, 0.3, seed=6)
    assert (te3.matrix != te.matrix).nnz > 0.2 * te.nnz


# ---- reading and validating logs -------------------------------------------------------------
def test_read_merges_filters_and_indexes_like_the_local_loader(spark, tmp_path):
    from recsys_embed.spark.data import index_log, read_log, to_local

    text = "u,i,w,t\nb,007,2,5\na,7,1,3\nb,007,1.5,9\nc,x,0.5,1\na,x,4,2\nz9,7,3,4\n"
    path = _write(tmp_path / "log.csv", text)
    local = rse.read_interactions(path, "u", "i", "w", "t")
    got = to_local(index_log(read_log(spark, path, "u", "i", "w", "t"), path))
    assert list(got.item_ids) == ["007", "7", "x"] == list(local.item_ids)  # "007" stays a string
    assert got.user_map == local.user_map and got.n_duplicates == local.n_duplicates == 1
    assert (got.matrix != local.matrix).nnz == 0 and np.array_equal(
        got.timestamps, local.timestamps
    )
    filtered = rse.filter_min_weight(local, 2.0).with_unit_weights()
    got_f = to_local(index_log(read_log(spark, path, "u", "i", "w", "t"), path, 2.0, binary=True))
    assert got_f.user_map == filtered.user_map and got_f.item_map == filtered.item_map
    assert (got_f.matrix != filtered.matrix).nnz == 0
    ints = _write(tmp_path / "ints.csv", "u,i\n10,3\n-2,3\n10,1\n")
    got_i = to_local(index_log(read_log(spark, ints, "u", "i"), ints))
    assert got_i.user_ids.tolist() == [-2, 10] and got_i.item_ids.dtype == np.int64


@pytest.mark.parametrize(
    ("row", "col", "what"),
    [
        (",7,1", "u", "missing id"),
        ("a,7,0", "w", "positive finite"),
        ("a,7,-2", "w", "positive"),
        ("a,7,NaN", "w", "positive finite"),
        ("a,7,inf", "w", "positive finite"),
        ("a,7,abc", "w", "positive"),
    ],
)
def test_bad_rows_name_the_column_and_a_sample_row(spark, tmp_path, row, col, what):
    from recsys_embed.spark.data import read_log

    path = _write(tmp_path / "bad.csv", f"u,i,w\na,1,1\n{row}\nb,2,3\n")
    with pytest.raises(DataError, match=what) as info:
        read_log(spark, path, "u", "i", "w")
    assert f"column {col!r}" in str(info.value) and "bad.csv" in str(info.value)
    assert "row Row" not in str(info.value) and "{" in str(info.value)  # the sample row's values


def test_missing_column_and_missing_file(spark, tmp_path):
    from recsys_embed.spark.data import read_log

    path = _write(tmp_path / "a.csv", "u,i\n1,2\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['w'\]"):
        read_log(spark, path, "u", "i", "w")
    with pytest.raises(DataError, match="cannot read"):
        read_log(spark, str(tmp_path / "nope.parquet"), "u", "i")


# ---- ML-100K: data, split, lists and metrics equal to the local path ---------------------------
@pytest.fixture(scope="module")
def ml_spark(spark):
    from recsys_embed.spark.data import index_log
    from recsys_embed.spark.jobs import dataset_log

    os.environ.setdefault("RECSYS_EMBED_DATA", str(shared_data_dir()))
    return index_log(dataset_log(spark, "movielens-100k"), "movielens-100k").cache()


@pytest.fixture(scope="module")
def ml_split(ml_spark, ml100k):
    from recsys_embed.spark.split import hash_split

    return hash_split(ml_spark, 0.25, seed=3), splits.hash_split(ml100k.interactions, 0.25, seed=3)


@pytest.fixture(scope="module")
def ml_als(ml_split):
    _, (train, _) = ml_split
    return create("als", factors=32, iterations=8, random_state=0).fit(train)


@requires_ml100k
def test_ml100k_read_and_hash_split_equal_local(ml_spark, ml_split, ml100k):
    from recsys_embed.spark.data import to_local

    local = ml100k.interactions
    got = to_local(ml_spark)
    assert got.user_map == local.user_map and got.item_map == local.item_map
    assert (got.matrix != local.matrix).nnz == 0 and np.array_equal(
        got.timestamps, local.timestamps
    )
    (s_train, s_test), (train, test) = ml_split
    for s_part, part in ((s_train, train), (s_test, test)):
        mine = to_local(s_part)
        assert mine.nnz == part.nnz and (mine.matrix != part.matrix).nnz == 0


def _same_split(mine, want) -> None:
    from recsys_embed.spark.data import to_local

    for s_part, part in zip(mine, want, strict=True):
        got = to_local(s_part)
        assert got.nnz == part.nnz and (got.matrix != part.matrix).nnz == 0


@requires_ml100k
def test_ml100k_temporal_and_leave_last_equal_local(ml_spark, ml100k):
    from recsys_embed.spark.split import leave_last_n, temporal_split

    local = ml100k.interactions
    # the ties are real: rows sharing (user, timestamp) with another row of that user
    key = local.user_idx.astype(np.int64) * (2**32) + local.timestamps.astype(np.int64)
    _, counts = np.unique(key, return_counts=True)
    assert counts[counts > 1].sum() > 70_000  # 75,772 of 100,000 rows
    _same_split(temporal_split(ml_spark, 0.25, seed=3), splits.temporal_split(local, 0.25, seed=3))
    _same_split(leave_last_n(ml_spark, 2, seed=5), splits.leave_last_n(local, 2, seed=5))
    # another seed moves tied rows, on both engines alike
    other = splits.leave_last_n(local, 2, seed=6)
    assert triplets_differ(other[1], splits.leave_last_n(local, 2, seed=5)[1])


def triplets_differ(a, b) -> bool:
    return (a.matrix != b.matrix).nnz > 0


def test_temporal_and_leave_last_on_a_tied_frame_equal_local(spark):
    from recsys_embed.spark.data import from_local
    from recsys_embed.spark.split import leave_last_n, make_split, temporal_split

    rng = np.random.default_rng(9)
    n = 900
    frame = pl.DataFrame(
        {
            "u": [f"user{x}" for x in rng.integers(0, 60, n)],
            "i": rng.integers(0, 80, n),
            "t": rng.integers(0, 6, n),  # few distinct times: ties everywhere
        }
    )
    local = rse.Interactions.from_frame(frame, "u", "i", time_col="t")
    si = from_local(spark, local).cache()
    for seed in (0, 1):
        _same_split(
            temporal_split(si, 0.3, seed=seed), splits.temporal_split(local, 0.3, seed=seed)
        )
        _same_split(leave_last_n(si, 3, seed=seed), splits.leave_last_n(local, 3, seed=seed))
    assert triplets_differ(
        splits.leave_last_n(local, 3, seed=0)[1], splits.leave_last_n(local, 3, seed=1)[1]
    )
    cfg = SplitConfig(method="leave_last", n_last=2, seed=4)
    _same_split(
        make_split(spark, si, cfg, DataConfig(interactions="tied")),
        splits.make_split(local, cfg)[:2],
    )
    with pytest.raises(ConfigError, match="n_last"):
        leave_last_n(si, 0)


@requires_ml100k
def test_ml100k_lists_and_metrics_equal_local(spark, ml_split, ml_als):
    from recsys_embed.spark.jobs import evaluate_on_spark
    from recsys_embed.spark.metrics import metric_means

    (s_train, s_test), (train, test) = ml_split
    report = evaluate({"als": ml_als}, train, test, k=[5, 10, 20], metrics=METRICS)
    recs, per_user, cover = evaluate_on_spark(spark, ml_als, s_train, s_test, [5, 10, 20], METRICS)
    means = metric_means(recs, s_test.frame, [5, 10, 20], METRICS, train.n_items)
    local = report.metrics_dict("als")
    assert set(means) == set(local)
    for key, value in means.items():
        assert abs(value - local[key]) < 1e-9, key
    assert all(abs(cover[k] - local[k]) < 1e-12 for k in cover)
    lists = recs.select("user_idx", "rank", "item_idx").toPandas()
    top = np.full((train.n_users, 20), -1)
    top[lists.user_idx, lists["rank"] - 1] = lists.item_idx
    assert np.array_equal(top[report.user_idx], report.results["als"].top_idx)
    vals = per_user.orderBy("user_idx").toPandas()
    assert np.allclose(
        vals["ndcg@10"],
        report.results["als"].per_user["ndcg@10"][
            ~np.isnan(report.results["als"].per_user["ndcg@10"])
        ],
        atol=1e-12,
    )


@requires_ml100k
def test_batch_output_equals_local_recommend(spark, ml_als, tmp_path):
    from recsys_embed.spark.scoring import recommend_to_parquet

    local_file = tmp_path / "local.parquet"
    write_recommendations(ml_als, local_file, k=10)
    out = str(tmp_path / "spark_out")
    summary = recommend_to_parquet(spark, ml_als, out, k=10, chunk_size=100)
    assert (Path(out) / "_SUCCESS").is_file() and len(list(Path(out).glob("part-*.parquet"))) >= 1
    mine, local = pl.read_parquet(f"{out}/*.parquet"), pl.read_parquet(local_file)
    assert mine.schema == local.schema  # user_id i64, rank i32, item_id i64, score f32
    assert (
        summary.users_written == ml_als.user_factors_.shape[0]
        and summary.rows_written == local.height
    )
    a, b = _lists(mine), _lists(local)
    assert a.select("user_id", "rank", "item_id").equals(b.select("user_id", "rank", "item_id"))
    assert np.allclose(a["score"].to_numpy(), b["score"].to_numpy(), rtol=1e-5, atol=1e-5)


# ---- ties, string ids, unknown users, candidate cut -------------------------------------------
@pytest.fixture(scope="module")
def tiny_model():
    """String ids; items 'b', 'c', 'd' score equal (ties) for every user; 'a' is seen by u1."""
    frame = pl.DataFrame(
        {"user": ["u1", "u1", "u2", "u3", "u4", "u4"], "item": ["a", "e", "b", "e", "c", "d"]}
    )
    model = create("popularity").fit(rse.Interactions.from_frame(frame, "user", "item"))
    user = np.array([[1.0, 0.5], [0.2, 1.0], [1.0, 1.0], [0.5, 0.5]], dtype=np.float32)
    item = np.array([[3, 0], [1, 1], [1, 1], [1, 1], [0, 2]], dtype=np.float32)
    model.set_factors(model.user_map_, model.item_map_, model.seen_, user, item)
    return model


def test_ties_string_ids_and_unknown_users_equal_local(spark, tiny_model, tmp_path):
    from recsys_embed.spark.scoring import recommend_to_parquet

    users = _write(tmp_path / "users.txt", "u3\nghost\nu1\n")
    for policy in ("skip", "popular"):
        local = tmp_path / f"{policy}.parquet"
        write_recommendations(tiny_model, local, k=3, users=["u3", "ghost", "u1"], unknown=policy)
        out = str(tmp_path / f"spark_{policy}")
        summary = recommend_to_parquet(
            spark, tiny_model, out, k=3, users_path=users, unknown=policy
        )
        mine, want = _lists(pl.read_parquet(f"{out}/*.parquet")), _lists(pl.read_parquet(local))
        assert mine.schema == want.schema and mine.equals(want), policy
        assert summary.unknown_users == 1
    u1 = mine.filter(pl.col("user_id") == "u1")["item_id"].to_list()
    assert u1 == ["b", "c", "d"]  # 'a' and 'e' seen; the tie b = c = d broken by lower index


# ---- Spark ALS: the parameter mapping, checkpointing, save/load ------------------------------
@pytest.fixture(scope="module")
def planted():
    """Two user groups x two item groups, users with different counts (6 to 12 items)."""
    rng = np.random.default_rng(4)
    rows = []
    for u in range(60):
        group = u % 2
        n = 6 + u % 7
        items = rng.choice(np.arange(group * 20, group * 20 + 20), size=n, replace=False)
        rows += [(f"user{u:02d}", int(i)) for i in items]
    return rse.Interactions.from_frame(
        pl.DataFrame(rows, schema=["user", "item"], orient="row"), "user", "item"
    )


def test_spark_als_mapping_is_exact_and_model_serves_locally(spark, planted, tmp_path):
    from recsys_embed.models.foldin import implicit_least_squares
    from recsys_embed.spark.als import fit_spark_als, save_spark_als
    from recsys_embed.spark.data import from_local
    from recsys_embed.spark.params import implicit_equivalent
    from recsys_embed.spark.scoring import recommend_to_parquet

    reg, alpha = 0.05, 3.0
    model = fit_spark_als(
        spark,
        from_local(spark, planted),
        {"factors": 4, "regularization": reg, "alpha": alpha, "iterations": 25, "random_state": 1},
    )  # 25 iterations: lineage is cut by the checkpoint dir (StackOverflowError without it)
    counts = np.diff(planted.matrix.indptr)
    y = model.item_factors_

    def user_update(alpha_implicit: float, scale_by_count: bool) -> np.ndarray:
        out = np.zeros_like(model.user_factors_)
        for u in range(planted.n_users):
            hist = planted.matrix[u]
            conf = np.full(hist.nnz, alpha_implicit)  # implicit's confidence alpha * 1
            lam = reg * counts[u] if scale_by_count else reg
            out[u] = implicit_least_squares(y, None, sp.csr_matrix(hist), conf, lam)[0]
        return out

    mapped = user_update(1.0 + alpha, True)  # implicit alpha = 1 + MLlib alpha, reg x count
    assert np.allclose(mapped, model.user_factors_, atol=2e-4, rtol=1e-3)
    assert not np.allclose(user_update(alpha, True), model.user_factors_, atol=1e-2)  # no offset
    assert not np.allclose(user_update(1.0 + alpha, False), model.user_factors_, atol=1e-2)
    # saved as the package's als-wr with MLlib's objective: exact parameters, so its fold-in
    # (regularization x the user's count) is MLlib's own user update
    assert model.name == "als-wr" and model.params["alpha"] == 1.0 + alpha
    assert model.params["regularization"] == reg
    assert np.allclose(model.fold_in(planted.matrix), model.user_factors_, atol=2e-4, rtol=1e-3)
    # the nearest package als (one constant ridge) for comparisons
    item_counts = np.bincount(planted.matrix.indices, minlength=planted.n_items)
    ridge = reg * np.sqrt((counts**2).sum() * (item_counts**2).sum()) / counts.sum()
    params = {**model.spark_params_, "weighting": "binary"}
    assert implicit_equivalent(params, counts, item_counts)["regularization"] == pytest.approx(
        ridge, rel=1e-12
    )
    # planted structure: each user's top items come from its own group
    ids, _ = model.recommend(["user00", "user01"], k=5)
    assert all(i < 20 for i in ids[0]) and all(i >= 20 for i in ids[1])
    # a normal model folder that models.load serves locally, and Spark serves the same lists
    path = save_spark_als(model, tmp_path / "sals")
    loaded = load(path)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["type"] == "als-wr" and manifest["trained_on"]["params"]["alpha"] == alpha
    assert np.array_equal(
        loaded.recommend(planted.user_ids, k=5)[0], model.recommend(planted.user_ids, k=5)[0]
    )
    out = str(tmp_path / "served")
    recommend_to_parquet(spark, loaded, out, k=5)
    write_recommendations(loaded, tmp_path / "local.parquet", k=5)
    a, b = (
        _lists(pl.read_parquet(f"{out}/*.parquet")),
        _lists(pl.read_parquet(tmp_path / "local.parquet")),
    )
    assert a.select("user_id", "item_id").equals(b.select("user_id", "item_id"))


# ---- atomic publication -----------------------------------------------------------------------
def test_sigkill_during_a_spark_batch_leaves_the_previous_output(spark, tmp_path):
    from recsys_embed.spark.scoring import recommend_to_parquet

    rng = np.random.default_rng(2)
    n_users, n_items = 60_000, 3_000
    frame = pl.DataFrame({"u": np.arange(n_users) % 5000, "i": rng.integers(0, n_items, n_users)})
    inter = rse.Interactions.from_frame(frame, "u", "i")
    model = create("als", factors=32).set_factors(  # 32-wide vectors, as an ALS model saves
        inter.user_map,
        inter.item_map,
        inter.matrix,
        rng.standard_normal((inter.n_users, 32)).astype(np.float32),
        rng.standard_normal((inter.n_items, 32)).astype(np.float32),
    )
    model_dir = model.save(tmp_path / "model")
    out = tmp_path / "recs"
    recommend_to_parquet(spark, model, str(out), k=3)  # the previous output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPARK_LOCAL_IP": "127.0.0.1"}
    cmd = [
        sys.executable,
        "-m",
        "recsys_embed",
        "recommend",
        "--model",
        str(model_dir),
        "--out",
        str(out),
        "--k",
        "200",
        "--engine",
        "spark",
        "--master",
        "local[2]",
        "--quiet",
    ]
    # its own process group, so the kill takes the driver's JVM too (nothing writes afterwards)
    proc = subprocess.Popen(
        cmd, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 240
    while (
        not list(tmp_path.glob(".recs.rse-*.tmp"))
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    time.sleep(0.5)  # part files being written
    assert proc.poll() is None, "the batch ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    litter = list(tmp_path.glob(".recs.rse-*.tmp"))
    assert litter, "killed before Spark began writing"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # a live process's temporary beside the output is not ours to remove
    live = tmp_path / f".recs.rse-{litter[0].name.split('-')[1]}-{os.getppid()}-keep.tmp"
    live.mkdir()
    # the next batch removes what the killed one left, and only that
    recommend_to_parquet(spark, model, str(out), k=2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [live.name]
    assert pl.read_parquet(f"{out}/*.parquet")["rank"].max() == 2


def test_publish_replaces_the_previous_output_whole(spark, tiny_model, tmp_path):
    from recsys_embed.spark.scoring import recommend_to_parquet

    out = str(tmp_path / "recs")
    recommend_to_parquet(spark, tiny_model, out, k=1)
    recommend_to_parquet(spark, tiny_model, out, k=2)
    assert pl.read_parquet(f"{out}/*.parquet")["rank"].max() == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ---- the command line -------------------------------------------------------------------------
@requires_ml100k
def test_cli_evaluate_and_recommend_on_spark_equal_local(spark, tmp_path, monkeypatch):
    from recsys_embed.cli import main

    monkeypatch.setenv("RECSYS_EMBED_DATA", str(shared_data_dir()))
    config = tmp_path / "run.toml"
    config.write_text(
        '[data]\ninteractions = "movielens-100k"\n[split]\nmethod = "hash"\ntest_fraction = 0.2\n'
        'seed = 1\n[evaluate]\nk = [10]\nmetrics = ["recall", "ndcg", "precision", "map"]\n'
        '[models.pop]\ntype = "popularity"\n[models.als]\ntype = "als"\nfactors = 16\niterations = 4\n'
    )
    assert (
        main(["evaluate", "--config", str(config), "--out", str(tmp_path / "local"), "--quiet"])
        == 0
    )
    args = [
        "--config",
        str(config),
        "--out",
        str(tmp_path / "spark"),
        "--engine",
        "spark",
        "--master",
        "local[2]",
        "--quiet",
    ]
    assert main(["evaluate", *args]) == 0
    local_run = json.loads((tmp_path / "local" / "metrics.json").read_text())
    spark_run = json.loads((tmp_path / "spark" / "metrics.json").read_text())
    local, mine = local_run["models"], spark_run["models"]
    # one conventions dict for both engines; Spark's names itself
    assert spark_run["conventions"].pop("engine") == "spark (local[2])"
    assert spark_run["conventions"] == local_run["conventions"]
    for name in ("pop", "als"):
        for key, value in local[name]["metrics"].items():
            assert abs(mine[name]["metrics"][key] - value) < 1e-9, (name, key)
    for file in (
        "train.parquet",
        "test.parquet",
        "recommendations.parquet",
        "metrics.csv",
        "config.toml",
    ):
        assert (tmp_path / "spark" / file).is_file()
    a = pl.read_parquet(tmp_path / "spark" / "recommendations.parquet").sort(
        "model", "user_id", "rank"
    )
    b = pl.read_parquet(tmp_path / "local" / "recommendations.parquet").sort(
        "model", "user_id", "rank"
    )
    assert a.select("model", "user_id", "item_id").equals(b.select("model", "user_id", "item_id"))
    # a local model served by `recommend --engine spark`
    assert (
        main(
            [
                "train",
                "--config",
                str(config),
                "--model",
                "als",
                "--out",
                str(tmp_path / "m"),
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "recommend",
                "--model",
                str(tmp_path / "m"),
                "--out",
                str(tmp_path / "l.parquet"),
                "--quiet",
            ]
        )
        == 0
    )
    rec = [
        "recommend",
        "--model",
        str(tmp_path / "m"),
        "--out",
        str(tmp_path / "s"),
        "--engine",
        "spark",
        "--master",
        "local[2]",
        "--quiet",
    ]
    assert main(rec) == 0
    mine_l, want_l = (
        _lists(pl.read_parquet(f"{tmp_path}/s/*.parquet")),
        _lists(pl.read_parquet(tmp_path / "l.parquet")),
    )
    assert mine_l.schema == want_l.schema and mine_l.select("user_id", "item_id").equals(
        want_l.select("user_id", "item_id")
    )


def test_cli_spark_only_model_and_split_errors(spark, tmp_path, capsys):
    from recsys_embed.cli import main

    config = tmp_path / "run.toml"
    config.write_text(
        '[data]\ninteractions = "movielens-latest-small"\n[models.s]\ntype = "spark-als"\n'
    )
    assert main(["evaluate", "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "--engine spark" in capsys.readouterr().err
    config.write_text(
        '[data]\ninteractions = "movielens-latest-small"\n[split]\nmethod = "random"\n[models.p]\ntype = "popularity"\n'
    )
    code = main(
        [
            "evaluate",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "o"),
            "--engine",
            "spark",
            "--quiet",
        ]
    )
    assert code == 2 and "method = 'hash'" in capsys.readouterr().err


def test_spark_engine_loads_a_datasets_item_text_only_for_models_that_read_it(spark, tmp_path):
    from recsys_embed import preflight
    from recsys_embed.config import EngineConfig, load_config
    from recsys_embed.pipeline import VOCABULARY
    from recsys_embed.spark.jobs import SparkEngine
    from recsys_embed.spark.params import spark_vocabulary

    path = tmp_path / "run.toml"
    path.write_text(
        '[data]\ninteractions = "movielens-latest-small"\n[models.als]\ntype = "als"\n'
        '[models.s]\ntype = "spark-als"\n[models.knn]\ntype = "text-knn"\n'
    )
    config = load_config(path, spark_vocabulary(VOCABULARY))
    engine = SparkEngine(EngineConfig(name="spark"))
    assert not preflight.reads_item_text(config, ["als", "s"])  # was: every dataset run
    data, items = engine.load(config, preflight.reads_item_text(config, ["als", "s"]))
    assert items is None and engine.size(data)[:2] == (data.spark.n_users, data.spark.n_items)
    _, items = engine.load(config, preflight.reads_item_text(config, ["als", "knn"]))
    assert items is not None and {"item_id", "text"} <= set(items.columns)


# ---- configuration (no Spark needed) ------------------------------------------------------------
def test_engine_table_and_hash_split_config(tmp_path):
    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY, make_split
    from recsys_embed.spark.params import spark_vocabulary

    vocab = spark_vocabulary(VOCABULARY)
    path = tmp_path / "run.toml"
    path.write_text(
        '[data]\ninteractions = "movielens-latest-small"\n[split]\nmethod = "hash"\ntest_fraction = 0.3\nseed = 9\n'
        '[engine]\nname = "spark"\nmaster = "local[2]"\ncheckpoint_dir = "/tmp/c"\n[engine.conf]\n"spark.x" = 3\n'
        '[models.s]\ntype = "spark-als"\nalpha = 2.0\n'
    )
    config = load_config(path, vocab)
    assert config.engine.name == "spark" and config.engine.master == "local[2]"
    assert config.engine.conf == {"spark.x": "3"} and config.engine.checkpoint_dir == "/tmp/c"
    path.write_text(
        '[data]\ninteractions = "movielens-latest-small"\n[engine]\nname = "ray"\n[models.p]\ntype = "popularity"\n'
    )
    with pytest.raises(
        ConfigError, match=r"\[engine\] name = 'ray'; expected one of \['local', 'spark'\]"
    ):
        load_config(path, vocab)
    path.write_text(
        '[data]\ninteractions = "movielens-latest-small"\n[models.s]\ntype = "spark-als"\nalpha = -1\n'
    )
    with pytest.raises(ConfigError, match=r"\[models.s\].*alpha"):
        load_config(path, vocab)
    inter = rse.Interactions.from_frame(
        pl.DataFrame({"u": [1, 1, 2, 2, 3] * 40, "i": list(range(200))}), "u", "i"
    )
    from recsys_embed.config import SplitConfig

    train, test, _ = make_split(inter, SplitConfig(method="hash", test_fraction=0.3, seed=9))
    _, want_test = splits.hash_split(inter, 0.3, 9)
    assert (test.matrix != want_test.matrix).nnz == 0 and train.nnz + test.nnz == inter.nnz
