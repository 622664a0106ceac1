"""The rule that decides whether the best trial replaces the defaults (trial 0).

``"bootstrap"`` (the default): the winner replaces the defaults only when the 95% interval of
its mean per-user validation gain over the defaults, from a paired bootstrap over validation
users (2000 resamples, seeded), lies above zero. ``"best"``: the top validation score wins,
however small the gain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from recsys_embed.errors import ConfigError

RULES = ("bootstrap", "best")
RESAMPLES = 2000


@dataclass(frozen=True)
class Decision:
    rule: str
    replaced: bool  # the winner replaces the defaults
    reason: str
    gain: float | None = None  # the winner's mean validation gain over the defaults
    ci95: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci95"] = None if self.ci95 is None else list(self.ci95)
        return out


def paired_bootstrap(
    base: np.ndarray, other: np.ndarray, seed: int = 0, resamples: int = RESAMPLES
) -> tuple[float, float, float]:
    """Mean of ``other - base`` over users (nan pairs dropped) and its 95% percentile interval."""
    diff = np.asarray(other, np.float64) - np.asarray(base, np.float64)
    diff = diff[~np.isnan(diff)]
    if len(diff) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    step = max(1, 2_000_000 // len(diff))  # bounded memory: chunks of resamples
    for lo in range(0, resamples, step):
        hi = min(resamples, lo + step)
        means[lo:hi] = diff[rng.integers(0, len(diff), (hi - lo, len(diff)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(diff.mean()), float(low), float(high)


def decide(
    rule: str,
    defaults_users: np.ndarray | None,
    winner_users: np.ndarray | None,
    same: bool,
    seed: int = 0,
) -> Decision:
    """Whether the winner replaces the defaults; ``same``: the winner is the defaults trial."""
    if rule not in RULES:
        raise ConfigError(f"decision must be one of {list(RULES)}, got {rule!r}")
    if same:
        return Decision(rule, False, "the defaults scored best on validation")
    if defaults_users is None:
        return Decision(rule, True, "the defaults failed on validation")
    assert winner_users is not None
    gain, low, high = paired_bootstrap(defaults_users, winner_users, seed)
    if rule == "best":
        return Decision(rule, True, "highest validation score", gain, (low, high))
    if low > 0:
        return Decision(rule, True, "validation gain above the bootstrap noise", gain, (low, high))
    return Decision(
        rule, False, "validation gain within the bootstrap noise: defaults kept", gain, (low, high)
    )
