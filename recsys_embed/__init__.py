"""recsys_embed: embedding-based recommendation with one interface for ALS, BPR and LightFM."""

from recsys_embed import errors
from recsys_embed.data import (
    DATASETS,
    Dataset,
    IdMap,
    Interactions,
    filter_min_weight,
    k_core,
    load_dataset,
    read_interactions,
    read_item_text,
    weight_matrix,
)
from recsys_embed.data import splits as split
from recsys_embed.errors import (
    ConfigError,
    DataError,
    FitError,
    NotFittedError,
    RecsysEmbedError,
    UnknownIdError,
)

__version__ = "0.1.0"

__all__ = [
    "DATASETS",
    "ConfigError",
    "DataError",
    "Dataset",
    "FitError",
    "IdMap",
    "Interactions",
    "NotFittedError",
    "RecsysEmbedError",
    "UnknownIdError",
    "__version__",
    "errors",
    "filter_min_weight",
    "k_core",
    "load_dataset",
    "read_interactions",
    "read_item_text",
    "split",
    "weight_matrix",
]
