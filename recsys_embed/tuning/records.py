"""Trial records: one JSON line per trial in ``trials.jsonl``, and the resume check.

Non-finite numbers are written as ``null`` (the file stays valid JSON) and read back as NaN."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recsys_embed.atomic import write_text
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.reports import json_text

Log = Callable[[str], None]
STATES = ("complete", "pruned", "failed")


@dataclass
class Trial:
    number: int
    params: dict[str, Any]  # the searched parameters only
    state: str  # "complete", "pruned" (stopped early) or "failed"
    value: float | None  # the objective on validation (mean over carves); None unless complete
    validation_metrics: dict[str, float] = field(default_factory=dict)
    fit_seconds: float | None = None
    seconds: float = 0.0
    error: str | None = None
    origin: str = "sampler"  # "defaults", "seed" or "sampler"
    steps: dict[str, float] = field(default_factory=dict)  # epoch -> validation score (carve 0)
    spread: float | None = None  # standard deviation of the objective over repeated carves
    user_values: list[float] | None = None  # per validation user (carves in turn), for the rule

    def int_steps(self) -> dict[int, float]:
        return {int(k): v for k, v in self.steps.items()}


def read_trials(path: Path, log: Log) -> list[Trial]:
    """The trials in ``path``, one per trial number (a record repeating a number, written by
    a second run into the same folder, is dropped and the file rewritten without it)."""
    if not path.is_file():
        return []
    trials = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        try:
            trials.append(_restore_nan(Trial(**json.loads(line))))
        except (json.JSONDecodeError, TypeError) as exc:
            if i == len(lines) - 1:  # a run killed while writing its last line
                log(f"{path}: dropping the incomplete last line {i + 1}")
                write_text(path, "".join(line + "\n" for line in lines[:i]))
                break
            raise DataError(f"{path}: line {i + 1} is not a trial record ({exc})") from None
    return _distinct(path, trials, log)


def _distinct(path: Path, trials: list[Trial], log: Log) -> list[Trial]:
    first: dict[int, Trial] = {}
    for trial in trials:
        first.setdefault(trial.number, trial)
    if len(first) == len(trials):
        return trials
    kept = sorted(first.values(), key=lambda t: t.number)
    log(f"{path}: dropping {len(trials) - len(kept)} record(s) repeating a trial number")
    write_text(path, "".join(_line(t) for t in kept))
    return kept


def _restore_nan(trial: Trial) -> Trial:
    """NaN where the file holds ``null`` for a number (see the module docstring)."""

    def num(v: float | None) -> float:
        return math.nan if v is None else v

    trial.validation_metrics = {k: num(v) for k, v in trial.validation_metrics.items()}
    trial.steps = {k: num(v) for k, v in trial.steps.items()}
    if trial.user_values is not None:
        trial.user_values = [num(v) for v in trial.user_values]
    return trial


def _line(trial: Trial) -> str:
    return json_text(asdict(trial)) + "\n"


def append_trial(path: Path, trial: Trial) -> None:
    with open(path, "a") as fh:
        fh.write(_line(trial))
        fh.flush()
        os.fsync(fh.fileno())


def check_resume(out: Path, settings: dict[str, Any]) -> None:
    """Refuse a directory whose trials come from a search with other settings."""
    path = out / "search.json"
    settings = json.loads(json_text(settings))  # tuples -> lists, as read back
    if path.is_file():
        before = json.loads(path.read_text())
        changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
        if changed:
            raise ConfigError(
                f"{out} holds trials of another search (differs in {changed}); "
                "use a new output directory or delete it"
            )
    else:
        write_text(path, json_text(settings, indent=2) + "\n")
