"""Benchmark (issue 23): exact top-k against approximate nearest-neighbour libraries.

Item and user vectors that look like real ones: the package's ALS (64 factors, defaults) is
fitted on MovieLens latest-small; a Gaussian mixture (16 full-covariance components, seed 0) is
fitted to its item factors (and one to its user factors) and sampled; each sampled vector's norm
is then replaced by the real norm of the same rank (the sampled norms sorted against the real
norms' quantiles), so the directions keep the mixture's clusters and covariance (its spectrum)
and the norms keep the real, long-tailed distribution. The report prints the top singular values
and norm quantiles of both, so the match can be checked.

For exact search and each library at three or more settings: recall@10 against exact (the
top-10 by dot product, no item excluded), users/s on 1 and 2 threads, single-threaded build time
(the package builds that way, for a deterministic index), the serialized index's bytes per item
and the build's peak memory above the vectors (each library in its own process). ``--ndcg`` adds
NDCG@10 with ``retrieval="ann"`` against exact through the package's evaluator on MovieLens
latest-small, 100K and 1M (``ml-1m-pairs``; ALS defaults, random 75/25 per-user split, seed 42).

    python -m evaluation.benchmarks.retrieval --items 1000000 --users 100000   # the full run
    python -m evaluation.benchmarks.retrieval --items 200000 --users 20000     # a busy machine
    python -m evaluation.benchmarks.retrieval --smoke                          # seconds
    python -m evaluation.benchmarks.retrieval --ndcg-only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "evaluation" / ".cache" / "retrieval"
DATA = Path(os.environ.get("RECSYS_EMBED_DATA", ROOT.parent / "shared" / "datasets"))
K = 10
# library -> (build settings, search settings); the search setting is the first name's value
SETTINGS: dict[str, tuple[dict[str, int], str, list[int]]] = {
    "faiss-hnsw": ({"M": 32, "ef_construction": 128}, "ef_search", [32, 64, 128, 256]),
    "hnswlib": ({"M": 32, "ef_construction": 128}, "ef", [32, 64, 128, 256]),
    "usearch": ({"connectivity": 32, "expansion_add": 128}, "expansion_search", [32, 64, 128, 256]),
    "voyager": ({"M": 32, "ef_construction": 128}, "ef", [32, 64, 128, 256]),
    "faiss-ivf": ({"nlist": 1024}, "nprobe", [8, 16, 32, 64]),
    # inner product as L2 with one extra dimension (sqrt(R^2 - |v|^2) on items, 0 on queries)
    "faiss-l2-m16": ({"M": 16, "ef_construction": 128}, "ef_search", [64, 128, 256]),
    "faiss-l2-m32": ({"M": 32, "ef_construction": 128}, "ef_search", [64, 128, 256]),
    # the package's AnnRetrieval end to end: fetch k + overfetch, exact re-score, ranking rules
    "recsys-embed-ann": ({"M": 16, "ef_construction": 128}, "ef_search", [128, 256, 384, 512]),
    "recsys-embed-ann-c256": ({"M": 16, "ef_construction": 256}, "ef_search", [128, 256, 384]),
}


# ---- vectors that look like real ones --------------------------------------------------------
def real_factors() -> tuple[np.ndarray, np.ndarray]:
    import recsys_embed as rse

    inter = rse.load_dataset(
        "movielens-latest-small", data_dir=DATA, download_missing=False
    ).interactions
    model = rse.models.ALS(random_state=0).fit(inter, show_progress=False)
    return model.user_factors_, model.item_factors_


def sample_like(real: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` vectors from a Gaussian mixture fitted to ``real``, with ``real``'s norm quantiles."""
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(16, covariance_type="full", random_state=seed, reg_covar=1e-6)
    gmm.fit(real.astype(np.float64))
    out = gmm.sample(n)[0]
    rng = np.random.default_rng(seed)
    out = out[rng.permutation(n)]  # sample() returns the components in order
    norms = np.linalg.norm(out, axis=1)
    target = np.quantile(np.linalg.norm(real, axis=1), (np.arange(n) + 0.5) / n)
    order = np.argsort(norms)
    scale = np.empty(n)
    scale[order] = target / np.maximum(norms[order], 1e-12)
    return np.ascontiguousarray(out * scale[:, None], dtype=np.float32)


