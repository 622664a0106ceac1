"""recsys_embed: embedding-based recommendation with one interface for ALS, BPR and LightFM.

``import recsys_embed as rse`` is light: the data layer loads at once; ``rse.models``,
``rse.metrics``, ``rse.tuning``, ``rse.evaluate`` (the function) and the other names below
load on first use (PEP 562), so no model library is imported until a model needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
from recsys_embed.version import __version__

if TYPE_CHECKING:
    import recsys_embed.testing as testing  # noqa: F401 (rse.testing, typed)
    from recsys_embed import batch, metrics, models, reports, tuning
    from recsys_embed.evaluate import Report, evaluate, fit_and_evaluate
    from recsys_embed.progress import progress

# name -> (module, attribute or None for the module itself); ``testing`` needs pytest, so it
# is reachable as rse.testing but left out of __all__ (``import *`` must not need pytest)
_LAZY: dict[str, tuple[str, str | None]] = {
    "models": ("recsys_embed.models", None),
    "metrics": ("recsys_embed.metrics", None),
    "tuning": ("recsys_embed.tuning", None),
    "batch": ("recsys_embed.batch", None),
    "reports": ("recsys_embed.reports", None),
    "testing": ("recsys_embed.testing", None),
    "evaluate": ("recsys_embed.evaluate", "evaluate"),
    "fit_and_evaluate": ("recsys_embed.evaluate", "fit_and_evaluate"),
    "Report": ("recsys_embed.evaluate", "Report"),
    "progress": ("recsys_embed.progress", "progress"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'recsys_embed' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "Report",
    "UnknownIdError",
    "__version__",
    "batch",
    "errors",
    "evaluate",
    "filter_min_weight",
    "fit_and_evaluate",
    "k_core",
    "load_dataset",
    "metrics",
    "models",
    "progress",
    "read_interactions",
    "read_item_text",
    "reports",
    "split",
    "tuning",
    "weight_matrix",
]
