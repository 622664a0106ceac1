"""Issue 27: the blend's inputs (overflowing weights, Blend.of's arguments, members fitted on
other interactions)."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_embed import models
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.models.blend import Blend
from recsys_embed.testing import fit, planted


def test_overflowing_weights_are_normalised_safely():
    inter = planted()
    members = [{"type": "popularity"}, {"type": "random", "factors": 4}]
    equal = fit(models.create("blend", models=members), inter)
    huge = fit(models.create("blend", models=[dict(m, weight=1e308) for m in members]), inter)
    np.testing.assert_array_equal(huge.scales_, equal.scales_)
    assert np.isfinite(huge.user_factors_).all() and np.abs(huge.user_factors_).max() > 0
    np.testing.assert_array_equal(
        huge.recommend(inter.user_map.ids, k=5)[0], equal.recommend(inter.user_map.ids, k=5)[0]
    )


def test_blend_of_refuses_what_is_not_two_fitted_models():
    model = fit(models.create("popularity"), planted())
    with pytest.raises(ConfigError, match=r"^models must list at least two fitted models, got 0"):
        Blend.of([])
    with pytest.raises(ConfigError, match=r"^models must list at least two fitted models, got 1"):
        Blend.of([model])
    with pytest.raises(ConfigError, match=r"^models\[1\] must be a fitted model .*, got str"):
        Blend.of([model, "als"])


def test_blend_of_refuses_members_fitted_on_other_interactions():
    full = planted()
    rows, cols = full.matrix.nonzero()
    keep = np.ones(len(rows), bool)
    keep[[0, 7, 19]] = False  # every user and item still has interactions
    part = Interactions.from_indices(rows[keep], cols[keep], full.user_map, full.item_map)
    assert part.matrix.shape == full.matrix.shape
    a = fit(models.create("popularity"), full)
    b = fit(models.create("random", factors=4), part)
    with pytest.raises(DataError, match=r"models\[1\] was fitted on other interactions"):
        Blend.of([a, b])
    Blend.of([a, fit(models.create("random", factors=4), full)])  # the same log: accepted
