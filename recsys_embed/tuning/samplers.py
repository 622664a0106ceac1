"""Trial samplers: seeded random search (built in) and Optuna's TPE (the ``tune`` extra).

Random search draws trial ``n`` from ``numpy.random.default_rng([seed, n])``, so a run and a
resumed run give the same trials. TPE is seeded and is told the earlier trials when resuming.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from recsys_embed.errors import ConfigError
from recsys_embed.tuning.space import Dimension

SAMPLERS = ("auto", "random", "tpe")


class Sampler(Protocol):
    name: str

    def ask(self, number: int) -> dict[str, Any]: ...

    def tell(self, value: float | None) -> None:  # None: the trial failed
        ...


def optuna_module() -> Any:
    try:
        import optuna
    except ImportError:
        return None
    return optuna


class _RandomSampler:
    name = "random"

    def __init__(self, space: dict[str, Dimension], seed: int):
        self.space, self.seed = space, seed

    def ask(self, number: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, number])
        return {name: dim.sample(rng) for name, dim in self.space.items()}

    def tell(self, value: float | None) -> None:
        pass


class _TPESampler:
    name = "tpe"

    def __init__(
        self,
        space: dict[str, Dimension],
        seed: int,
        done: list[tuple[dict[str, Any], float | None]],
    ):
        optuna = optuna_module()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        d = optuna.distributions
        self.optuna = optuna
        self.dists = {
            n: d.CategoricalDistribution(dim.choices)
            if dim.choices is not None
            else (d.IntDistribution if dim.kind is int else d.FloatDistribution)(
                dim.kind(dim.low), dim.kind(dim.high), log=dim.scale == "log"
            )
            for n, dim in space.items()
        }
        self.study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        for params, value in done:
            ok = value is not None
            self.study.add_trial(
                optuna.trial.create_trial(
                    params=params,
                    distributions=self.dists,
                    value=value,
                    state=optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.FAIL,
                )
            )
        self.pending: Any = None

    def ask(self, number: int) -> dict[str, Any]:
        self.pending = self.study.ask(self.dists)
        return dict(self.pending.params)

    def tell(self, value: float | None) -> None:
        if value is not None:
            self.study.tell(self.pending, value)
        else:
            self.study.tell(self.pending, state=self.optuna.trial.TrialState.FAIL)


def make_sampler(
    name: str,
    space: dict[str, Dimension],
    seed: int,
    done: list[tuple[dict[str, Any], float | None]],
) -> Sampler:
    """``done``: the earlier trials as ``(params, value or None if failed)``."""
    if name not in SAMPLERS:
        raise ConfigError(f"sampler must be one of {list(SAMPLERS)}, got {name!r}")
    if name == "random" or (name == "auto" and optuna_module() is None):
        return _RandomSampler(space, seed)
    if optuna_module() is None:
        raise ConfigError('sampler "tpe" needs Optuna: pip install "recsys-embed[tune]"')
    return _TPESampler(space, seed, done)
