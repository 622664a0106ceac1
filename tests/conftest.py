from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import recsys_embed as rse

REPO = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    """MovieLens 100K is never committed: it comes from $RECSYS_EMBED_DATA or ../shared/datasets."""
    for cand in (os.environ.get("RECSYS_EMBED_DATA"), str(REPO.parent / "shared" / "datasets")):
        if cand and (Path(cand) / "ml-100k" / "u.data").is_file():
            return Path(cand)
    return None


requires_ml100k = pytest.mark.skipif(
    shared_data_dir() is None,
    reason="MovieLens 100K not found in $RECSYS_EMBED_DATA or ../shared/datasets (may not be shipped)",
)


@pytest.fixture(scope="session")
def ml100k() -> rse.Dataset:
    d = shared_data_dir()
    assert d is not None
    return rse.load_dataset("movielens-100k", data_dir=d, download_missing=False)


@pytest.fixture(scope="session")
def latest_small() -> rse.Dataset:
    # the copy shipped in datasets/ (redistribution allowed by its licence)
    return rse.load_dataset(
        "movielens-latest-small", data_dir=REPO / "datasets", download_missing=False
    )


def triplets(inter: rse.Interactions) -> set[tuple]:
    """(user id, item id, weight, timestamp) of every interaction, external ids."""
    ts = inter.timestamps if inter.timestamps is not None else np.zeros(inter.nnz)
    return set(
        zip(
            inter.user_map.external(inter.user_idx).tolist(),
            inter.item_map.external(inter.item_idx).tolist(),
            inter.weights.tolist(),
            ts.tolist(),
            strict=True,
        )
    )
