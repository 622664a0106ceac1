"""Validation of the default run's lightfm-hybrid (a warm split, identity features on).

The default run of ``recsys-embed evaluate`` splits ml-latest-small per user 75/25 (seed 42);
this carves a second per-user 75/25 split (seed 43) out of its train part and ranks there, so
the default run's test split is never read. Prints recall@10, recall@20 and NDCG@10 and the fit
seconds of each setting.

    python -m evaluation.studies.warm_hybrid_validation

Default it justified: the default run's ``[models.hybrid]`` (64 components x 30 epochs, no
content term) rather than the cold-start defaults (32 x 15, content weight 2).
"""

from __future__ import annotations

import time

import recsys_embed as rse
from evaluation.common import REPO
from recsys_embed import models
from recsys_embed.data.splits import random_split
from recsys_embed.evaluate import evaluate

SETTINGS = {  # (components, epochs, content weight)
    "32 x 15, w 2 (cold defaults)": (32, 15, 2.0),
    "32 x 15, w 0": (32, 15, 0.0),
    "32 x 30, w 0": (32, 30, 0.0),
    "64 x 15, w 0": (64, 15, 0.0),
    "64 x 30, w 0": (64, 30, 0.0),
    "64 x 30, w 0.5": (64, 30, 0.5),
    "64 x 30, w 2": (64, 30, 2.0),
    "128 x 15, w 0": (128, 15, 0.0),
}


def main() -> None:
    small = rse.load_dataset("movielens-latest-small", data_dir=REPO / "datasets")
    train, _ = random_split(small.interactions, 0.25, stratify="user", seed=42)
    vtrain, vtest = random_split(train, 0.25, stratify="user", seed=43)
    items = small.items.select("item_id", "text")
    fitted, seconds = {}, {}
    for label, (n, epochs, w) in SETTINGS.items():
        start = time.perf_counter()
        model = models.create(
            "lightfm-hybrid", identity=True, no_components=n, epochs=epochs, content_weight=w
        )
        fitted[label] = model.fit(vtrain, item_text=items, show_progress=False)
        seconds[label] = time.perf_counter() - start
    report = evaluate(fitted, vtrain, vtest, k=[10, 20], metrics=["recall", "ndcg"])
    print("| setting | recall@10 | recall@20 | NDCG@10 | fit s |")
    print("|---|---:|---:|---:|---:|")
    for label in fitted:
        vals = [report.mean(label, m, k) for m, k in (("recall", 10), ("recall", 20), ("ndcg", 10))]
        cells = " | ".join(f"{v:.4f}" for v in vals)
        print(f"| {label} | {cells} | {seconds[label]:.1f} |")


if __name__ == "__main__":
    main()
