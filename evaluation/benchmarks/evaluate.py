"""Benchmark (evaluator issue): a full evaluation, side by side with implicit's.

All test users, top-10, train items excluded, recall + NDCG + precision + MAP, of a 64-factor
ALS on MovieLens 100K (per-user 75/25 split, seed 42) and on a generated 100k-user x 20k-item
model (50 train and 10 test items per user): ``recsys_embed.evaluate.evaluate`` at two chunk
sizes vs ``implicit.evaluation.ranking_metrics_at_k`` (1 thread and all cores) on the same
factors. Median of --repeats; each case in its own process (peak RSS is that case's).

    python -m evaluation.benchmarks.evaluate [--repeats 5]
    python -m evaluation.benchmarks.evaluate --smoke --out FILE   # tiny generated data, seconds

``--smoke`` evaluates a generated 500-user x 300-item, 16-factor model (20 train and 10 test
items per user), one run each, at chunk 1024 and implicit on one thread only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from evaluation.benchmarks.recommend import SHAPES, generated, implicit_model, ml100k
from evaluation.common import Report, add_smoke_arguments, cache_dir, machine, run_case, spawn

MODULE = "evaluation.benchmarks.evaluate"
SKIPPED_BY_SMOKE = ("ours-256", "implicit-all")  # the same calls as ours-1024, implicit-1t


def split_and_factors(data: str, cache: Path):
    import recsys_embed as rse
    from recsys_embed import models

    if data == "ml100k":
        train, test = rse.split.random_split(ml100k(), 0.25, "user", 42)
        model = models.create("als").fit(train)
        return train, test, model.user_factors_, model.item_factors_
    uf, itf, seen = generated(cache, *SHAPES[data])
    rng = np.random.default_rng(1)
    n_users, n_items = seen.shape
    rows = np.repeat(np.arange(n_users), 10)
    test = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, rng.integers(0, n_items, len(rows)))),
        shape=seen.shape,
    )
    test = (test - test.multiply(seen)).tocsr()  # test items never in train
    test.eliminate_zeros()
    test.data[:] = 1
    ids = rse.IdMap(np.arange(n_users), "user"), rse.IdMap(np.arange(n_items))

    def inter(m):
        coo = m.tocoo()
        return rse.Interactions.from_indices(coo.row, coo.col, *ids)

    return inter(seen), inter(test), uf, itf


def case(data: str, who: str, cache: Path):
    from recsys_embed import models
    from recsys_embed.evaluate import evaluate

    train, test, uf, itf = split_and_factors(data, cache)
    if who.startswith("ours"):
        chunk = int(who.split("-")[1])
        model = models.ALS(factors=uf.shape[1])
        model.set_factors(train.user_map, train.item_map, train.matrix, uf, itf)
        return lambda: evaluate(
            {"als": model},
            train,
            test,
            k=[10],
            metrics=["recall", "ndcg", "precision", "map"],
            chunk_size=chunk,
        )
    from implicit.evaluation import ranking_metrics_at_k

    threads = 1 if who == "implicit-1t" else 0
    imp = implicit_model(uf, itf, threads)
    return lambda: ranking_metrics_at_k(
        imp, train.matrix, test.matrix, K=10, show_progress=False, num_threads=threads
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--case")
    add_smoke_arguments(ap)
    args = ap.parse_args()
    if args.smoke:
        args.repeats = 1
    with cache_dir(args.cache, args.smoke) as cache:
        if args.case:
            data, who = args.case.split(":")
            print(json.dumps(run_case(case(data, who, cache), args.repeats)))
        else:
            with Report(args.out) as report:
                run(args.smoke, args.repeats, cache, report)


def run(smoke: bool, repeats: int, cache: Path, report: Report) -> None:
    report(f"Machine: {machine()}; median of {repeats} runs; each case in its own process.\n")
    report("| data | method | median s | peak RSS MB | working MB |")
    report("|---|---|---:|---:|---:|")
    labels = {
        "ours-256": "recsys_embed evaluate, chunk 256",
        "ours-1024": "recsys_embed evaluate, chunk 1024",
        "implicit-1t": "implicit ranking_metrics_at_k, 1 thread",
        "implicit-all": "implicit ranking_metrics_at_k, all cores",
    }
    for data in ("tiny",) if smoke else ("ml100k", "gen100k"):
        for who, label in labels.items():
            if smoke and who in SKIPPED_BY_SMOKE:
                continue
            r = spawn(MODULE, f"{data}:{who}", repeats, ["--cache", str(cache)])
            report(
                f"| {data} | {label} | {r['median_s']:.3f} | {r['peak_rss_mb']:.0f} | "
                f"{r['work_peak_mb']:.0f} |"
            )


if __name__ == "__main__":
    main()
