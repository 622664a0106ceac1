"""Hyperparameter tuning on validation data carved out of train: see :func:`tune`."""

from recsys_embed.tuning.samplers import SAMPLERS
from recsys_embed.tuning.search import Trial, TuneResult, tune, validation_split
from recsys_embed.tuning.space import Dimension, search_space

__all__ = [
    "SAMPLERS",
    "Dimension",
    "Trial",
    "TuneResult",
    "search_space",
    "tune",
    "validation_split",
]
