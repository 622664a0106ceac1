"""Multi-fidelity search: score a trial's model on validation at a few epochs and stop it early
when it falls behind the trials before it (percentile pruning, as Optuna's ``PercentilePruner``).

Checkpoints are absolute epochs (powers of two: 4, 8, 16, ...), so trials are compared at the
same step whatever their epoch budget; a trial is not judged before 1/16 of its own epochs
(a 400-epoch trial with a small step is not stopped at epoch 4 for learning slowly), and the
last epoch is never a checkpoint (the trial's value is its final score). Trial 0 (the
defaults) and the first trials after it always run to the end: judging needs
``min_trials`` earlier scores at the same checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from recsys_embed.models.base import Recommender

FIRST_CHECKPOINT = 4


class Pruned(Exception):
    """Raised inside a fit to stop a trial; carries the epoch and the score that stopped it."""

    def __init__(self, epoch: int, value: float):
        super().__init__(f"pruned after epoch {epoch} (validation {value:.4f})")
        self.epoch, self.value = epoch, value


def checkpoints(total_epochs: int, first: int = FIRST_CHECKPOINT) -> list[int]:
    """Epochs ``first * 2**j`` before ``total_epochs``, from 1/16 of ``total_epochs`` on."""
    out, e = [], first
    while e * 16 < total_epochs:
        e *= 2
    while e < total_epochs:
        out.append(e)
        e *= 2
    return out


class Pruner:
    """Stop a trial at a checkpoint when its score is below the ``quantile`` of the scores that
    at least ``min_trials`` earlier trials had at the same checkpoint (``quantile`` 0: never)."""

    def __init__(self, quantile: float = 0.25, min_trials: int = 5):
        if not 0.0 <= quantile < 1.0:
            raise ValueError(f"prune quantile must be in [0, 1), got {quantile}")
        self.quantile, self.min_trials = quantile, min_trials

    def should_prune(self, epoch: int, value: float, earlier: Sequence[dict[int, float]]) -> bool:
        if self.quantile == 0.0:
            return False
        at = [steps[epoch] for steps in earlier if epoch in steps]
        if len(at) < self.min_trials:
            return False
        return bool(value < np.quantile(at, self.quantile))


class Watch:
    """The epoch hook a tuning trial puts on its model: scores it at the checkpoints, records
    the scores in ``steps`` and raises :class:`Pruned` when the pruner says so."""

    def __init__(
        self,
        epochs: Sequence[int],
        score: Callable[[Recommender], float],
        pruner: Pruner,
        earlier: Sequence[dict[int, float]],
    ):
        self.epochs, self.score, self.pruner, self.earlier = set(epochs), score, pruner, earlier
        self.steps: dict[int, float] = {}

    def wants(self, epoch: int) -> bool:
        return epoch in self.epochs

    def __call__(self, epoch: int, model: Recommender) -> None:
        value = self.score(model)
        self.steps[epoch] = value
        if self.pruner.should_prune(epoch, value, self.earlier):
            raise Pruned(epoch, value)
