"""Validation carves: a fitting part and a validation part split again out of train.

By default the carve mirrors the protocol's own test split (``Carve.like_split``): the same
method, stratification and per-group rounding, applied to train, so validation measures what
test measures. A ``cold_items`` protocol gets cold validation items chosen among the items that
have train interactions, so the test's cold items are never validation items.

The fitting part holds less data than train, which the chosen setting is refitted on; where
the best setting moves with the amount of data (ALS's regularization on MovieLens, measured in
evaluation/results/tuning_grids.md), ``extrapolate=True`` scores each trial also fitted on a
smaller part (the fitting part carved again the same way) and reports the score extrapolated
one step up the learning curve, to train's size: ``2 * fit - smaller`` (log-linear in size,
as the two ratios are equal). Random and hash carves only (they remove a fraction).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from recsys_embed.data import splits
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError

METHODS = ("random", "hash", "temporal", "leave_last", "cold_items")
EXTRAPOLATED = ("random", "hash")  # carves that remove a fraction: equal size ratios
VALIDATIONS = ("split", "random", "temporal")  # [tune] validation: mirror [split], or per user


@dataclass(frozen=True)
class Carve:
    """How validation is carved out of train; ``fraction`` as the splitters round it."""

    method: str = "random"
    fraction: float = 0.2
    stratify: Literal["user", "item"] | None = "user"  # random carves only
    n_last: int = 1  # leave_last carves only
    extrapolate: bool = False  # score at train's size (see the module docstring)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"validation carve must be one of {list(METHODS)}, got {self.method!r}"
            )
        if self.extrapolate and self.method not in EXTRAPOLATED:
            raise ConfigError(
                f"extrapolate needs a carve that removes a fraction ({list(EXTRAPOLATED)}), "
                f"got {self.method!r}"
            )

    @classmethod
    def like_split(
        cls,
        method: str,
        test_fraction: float,
        stratify: Literal["user", "item"] | None = "user",
        n_last: int = 1,
        fraction: float | None = None,
    ) -> Carve:
        """The carve that mirrors a test split; ``fraction`` replaces its test fraction.

        A ``given`` split (a published test file) cannot be repeated: it becomes a per-user
        random carve of ``fraction`` (the test file's share of the data, say).
        """
        if method == "given":
            return cls("random", fraction if fraction is not None else test_fraction, "user")
        return cls(method, fraction if fraction is not None else test_fraction, stratify, n_last)

    @classmethod
    def per_user(cls, method: str, fraction: float | None) -> Carve:
        """The per-user carves (``[tune] validation = "random"`` or ``"temporal"``)."""
        if method not in ("random", "temporal"):
            raise ConfigError(f"validation must be one of {list(VALIDATIONS)}, got {method!r}")
        return cls(method, 0.2 if fraction is None else fraction, "user")

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"method": self.method}
        if self.method == "leave_last":
            out["n_last"] = self.n_last
        else:
            out["fraction"] = self.fraction
        if self.method == "random":
            out["stratify"] = self.stratify
        if self.extrapolate:
            out["extrapolate"] = True
        return out


@dataclass(frozen=True)
class Fold:
    """One carve: fit on ``fit``, score on ``valid`` (ranking only ``candidates``, if set)."""

    fit: Interactions
    valid: Interactions
    candidates: np.ndarray | None = None  # external item ids (cold-item carves)
    smaller: Interactions | None = None  # ``fit`` carved again (extrapolated carves only)


SMALLER_SEED = 1000  # the smaller part of the carve with seed s is carved with seed s + this


def carve(train: Interactions, how: Carve, seed: int) -> Fold:
    """Split ``train`` into a fitting part and validation as ``how`` says."""
    if how.method in EXTRAPOLATED:
        fit, valid = (
            splits.random_split(train, how.fraction, how.stratify, seed)
            if how.method == "random"
            else splits.hash_split(train, how.fraction, seed)
        )
        if not how.extrapolate:
            return Fold(fit, valid)
        smaller = carve(fit, replace(how, extrapolate=False), seed + SMALLER_SEED).fit
        return Fold(fit, valid, smaller=smaller)
    if how.method == "temporal":
        return Fold(*splits.temporal_split(train, how.fraction, seed=seed))
    if how.method == "leave_last":
        return Fold(*splits.leave_last_n(train, how.n_last, seed=seed))
    fit, valid = splits.cold_item_split(train, how.fraction, seed)
    return Fold(fit, valid, fit.item_map.external(splits.cold_items(fit, valid)))


def validation_split(
    train: Interactions, method: str = "random", fraction: float = 0.2, seed: int = 0
) -> tuple[Interactions, Interactions]:
    """``(fitting part, validation)`` of ``train``, per user: random or latest interactions."""
    fold = carve(train, Carve.per_user(method, fraction), seed)
    return fold.fit, fold.valid
