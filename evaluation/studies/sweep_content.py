"""Validation sweep of the hybrids' content weight (and the LightFM hybrid's epochs/components).

Each setting is fitted once per shape with ``content_weight=1``; other weights only rescale the
users' content block (the item side is the text vector either way), so they need no refit.
Ranks on the validation cold split of ``evaluation.protocols.coldstart --validation`` (seed 1,
carved from the training items; the test items are never read).

    python -m evaluation.studies.sweep_content [--shapes ml100k,small,tags3,tags1]
        [--weights 0,0.1,...] [--settings LABEL,...]

Default it justified: ``lightfm-hybrid``'s content weight 2 at 32 components x 15 epochs; it also
compares ``als-text-map``'s content weight around its default, 0.1.
"""

from __future__ import annotations

import argparse
import copy
import time

import polars as pl

from evaluation.protocols.coldstart import cold_protocol, load_shape
from recsys_embed import models
from recsys_embed.data.splits import cold_items
from recsys_embed.evaluate import evaluate

SETTINGS = {
    "als-text-map": ("als-text-map", {}),
    "als-text-map map_reg 0.3": ("als-text-map", {"map_regularization": 0.3}),
    "als-text-map map_reg 3": ("als-text-map", {"map_regularization": 3.0}),
    "als-text-map map_conf 0": ("als-text-map", {"map_confidence": 0.0}),
    "als-text-map map_conf 5": ("als-text-map", {"map_confidence": 5.0}),
    "als-text-map tokens 0.5": ("als-text-map", {"token_weight": 0.5}),
    "als-text-map tokens 2": ("als-text-map", {"token_weight": 2.0}),
    "als-text-map factors 128": ("als-text-map", {"factors": 128}),
    "als-text-map reg 30": ("als-text-map", {"regularization": 30.0}),
    "als-text-map reg 3": ("als-text-map", {"regularization": 3.0}),
    "lightfm-hybrid 64c 30ep": ("lightfm-hybrid", {"no_components": 64, "epochs": 30}),
    "lightfm-hybrid 64c 15ep": ("lightfm-hybrid", {"no_components": 64, "epochs": 15}),
    "lightfm-hybrid 32c 15ep": ("lightfm-hybrid", {"no_components": 32, "epochs": 15}),
    # session 4: the token block of the LightFM hybrid (defaults: tokens in >= 5 items, 0.5)
    "lightfm-hybrid": ("lightfm-hybrid", {}),
    "lightfm-hybrid no tokens": ("lightfm-hybrid", {"token_features": False}),
    "lightfm-hybrid tokens 0.25": ("lightfm-hybrid", {"token_weight": 0.25}),
    "lightfm-hybrid tokens 1": ("lightfm-hybrid", {"token_weight": 1.0}),
    "lightfm-hybrid tokens in >= 2": ("lightfm-hybrid", {"token_min_items": 2}),
    "lightfm-hybrid tokens in >= 10": ("lightfm-hybrid", {"token_min_items": 10}),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="ml100k,small,tags3")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--weights", default="0,0.05,0.1,0.2,0.4,0.8")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    print("| shape | setting | fit s | w | recall@20 | NDCG@10 | AUC |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for shape in args.shapes.split(","):
        inter, items, _ = load_shape(shape)
        train, test = cold_protocol(inter, validation=True)
        cold = train.item_map.external(cold_items(train, test))
        items = items.filter(pl.col("item_id").is_in(train.item_ids.tolist()))
        knn = models.create("text-knn").fit(train, item_text=items, show_progress=False)
        fitted = {"text-knn": knn}
        for label in args.settings.split(","):
            kind, params = SETTINGS[label]
            start = time.perf_counter()
            model = models.create(kind, **params, content_weight=1.0)
            model.fit(train, item_text=items, show_progress=False)
            seconds = time.perf_counter() - start
            at, d = model.content_at_, model.content_dim_
            for w in weights:
                m = copy.copy(model)
                m.user_factors_ = model.user_factors_.copy()
                m.user_factors_[:, at : at + d] *= w
                fitted[f"{label}|{seconds:.1f}|{w}"] = m
        report = evaluate(
            fitted, train, test, k=[10, 20], metrics=["recall", "ndcg", "auc"], candidates=cold
        )
        for name in fitted:
            label, seconds, w = [*name.split("|"), "", ""][:3]
            vals = [report.mean(name, m, k) for m, k in (("recall", 20), ("ndcg", 10), ("auc", 20))]
            print(
                f"| {shape} | {label} | {seconds} | {w} | "
                + " | ".join(f"{v:.4f}" for v in vals)
                + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
