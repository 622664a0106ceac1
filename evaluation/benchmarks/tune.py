"""Benchmark: `recsys-embed tune` on a generated log shaped like MovieLens 1M.

The tuning issue's budget: 16 trials within 7 minutes on this 2-core machine, on a MovieLens
1M-sized log under the Microsoft protocol (random 75/25 split stratified per item, seed 42).
MovieLens 1M is not among the local datasets, so the log is generated with its shape: 6,040
users with at least 20 interactions each (log-normal activity, median about 96), 3,706 items
with long-tailed popularity, about 1,000,000 rows, and low-rank taste (24 latent dimensions)
so that settings differ. Its quality numbers say nothing about MovieLens; its times do.

Each run is the command a user types, in a fresh process and a fresh output folder:

    recsys-embed tune --config CONFIG --model als --trials 16 --timeout 420 --out DIR

    python -m evaluation.benchmarks.tune [--repeats 3] [--model als] [--extrapolate] [--out FILE]
    python -m evaluation.benchmarks.tune --smoke --out FILE   # 300 x 200 log, 2 trials, once

``--dataset movielens-1m`` runs the same command on MovieLens 1M itself (read from
``$RECSYS_EMBED_DATA/ml-1m``, else downloaded and checksummed), the issue's quality check:
the table then also gives the test NDCG@10 of the chosen setting and of the defaults (trial 0),
both from best.json. ``--smoke`` runs the command once, 2 trials, on a generated log of the
same kind with 300 users, 200 items and about 9,000 rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from evaluation.common import REPO, cache_dir, machine

N_USERS, N_ITEMS, ROWS, DIMS = 6040, 3706, 1_000_209, 24
SMOKE_SHAPE = (300, 200, 9_000, 8)  # users, items, rows, latent dimensions
HEADER = """# `recsys-embed tune` on a generated MovieLens 1M-shaped log

The tuning issue's budget is 16 trials within 7 minutes (420 s) on this 2-core machine. The log
(6,040 users, 3,706 items, 1,000,209 rows) and the protocol are described in
`evaluation/benchmarks/tune.py`; times are wall-clock seconds, one thread per fit.

"""


def make_log(
    cache: Path, shape: tuple[int, int, int, int] = (N_USERS, N_ITEMS, ROWS, DIMS), seed: int = 0
) -> Path:
    """The generated MovieLens 1M-shaped log (cached): each user draws their items without
    replacement with probability ~ popularity x exp(taste), by the Gumbel top-k trick."""
    n_users, n_items, rows, dims = shape
    name = "ml1m_shaped" if shape == (N_USERS, N_ITEMS, ROWS, DIMS) else "shaped_{}_{}_{}_{}"
    path = cache / f"{name.format(*shape)}_{seed}.csv"
    if path.is_file():
        return path
    rng = np.random.default_rng(seed)
    activity = np.exp(rng.normal(np.log(96), 1.0, n_users))
    activity = np.round(activity * rows / activity.sum()).clip(20, n_items - 1).astype(int)
    popularity = -1.1 * np.log(np.arange(1, n_items + 1) + 5.0)
    rng.shuffle(popularity)
    users = rng.normal(0, 1, (n_users, dims)).astype(np.float32)
    items = rng.normal(0, 1, (n_items, dims)).astype(np.float32)
    user_idx, item_idx = [], []
    for start in range(0, n_users, 500):
        block = range(start, min(start + 500, n_users))
        logits = popularity[None, :] + 0.45 * (users[block.start : block.stop] @ items.T)
        logits += rng.gumbel(size=logits.shape)
        for row, u in enumerate(block):
            chosen = np.argpartition(-logits[row], activity[u])[: activity[u]]
            user_idx.append(np.full(len(chosen), u))
            item_idx.append(chosen)
    u, i = np.concatenate(user_idx), np.concatenate(item_idx)
    frame = pl.DataFrame(
        {
            "user_id": u + 1,
            "item_id": i + 1,
            "rating": rng.integers(1, 6, len(u)),
            "timestamp": rng.integers(956_703_932, 1_046_454_590, len(u)),
        }
    )
    tmp = path.with_suffix(".tmp")
    frame.write_csv(tmp)
    tmp.rename(path)
    return path


def write_config(log: Path | str, model: str, extrapolate: bool, cache: Path) -> Path:
    """The Microsoft protocol on the generated log (a path) or a dataset (a name), as
    evaluation/protocols/ writes it."""
    path = cache / f"bench_tune_{model}{'_ext' if extrapolate else ''}.toml"
    columns = 'user_col = "user_id"\nitem_col = "item_id"\n' if isinstance(log, Path) else ""
    path.write_text(
        f"""[data]