def describe(real: np.ndarray, fake: np.ndarray) -> str:
    def sv(x: np.ndarray) -> str:
        s = np.linalg.svd(x[:20000] / np.sqrt(min(len(x), 20000)), compute_uv=False)
        return " ".join(f"{v:.2f}" for v in s[:5])

    def nq(x: np.ndarray) -> str:
        return " ".join(f"{v:.2f}" for v in np.quantile(np.linalg.norm(x, axis=1), [0.1, 0.5, 0.9]))

    return (
        f"top singular values / sqrt(n): real {sv(real)}; generated {sv(fake)}. "
        f"Norm quantiles 10/50/90%: real {nq(real)}; generated {nq(fake)}"
    )


def vectors(n_items: int, n_users: int) -> tuple[np.ndarray, np.ndarray, str]:
    path = CACHE / f"vectors_{n_items}_{n_users}.npz"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        users, items = real_factors()
        gen_items, gen_users = sample_like(items, n_items, 0), sample_like(users, n_users, 1)
        note = describe(items, gen_items)
        np.savez(path, items=gen_items, users=gen_users, note=np.array(note))
    z = np.load(path)
    return z["items"], z["users"], str(z["note"])


def truth(items: np.ndarray, users: np.ndarray) -> np.ndarray:
    path = CACHE / f"truth_{len(items)}_{len(users)}.npy"
    if not path.is_file():
        from recsys_embed.models.retrieval import ExactRetrieval, top_k

        idx, _ = top_k(ExactRetrieval(items), users, K, chunk_size=512)
        np.save(path, idx)
    return np.load(path)


