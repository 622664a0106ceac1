"""Every registered model is importable from ``recsys_embed.models`` by its class name."""

from __future__ import annotations

from recsys_embed import models
from recsys_embed.models.registry import REGISTRY


def test_every_registered_model_is_exported_by_class_name():
    assert len(REGISTRY) >= 12  # the single models and the blend
    missing = sorted(
        cls.__name__
        for cls in REGISTRY.values()
        if cls.__name__ not in models.__all__ or getattr(models, cls.__name__, None) is not cls
    )
    assert not missing, f"registered but not exported from recsys_embed.models: {missing}"


def test_every_exported_name_resolves():
    for name in models.__all__:
        assert hasattr(models, name), name
