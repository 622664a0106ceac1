"""Search spaces: the tuning ranges a model's ``PARAMS`` declare, as sampleable dimensions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recsys_embed.errors import ConfigError
from recsys_embed.models import registry


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a numeric range (``scale`` log or linear) or a set of choices."""

    name: str
    kind: type
    low: float | None = None
    high: float | None = None
    scale: str = "log"
    choices: tuple[Any, ...] | None = None

    def describe(self) -> str:
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        return f"{self.kind.__name__} in [{self.low}, {self.high}] ({self.scale})"

    def holds(self, value: Any) -> bool:
        """Whether ``value`` lies in this range (or is one of the choices)."""
        if self.choices is not None:
            return value in self.choices
        assert self.low is not None and self.high is not None
        return self.low <= value <= self.high

    def sample(self, rng: np.random.Generator) -> Any:
        if self.choices is not None:
            return self.choices[int(rng.integers(len(self.choices)))]
        assert self.low is not None and self.high is not None
        if self.scale == "log":
            x = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            x = rng.uniform(self.low, self.high)
        if self.kind is int:
            return int(min(max(round(x), self.low), self.high))
        return float(f"{x:.4g}")


def _dimension(model: str, name: str, kind: type, spec: Sequence[Any]) -> Dimension:
    spec = tuple(spec)
    numeric = kind in (int, float)
    if numeric and len(spec) in (2, 3) and all(isinstance(v, (int, float)) for v in spec[:2]):
        scale = spec[2] if len(spec) == 3 else "log"
        low, high = float(spec[0]), float(spec[1])
        if scale not in ("log", "linear") or not low < high or (scale == "log" and low <= 0):
            raise ConfigError(
                f"search range of {model} {name} must be [low, high] or [low, high, 'log' | "
                f"'linear'] with low < high (and low > 0 for log), got {list(spec)}"
            )
        return Dimension(name, kind, low, high, scale)
    if not spec or not all(isinstance(v, kind) for v in spec):
        raise ConfigError(
            f"search choices of {model} {name} must be a non-empty list of {kind.__name__}, "
            f"got {list(spec)}"
        )
    return Dimension(name, kind, choices=spec)


def search_space(
    model: str,
    fixed: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, Dimension]:
    """The searched parameters of registry model ``model``: the ranges its ``PARAMS`` declare
    (see ``models.describe``), less the ``fixed`` ones, with ``overrides`` replacing ranges."""
    cls = registry.model_class(model)
    fixed, overrides = dict(fixed or {}), dict(overrides or {})
    unknown = sorted(set(overrides) - set(cls.PARAMS))
    if unknown:
        raise ConfigError(f"model {model!r} has no parameter(s) {unknown} to search")
    both = sorted(set(overrides) & set(fixed))
    if both:
        raise ConfigError(f"{both} of model {model!r} are both fixed and searched")
    space = {}
    for name, p in cls.PARAMS.items():
        spec = overrides.get(name, p.search)
        if name in fixed or spec is None:
            continue
        dim = _dimension(model, name, p.kind, spec)
        for v in (dim.choices or ()) + tuple(x for x in (dim.low, dim.high) if x is not None):
            p.check(name, p.kind(v) if p.kind is int else v)
        space[name] = dim
    if not space:
        hint = "; tune its member models, then blend their settings" if model == "blend" else ""
        raise ConfigError(f"model {model!r} has no parameter left to search{hint}")
    return space


# the best of LightFM's ML-100K grid (per-item carve)
_LIGHTFM_SEED = {"no_components": 64, "learning_rate": 0.02, "max_sampled": 30, "epochs": 40}

# Known-good settings tried right after the defaults (trial 1, ...), where their parameters are
# searched: the best of the validation grids in evaluation/results/tuning_grids.md (never test).
SEEDS: dict[str, list[dict[str, Any]]] = {
    # the best ALS setting of the grid on ML-100K (per-item carve); the best on ML-100K scored
    # at train's size (extrapolated carves, 3 seeds). The best of the ml-latest-small grid
    # (64 factors, regularization 70, alpha 15) is gone: it won on the fitting part and lost
    # after the refit on all of train (evaluation/README.md, "Search ranges and data size")
    "als": [
        {"factors": 128, "regularization": 50.0, "alpha": 7.0},
        {"factors": 128, "regularization": 30.0, "alpha": 3.5},
    ],
    # the best of the ML-100K grid (per-item carve)
    "bpr-uniform": [{"factors": 128, "learning_rate": 0.02, "regularization": 0.02, "epochs": 400}],
    "lightfm": [_LIGHTFM_SEED],
    # LightFM's, for hybrids with an identity block on warm data (the hybrid's defaults are
    # sized for cold items: evaluation/results/warm_hybrid_blocks.md)
    "lightfm-hybrid": [_LIGHTFM_SEED],
}


def default_point(model: str, dims: Mapping[str, Dimension]) -> dict[str, Any]:
    """The model's declared defaults of the searched parameters: trial 0 of every search."""
    params = registry.model_class(model).PARAMS
    return {name: params[name].default for name in dims}


def seed_points(model: str, dims: Mapping[str, Dimension]) -> list[dict[str, Any]]:
    """The defaults, then each known-good seed (its searched keys over the defaults) that lies
    inside the searched ranges (a space narrowed by the user drops the seeds outside it)."""
    points = [default_point(model, dims)]
    for seed in SEEDS.get(model, []):
        searched = {k: v for k, v in seed.items() if k in dims}
        point = {**points[0], **searched}
        if point not in points and all(dims[k].holds(v) for k, v in searched.items()):
            points.append(point)
    return points