# ---- the libraries ---------------------------------------------------------------------------
def build(lib: str, items: np.ndarray, params: dict[str, int]):
    n, d = items.shape
    if lib.startswith(("faiss-l2", "recsys-embed-ann")):
        from recsys_embed.models.ann import AnnRetrieval, AnnSettings, build_index

        settings = AnnSettings(m=params["M"], ef_construction=params["ef_construction"])
        index = build_index(items, settings)
        return index if lib.startswith("faiss-l2") else AnnRetrieval(items, index, settings)
    if lib == "faiss-hnsw":
        import faiss

        faiss.omp_set_num_threads(1)
        index = faiss.IndexHNSWFlat(d, params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["ef_construction"]
        index.add(items)
        return index
    if lib == "faiss-ivf":
        import faiss

        faiss.omp_set_num_threads(1)
        quant = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quant, d, params["nlist"], faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = 0
        index.train(items[np.random.default_rng(0).permutation(n)[: 64 * params["nlist"]]])
        index.add(items)
        return index
    if lib == "hnswlib":
        import hnswlib

        index = hnswlib.Index(space="ip", dim=d)
        index.init_index(n, params["M"], params["ef_construction"], random_seed=0)
        index.add_items(items, np.arange(n), num_threads=1)
        return index
    if lib == "usearch":
        from usearch.index import Index

        index = Index(
            ndim=d,
            metric="ip",
            dtype="f32",
            connectivity=params["connectivity"],
            expansion_add=params["expansion_add"],
        )
        index.add(np.arange(n), items, threads=1)
        return index
    if lib == "voyager":
        import voyager

        index = voyager.Index(
            voyager.Space.InnerProduct,
            d,
            M=params["M"],
            ef_construction=params["ef_construction"],
            random_seed=0,
            max_elements=n,
        )
        index.add_items(items, np.arange(n), num_threads=1)
        return index
    raise ValueError(lib)


def index_bytes(lib: str, index) -> int:
    if lib.startswith("recsys-embed-ann"):
        index = index.index
    if lib.startswith(("faiss", "recsys-embed-ann")):
        import faiss

        return int(faiss.serialize_index(index).nbytes)
    if lib == "usearch":
        return len(index.save())
    if lib == "voyager":
        return len(index.as_bytes())
    path = CACHE / "hnswlib.bin"
    index.save_index(str(path))
    size = path.stat().st_size
    path.unlink()
    return size


def search(lib: str, index, users: np.ndarray, setting: int, threads: int) -> np.ndarray:
    if lib.startswith("recsys-embed-ann"):
        from dataclasses import replace

        from recsys_embed.models.retrieval import top_k

        index.settings = replace(index.settings, ef_search=setting)
        index.threads = index.exact.threads = threads
        return top_k(index, users, K, chunk_size=1024)[0]
    if lib.startswith("faiss-l2"):
        import faiss

        faiss.omp_set_num_threads(threads)
        index.hnsw.efSearch = setting
        queries = np.hstack([users, np.zeros((len(users), 1), np.float32)])
        return index.search(queries, K)[1]
    if lib.startswith("faiss"):
        import faiss

        faiss.omp_set_num_threads(threads)
        if lib == "faiss-hnsw":
            index.hnsw.efSearch = setting
        else:
            index.nprobe = setting
        return index.search(users, K)[1]
    if lib == "hnswlib":
        index.set_ef(setting)
        return index.knn_query(users, K, num_threads=threads)[0]
    if lib == "usearch":
        index.expansion_search = setting
        return index.search(users, K, threads=threads, exact=False).keys
    index.ef = setting  # voyager
    return index.query(users, K, num_threads=threads, query_ef=setting)[0]


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    hits = sum(len(np.intersect1d(a, b)) for a, b in zip(found, exact, strict=True))
    return hits / exact.size


def current_rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def run_library(lib: str, n_items: int, n_users: int) -> dict:
    items, users, _ = vectors(n_items, n_users)
    exact = truth(items, users)
    base = current_rss_kb()
    params, name, values = SETTINGS[lib]
    t0 = time.perf_counter()
    index = build(lib, items, params)
    build_s = time.perf_counter() - t0
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    size = index_bytes(lib, index)
    rows = []
    for value in values:
        per_threads = {}
        for threads in (1, 2):
            search(lib, index, users[:200], value, threads)  # warm-up
            t0 = time.perf_counter()
            found = search(lib, index, users, value, threads)
            per_threads[threads] = len(users) / (time.perf_counter() - t0)
        rows.append(
            {
                "setting": f"{name}={value}",
                "recall": recall(found, exact),
                **{f"users_s_{t}": v for t, v in per_threads.items()},
            }
        )
    return {
        "lib": lib,
        "build": ", ".join(f"{k}={v}" for k, v in params.items()),
        "build_s": build_s,
        "peak_mb": peak_mb,
        "bytes_per_item": size / n_items,
        "rows": rows,
    }


def run_exact(n_items: int, n_users: int) -> dict:
    from threadpoolctl import threadpool_limits

    from recsys_embed.models.retrieval import ExactRetrieval, top_k

    items, users, _ = vectors(n_items, n_users)
    sample = users[: min(len(users), 4096)]
    speed = {}
    for threads in (1, 2):
        with threadpool_limits(threads):
            retrieval = ExactRetrieval(items, threads=threads)
            top_k(retrieval, sample[:256], K, chunk_size=256)
            t0 = time.perf_counter()
            top_k(retrieval, sample, K, chunk_size=512)
            speed[threads] = len(sample) / (time.perf_counter() - t0)
    return {
        "lib": "exact (numpy GEMM + top-k)",
        "build": "-",
        "build_s": 0.0,
        "peak_mb": 0.0,
        "bytes_per_item": items.shape[1] * 4,
        "rows": [{"setting": "-", "recall": 1.0, "users_s_1": speed[1], "users_s_2": speed[2]}],
    }


# ---- NDCG@10 through the package ---------------------------------------------------------------
def real_logs() -> dict:
    import polars as pl

    import recsys_embed as rse

    logs = {}
    for name in ("movielens-latest-small", "movielens-100k"):
        logs[name] = rse.load_dataset(name, data_dir=DATA, download_missing=False).interactions
    pairs = DATA / "ml-1m-pairs" / "ratings_pairs.parquet"
    if pairs.is_file():
        frame = pl.read_parquet(pairs)
        logs["movielens-1m (pairs)"] = rse.Interactions.from_frame(frame, "userID", "movieID")
    return logs


def ndcg_rows() -> list[str]:
    import recsys_embed as rse

    lines = [
        "| log | users | items | NDCG@10 exact | NDCG@10 ann | difference | recall@10 ann vs exact |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, inter in real_logs().items():
        train, test = rse.split.random_split(inter, 0.25, stratify="user", seed=42)
        model = rse.models.ALS(random_state=0).fit(train, show_progress=False)
        scores = {}
        tops = {}
        for retrieval in ("exact", "ann"):
            report = rse.evaluate(
                {"als": model},
                train,
                test,
                k=[10],
                metrics=["ndcg"],
                retrieval=retrieval,
                show_progress=False,
            )
            scores[retrieval] = report.mean("als", "ndcg", 10)
            tops[retrieval] = report.results["als"].top_idx
        same = recall(tops["ann"], tops["exact"])
        lines.append(
            f"| {name} | {train.n_users} | {train.n_items} | {scores['exact']:.4f} | "
            f"{scores['ann']:.4f} | {scores['ann'] - scores['exact']:+.4f} | {same:.4f} |"
        )
    return lines


# ---- the report --------------------------------------------------------------------------------
def table(results: list[dict], n_items: int, n_users: int) -> list[str]:
    exact = results[0]["rows"][0]
    lines = [
        f"{n_items:,} items x 64, {n_users:,} users, top-{K} by inner product, no exclusions.",
        "",
        "| backend | build settings | search setting | recall@10 | users/s 1 thread | "
        "x exact | users/s 2 threads | x exact | build s (1 thread) | index bytes/item | "
        "build peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for row in res["rows"]:
            lines.append(
                f"| {res['lib']} | {res['build']} | {row['setting']} | {row['recall']:.4f} | "
                f"{row['users_s_1']:,.0f} | {row['users_s_1'] / exact['users_s_1']:.1f} | "
                f"{row['users_s_2']:,.0f} | {row['users_s_2'] / exact['users_s_2']:.1f} | "
                f"{res['build_s']:.1f} | {res['bytes_per_item']:.0f} | {res['peak_mb']:.0f} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="20k items x 1k users, seconds")
    parser.add_argument("--libs", default=",".join(SETTINGS), help="comma-separated")
    parser.add_argument("--ndcg", action="store_true", help="add NDCG@10 ann vs exact")
    parser.add_argument("--ndcg-only", action="store_true")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="write the markdown here")
    args = parser.parse_args()
    if args.smoke:
        args.items, args.users = 20_000, 1_000
    if args.case:
        print(json.dumps(run_library(args.case, args.items, args.users)))
        return
    lines: list[str] = []
    if not args.ndcg_only:
        _, _, note = vectors(args.items, args.users)
        truth(*vectors(args.items, args.users)[:2])
        results = [run_exact(args.items, args.users)]
        for lib in args.libs.split(","):
            cmd = [sys.executable, "-m", "evaluation.benchmarks.retrieval", "--case", lib]
            cmd += ["--items", str(args.items), "--users", str(args.users)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
            if out.returncode:
                print(f"{lib} failed:\n{out.stderr}", file=sys.stderr)
                continue
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print("\n".join(table(results, args.items, args.users)[-len(results[-1]["rows"]) :]))
        lines += [*table(results, args.items, args.users), "", f"Vectors: {note}."]
    if args.ndcg or args.ndcg_only:
        lines += ["", *ndcg_rows()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
