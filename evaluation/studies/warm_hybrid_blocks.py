"""Which item-feature blocks help LightFM on warm catalogues (validation only).

    python -m evaluation.studies.warm_hybrid_blocks [--out evaluation/results/warm_hybrid_blocks.md]
    python -m evaluation.studies.warm_hybrid_blocks --seeds
        [--out evaluation/results/warm_hybrid_seeds.md]

LightFM alone against ``lightfm-hybrid`` with an identity block beside item metadata, at
LightFM's known-good setting (64 components, learning rate 0.02, max_sampled 30, 40 epochs),
without the content term and the length and decade blocks. Two shapes, each on validation
carved out of its protocol's train split the way its test split was made, three carves
(seeds 0 to 2), so no test split is read:

- MovieLens 100K, the Microsoft protocol (per-item 75/25, seed 42; text: title and genres);
- ml-latest-small, the default run (per-user 75/25, seed 42; text: title, genres and tags).

Tokens are the one-hot metadata block (genres, frequent title words and tags, in at least 5
items); text is the word2vec block trained on the item text.

``--seeds`` reads the Microsoft test split, after the choice: the setting the suite's
``lightfm-meta`` search chose (evaluation/RESULTS.md) and LightFM alone at the same setting,
refitted on all of train with six initialisation seeds. It reports the spread over seeds of
a choice already made; it chooses nothing.

Default it justified: ``lightfm-meta``'s blocks (an identity block beside the one-hots of tokens
in >= 5 items' metadata; no text vectors, no content term), the suite's LightFM with metadata.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from evaluation.common import REPO, report_main

if "RECSYS_EMBED_DATA" not in os.environ and (REPO.parent / "shared" / "datasets").is_dir():
    os.environ["RECSYS_EMBED_DATA"] = str(REPO.parent / "shared" / "datasets")

from recsys_embed.data import splits
from recsys_embed.data.movielens import load_dataset
from recsys_embed.evaluate import evaluate
from recsys_embed.models import registry

BASE = {"no_components": 64, "learning_rate": 0.02, "max_sampled": 30, "epochs": 40}
WARM = {
    **BASE,
    "identity": True,
    "content_weight": 0.0,
    "length_weight": 0.0,
    "year_weight": 0.0,
    "vectors": "word2vec",
}
SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "lightfm (no metadata)": ("lightfm", BASE),
    "identity + tokens 0.3": ("lightfm-hybrid", {**WARM, "text_weight": 0.0, "token_weight": 0.3}),
    "identity + tokens 0.6": ("lightfm-hybrid", {**WARM, "text_weight": 0.0, "token_weight": 0.6}),
    "identity + tokens 1.0": ("lightfm-hybrid", {**WARM, "text_weight": 0.0, "token_weight": 1.0}),
    "identity + text 0.3": ("lightfm-hybrid", {**WARM, "text_weight": 0.3, "token_weight": 0.0}),
    "identity + text 0.3 + tokens 0.3": (
        "lightfm-hybrid",
        {**WARM, "text_weight": 0.3, "token_weight": 0.3},
    ),
}
SHAPES = {  # dataset, per-item or per-user split
    "MovieLens 100K, Microsoft protocol": ("movielens-100k", "item"),
    "ml-latest-small, default run": ("movielens-latest-small", "user"),
}


def shape_rows(dataset: str, stratify: str) -> list[tuple[str, float, float, float]]:
    data = load_dataset(dataset)
    inter = data.interactions.with_unit_weights()
    train, _ = splits.random_split(inter, 0.25, stratify, 42)
    carves = [splits.random_split(train, 0.25, stratify, seed) for seed in (0, 1, 2)]
    rows = []
    for label, (name, params) in SETTINGS.items():
        scores, seconds = [], []
        for fit, valid in carves:
            start = time.perf_counter()
            model = registry.create(name, **params).fit(fit, data.items, show_progress=False)
            seconds.append(time.perf_counter() - start)
            report = evaluate({"m": model}, fit, valid, k=[10], metrics=["ndcg"])
            scores.append(report.metrics_dict("m")["ndcg@10"])
        rows.append((label, float(np.mean(scores)), float(np.std(scores)), float(np.mean(seconds))))
        print(f"{dataset} {label}: {rows[-1][1]:.4f}", file=sys.stderr, flush=True)
    return rows


def seed_spread() -> list[str]:
    data = load_dataset("movielens-100k")
    train, test = splits.random_split(data.interactions.with_unit_weights(), 0.25, "item", 42)
    chosen = {**WARM, "text_weight": 0.0, "token_weight": 0.5, "vectors": "ppmi-svd"}
    scores: dict[str, list[float]] = {"lightfm": [], "lightfm-hybrid": []}
    for seed in range(6):
        for name, params in (("lightfm", BASE), ("lightfm-hybrid", chosen)):
            model = registry.create(name, **params, random_state=seed)
            model.fit(train, data.items, show_progress=False)
            report = evaluate({"m": model}, train, test, k=[10], metrics=["ndcg"])
            scores[name].append(report.metrics_dict("m")["ndcg@10"])
        print(
            f"seed {seed}: {scores['lightfm'][-1]:.4f} {scores['lightfm-hybrid'][-1]:.4f}",
            file=sys.stderr,
            flush=True,
        )
    alone, meta = np.array(scores["lightfm"]), np.array(scores["lightfm-hybrid"])
    lines = [
        "# LightFM with item metadata on the Microsoft protocol: spread over seeds",
        "",
        "`python -m evaluation.studies.warm_hybrid_blocks --seeds` (MovieLens 100K, per-item 75/25, seed "
        "42; the suite's chosen `lightfm-meta` setting and LightFM alone at the same setting, "
        "refitted on all of train with initialisation seeds 0 to 5; test NDCG@10, read after "
        "the choice; 2-core machine).",
        "",
        "| seed | lightfm | lightfm-meta | difference |",
        "|---:|---:|---:|---:|",
    ]
    for seed, (a, m) in enumerate(zip(alone, meta, strict=True)):
        lines.append(f"| {seed} | {a:.4f} | {m:.4f} | {m - a:+.4f} |")
    lines.append(
        f"| mean (sd) | {alone.mean():.4f} ({alone.std(ddof=1):.4f}) | "
        f"{meta.mean():.4f} ({meta.std(ddof=1):.4f}) | {(meta - alone).mean():+.4f} |"
    )
    return lines


def validation_report() -> list[str]:
    lines = [
        "# Item metadata for LightFM on warm catalogues (validation only)",
        "",
        "`python -m evaluation.studies.warm_hybrid_blocks` (see its docstring; 2-core machine). "
        "Validation NDCG@10, mean (sd) over 3 carves, and mean fit seconds.",
    ]
    for title, (dataset, stratify) in SHAPES.items():
        rows = shape_rows(dataset, stratify)
        base = rows[0][1]
        lines += ["", f"## {title}", "", "| setting | NDCG@10 | vs lightfm | fit s |"]
        lines.append("|---|---:|---:|---:|")
        for label, mean, sd, sec in rows:
            lines.append(f"| {label} | {mean:.4f} ({sd:.4f}) | {mean - base:+.4f} | {sec:.1f} |")
    return lines


if __name__ == "__main__":
    report_main(__doc__, validation_report, seed_spread)
