"""The single models by name: what a blend may join (the registry adds the blend itself)."""

from __future__ import annotations

from recsys_embed.models.als import ALS
from recsys_embed.models.alswr import ALSWR
from recsys_embed.models.base import Recommender
from recsys_embed.models.bpr import BPR
from recsys_embed.models.bpr_uniform import UniformBPR
from recsys_embed.models.ease import EASE
from recsys_embed.models.hybrid import LightFMHybrid
from recsys_embed.models.lightfm import LightFM
from recsys_embed.models.popularity import Popularity
from recsys_embed.models.random import Random
from recsys_embed.models.textknn import TextKNN
from recsys_embed.models.textmap import TextMapALS

SINGLE: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        ALS,
        ALSWR,
        BPR,
        UniformBPR,
        LightFM,
        Popularity,
        Random,
        LightFMHybrid,
        TextKNN,
        TextMapALS,
        EASE,
    )
}
