"""Hyperparameter search on a validation split carved out of train; test is read once, at the end.

Protocol: ``train`` is split again, per user (random or temporal, seeded), into a fitting part
and a validation part. Every trial fits on the fitting part and is scored on validation (the
fitting items excluded from ranking). The best trial's parameters are then fitted on the whole
of ``train`` (``refit=True``) or on the fitting part again (``refit=False``, as RecBole does)
and evaluated once on ``test``. Nothing reads ``test`` before that last step.

Samplers: ``"random"`` draws trial ``n`` from ``numpy.random.default_rng([seed, n])``, so a run
and a resumed run give the same trials; ``"tpe"`` is Optuna's TPE (``pip install
"recsys-embed[tune]"``), seeded, and given the earlier trials when resuming; ``"auto"`` is TPE
when Optuna is installed, else random. Each trial is one JSON line in ``trials.jsonl``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recsys_embed.atomic import write_text
from recsys_embed.data import splits
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.evaluate import METRICS, evaluate
from recsys_embed.models import registry
from recsys_embed.models.base import Recommender
from recsys_embed.tuning.samplers import make_sampler
from recsys_embed.tuning.space import search_space

VALIDATIONS = ("random", "temporal")
Log = Callable[[str], None]


@dataclass
class Trial:
    number: int
    params: dict[str, Any]  # the searched parameters only
    state: str  # "complete" or "failed"
    value: float | None  # the objective on validation
    validation_metrics: dict[str, float] = field(default_factory=dict)
    fit_seconds: float | None = None
    seconds: float = 0.0
    error: str | None = None


@dataclass
class TuneResult:
    model: str
    params: dict[str, Any]  # every parameter of the chosen setting (fixed + searched + defaults)
    best: Trial
    trials: list[Trial]
    sampler: str
    metric: str
    test_metrics: dict[str, float] | None
    fitted: Recommender = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """The ``best.json`` document (``num_threads`` left out: it changes no result)."""
        out = {
            "model": self.model,
            "params": {k: v for k, v in self.params.items() if k != "num_threads"},
            "searched": self.best.params,
            "trial": self.best.number,
            "n_trials": len(self.trials),
            "sampler": self.sampler,
            "metric": self.metric,
            "validation_metrics": self.best.validation_metrics,
            "test_metrics": self.test_metrics,
            "fit_seconds": self.fitted.fit_seconds_,
        }
        return out


def _objective(metric: str) -> tuple[str, int]:
    name, _, k = metric.partition("@")
    if name not in METRICS or not k.isdigit() or int(k) < 1:
        raise ConfigError(f"metric must look like 'ndcg@10' with a name from {list(METRICS)}")
    return name, int(k)


def validation_split(
    train: Interactions, method: str = "random", fraction: float = 0.2, seed: int = 0
) -> tuple[Interactions, Interactions]:
    """``(fitting part, validation)`` of ``train``, per user: random or latest interactions."""
    if method == "random":
        return splits.random_split(train, fraction, "user", seed)
    if method == "temporal":
        return splits.temporal_split(train, fraction, seed=seed)
    raise ConfigError(f"validation must be one of {list(VALIDATIONS)}, got {method!r}")


def _read_trials(path: Path, log: Log) -> list[Trial]:
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


def _append(path: Path, trial: Trial) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps(asdict(trial)) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _check_resume(out: Path, settings: dict[str, Any]) -> None:
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


def _run_trial(
    number: int,
    make: Callable[[dict[str, Any]], Recommender],
    params: dict[str, Any],
    fit_part: Interactions,
    valid: Interactions,
    item_text: Any,
    ks: list[int],
    metrics: list[str],
    objective: str,
) -> Trial:
    start = time.perf_counter()
    try:
        model = registry.fit(make(params), fit_part, item_text)
        report = evaluate({"m": model}, fit_part, valid, k=ks, metrics=metrics)
    except (ConfigError, DataError):
        raise
    except Exception as exc:  # a setting the library cannot fit (e.g. numeric blow-up)
        return Trial(number, params, "failed", None, seconds=time.perf_counter() - start,
                     error=f"{type(exc).__name__}: {exc}")  # fmt: skip
    found = report.metrics_dict("m")
    value = found[objective]
    state = "complete" if math.isfinite(value) else "failed"
    return Trial(
        number,
        params,
        state,
        value if state == "complete" else None,
        found,
        model.fit_seconds_,
        time.perf_counter() - start,
        None if state == "complete" else f"{objective} is {value}",
    )


def tune(
    model: str,
    train: Interactions,
    test: Interactions | None = None,
    *,
    fixed: Mapping[str, Any] | None = None,
    space: Mapping[str, Sequence[Any]] | None = None,
    trials: int = 20,
    timeout: float | None = None,
    sampler: str = "auto",
    metric: str = "ndcg@10",
    k: Sequence[int] = (10, 20),
    metrics: Sequence[str] = ("recall", "ndcg", "precision", "map"),
    validation: str = "random",
    validation_fraction: float = 0.2,
    seed: int = 0,
    refit: bool = True,
    item_text: Any = None,
    candidates: Any = None,
    exclude_train: bool = True,
    threads: int | None = None,
    out_dir: str | Path | None = None,
    log: Log | None = None,
) -> TuneResult:
    """Search ``model``'s parameters on validation, then fit the best once and score ``test``.

    ``fixed`` parameters are held (not searched); ``space`` replaces declared ranges
    (``{"factors": [32, 256, "log"], "loss": ["warp", "bpr"]}``). ``trials`` counts every
    trial of the search, resumed ones included; after ``timeout`` seconds no new trial starts
    (one always runs).
    With ``out_dir``, trials are appended to ``out_dir/trials.jsonl`` as they finish, a rerun
    with the same settings resumes from them, and ``best.json`` is written at the end.
    ``test`` (optional), ``candidates`` (cold-start protocols) and ``exclude_train`` are used
    only for the final evaluation; ``threads`` sets the models' ``num_threads`` and is not recorded.
    """
    log = log or (lambda _msg: None)
    name, kk = _objective(metric)
    if not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"trials must be a positive int, got {trials!r}")
    ks = sorted({*k, kk})
    wanted = list(dict.fromkeys([*metrics, name]))
    fixed = dict(fixed or {})
    dims = search_space(model, fixed, space)
    cls = registry.model_class(model)

    def make(params: dict[str, Any]) -> Recommender:
        extra = {"num_threads": threads} if threads and "num_threads" in cls.PARAMS else {}
        return registry.create(model, **{**fixed, **params, **extra})

    fit_part, valid = validation_split(train, validation, validation_fraction, seed)
    settings = {
        "model": model,
        "fixed": fixed,
        "space": {n: d.describe() for n, d in dims.items()},
        "metric": metric,
        "validation": {"method": validation, "fraction": validation_fraction, "seed": seed},
        "train": {"users": train.n_users, "items": train.n_items, "interactions": train.nnz},
    }
    out = Path(out_dir) if out_dir is not None else None
    done: list[Trial] = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _check_resume(out, settings)
        done = _read_trials(out / "trials.jsonl", log)
        if done:
            log(f"resuming: {len(done)} trial(s) in {out / 'trials.jsonl'}")
    chooser = make_sampler(sampler, dims, seed, [(t.params, t.value) for t in done])
    log(
        f"tuning {model} with {chooser.name} search over {sorted(dims)}: "
        f"{fit_part.nnz} fitting, {valid.nnz} validation interactions"
    )
    start, resumed = time.monotonic(), len(done)
    while len(done) < trials:
        ran = len(done) > resumed  # the timeout lets at least one trial of this call run
        if timeout is not None and ran and time.monotonic() - start >= timeout:
            log(f"timeout after {len(done)} trial(s)")
            break
        number = len(done)
        params = chooser.ask(number)
        trial = _run_trial(number, make, params, fit_part, valid, item_text, ks, wanted, metric)
        chooser.tell(trial.value)
        done.append(trial)
        if out is not None:
            _append(out / "trials.jsonl", trial)
        shown = "failed: " + str(trial.error) if trial.value is None else f"{trial.value:.4f}"
        log(f"trial {number}: {metric} {shown} {params}")
    complete = [t for t in done if t.state == "complete"]
    if not complete:
        raise ConfigError(f"no trial of {model} completed; first error: {done[0].error}")
    best = max(complete, key=lambda t: (t.value, -t.number))
    final = registry.fit(make(best.params), train if refit else fit_part, item_text)
    where = "all of train" if refit else "the fitting part"
    log(f"best trial {best.number}: {metric} {best.value:.4f}; refitted on {where}")
    test_metrics = None
    if test is not None:
        report = evaluate(
            {"m": final},
            train,
            test,
            k=ks,
            metrics=wanted,
            candidates=candidates,
            exclude_train=exclude_train,
        )
        test_metrics = report.metrics_dict("m")
    result = TuneResult(
        model, final.get_params(), best, done, chooser.name, metric, test_metrics, final
    )
    if out is not None:
        write_text(out / "best.json", json.dumps(result.to_json(), indent=2) + "\n")
    return result
