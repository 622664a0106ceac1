"""Benchmark: peak memory (and time) of an EASE fit on ml-latest-small (9,724 items).

Side by side, each in a fresh subprocess (peak RSS is per process), median of --repeats runs:
  recsys_embed's EASE   float32 Gram matrix by one BLAS product, Cholesky inverse in place
  previous formula      float64: sparse X^T X -> dense, numpy.linalg.inv, scaled copy, transposed
                        copy (what models/ease.py did before; kept here as the reference)
Both give the same item-item weights (to float32 precision).

    python evaluation/bench_ease_memory.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
import numpy as np, scipy.sparse as sp
import recsys_embed as rse
inter = rse.load_dataset("movielens-latest-small").interactions
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if sys.argv[1] == "recsys_embed":
    rse.models.create("ease", l2=500.0).fit(inter, show_progress=False)
else:
    x = sp.csr_matrix((np.ones(inter.nnz), inter.matrix.indices, inter.matrix.indptr),
                      shape=inter.matrix.shape)
    gram = (x.T @ x).toarray()
    gram[np.diag_indices_from(gram)] += 500.0
    inv = np.linalg.inv(gram)
    weights = inv / -np.diag(inv)
    weights[np.diag_indices_from(weights)] = 0.0
    users, items = x.toarray(), np.ascontiguousarray(weights.T, dtype=np.float32)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_mb": peak / 1024, "before_mb": base / 1024, "seconds": seconds}))
"""


def run(kind: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(
        "| EASE fit, ml-latest-small (610 users x 9,724 items) | peak RSS MB | "
        "of which before the fit | median fit s |"
    )
    print("|---|---:|---:|---:|")
    for kind in ("recsys_embed", "previous float64 formula"):
        runs = [run(kind) for _ in range(args.repeats)]
        peak = statistics.median(r["peak_mb"] for r in runs)
        before = statistics.median(r["before_mb"] for r in runs)
        secs = statistics.median(r["seconds"] for r in runs)
        print(f"| {kind} | {peak:.0f} | {before:.0f} | {secs:.1f} |")


if __name__ == "__main__":
    main()
