"""Benchmark: load a generated 1M-row interaction CSV into Interactions.

Side by side, in one run, median of --repeats runs each:
  recsys_embed.read_interactions      (ids encoded, validated, duplicates aggregated, CSR built)
  pandas.read_csv + scipy coo_matrix   (a naive baseline: factorize ids, build COO -> CSR)
  polars.read_csv                      (the floor: parse only)

    python -m evaluation.benchmarks.load [--rows 1000000] [--repeats 5]
    python -m evaluation.benchmarks.load --smoke --out FILE   # 2,000 rows, one run each
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import scipy.sparse as sp

import recsys_embed as rse
from evaluation.common import Report, add_smoke_arguments, cache_dir

SMOKE_ROWS = 2_000


def make_csv(rows: int, cache: Path, seed: int = 0) -> Path:
    path = cache / f"interactions_{rows}_{seed}.csv"
    if path.is_file():
        return path
    rng = np.random.default_rng(seed)
    n_users, n_items = max(rows // 20, 1), max(rows // 50, 1)
    # long-tailed item popularity, as real logs have (weight of item k ~ 1 / (k + 10))
    popularity = 1.0 / (np.arange(n_items) + 10.0)
    items = rng.choice(n_items, size=rows, p=popularity / popularity.sum())
    frame = pl.DataFrame(
        {
            "user_id": rng.integers(0, n_users, rows),
            "item_id": items,
            "rating": rng.integers(1, 11, rows) / 2.0,
            "timestamp": rng.integers(1_500_000_000, 1_700_000_000, rows),
        }
    )
    frame.write_csv(path)
    return path


def naive(path: Path) -> sp.csr_matrix:
    df = pd.read_csv(path)
    u, _ = pd.factorize(df["user_id"], sort=True)
    i, _ = pd.factorize(df["item_id"], sort=True)
    coo = sp.coo_matrix((df["rating"].to_numpy(np.float32), (u, i)))
    return coo.tocsr()


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    add_smoke_arguments(ap)
    args = ap.parse_args()
    if args.smoke:
        args.rows, args.repeats = SMOKE_ROWS, 1
    with cache_dir(args.cache, args.smoke) as cache, Report(args.out) as report:
        run(make_csv(args.rows, cache), args, report)


def run(path: Path, args: argparse.Namespace, report: Report) -> None:
    inter = rse.read_interactions(path, "user_id", "item_id", "rating", "timestamp")
    assert inter.nnz + inter.n_duplicates == args.rows
    runs = {
        "recsys_embed.read_interactions": lambda: rse.read_interactions(
            path, "user_id", "item_id", "rating", "timestamp"
        ),
        "pandas.read_csv + coo_matrix": lambda: naive(path),
        "polars.read_csv (floor)": lambda: pl.read_csv(path),
    }
    results = {name: median_seconds(fn, args.repeats) for name, fn in runs.items()}
    floor = results["polars.read_csv (floor)"]
    report(
        f"{args.rows:,} rows, {inter.n_users:,} users x {inter.n_items:,} items, "
        f"{inter.n_duplicates:,} duplicate rows aggregated; median of {args.repeats}"
    )
    report("| loader | median s | vs polars.read_csv |")
    report("|---|---:|---:|")
    for name, sec in results.items():
        report(f"| {name} | {sec:.3f} | {sec / floor:.2f}x |")


if __name__ == "__main__":
    main()
