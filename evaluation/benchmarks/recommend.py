"""Benchmark (models issue): fit-time overhead of the wrappers, and recommend_all throughput.

1. Fit time on MovieLens 100K (binary, all 100k ratings) through recsys_embed vs the library
   used directly with the same parameters: ALS, BPR (implicit), LightFM. Both run in one
   process, interleaved (ours, direct, ours, ...), median of --repeats each.
2. Top-10 for every user, seen items excluded: ``Recommender.recommend_all`` vs implicit's
   ``recommend(userids=all, N=10, filter_already_liked_items=True)`` (1 thread and all cores)
   on MovieLens 100K (ALS, 64 factors) and a generated 100k-user x 20k-item, 64-factor model
   with ~50 seen items per user. Each case in its own process: peak RSS is that case's.

    python -m evaluation.benchmarks.recommend [--repeats 5]
    python -m evaluation.benchmarks.recommend --smoke --out FILE   # tiny generated data, seconds

``--smoke`` fits on a generated 100-user x 80-item log and ranks a generated 500-user x 300-item,
16-factor model (implicit on one thread only), one run each.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from evaluation.common import (
    Report,
    add_smoke_arguments,
    cache_dir,
    interleaved,
    machine,
    run_case,
    shared_datasets,
    spawn,
)

MODULE = "evaluation.benchmarks.recommend"
# the generated model of each data name: users, items, factors, seen items per user
SHAPES = {"gen100k": (100_000, 20_000, 64, 50), "tiny": (500, 300, 16, 20)}


def ml100k():
    import recsys_embed as rse

    root = shared_datasets()
    return rse.load_dataset("movielens-100k", data_dir=root, download_missing=False).interactions


def tiny_log():
    """A generated 100-user x 80-item log, 10 items per user (the smoke run's fits)."""
    import recsys_embed as rse

    rng = np.random.default_rng(0)
    n_users, n_items, per_user = 100, 80, 10
    rows = np.repeat(np.arange(n_users), per_user)
    cols = np.concatenate([rng.choice(n_items, per_user, replace=False) for _ in range(n_users)])
    ids = rse.IdMap(np.arange(n_users), "user"), rse.IdMap(np.arange(n_items))
    return rse.Interactions.from_indices(rows, cols, *ids)


def generated(cache: Path, n_users=100_000, n_items=20_000, factors=64, seen_per_user=50):
    path = cache / f"gen_{n_users}_{n_items}_{factors}.npz"
    if not path.is_file():
        rng = np.random.default_rng(0)
        rows = np.repeat(np.arange(n_users), seen_per_user)
        cols = rng.integers(0, n_items, len(rows))
        seen = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items)
        )
        seen.data[:] = 1
        np.savez(
            path,
            uf=rng.standard_normal((n_users, factors), dtype=np.float32),
            itf=rng.standard_normal((n_items, factors), dtype=np.float32),
            indptr=seen.indptr,
            indices=seen.indices,
        )
    z = np.load(path)
    seen = sp.csr_matrix(
        (np.ones(len(z["indices"]), np.float32), z["indices"], z["indptr"]),
        shape=(z["uf"].shape[0], z["itf"].shape[0]),
    )
    return z["uf"], z["itf"], seen


def our_model(uf, itf, seen):
    from recsys_embed import IdMap, models

    m = models.ALS(factors=uf.shape[1])
    m.set_factors(
        IdMap(np.arange(uf.shape[0]), "user"), IdMap(np.arange(itf.shape[0])), seen, uf, itf
    )
    return m


def implicit_model(uf, itf, threads):
    from implicit.cpu.als import AlternatingLeastSquares

    m = AlternatingLeastSquares(factors=uf.shape[1], num_threads=threads)
    m.user_factors, m.item_factors = uf, itf
    return m


