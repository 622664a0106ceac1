"""Trial records: one JSON line per trial in ``trials.jsonl``, and the resume check."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recsys_embed.atomic import write_text
from recsys_embed.errors import ConfigError, DataError

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
    if not path.is_file():
        return []
    trials = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        try:
            trials.append(Trial(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as exc:
            if i == len(lines) - 1:  # a run killed while writing its last line
                log(f"{path}: dropping the incomplete last line {i + 1}")
                write_text(path, "".join(line + "\n" for line in lines[:i]))
                break
            raise DataError(f"{path}: line {i + 1} is not a trial record ({exc})") from None
    return trials


def append_trial(path: Path, trial: Trial) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(asdict(trial)) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def check_resume(out: Path, settings: dict[str, Any]) -> None:
    """Refuse a directory whose trials come from a search with other settings."""
    path = out / "search.json"
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as read back
    if path.is_file():
        before = json.loads(path.read_text())
        changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
        if changed:
            raise ConfigError(
                f"{out} holds trials of another search (differs in {changed}); "
                "use a new output directory or delete it"
            )
    else:
        write_text(path, json.dumps(settings, indent=2) + "\n")
