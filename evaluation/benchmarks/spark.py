"""Benchmark: the Spark engine beside the one-process path.

batch: a generated model (default 1M users x 50k items x 64 factors, 10 seen items per user,
random factors) is saved once. Timed from the loaded model to the published parquet output:
  - the local batch (``write_recommendations``, chunk 1024) with BLAS at 1 and at 2 threads;
  - the Spark batch (``recommend_to_parquet`` on local[2], chunk 1024) with the users in 1 and in
    2 partitions (one and two cores' worth), in one session (its ~15 s start not counted).
Each case runs in its own process; Spark runs are interleaved (1, 2, 1, 2, ...). Peak memory:
the local process's peak RSS; for Spark, the peak summed RSS of its Python workers (the
executors' scoring processes) and of the JVM, sampled every 0.2 s from /proc. The two outputs
are compared list by list (after an untimed warm-up batch of 2,000 users that starts
the Python workers) (users with identical top-10, and the score gap where they differ).

als: MovieLens 100K, hash split 0.25 (seed 42): MLlib ALS on local[2] and the package's ALS at
the mapped parameters (``recsys_embed.spark.params.implicit_equivalent``: alpha + 1,
regularization = regParam x c with c = sqrt(sum n_u^2 * sum n_i^2) / nnz), fit seconds and
NDCG@10 from the same evaluator, at MLlib's default regParam and alpha (0.1, 1), at 0.2 with
alpha 1 and 4, and at the MLlib equivalent of the package's ALS defaults. Then the package's ALS
over a grid of regularizations (30 per alpha, interpolated in log regularization) gives, for each
Spark setting, the factors c that would land within 0.005 of Spark's NDCG@10; and the
norm-weighted mean counts at the mapped fit's factors, which c stands for. Last, the package's
``als-wr`` (MLlib's own objective) at exactly Spark's parameters, three seeds.

    nice -n 5 python -m evaluation.benchmarks.spark batch [--users 1000000] [--items 50000]
        [--repeats 1]
    nice -n 5 python -m evaluation.benchmarks.spark als
    python -m evaluation.benchmarks.spark batch --smoke [--spark] --out FILE

``batch --smoke`` runs the batch on a generated 2,000-user x 500-item model, one run each: the
local half only (seconds), and with ``--spark`` the Spark half and the list comparison too
(a Spark session: about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from evaluation.common import (
    REPO,
    Report,
    add_smoke_arguments,
    cache_dir,
    machine,
    shared_datasets,
)

MODULE = "evaluation.benchmarks.spark"
SEEN = 10
SMOKE_USERS, SMOKE_ITEMS = 2_000, 500


def make_model(n_users: int, n_items: int, cache: Path) -> Path:
    from recsys_embed import IdMap, models

    path = cache / f"spark_model_{n_users}_{n_items}"
    if (path / "manifest.json").is_file():
        return path
    rng = np.random.default_rng(0)
    cols = rng.integers(0, n_items, size=(n_users, SEEN))
    seen = sp.csr_matrix(
        (np.ones(n_users * SEEN, np.float32), cols.ravel(), np.arange(n_users + 1) * SEEN),
        shape=(n_users, n_items),
    )
    seen.sum_duplicates()
    model = models.ALS(factors=64)
    model.set_factors(
        IdMap(np.arange(n_users), "user"),
        IdMap(np.arange(n_items)),
        seen,
        rng.standard_normal((n_users, 64), dtype=np.float32),
        rng.standard_normal((n_items, 64), dtype=np.float32),
    )
    return model.save(path)


class RssSampler:
    """Peak RSS (MB) of this process's descendants: JVM and Python workers, summed per kind."""

    def __init__(self) -> None:
        self.peak = {"jvm": 0.0, "python_workers": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _children(self) -> dict[int, tuple[int, str, float]]:
        procs = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                status = (d / "status").read_text()
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            rss = float(fields.get("VmRSS", "0 kB").split()[0]) / 1024
            procs[int(d.name)] = (int(fields["PPid"]), cmd, rss)
        return procs

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            procs = self._children()
            mine = {me}
            changed = True
            while changed:
                changed = False
                for pid, (ppid, _, _) in procs.items():
                    if ppid in mine and pid not in mine:
                        mine.add(pid)
                        changed = True
            jvm = sum(procs[p][2] for p in mine if p != me and "java" in procs[p][1])
            py = sum(procs[p][2] for p in mine if p != me and "pyspark" in procs[p][1])
            self.peak["jvm"] = max(self.peak["jvm"], jvm)
            self.peak["python_workers"] = max(self.peak["python_workers"], py)
            time.sleep(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def case_local(model_dir: str, threads: int, repeats: int, cache: Path) -> dict:
    from threadpoolctl import threadpool_limits

    from recsys_embed.batch import write_recommendations
    from recsys_embed.models.registry import load

    model = load(model_dir)
    out = cache / "spark_bench_local.parquet"
    times = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(repeats):
            t0 = time.perf_counter()
            write_recommendations(model, out, k=10, chunk_size=1024)
            times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"times": times, "peak_rss_mb": rss}


def case_spark(model_dir: str, repeats: int, cache: Path) -> dict:
    from recsys_embed.models.registry import load
    from recsys_embed.spark.scoring import recommend_to_parquet
    from recsys_embed.spark.session import get_session

    model = load(model_dir)
    spark = get_session("local[2]", {"spark.driver.memory": "6g"})
    times: dict[int, list[float]] = {1: [], 2: []}
    warm = cache / "spark_bench_warmup_users.txt"
    warm.write_text("\n".join(str(u) for u in model.user_map_.ids[:2000]))
    for parts in (1, 2):  # start the Python workers (imports) before timing
        recommend_to_parquet(
            spark, model, str(cache / "spark_bench_warm"), 10, str(warm), partitions=parts
        )
    with RssSampler() as sampler:
        for _ in range(repeats):
            for parts in (1, 2):
                out = str(cache / f"spark_bench_spark_{parts}")
                t0 = time.perf_counter()
                recommend_to_parquet(spark, model, out, k=10, chunk_size=1024, partitions=parts)
                times[parts].append(time.perf_counter() - t0)
    return {"times": {str(k): v for k, v in times.items()}, "peak_mb": sampler.peak}


def compare(local: Path, spark_dir: Path) -> dict:
    import polars as pl

    a = pl.read_parquet(local).sort("user_id", "rank")
    b = pl.read_parquet(f"{spark_dir}/*.parquet").sort("user_id", "rank")
    la = a.group_by("user_id").agg("item_id", "score").sort("user_id")
    lb = b.group_by("user_id").agg("item_id", "score").sort("user_id")
    same = (la["item_id"] == lb["item_id"]).to_numpy()
    diff_users = la.filter(~same)
    gap = 0.0
    if diff_users.height:
        sa = np.concatenate(diff_users["score"].to_list())
        sb = np.concatenate(lb.filter(~same)["score"].to_list())
        gap = float(np.max(np.abs(np.sort(sa) - np.sort(sb))))
    slots = int((a["item_id"] != b["item_id"]).sum()) if a.height == b.height else -1
    return {
        "users": la.height,
        "same_users": int(same.sum()),
        "differing_slots": slots,
        "max_score_gap": gap,
    }


def run_batch(args: argparse.Namespace) -> None:
    if args.smoke:
        args.users, args.items, args.repeats = SMOKE_USERS, SMOKE_ITEMS, 1
    with_spark = args.spark or not args.smoke
    with cache_dir(args.cache, args.smoke) as cache, Report(args.out) as report:
        batch_report(args, with_spark, cache, report)


def batch_report(args: argparse.Namespace, with_spark: bool, cache: Path, report: Report) -> None:
    model = make_model(args.users, args.items, cache)
    here = [
        *(sys.executable, "-m", MODULE, "case", "--model", str(model)),
        *("--repeats", str(args.repeats), "--cache", str(cache)),
    ]
    cases = [("local1", ["local", "1"]), ("local2", ["local", "2"])]
    if with_spark:
        cases.append(("spark", ["spark", "0"]))
    results = {}
    for label, extra in cases:
        out = subprocess.run([*here, *extra], capture_output=True, text=True, check=False, cwd=REPO)
        if out.returncode != 0:
            raise RuntimeError(f"{label} failed:\n{out.stderr[-3000:]}")
        results[label] = json.loads(out.stdout.strip().splitlines()[-1])
    same = None
    if with_spark:
        same = compare(cache / "spark_bench_local.parquet", cache / "spark_bench_spark_2")
    n = args.users
    report(
        f"Machine: {machine()} (busy, shared); {n:,} users x {args.items:,} items x 64 factors, "
        f"{SEEN} seen items per user, k = 10; median of {args.repeats} run(s).\n"
    )
    report("| job | median s | users/s | peak memory MB |")
    report("|---|---:|---:|---:|")
    for t in ("1", "2"):
        r = results[f"local{t}"]
        sec = statistics.median(r["times"])
        report(
            f"| local batch, BLAS {t} thread(s) | {sec:.1f} | {n / sec:,.0f} | {r['peak_rss_mb']:.0f} (process) |"
        )
    s = results.get("spark", {"times": {}})
    for p in s["times"]:
        sec = statistics.median(s["times"][p])
        mem = s["peak_mb"]
        report(
            f"| Spark local[2], {p} partition(s) | {sec:.1f} | {n / sec:,.0f} | "
            f"{mem['python_workers']:.0f} (Python workers) + {mem['jvm']:.0f} (JVM) |"
        )
    report()
    report(json.dumps({"raw": results, "lists": same}))


def _within(grid: list[tuple[float, float]], target: float, reg: float, tol: float) -> str:
    """Ranges of c = regularization / regParam whose interpolated NDCG is within ``tol``."""
    logs = np.log([g for g, _ in grid])
    fine = np.linspace(logs[0], logs[-1], 4000)
    ok = np.abs(np.interp(fine, logs, [v for _, v in grid]) - target) <= tol
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
    runs = [
        (np.exp(fine[a]) / reg, np.exp(fine[b - 1]) / reg)
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]
    return ", ".join(f"{lo:.0f}-{hi:.0f}" for lo, hi in runs) or "none"


def _package_als(train: Any, regularization: float, alpha: float) -> Any:
    from recsys_embed.models.registry import create

    params = {"factors": 64, "iterations": 15, "random_state": 0, "num_threads": 0}
    return create("als", regularization=regularization, alpha=alpha, **params).fit(train)


def run_als(args: argparse.Namespace) -> None:
    import recsys_embed as rse
    from recsys_embed.data import splits
    from recsys_embed.evaluate import evaluate
    from recsys_embed.models.als import ALS
    from recsys_embed.models.base import Recommender
    from recsys_embed.models.registry import create
    from recsys_embed.spark.als import fit_spark_als
    from recsys_embed.spark.data import from_local
    from recsys_embed.spark.params import (
        alswr_equivalent,
        equivalent_ridge_scale,
        implicit_equivalent,
    )
    from recsys_embed.spark.session import get_session

    data = shared_datasets()
    inter = rse.load_dataset("movielens-100k", data_dir=data, download_missing=False).interactions
    train, test = splits.hash_split(inter, 0.25, seed=42)
    user_counts = np.diff(train.matrix.indptr)
    item_counts = np.bincount(train.matrix.indices, minlength=train.n_items)
    scale = equivalent_ridge_scale(user_counts, item_counts)

    def ndcg(model: Recommender) -> float:
        return evaluate({"m": model}, train, test, k=[10], metrics=["ndcg"]).mean("m", "ndcg", 10)

    defaults = ALS.PARAMS
    settings = [
        (0.1, 1.0, "MLlib's defaults"),
        (0.2, 1.0, ""),
        (0.2, 4.0, ""),
        (
            defaults["regularization"].default / scale,
            defaults["alpha"].default - 1.0,
            "the package ALS's defaults",
        ),
    ]
    spark = get_session("local[2]")
    strain = from_local(spark, train).cache()
    strain.frame.count()
    rows = []
    for reg, alpha, note in settings:
        params = {"factors": 64, "regularization": reg, "alpha": alpha, "iterations": 15}
        sm = fit_spark_als(spark, strain, {**params, "blocks": 2})
        mapped = implicit_equivalent(
            {**params, "weighting": "binary", "random_state": 0}, user_counts, item_counts
        )
        lm = create("als", **mapped, num_threads=0).fit(train)
        exact = alswr_equivalent({**params, "weighting": "binary", "random_state": 0})
        wr = [create("als-wr", **{**exact, "random_state": s}).fit(train) for s in (0, 1, 2)]
        wr_ndcg = [ndcg(m) for m in wr]
        x2 = (lm.user_factors_.astype(np.float64) ** 2).sum(axis=1)
        y2 = (lm.item_factors_.astype(np.float64) ** 2).sum(axis=1)
        norm_weighted = np.sqrt(x2 @ user_counts / x2.sum() * (y2 @ item_counts / y2.sum()))
        rows.append(
            (
                reg,
                alpha,
                note,
                mapped,
                sm.fit_seconds_,
                ndcg(sm),
                lm.fit_seconds_,
                ndcg(lm),
                norm_weighted,
                wr_ndcg,
                float(np.median([m.fit_seconds_ or 0.0 for m in wr])),
            )
        )
    spark.stop()
    grids: dict[float, list[tuple[float, float]]] = {}
    for alpha in sorted({1.0 + a for _, a, _ in settings}):
        grids[alpha] = [
            (lam, ndcg(_package_als(train, lam, alpha)))
            for lam in np.geomspace(4.0, 40.0 * alpha, 30).tolist()
        ]
    mean_user = train.nnz / train.n_users
    ew_u = float(np.dot(user_counts, user_counts)) / train.nnz
    ew_i = float(np.dot(item_counts, item_counts)) / train.nnz
    print(
        f"Machine: {machine()} (busy, shared); MovieLens 100K, hash split 0.25 seed 42, "
        f"{train.n_users} users x {train.n_items} items, {train.nnz:,} train entries; 64 factors, "
        "15 iterations, seed 0; Spark local[2], 2 blocks; one run each.\n"
    )
    print(
        f"Mapping: regularization = regParam x c, c = sqrt(sum n_u^2 x sum n_i^2) / nnz = "
        f"sqrt({ew_u:.1f} x {ew_i:.1f}) = {scale:.1f} (entry-weighted mean entries per user x per "
        f"item; the earlier mapping used the plain mean per user, {mean_user:.1f}); alpha + 1.\n"
    )
    print(
        "| Spark regParam, alpha | package ALS (mapped) regularization, alpha | Spark fit s | "
        "Spark NDCG@10 | package fit s | package NDCG@10 | difference | c within 0.005 | "
        "c at the package's solution |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|")
    for reg, alpha, note, m, st, sn, lt, ln, nw, _, _ in rows:
        label = f"{reg:.3g}, {alpha:g}" + (f" ({note})" if note else "")
        print(
            f"| {label} | {m['regularization']:.2f}, {m['alpha']:g} | {st:.1f} | {sn:.4f} | "
            f"{lt:.1f} | {ln:.4f} | {sn - ln:+.4f} | {_within(grids[m['alpha']], sn, reg, 0.005)} | "
            f"{nw:.1f} |"
        )
    print(
        "\nThe package's `als-wr` (MLlib's objective: ridge regParam x each row's count, "
        "confidence (1 + alpha) on binary data) at exactly Spark's parameters, seeds 0, 1, 2:\n"
    )
    print(
        "| Spark regParam, alpha | Spark NDCG@10 | als-wr NDCG@10 (seeds 0 / 1 / 2) | "
        "difference (Spark - als-wr mean) | als-wr fit s (median) |"
    )
    print("|---|---:|---|---:|---:|")
    for reg, alpha, note, _, _, sn, _, _, _, wn, wt in rows:
        label = f"{reg:.3g}, {alpha:g}" + (f" ({note})" if note else "")
        seeds = " / ".join(f"{v:.4f}" for v in wn)
        print(f"| {label} | {sn:.4f} | {seeds} | {sn - float(np.mean(wn)):+.4f} | {wt:.1f} |")
    print("\nThe package's ALS over the grid (regularization: NDCG@10):\n")
    for alpha, grid in grids.items():
        best = max(grid, key=lambda g: g[1])
        points = ", ".join(f"{lam:.1f}: {v:.4f}" for lam, v in grid[::3])
        print(f"- alpha {alpha:g}: best {best[1]:.4f} at {best[0]:.1f}; {points}")
    print(
        "\nc within 0.005: the factors regularization / regParam at which the package's ALS lands "
        "within 0.005 of Spark's NDCG@10 (grid interpolated in log regularization). c at the "
        "package's solution: sqrt(sum n_u |x_u|^2 / sum |x_u|^2 x sum n_i |y_i|^2 / sum |y_i|^2) "
        "over the mapped fit's factors (the norm-weighted counts that c stands for)."
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    b = sub.add_parser("batch")
    b.add_argument("--users", type=int, default=1_000_000)
    b.add_argument("--items", type=int, default=50_000)
    b.add_argument("--repeats", type=int, default=1)
    add_smoke_arguments(b)
    b.add_argument("--spark", action="store_true", help="with --smoke: the Spark half too")
    sub.add_parser("als")
    c = sub.add_parser("case")
    c.add_argument("kind")
    c.add_argument("threads", type=int)
    c.add_argument("--model", required=True)
    c.add_argument("--repeats", type=int, default=1)
    c.add_argument("--cache", type=Path, required=True)
    args = ap.parse_args()
    if args.what == "batch":
        run_batch(args)
    elif args.what == "als":
        run_als(args)
    elif args.kind == "local":
        print(json.dumps(case_local(args.model, args.threads, args.repeats, args.cache)))
    else:
        print(json.dumps(case_spark(args.model, args.repeats, args.cache)))


if __name__ == "__main__":
    main()
