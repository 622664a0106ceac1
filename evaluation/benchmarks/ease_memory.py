"""Benchmark: peak memory (and time) of an EASE fit on ml-latest-small (9,724 items).

Side by side, each in a fresh subprocess (peak RSS is per process), median of --repeats runs:
  recsys_embed's EASE   float32 Gram matrix by one BLAS product, Cholesky inverse in place
  previous formula      float64: sparse X^T X -> dense, numpy.linalg.inv, scaled copy, transposed
                        copy (what models/ease.py did before; kept here as the reference)
Both give the same item-item weights (to float32 precision).

    python -m evaluation.benchmarks.ease_memory [--repeats 3]
    python -m evaluation.benchmarks.ease_memory --smoke --out FILE   # 300 x 400 generated log

``--smoke`` fits both on a generated 300-user x 400-item log instead, one run each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from evaluation.common import REPO, Report, add_smoke_arguments

CHILD = r"""
import json, resource, sys, time
import numpy as np, scipy.sparse as sp
import recsys_embed as rse
if sys.argv[2] == "smoke":
    rng = np.random.default_rng(0)
    ids = rse.IdMap(np.arange(300), "user"), rse.IdMap(np.arange(400))
    users, items = rng.integers(0, 300, 3000), rng.integers(0, 400, 3000)
    inter = rse.Interactions.from_indices(users, items, *ids)
else:
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


def run(kind: str, data: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, data],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    add_smoke_arguments(ap, cache=False)
    args = ap.parse_args()
    if args.smoke:
        args.repeats = 1
    data = "smoke" if args.smoke else "movielens-latest-small"
    shape = (
        "generated (300 users x 400 items)"
        if args.smoke
        else "ml-latest-small (610 users x 9,724 items)"
    )
    with Report(args.out) as report:
        report(f"| EASE fit, {shape} | peak RSS MB | of which before the fit | median fit s |")
        report("|---|---:|---:|---:|")
        for kind in ("recsys_embed", "previous float64 formula"):
            runs = [run(kind, data) for _ in range(args.repeats)]
            peak = statistics.median(r["peak_mb"] for r in runs)
            before = statistics.median(r["before_mb"] for r in runs)
            secs = statistics.median(r["seconds"] for r in runs)
            report(f"| {kind} | {peak:.0f} | {before:.0f} | {secs:.1f} |")


if __name__ == "__main__":
    main()
