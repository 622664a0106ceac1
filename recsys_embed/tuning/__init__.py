"""Hyperparameter tuning on validation data carved out of train: see :func:`tune`."""

from recsys_embed.tuning.carve import VALIDATIONS, Carve, Fold, carve, validation_split
from recsys_embed.tuning.decide import RULES, Decision, paired_bootstrap
from recsys_embed.tuning.records import Trial
from recsys_embed.tuning.samplers import SAMPLERS
from recsys_embed.tuning.search import TuneResult, tune
from recsys_embed.tuning.space import Dimension, default_point, search_space

__all__ = [
    "RULES",
    "SAMPLERS",
    "VALIDATIONS",
    "Carve",
    "Decision",
    "Dimension",
    "Fold",
    "Trial",
    "TuneResult",
    "carve",
    "default_point",
    "paired_bootstrap",
    "search_space",
    "tune",
    "validation_split",
]
