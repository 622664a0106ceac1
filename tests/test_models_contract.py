"""One contract, run on every registered model (a registered model without a subclass fails).

The contract itself ships with the package as :mod:`recsys_embed.testing`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from recsys_embed import models
from recsys_embed.evaluate import evaluate
from recsys_embed.testing import ModelContract, fit, planted


class TestALS(ModelContract):
    model_name = "als"
    params: ClassVar = {"factors": 8, "regularization": 1.0, "iterations": 10}


class TestALSWR(ModelContract):
    model_name = "als-wr"
    params: ClassVar = {"factors": 8, "regularization": 0.05, "iterations": 10}


class TestBPR(ModelContract):
    model_name = "bpr"
    params: ClassVar = {"factors": 8, "learning_rate": 0.05, "iterations": 200}


class TestUniformBPR(ModelContract):
    model_name = "bpr-uniform"
    params: ClassVar = {"factors": 8, "learning_rate": 0.05, "epochs": 50}


class TestLightFM(ModelContract):
    model_name = "lightfm"
    params: ClassVar = {"no_components": 8, "epochs": 30, "learning_rate": 0.05}


class TestRandom(ModelContract):
    model_name = "random"
    margin = -1.0  # no skill: the floor itself

    def test_quality_floor_on_planted_groups(self, fitted, data):
        _, train, test = data
        pop = models.create("popularity").fit(train)
        report = evaluate({"r": fitted, "pop": pop}, train, test, k=[5], metrics=["ndcg"])
        assert report.mean("r", "ndcg", 5) < report.mean("pop", "ndcg", 5) + 0.1

    def test_fold_in_for_new_users_beats_popularity(self, data):
        model = fit(self.make(), data[1])
        ids, _ = model.recommend_for_history([data[1].item_ids[:3]], k=4)
        assert not set(ids[0].tolist()) & set(data[1].item_ids[:3].tolist())


class TestLightFMHybrid(ModelContract):
    model_name = "lightfm-hybrid"
    params: ClassVar = {"no_components": 8, "epochs": 30, "learning_rate": 0.05, "word2vec_dim": 8}


class TestTextKNN(ModelContract):
    model_name = "text-knn"
    params: ClassVar = {"word2vec_dim": 8}


class TestTextMapALS(ModelContract):
    model_name = "als-text-map"
    params: ClassVar = {"factors": 8, "regularization": 1.0, "iterations": 10, "word2vec_dim": 8}


class TestEASE(ModelContract):
    model_name = "ease"
    params: ClassVar = {"l2": 5.0}


class TestBlend(ModelContract):
    model_name = "blend"
    params: ClassVar = {
        "models": [
            {"type": "als", "factors": 8, "regularization": 1.0, "iterations": 10},
            {"type": "lightfm-hybrid", "no_components": 8, "epochs": 30, "word2vec_dim": 8},
        ]
    }


class TestPopularity(ModelContract):
    model_name = "popularity"
    margin = 0.0  # it is the baseline itself

    def test_quality_floor_on_planted_groups(self, fitted, data):
        counts = np.bincount(data[1].matrix.indices, minlength=data[1].n_items)
        ids, _ = fitted.recommend([data[1].user_ids[0]], k=3, exclude_seen=False)
        assert ids[0].tolist() == data[1].item_ids[np.argsort(-counts, kind="stable")[:3]].tolist()


def test_every_registered_model_has_a_contract_subclass():
    covered = {cls.model_name for cls in ModelContract.__subclasses__()}
    assert covered == set(models.REGISTRY), (
        f"models without a contract test: {set(models.REGISTRY) - covered}"
    )


def test_registry_errors_list_what_is_allowed():
    with pytest.raises(
        ValueError,
        match=r"unknown model 'svd'; available: \['als', 'als-text-map', 'als-wr', 'blend', 'bpr'",
    ):
        models.create("svd")
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['factor'\]; allowed: \['alpha'"):
        models.create("als", factor=3)
    with pytest.raises(ValueError, match="factors must be int >= 1, got 0"):
        models.create("als", factors=0)
    with pytest.raises(
        ValueError,
        match=r"loss must be str one of \['warp', 'bpr', 'logistic', 'warp-kos'\], got 'hinge'",
    ):
        models.create("lightfm", loss="hinge")
    assert "regularization = 50.0" in models.describe("als")


def test_load_needs_neither_implicit_nor_lightfm(tmp_path):
    for name, params in (
        ("als", {"factors": 4, "iterations": 2}),
        ("lightfm", {"no_components": 4, "epochs": 2}),
        ("lightfm-hybrid", {"no_components": 4, "epochs": 2, "word2vec_dim": 4}),
        ("blend", {"models": [{"type": "als", "factors": 4}, {"type": "lightfm", "epochs": 2}]}),
    ):
        path = fit(models.create(name, **params), planted()).save(tmp_path / name)
        code = (
            "import sys; sys.modules['implicit'] = None; sys.modules['lightfm'] = None\n"
            "import recsys_embed.models as m\n"
            f"model = m.load({str(path)!r}); ids, _ = model.recommend([0], k=3); print(len(ids[0]))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent.parent,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "3"