interactions = "{log}"
{columns}binary = true

[split]
method = "random"
test_fraction = 0.25
stratify = "item"
seed = 42

[evaluate]
k = [10]
metrics = ["ndcg", "precision", "recall", "map"]

[tune]
metric = "ndcg@10"
extrapolate = {"true" if extrapolate else "false"}

[models.{model}]
type = "{model}"
"""
    )
    return path


def run_once(config: Path, model: str, trials: int, timeout: int, cache: Path) -> dict:
    out = cache / f"bench_tune_out_{model}"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        *(sys.executable, "-m", "recsys_embed", "tune", "--config", str(config)),
        *("--model", model, "--trials", str(trials), "--timeout", str(timeout)),
        *("--out", str(out)),
    ]
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"tune failed ({done.returncode}):\n{done.stderr[-3000:]}")
    best = json.loads((out / "best.json").read_text())
    lines = (out / "trials.jsonl").read_text().splitlines()
    trial_rows = [json.loads(line) for line in lines]
    return {
        "wall_s": wall,
        "trials": len(trial_rows),
        "pruned": sum(t["state"] == "pruned" for t in trial_rows),
        "trial_s": sum(t.get("seconds") or 0.0 for t in trial_rows),
        "chosen": best["chosen"],
        "test_ndcg": best["test_metrics"]["ndcg@10"],
        "defaults_test_ndcg": best["defaults"]["test_metrics"]["ndcg@10"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="als")
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--timeout", type=int, default=420)
    ap.add_argument("--extrapolate", action="store_true", help="[tune] extrapolate = true")
    ap.add_argument("--out", type=Path, help="append the result table to this file")
    ap.add_argument("--dataset", help="a dataset name instead of the generated log")
    ap.add_argument("--smoke", action="store_true", help="a 300 x 200 log, 2 trials, once")
    ap.add_argument("--cache", type=Path, help="folder for generated data (evaluation/.cache)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.repeats, args.trials, args.timeout = 1, 2, 120
    with cache_dir(args.cache, args.smoke) as cache:
        return run(args, cache)


def run(args: argparse.Namespace, cache: Path) -> int:
    shape = SMOKE_SHAPE if args.smoke else (N_USERS, N_ITEMS, ROWS, DIMS)
    log: Path | str = args.dataset or make_log(cache, shape)
    config = write_config(log, args.model, args.extrapolate, cache)
    runs = []
    for r in range(args.repeats):
        runs.append(run_once(config, args.model, args.trials, args.timeout, cache))
        print(f"run {r + 1}/{args.repeats}: {runs[-1]}", file=sys.stderr, flush=True)
    walls = [x["wall_s"] for x in runs]
    mode = "extrapolated" if args.extrapolate else "plain"
    table = "\n".join(
        [
            f"`python -m evaluation.benchmarks.tune --model {args.model}"
            f"{' --extrapolate' if args.extrapolate else ''} --repeats {args.repeats}"
            f"{' --smoke' if args.smoke else ''}"
            f"{f' --dataset {args.dataset}' if args.dataset else ''}` ({machine()}):",
            "",
            "| model | validation | trials run | pruned | trial time, s | whole command, s "
            "(median) | runs, s | test NDCG@10 chosen (defaults) |",
            "|---|---|---:|---:|---:|---:|---|---|",
            f"| {args.model} | {mode} | {runs[0]['trials']} | {runs[0]['pruned']} | "
            f"{statistics.median(x['trial_s'] for x in runs):.1f} | "
            f"{statistics.median(walls):.1f} | {', '.join(f'{w:.1f}' for w in walls)} | "
            f"{runs[0]['test_ndcg']:.4f} ({runs[0]['defaults_test_ndcg']:.4f}) |",
            "",
        ]
    )
    print(table)
    if args.out is not None:
        head = "" if args.out.is_file() or args.smoke else HEADER
        with open(args.out, "a") as fh:
            fh.write(head + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
