"""Data layer: id maps, interactions, loaders, datasets, splits."""

from recsys_embed.data.idmap import IdMap
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.loaders import read_interactions, read_item_text, read_table
from recsys_embed.data.movielens import DATASETS, Dataset, load_dataset
from recsys_embed.data.transforms import filter_min_weight, k_core, weight_matrix

__all__ = [
    "DATASETS",
    "Dataset",
    "IdMap",
    "Interactions",
    "filter_min_weight",
    "k_core",
    "load_dataset",
    "read_interactions",
    "read_item_text",
    "read_table",
    "weight_matrix",
]
