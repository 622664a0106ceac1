"""Benchmark (command-line issue): the nightly batch at scale.

A generated 1M-user x 50k-item, 64-factor model (random factors, no seen items) is saved with
``Recommender.save``. Timed, each in its own process, median of --repeats:
  - ``recsys-embed recommend --k 10 --out recs.parquet --chunk-size C`` for two chunk sizes
    (the whole job: load the model, score, top-k, write parquet atomically), with the default
    ``--threads 1`` (BLAS single-threaded; top-k always uses every core) and with 2;
  - implicit's ``recommend(userids=all, N=10, filter_already_liked_items=False)`` on the same
    factors, all cores (scoring and top-k only: it writes nothing).
Peak RSS is the process's; users/s = 1M / median seconds.

    python -m evaluation.benchmarks.batch [--repeats 3] [--users 1000000] [--items 50000]
    python -m evaluation.benchmarks.batch --smoke --out FILE   # 2,000 x 500 model, one run each

``--smoke`` skips the chunk 2048 job without ``--threads 2``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from evaluation.common import REPO, Report, add_smoke_arguments, cache_dir, machine

SMOKE_USERS, SMOKE_ITEMS = 2_000, 500

IMPLICIT = """
import sys, numpy as np, time
from implicit.cpu.als import AlternatingLeastSquares
d = sys.argv[1]
from threadpoolctl import threadpool_limits
threadpool_limits(1, "blas")  # implicit's own threads do the work
m = AlternatingLeastSquares(factors=64, num_threads=0)
m.user_factors = np.load(d + "/user_factors.npy"); m.item_factors = np.load(d + "/item_factors.npy")
ids, scores = m.recommend(np.arange(m.user_factors.shape[0]), None, N=10, filter_already_liked_items=False)
assert ids.shape == (m.user_factors.shape[0], 10)
"""


def make_model(n_users: int, n_items: int, cache: Path) -> Path:
    from recsys_embed import IdMap, models

    path = cache / f"batch_model_{n_users}_{n_items}"
    if (path / "manifest.json").is_file():
        return path
    rng = np.random.default_rng(0)
    model = models.ALS(factors=64)
    seen = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    model.set_factors(
        IdMap(np.arange(n_users), "user"),
        IdMap(np.arange(n_items)),
        seen,
        rng.standard_normal((n_users, 64), dtype=np.float32),
        rng.standard_normal((n_items, 64), dtype=np.float32),
    )
    return model.save(path)


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError(f"{cmd} failed with status {status}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--only", help="run only the jobs whose label contains this text")
    add_smoke_arguments(ap)
    args = ap.parse_args()
    if args.smoke:
        args.users, args.items, args.repeats = SMOKE_USERS, SMOKE_ITEMS, 1
    with cache_dir(args.cache, args.smoke) as cache, Report(args.out) as report:
        run(args, cache, report)


def run(args: argparse.Namespace, cache: Path, report: Report) -> None:
    model = make_model(args.users, args.items, cache)
    out = cache / "batch_recs.parquet"
    cli = [
        sys.executable,
        "-m",
        "recsys_embed",
        "recommend",
        "--model",
        str(model),
        "--k",
        "10",
        "--out",
        str(out),
        "--quiet",
    ]
    cases = {
        "recsys-embed recommend, chunk 256": [*cli, "--chunk-size", "256"],
        "recsys-embed recommend, chunk 2048": [*cli, "--chunk-size", "2048"],
        "recsys-embed recommend, chunk 2048, --threads 2": [
            *cli,
            "--chunk-size",
            "2048",
            "--threads",
            "2",
        ],
        "implicit recommend (all cores, no output file)": [
            sys.executable,
            "-c",
            IMPLICIT,
            str(model),
        ],
    }
    report(
        f"Machine: {machine()}; {args.users:,} users x {args.items:,} items, 64 factors; "
        f"median of {args.repeats} runs, each a fresh process.\n"
    )
    report("| job | median s | users/s | peak RSS MB |")
    report("|---|---:|---:|---:|")
    if args.smoke:  # chunk 2048 alone is the same job as with --threads 2
        del cases["recsys-embed recommend, chunk 2048"]
    for label, cmd in cases.items():
        if args.only and args.only not in label:
            continue
        runs = [timed(cmd) for _ in range(args.repeats)]
        sec = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        report(f"| {label} | {sec:.1f} | {args.users / sec:,.0f} | {rss:.0f} |")
    report(json.dumps({"model_dir_mb": sum(f.stat().st_size for f in model.iterdir()) / 2**20}))


if __name__ == "__main__":
    main()