def fit_case(name: str, ours: bool, data: str):
    from threadpoolctl import threadpool_limits

    from recsys_embed import models, weight_matrix

    train = (ml100k() if data == "ml100k" else tiny_log()).with_unit_weights()
    p = models.create(name).get_params()
    if ours:
        return lambda: models.create(name).fit(train)
    if name == "als":
        from implicit.cpu.als import AlternatingLeastSquares

        def direct():
            with threadpool_limits(1, "blas"):
                m = AlternatingLeastSquares(
                    factors=p["factors"],
                    regularization=p["regularization"],
                    alpha=p["alpha"],
                    iterations=p["iterations"],
                    random_state=p["random_state"],
                    num_threads=1,
                )
                m.fit(weight_matrix(train.matrix, "binary"), show_progress=False)

        return direct
    if name == "bpr":
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        def direct():
            with threadpool_limits(1, "blas"):
                m = BayesianPersonalizedRanking(
                    factors=p["factors"],
                    learning_rate=p["learning_rate"],
                    regularization=p["regularization"],
                    iterations=p["iterations"],
                    random_state=p["random_state"],
                    num_threads=1,
                )
                m.fit(train.matrix, show_progress=False)

        return direct
    from lightfm import LightFM

    coo = train.matrix.tocoo()

    def direct():
        m = LightFM(
            no_components=p["no_components"],
            loss=p["loss"],
            learning_rate=p["learning_rate"],
            random_state=p["random_state"],
        )
        m.fit(coo, epochs=p["epochs"], num_threads=1)

    return direct


def rec_case(data: str, who: str, cache: Path):
    if data == "ml100k":
        from recsys_embed import models

        train = ml100k()
        fitted = models.create("als").fit(train)
        uf, itf, seen = fitted.user_factors_, fitted.item_factors_, train.matrix
    else:
        uf, itf, seen = generated(cache, *SHAPES[data])
    if who == "ours":
        model = our_model(uf, itf, seen)
        return lambda: [c for c in model.recommend_all(k=10, chunk_size=1024)]
    threads = 1 if who == "implicit-1t" else 0
    imp = implicit_model(uf, itf, threads)
    users = np.arange(uf.shape[0])
    return lambda: imp.recommend(users, seen, N=10, filter_already_liked_items=True)


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
            run_one(args.case, args.repeats, cache)
        else:
            with Report(args.out) as report:
                run(args.smoke, args.repeats, cache, report)


def run_one(case: str, repeats: int, cache: Path) -> None:
    """One case, in this (fresh) process: print its JSON result."""
    kind, a, b = case.split(":")
    if kind == "fit":
        medians = interleaved(
            {"ours": fit_case(a, True, b), "direct": fit_case(a, False, b)}, repeats
        )
        print(json.dumps(medians))
    else:
        print(json.dumps(run_case(rec_case(a, b, cache), repeats)))


def run(smoke: bool, repeats: int, cache: Path, report: Report) -> None:
    fit_data = "tiny" if smoke else "ml100k"
    datasets = [("tiny", SHAPES["tiny"][0])] if smoke else [("ml100k", 943), ("gen100k", 100_000)]
    extra = ["--cache", str(cache)]
    report(f"Machine: {machine()}; median of {repeats} runs; each case in its own process.\n")
    if smoke:
        report("Smoke run: generated data (fits on 100 users x 80 items), one run each.\n")
    else:
        report("Fit time on MovieLens 100K, package defaults (single-threaded):\n")
    report("| model | recsys_embed s | library direct s | ratio |")
    report("|---|---:|---:|---:|")
    for name in ("als", "bpr", "lightfm"):
        r = spawn(MODULE, f"fit:{name}:{fit_data}", repeats, extra)
        report(f"| {name} | {r['ours']:.3f} | {r['direct']:.3f} | {r['ours'] / r['direct']:.3f} |")
    factors = SHAPES["tiny"][2] if smoke else 64
    report(f"\nTop-10 for every user, seen items excluded ({factors} factors):\n")
    report("| data | method | median s | users/s | peak RSS MB | working MB |")
    report("|---|---|---:|---:|---:|---:|")
    for data, n_users in datasets:
        # the smoke run skips implicit on all cores: the same call as on one
        for who in ("ours", "implicit-1t") if smoke else ("ours", "implicit-1t", "implicit-all"):
            r = spawn(MODULE, f"rec:{data}:{who}", repeats, extra)
            label = {
                "ours": "recsys_embed recommend_all (chunk 1024)",
                "implicit-1t": "implicit recommend, 1 thread",
                "implicit-all": "implicit recommend, all cores",
            }[who]
            report(
                f"| {data} | {label} | {r['median_s']:.3f} | {n_users / r['median_s']:,.0f} | "
                f"{r['peak_rss_mb']:.0f} | {r['work_peak_mb']:.0f} |"
            )


if __name__ == "__main__":
    main()
