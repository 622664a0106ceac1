"""Models behind one interface: ``create(name, **params)``, ``fit``, ``recommend``, ``save``."""

from recsys_embed.models.als import ALS
from recsys_embed.models.base import Recommender
from recsys_embed.models.bpr import BPR
from recsys_embed.models.lightfm import LightFM
from recsys_embed.models.popularity import Popularity
from recsys_embed.models.registry import REGISTRY, create, describe, load, model_class

__all__ = [
    "ALS",
    "BPR",
    "REGISTRY",
    "LightFM",
    "Popularity",
    "Recommender",
    "create",
    "describe",
    "load",
    "model_class",
]
