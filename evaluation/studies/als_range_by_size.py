"""Why ALS's searched alpha stops at 10: a setting that wins on validation can lose after the refit.

    python -m evaluation.studies.als_range_by_size [--nested]
        [--out evaluation/results/als_range_by_size.md]

Default it justified: ALS's searched ranges, alpha in [2, 10] (was [3, 25]) and regularization
in [20, 100] (was [25, 120]), without the old 64 / 70 / 15 tuning seed.

On ml-latest-small with the package's default split (random 75/25 per user; split seeds 42, 1
and 2) it compares the defaults A (64 factors, regularization 50, alpha 5) with B (64 factors,
regularization 70, alpha 15, the best of the old ml-latest-small validation grid and an old
tuning seed):

- on validation, as the tuner sees it: fitted on the fitting part (75% of train), scored on the
  validation part (carve seed 0);
- on test, fitted on 56%, 75% and 100% of train (per-user subsamples; the left-out part of
  train stays excluded from ranking).

This reads test splits: it checks a tuning method (which ranges to search), not a setting.
``--nested`` adds the check that reads no test at all: train is split again into train' and a
pseudo-test, and ALS is tuned on train' (16 trials, TPE seed 0, validation carved like the
split) with the old ranges and seeds and with the new ones, on four data shapes; it reports
the chosen setting's pseudo-test NDCG@10 minus the defaults'.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from evaluation.common import REPO, RESULTS

if "RECSYS_EMBED_DATA" not in os.environ and (REPO.parent / "shared" / "datasets").is_dir():
    os.environ["RECSYS_EMBED_DATA"] = str(REPO.parent / "shared" / "datasets")

from recsys_embed.data import splits
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.movielens import load_dataset
from recsys_embed.evaluate import evaluate
from recsys_embed.models import registry

A = {"factors": 64, "regularization": 50.0, "alpha": 5.0}
B = {"factors": 64, "regularization": 70.0, "alpha": 15.0}
OLD_SPACE = {"regularization": [25.0, 120.0, "log"], "alpha": [3.0, 25.0, "log"]}
OLD_SEEDS = [
    {"factors": 128, "regularization": 50.0, "alpha": 7.0},
    {"factors": 64, "regularization": 70.0, "alpha": 15.0},
    {"factors": 128, "regularization": 30.0, "alpha": 3.5},
]


def ndcg(
    params: dict[str, Any], fit: Interactions, exclude: Interactions, held: Interactions
) -> float:
    model = registry.create("als", **params)
    model.fit(fit, show_progress=False)
    report = evaluate({"m": model}, exclude, held, k=[10], metrics=["ndcg"])
    return report.metrics_dict("m")["ndcg@10"]


def by_size() -> list[str]:
    inter = load_dataset("movielens-latest-small").interactions.with_unit_weights()
    lines = [
        "| split seed | validation (fit 75% of train) | test, fit 56% | test, fit 75% | "
        "test, fit 100% |",
        "|---:|---:|---:|---:|---:|",
    ]
    for seed in (42, 1, 2):
        train, test = splits.random_split(inter, 0.25, "user", seed)
        fit, valid = splits.random_split(train, 0.25, "user", 0)
        cells = [ndcg(B, fit, fit, valid) - ndcg(A, fit, fit, valid)]
        for keep in (0.5625, 0.75, 1.0):
            part = train if keep == 1.0 else splits.random_split(train, 1 - keep, "user", 5)[0]
            cells.append(ndcg(B, part, train, test) - ndcg(A, part, train, test))
        lines.append(f"| {seed} | " + " | ".join(f"{c:+.4f}" for c in cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def nested() -> list[str]:
    from recsys_embed.tuning import Carve, tune
    from recsys_embed.tuning import space as space_module

    new_seeds = list(space_module.SEEDS["als"])
    lines = [
        "| data | split | old ranges | old, factors 64 | new ranges | new, factors 64 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, stratify in (
        ("movielens-latest-small", "user"),
        ("movielens-100k", "user"),
        ("movielens-latest-small", "item"),
        ("movielens-100k", "item"),
    ):
        inter = load_dataset(name).interactions.with_unit_weights()
        train, _ = splits.random_split(inter, 0.25, stratify, 42)  # test dropped unread
        inner, pseudo = splits.random_split(train, 0.25, stratify, 99)
        cells = []
        for space, seeds in ((OLD_SPACE, OLD_SEEDS), (None, new_seeds)):
            space_module.SEEDS["als"] = seeds
            for fixed in ({}, {"factors": 64}):
                r = tune(
                    *("als", inner, pseudo),
                    trials=16,
                    sampler="tpe",
                    k=[10],
                    metrics=["ndcg"],
                    fixed=fixed,
                    space=space,
                    validation=Carve("random", 0.25, stratify),
                    seed=0,
                )
                assert r.test_metrics and r.defaults_test_metrics
                cells.append(r.test_metrics["ndcg@10"] - r.defaults_test_metrics["ndcg@10"])
        space_module.SEEDS["als"] = new_seeds
        lines.append(
            f"| {name} | per {stratify} | " + " | ".join(f"{c:+.4f}" for c in cells) + " |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--nested", action="store_true", help="also the check that reads no test")
    ap.add_argument("--out", type=Path, default=RESULTS / "als_range_by_size.md")
    args = ap.parse_args(argv)
    text = [
        "# ALS: alpha 15 vs the defaults, by amount of training data",
        "",
        f"Generated by `python -m evaluation.studies.als_range_by_size{' --nested' if args.nested else ''}`"
        " (see its docstring). NDCG@10 of B (64 factors, regularization 70, alpha 15) minus the",
        "defaults A (64, 50, 5), ml-latest-small, random 75/25 split per user.",
        "",
        *by_size(),
        "",
    ]
    if args.nested:
        text += [
            "## Tuning with the old and the new ALS ranges, pseudo-test inside train",
            "",
            "Chosen setting minus defaults, pseudo-test NDCG@10 (16 trials, TPE seed 0).",
            "",
            *nested(),
            "",
        ]
    args.out.write_text("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
