"""Trial samplers: seeded random search (built in) and Optuna's TPE (the ``tune`` extra).

Random search draws trial ``n`` from ``numpy.random.default_rng([seed, n])``, so a run and a
resumed run give the same trials. TPE is seeded and is told every earlier trial (the defaults,
seeds and resumed trials included; pruned ones with their intermediate scores).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from recsys_embed.errors import ConfigError
from recsys_embed.tuning.records import Trial
from recsys_embed.tuning.space import Dimension

SAMPLERS = ("auto", "random", "tpe")
TPE_STARTUP = 5  # random trials (the defaults and seeds count) before TPE models the results


class Sampler(Protocol):
    name: str

    def ask(self, number: int) -> dict[str, Any]: ...

    def tell(self, trial: Trial) -> None:  # the trial ``ask`` proposed, finished
        ...

    def add(self, trial: Trial) -> None:  # a trial the sampler did not propose
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

    def tell(self, trial: Trial) -> None:
        pass

    def add(self, trial: Trial) -> None:
        pass


class _TPESampler:
    name = "tpe"

    def __init__(self, space: dict[str, Dimension], seed: int):
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
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=TPE_STARTUP),
        )
        self.pending: Any = None

    def _state(self, trial: Trial) -> Any:
        states = self.optuna.trial.TrialState
        return {"complete": states.COMPLETE, "pruned": states.PRUNED}.get(trial.state, states.FAIL)

    def _inside(self, params: dict[str, Any]) -> bool:
        if set(params) != set(self.dists):
            return False
        try:
            return all(d._contains(d.to_internal_repr(params[n])) for n, d in self.dists.items())
        except ValueError:
            return False

    def ask(self, number: int) -> dict[str, Any]:
        self.pending = self.study.ask(self.dists)
        return dict(self.pending.params)

    def tell(self, trial: Trial) -> None:
        for step, value in trial.int_steps().items():
            self.pending.report(value, step)
        if trial.state == "complete":
            self.study.tell(self.pending, trial.value)
        else:
            self.study.tell(self.pending, state=self._state(trial))

    def add(self, trial: Trial) -> None:
        if not self._inside(trial.params):
            return  # a defaults point outside the searched ranges: TPE cannot hold it
        self.study.add_trial(
            self.optuna.trial.create_trial(
                params=trial.params,
                distributions=self.dists,
                value=trial.value if trial.state == "complete" else None,
                intermediate_values=trial.int_steps(),
                state=self._state(trial),
            )
        )


def make_sampler(name: str, space: dict[str, Dimension], seed: int) -> Sampler:
    if name not in SAMPLERS:
        raise ConfigError(f"sampler must be one of {list(SAMPLERS)}, got {name!r}")
    if name == "random" or (name == "auto" and optuna_module() is None):
        return _RandomSampler(space, seed)
    if optuna_module() is None:
        raise ConfigError('sampler "tpe" needs Optuna: pip install "recsys-embed[tune]"')
    return _TPESampler(space, seed)
