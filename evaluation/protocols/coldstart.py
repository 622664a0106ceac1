"""Cold-start protocol of the text models on several catalogue shapes (text-hybrid issues).

Cold protocol: 20% of the items (seed 0) lose all their interactions to test; every test user
is ranked among the cold items only; all ratings are interactions. Shapes:

- ``ml100k``: MovieLens 100K, titles + genres;
- ``small``: ml-latest-small, titles + genres + user tags;
- ``tags3``: ml-latest-small items with >= 3 distinct user tags, described by the tags alone
  (a tags-only catalogue with many, often multi-word, tags per item);
- ``tags1``: ml-latest-small items with any user tag, described by the tags alone (a larger
  tags-only catalogue, 1.5k items, most with one or two tags).

``--validation`` ranks on a second cold split (seed 1) carved out of the training items
instead of the test items: that is where defaults are chosen. Prints, per shape, recall@20,
NDCG@10 and AUC with 95% CIs, fit seconds, and paired bootstrap CIs of each hybrid against
text-knn.

    python -m evaluation.protocols.coldstart [--shapes ml100k,small,tags3,tags1] [--validation]
        [--models NAME,...] [--out evaluation/results/shapes.md]
    python -m evaluation.protocols.coldstart --smoke --out FILE   # seconds

``--smoke`` runs the protocol on a generated catalogue (200 users, 150 items whose text names
one of 6 topics; each user keeps mostly to one topic) with four cheap models at their defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import recsys_embed as rse
from evaluation.common import REPO, shared_datasets
from recsys_embed import models
from recsys_embed.data.splits import cold_item_split, cold_items
from recsys_embed.evaluate import evaluate

METRICS = [("recall", 20), ("ndcg", 10), ("auc", 20)]

# label -> (registry name, parameters); defaults unless a label says otherwise
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "random": ("random", {}),
    "text-knn (ppmi-svd)": ("text-knn", {}),
    "text-knn (word2vec)": ("text-knn", {"vectors": "word2vec"}),
    "als-text-map (ppmi-svd)": ("als-text-map", {}),
    "als-text-map (word2vec)": ("als-text-map", {"vectors": "word2vec"}),
    "als-text-map (no length or year features)": (
        "als-text-map",
        {"length_weight": 0.0, "year_weight": 0.0},
    ),
    "lightfm-hybrid (ppmi-svd)": ("lightfm-hybrid", {}),
    "lightfm-hybrid (word2vec)": ("lightfm-hybrid", {"vectors": "word2vec"}),
    # the defaults before token one-hots, text length and year joined them
    "lightfm-hybrid (no tokens; no length or year)": (
        "lightfm-hybrid",
        {"token_features": False, "length_weight": 0.0, "year_weight": 0.0},
    ),
    "lightfm-hybrid (no length or year features)": (
        "lightfm-hybrid",
        {"length_weight": 0.0, "year_weight": 0.0},
    ),
    "lightfm-hybrid (one-hots of tokens in >= 2 items)": ("lightfm-hybrid", {"token_min_items": 2}),
    # the hybrid's defaults before its content term (64 components, 30 epochs, no content)
    "lightfm-hybrid (64 x 30 epochs; no content)": (
        "lightfm-hybrid",
        {
            "no_components": 64,
            "epochs": 30,
            "content_weight": 0.0,
            "token_features": False,
            "length_weight": 0.0,
            "year_weight": 0.0,
        },
    ),
    # the defaults before the text-hybrid issue 12, for the side-by-side fit time
    "lightfm-hybrid (previous defaults)": (
        "lightfm-hybrid",
        {
            "vectors": "word2vec",
            "stop_words": False,
            "identity": True,
            "text_codes": 0,
            "text_top_m": 0,
            "no_components": 64,
            "epochs": 30,
            "token_features": False,
            "length_weight": 0.0,
            "year_weight": 0.0,
        },
    ),
}
BASELINE = "text-knn (ppmi-svd)"
SMOKE_MODELS = ["random", BASELINE, "als-text-map (ppmi-svd)", "lightfm-hybrid (ppmi-svd)"]


def generated_shape(
    n_users: int = 200, n_items: int = 150, n_topics: int = 6, per_user: int = 15
) -> tuple[rse.Interactions, pl.DataFrame, str]:
    """A planted catalogue: each item's text is three words of its topic and one of any topic;
    each user takes 80% of their items from one topic, so text predicts taste."""
    rng = np.random.default_rng(0)
    words = [[f"t{t}w{w}" for w in range(6)] for t in range(n_topics)]
    topic = rng.integers(0, n_topics, n_items)
    text = [
        " ".join(
            [*rng.choice(words[t], 3, replace=False), rng.choice(words[rng.integers(n_topics)])]
        )
        for t in topic
    ]
    users, items = [], []
    for u in range(n_users):
        own = np.flatnonzero(topic == rng.integers(n_topics))
        n_own = min(int(per_user * 0.8), len(own))
        chosen = set(rng.choice(own, n_own, replace=False).tolist())
        while len(chosen) < per_user:
            chosen.add(int(rng.integers(n_items)))
        users += [u] * len(chosen)
        items += sorted(chosen)
    ids = rse.IdMap(np.arange(1, n_users + 1), "user"), rse.IdMap(np.arange(1, n_items + 1))
    inter = rse.Interactions.from_indices(np.array(users), np.array(items), *ids)
    frame = pl.DataFrame({"item_id": np.arange(1, n_items + 1), "text": text})
    return inter, frame, f"generated, {n_items} items of {n_topics} topics"


def load_shape(name: str) -> tuple[rse.Interactions, pl.DataFrame, str]:
    """(interactions, item text frame, description) of a catalogue shape."""
    if name == "smoke":
        return generated_shape()
    if name == "ml100k":
        ds = rse.load_dataset("movielens-100k", data_dir=shared_datasets(), download_missing=False)
        return (
            ds.interactions,
            ds.items.select("item_id", "text"),
            "MovieLens 100K, titles + genres",
        )
    small = rse.load_dataset("movielens-latest-small", data_dir=REPO / "datasets")
    if name == "small":
        return (
            small.interactions,
            small.items.select("item_id", "text"),
            "ml-latest-small, titles + genres + tags",
        )
    if name in ("tags3", "tags1"):
        least = int(name[-1])
        n_tags = pl.col("tags").str.split(" | ").list.unique().list.len()
        items = small.items.filter((pl.col("tags") != "") & (n_tags >= least)).select(
            "item_id", pl.col("tags").alias("text")
        )
        inter = small.interactions
        keep = np.isin(inter.item_ids, items["item_id"].to_numpy())
        label = "any tag" if least == 1 else f">= {least} tags"
        return (
            inter.subset(keep[inter.item_idx]).compact(),
            items,
            f"ml-latest-small items with {label}, tags only",
        )
    raise SystemExit(f"unknown shape {name!r}; expected ml100k, small, tags3, tags1 or smoke")


def cold_protocol(
    inter: rse.Interactions, validation: bool
) -> tuple[rse.Interactions, rse.Interactions]:
    train, test = cold_item_split(inter, 0.2, seed=0)
    if not validation:
        return train, test
    warm = np.bincount(train.item_idx, minlength=train.n_items) > 0
    return cold_item_split(train.subset(warm[train.item_idx]).compact(), 0.2, seed=1)


def fmt_ci(report: Any, name: str, metric: str, k: int) -> str:
    frame = report.to_frame().filter(
        (pl.col("model") == name) & (pl.col("metric") == metric) & (pl.col("k") == k)
    )
    v, lo, hi = frame.row(0)[3:]
    return f"{v:.4f} [{lo:.3f}, {hi:.3f}]"


def run_shape(shape: str, labels: list[str], validation: bool) -> str:
    inter, items, description = load_shape(shape)
    train, test = cold_protocol(inter, validation)
    cold = train.item_map.external(cold_items(train, test))
    items = items.filter(pl.col("item_id").is_in(train.item_ids.tolist()))
    fitted, seconds = {}, {}
    for label in labels:
        kind, params = MODELS[label]
        model = models.create(kind, **params)
        start = time.perf_counter()
        model.fit(train, item_text=items, show_progress=False)
        seconds[label] = time.perf_counter() - start
        fitted[label] = model
        print(f"  {shape}: {label} fitted in {seconds[label]:.1f} s", flush=True)
    report = evaluate(
        fitted, train, test, k=[10, 20], metrics=["recall", "ndcg", "auc"], candidates=cold
    )
    split = "validation cold split (seed 1) of the training items" if validation else "test"
    lines = [
        f"### {description} ({split})",
        "",
        f"{inter.n_items} items, {len(cold)} cold, {len(report.user_idx)} users ranked among "
        "the cold items. Mean [95% CI over users]; fit s on a busy 2-core machine (word "
        "vectors are built by the first model that needs them and reused after: see the note).",
        "",
        "| model | recall@20 | NDCG@10 | AUC | fit s |",
        "|---|---:|---:|---:|---:|",
    ]
    for label in labels:
        vals = " | ".join(fmt_ci(report, label, m, k) for m, k in METRICS)
        lines.append(f"| {label} | {vals} | {seconds[label]:.1f} |")
    hybrids = [lab for lab in labels if "hybrid" in lab or "map" in lab]
    if BASELINE in labels and hybrids:
        lines += [
            "",
            f"Paired differences against {BASELINE} (bootstrap 95% CI of the mean difference):",
            "",
            "| model | recall@20 | NDCG@10 | AUC |",
            "|---|---:|---:|---:|",
        ]
        for label in hybrids:
            cells = []
            for m, k in METRICS:
                c = report.compare(label, BASELINE, m, k)
                cells.append(f"{c['diff']:+.4f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]")
            lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="ml100k,small,tags3,tags1")
    ap.add_argument("--models", default=",".join(list(MODELS)[:-1]))
    ap.add_argument("--validation", action="store_true")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--smoke", action="store_true", help="a generated catalogue, cheap models")
    args = ap.parse_args()
    if args.smoke:
        args.shapes, args.models = "smoke", ",".join(SMOKE_MODELS)
    labels = [m.strip() for m in args.models.split(",")]
    unknown = [m for m in labels if m not in MODELS]
    if unknown:
        raise SystemExit(f"unknown model label(s) {unknown}; known: {list(MODELS)}")
    parts = []
    for shape in args.shapes.split(","):
        section = run_shape(shape.strip(), labels, args.validation)
        print(section, flush=True)
        parts.append(section)
    if args.out:
        header = (
            "# Cold items on catalogue shapes\n\n"
            f"`python -m evaluation.protocols.coldstart {' '.join(sys.argv[1:])}`\n\n"
            "Each shape's first model that needs word vectors builds them (its fit time "
            "includes them); later models with the same vectors reuse them.\n\n"
        )
        args.out.write_text(header + "\n".join(parts))


if __name__ == "__main__":
    main()
