"""Your own interaction log -> an evaluation report (markdown table, CSV/JSON metrics, the split).

    python examples/evaluate_your_log.py --log my_log.csv --user-col user --item-col item \
        --out runs/my_log

The log is any CSV/TSV/parquet file with one row per interaction (weights and timestamps
optional). It is split per user (the last 20% of each user's interactions in time when
timestamps are given, else a random 20%), popularity and ALS are fitted on the train part, and
both are ranked over the whole catalogue for every test user. Without --log it runs on the
ml-latest-small ratings shipped in datasets/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import recsys_embed as rse
from recsys_embed.reports import write_artifacts

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, default=REPO / "datasets/ml-latest-small/ratings.csv")
    ap.add_argument("--user-col", default="userId")
    ap.add_argument("--item-col", default="movieId")
    ap.add_argument("--time-col", default="timestamp", help="'' for a log without timestamps")
    ap.add_argument("--factors", type=int, default=64, help="ALS latent dimensions")
    ap.add_argument(
        "--regularization", type=float, default=50.0, help="ALS ridge (50 suits MovieLens)"
    )
    ap.add_argument("--out", type=Path, default=Path("runs/your_log"))
    args = ap.parse_args(argv)

    inter = rse.read_interactions(
        args.log, user_col=args.user_col, item_col=args.item_col, time_col=args.time_col or None
    )
    print(f"{args.log}: {inter}")
    if inter.timestamps is not None:
        train, test = rse.split.temporal_split(inter, test_fraction=0.2)
    else:
        train, test = rse.split.random_split(inter, test_fraction=0.2, stratify="user", seed=0)
    fitted = {
        "popularity": rse.models.create("popularity").fit(train),
        "als": rse.models.create(
            "als", factors=args.factors, regularization=args.regularization
        ).fit(train),
    }
    report = rse.evaluate(fitted, train, test, k=[10, 20], metrics=["recall", "ndcg", "map"])
    args.out.mkdir(parents=True, exist_ok=True)
    write_artifacts(report, args.out)
    print(report.to_markdown())
    print(report.compare("als", "popularity", "ndcg", 10))
    print(f"wrote {args.out}/metrics.md, metrics.json, metrics.csv and the split")


if __name__ == "__main__":
    main()
