"""Cold-start items with the text hybrid: fit, add brand-new items by their text, then find
their similar items and the users to show them to, without refitting.

    python examples/cold_start_items.py --new-items new_movies.csv --out models/hybrid

Without --log/--items it fits on ml-latest-small (ratings, and titles, genres and tags as item
text); without --new-items it adds two invented films. ``--new-items`` is a CSV with
``item_id`` and ``text`` columns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

import recsys_embed as rse

NEW_FILMS = {
    200_000: "Toy Story 5 (2030) | Animation|Children|Comedy | pixar, toys, sequel",
    200_001: "Alien Nebula (2031) | Sci-Fi|Horror | space, alien, spaceship",
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", type=Path, help="user_id, item_id CSV (default: ml-latest-small)")
    ap.add_argument("--items", type=Path, help="item_id, text CSV of the catalogue")
    ap.add_argument("--new-items", type=Path, help="item_id, text CSV of the new items")
    ap.add_argument("--epochs", type=int, default=10, help="LightFM epochs")
    ap.add_argument("--word2vec-dim", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("models/hybrid"))
    args = ap.parse_args(argv)

    if args.log is None:
        ds = rse.load_dataset("movielens-latest-small")
        inter, items = ds.interactions, ds.items.select("item_id", "text")
    else:
        inter = rse.read_interactions(args.log, user_col="user_id", item_col="item_id")
        items = pl.read_csv(args.items)
    new = NEW_FILMS if args.new_items is None else pl.read_csv(args.new_items)

    hybrid = rse.models.create(
        "lightfm-hybrid", epochs=args.epochs, word2vec_dim=args.word2vec_dim
    ).fit(inter, item_text=items)
    added = hybrid.add_items(new)  # no refit: their vectors come from their text
    hybrid.save(args.out)
    new_ids = hybrid.item_map_.ids[-added:]
    print(f"added {added} items; the catalogue has {len(hybrid.item_map_)}; saved {args.out}")
    print(hybrid.similar_items(new_ids, k=5, output="polars"))
    # the users each new item would be shown to first: rank only the new items for everyone
    users = hybrid.user_map_.ids
    firsts = hybrid.recommend(users, k=1, items=new_ids, output="polars")
    top = firsts.sort("score", descending=True).group_by("item_id", maintain_order=True).head(3)
    print(top)


if __name__ == "__main__":
    main()
