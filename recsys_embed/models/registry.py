"""Model names -> classes, creation with validated parameters, and loading saved models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

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
    manifest, arrays, intact = persist.read_model_folder(path)
    kind = manifest["type"]
    if kind not in REGISTRY:
        raise DataError(f"{path}: unknown model type {kind!r}; known: {sorted(REGISTRY)}")
    try:
        model = REGISTRY[kind].from_arrays(manifest, arrays)
        for part in [*getattr(model, "members_", []), model]:  # a blend's members, then it
            check_fits_type(part)
    except ConfigError as exc:
        raise DataError(f"{path}: bad parameters in manifest: {exc}") from None
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:  # own arrays
        raise DataError(f"{path}: malformed model ({type(exc).__name__}: {exc})") from None
    if not intact:  # after the checks above: a specific reason first, where there is one
        raise persist.manifest_mismatch(str(path))
    return model


def _item_width(model: Recommender) -> int | None:
    """The width of the item vectors a model of this type and these parameters writes
    (None: it depends on the fit, e.g. text vocabularies)."""
    p, name = model.params, model.name
    if name in ("als", "als-wr", "random"):
        return int(p["factors"])
    if name in ("bpr", "bpr-uniform"):  # plus implicit's item bias column
        return int(p["factors"]) + 1
    if name == "lightfm":  # plus the item bias and the constant user column
        return int(p["no_components"]) + 2
    if name == "popularity":
        return 1
    if name == "ease":  # item-item weights
        return len(model.item_map_)
    return None


def check_fits_type(model: Recommender) -> None:
    """The loaded arrays fit the model type the manifest claims: the item vectors are as wide as
    that type writes them, and a fold-in (what ``recommend --history`` runs) of a one-item
    history gives a user vector of that width. DataError naming the type if not (a manifest
    whose type was edited, or blend members swapped)."""
    vectors = model.require_fitted()
    width, n_items = vectors.item_factors.shape[1], len(model.item_map_)
    want = _item_width(model)
    if want is not None and width != want:
        raise DataError(
            f"a {model.name!r} model with these parameters has {want}-wide item vectors; "
            f"its arrays hold {width}-wide ones (the manifest does not fit the arrays)"
        )
    one = sp.csr_matrix(
        (np.ones(min(n_items, 1), np.float32), [0] * min(n_items, 1), [0, min(n_items, 1)]),
        shape=(1, n_items),
    )
    folded = model.fold_in(one)
    if folded.shape != (1, width):
        raise DataError(
            f"a {model.name!r} model's fold-in gives {folded.shape[1]}-wide user vectors for "
            f"{width}-wide item vectors (the manifest does not fit the arrays)"
        )
