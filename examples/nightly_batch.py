"""The nightly batch: retrain on the latest log, then write top-k for every user, atomically.

Run it from cron (here at 02:15 every night; a failed night keeps yesterday's files, since the
model directory and the recommendations file are each replaced only once complete):

    15 2 * * * cd /srv/recs && .venv/bin/python examples/nightly_batch.py --log data/log.csv --model models/als --out out/recs.parquet >> logs/recs.log 2>&1

Off a terminal (as under cron) progress is written as timestamped log lines.
"""  # noqa: E501 (the cron line)

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import recsys_embed as rse
from recsys_embed.batch import write_recommendations

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, default=REPO / "datasets/ml-latest-small/ratings.csv")
    ap.add_argument("--user-col", default="userId")
    ap.add_argument("--item-col", default="movieId")
    ap.add_argument("--model", type=Path, default=Path("models/als"), help="model directory")
    ap.add_argument("--out", type=Path, default=Path("recs.parquet"), help=".parquet or .csv")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--factors", type=int, default=64)
    args = ap.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
    log = logging.getLogger("recsys_embed")

    inter = rse.read_interactions(args.log, user_col=args.user_col, item_col=args.item_col)
    log.info("read %s: %s", args.log, inter)
    model = rse.models.create("als", factors=args.factors).fit(inter)
    model.save(args.model)  # atomic: the previous model stays until this one is complete
    log.info("saved %s (fit %.1f s)", args.model, model.fit_seconds_)
    summary = write_recommendations(model, args.out, k=args.k)
    log.info(
        "wrote %d rows for %d users to %s",
        summary.rows_written,
        summary.users_written,
        summary.path,
    )


if __name__ == "__main__":
    main()
