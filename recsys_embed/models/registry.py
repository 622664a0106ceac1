"""Model names -> classes, creation with validated parameters, and loading saved models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.models import persist
from recsys_embed.models.base import Recommender
from recsys_embed.models.blend import Blend
from recsys_embed.models.kinds import SINGLE
from recsys_embed.models.params import check_params
from recsys_embed.models.persist import library_versions

__all__ = ["REGISTRY", "create", "describe", "fit", "library_versions", "load", "model_class"]

REGISTRY: dict[str, type[Recommender]] = {**SINGLE, Blend.name: Blend}


def model_class(name: str) -> type[Recommender]:
    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}; available: {sorted(REGISTRY)}")
    return REGISTRY[name]


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted model by registry name; parameters are checked now."""
    cls = model_class(name)
    check_params(f"model {name!r}", cls.PARAMS, params)
    return cls(**params)


def fit(
    model: Recommender,
    train: Interactions,
    item_text: Any = None,
    what: str = "",
    show_progress: bool | None = None,
) -> Recommender:
    """``model.fit(train, item_text)``; a text model without text: ConfigError naming ``what``."""
    if getattr(model, "needs_item_text", False) and item_text is None:
        raise ConfigError(
            f"{what or 'model'} type {model.name!r} needs item text: add a [data.items] table "
            "or use a dataset name"
        )
    return model.fit(train, item_text, show_progress=show_progress)


def describe(name: str) -> str:
    """The model's parameters: name, default, allowed values, meaning and tuning range."""
    cls = model_class(name)
    lines = []
    for k, p in cls.PARAMS.items():
        tuned = ""
        if p.search is not None:
            numeric = (
                p.kind in (int, float) and len(p.search) == 3 and p.search[2] in ("log", "linear")
            )
            tuned = (
                f"; tuned over [{p.search[0]}, {p.search[1]}] ({p.search[2]} scale)"
                if numeric
                else f"; tuned over {list(p.search)}"
            )
        lines.append(f"{k} = {p.default!r}  ({p.describe(k)}): {p.doc}{tuned}")
    return "\n".join(lines)


def load(path: str | Path) -> Recommender:
    """Load a model saved with :meth:`Recommender.save` (needs neither implicit nor lightfm)."""
    manifest, arrays = persist.read_model_dir(path)
    kind = manifest["type"]
    if kind not in REGISTRY:
        raise DataError(f"{path}: unknown model type {kind!r}; known: {sorted(REGISTRY)}")
    try:
        return REGISTRY[kind].from_arrays(manifest, arrays)
    except ConfigError as exc:
        raise DataError(f"{path}: bad parameters in manifest: {exc}") from None
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    except (ValueError, TypeError, IndexError, KeyError) as exc:  # a model's own extra arrays
        raise DataError(f"{path}: malformed model ({type(exc).__name__}: {exc})") from None
