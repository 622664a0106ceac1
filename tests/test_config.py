"""Config details: scalar k, keyword-only dataclasses, helpers living next to what they serve."""

from __future__ import annotations

import pytest

from recsys_embed import config as C
from recsys_embed import pipeline
from recsys_embed.data import loaders, splits
from recsys_embed.errors import ConfigError
from recsys_embed.pipeline import VOCABULARY


def parse(evaluate: dict) -> C.RunConfig:
    raw = {
        "data": {"interactions": "movielens-latest-small"},
        "evaluate": evaluate,
        "models": {"pop": {"type": "popularity"}},
    }
    return C.parse_config(raw, "run.toml", C.Path("."), VOCABULARY)


def test_scalar_k_means_a_list_of_one():
    assert parse({"k": 10}).evaluate.k == (10,)
    assert parse({"k": [20, 5, 20]}).evaluate.k == (5, 20)
    for bad in (0, True, [], [3, "x"]):
        with pytest.raises(ConfigError, match=r"\[evaluate\] k = .*positive int or a non-empty"):
            parse({"k": bad})


def test_config_dataclasses_take_keywords_only():
    with pytest.raises(TypeError):
        C.SplitConfig("random", 0.25)  # type: ignore[misc]
    split = C.SplitConfig(method="temporal", test_fraction=0.1)
    assert split.method == "temporal" and split.seed == 42


def test_helpers_live_next_to_what_they_serve_and_stay_importable():
    assert pipeline.make_split is splits.make_split
    assert pipeline.read_test_pairs is splits.read_test_pairs
    assert pipeline.read_user_ids is loaders.read_user_ids
    assert pipeline.resolved_config is C.resolved_config


def test_read_ids_of_items(tmp_path):
    import numpy as np

    f = tmp_path / "items.csv"
    f.write_text("item_id\n3\n1\n")
    assert loaders.read_ids(f, np.dtype(np.int64), "item").tolist() == [3, 1]
    f.write_text("user_id\n3\n")
    with pytest.raises(ValueError, match="needs a item_id column"):
        loaders.read_ids(f, np.dtype(np.int64), "item")
