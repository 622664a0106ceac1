"""Models behind one interface: ``create(name, **params)``, ``fit``, ``recommend``, ``save``."""

from recsys_embed.models.als import ALS
from recsys_embed.models.alswr import ALSWR
from recsys_embed.models.base import Recommender
from recsys_embed.models.blend import Blend
from recsys_embed.models.bpr import BPR
from recsys_embed.models.bpr_uniform import UniformBPR
from recsys_embed.models.ease import EASE
from recsys_embed.models.hybrid import LightFMHybrid
from recsys_embed.models.lightfm import LightFM
from recsys_embed.models.popularity import Popularity
from recsys_embed.models.random import Random
from recsys_embed.models.registry import REGISTRY, create, describe, load, model_class
from recsys_embed.models.textknn import TextKNN
from recsys_embed.models.textmap import TextMapALS

__all__ = [
    "ALS",
    "ALSWR",
    "BPR",
    "EASE",
    "REGISTRY",
    "Blend",
    "LightFM",
    "LightFMHybrid",
    "Popularity",
    "Random",
    "Recommender",
    "TextKNN",
    "TextMapALS",
    "UniformBPR",
    "create",
    "describe",
    "load",
    "model_class",
]
