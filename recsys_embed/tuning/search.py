"""Hyperparameter search on validation carved out of train; test is read once, at the end.

Protocol: ``train`` is carved again into a fitting part and validation, by default the same
way the protocol's test split was made (:mod:`recsys_embed.tuning.carve`), optionally
``repeats`` times with seeds ``seed, seed + 1, ...`` (the objective is then the mean, and its
spread is reported); an extrapolated carve (``Carve(..., extrapolate=True)``) scores each
trial at train's size from two fits (the fitting part and a smaller part of it). Trial 0 is
the model's defaults (with the fixed parameters), then any known-good seeds, then the
sampler's proposals. Models that fit in epochs are scored on
validation at a few epochs and stopped early when they fall behind
(:mod:`recsys_embed.tuning.prune`). The best trial replaces the defaults only when the
decision rule says its gain is above the noise (:mod:`recsys_embed.tuning.decide`). Then the
defaults and the winner are fitted on the whole of ``train`` (``refit=True``) or on the fitting
part again (``refit=False``, as RecBole does) and evaluated together, once, on ``test``.
Nothing reads ``test`` before that last step.

Samplers: ``"random"`` draws trial ``n`` from ``numpy.random.default_rng([seed, n])``, so a run
and a resumed run give the same trials; ``"tpe"`` is Optuna's TPE (``pip install
"recsys-embed[tune]"``), seeded, and told the earlier trials when resuming; ``"auto"`` is TPE
when Optuna is installed, else random. Each trial is one JSON line in ``trials.jsonl``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsys_embed.atomic import write_text
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.evaluate import METRICS, evaluate
from recsys_embed.features.cache import WordVectorCache
from recsys_embed.models import registry
from recsys_embed.models.base import Recommender
from recsys_embed.models.textbase import share_word_vectors
from recsys_embed.progress import progress
from recsys_embed.reports import json_text
from recsys_embed.tuning.carve import Carve, Fold, carve
from recsys_embed.tuning.decide import Decision, decide
from recsys_embed.tuning.lock import folder_lock
from recsys_embed.tuning.prune import Pruned, Pruner, Watch, checkpoints
from recsys_embed.tuning.records import Log, Trial, append_trial, check_resume, read_trials
from recsys_embed.tuning.samplers import make_sampler
from recsys_embed.tuning.space import search_space, seed_points


@dataclass
class TuneResult:
    model: str
    params: dict[str, Any]  # every parameter of the chosen setting (fixed + searched + defaults)
    best: Trial  # the chosen trial: the winner if it replaced the defaults, else trial 0
    trials: list[Trial]
    sampler: str
    metric: str
    test_metrics: dict[str, float] | None
    fitted: Recommender = field(repr=False)
    defaults: Trial | None = None  # trial 0 (None only if a resumed file lacks it)
    winner: Trial | None = None  # the top validation trial
    decision: Decision | None = None
    defaults_fitted: Recommender | None = field(default=None, repr=False)
    defaults_test_metrics: dict[str, float] | None = None
    winner_test_metrics: dict[str, float] | None = None
    validation: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``best.json`` document (``num_threads`` left out: it changes no result)."""

        def side(trial: Trial | None, test: dict[str, float] | None) -> dict[str, Any] | None:
            if trial is None:
                return None
            return {
                "trial": trial.number,
                "searched": trial.params,
                "validation_metrics": trial.validation_metrics,
                "validation_spread": trial.spread,
                "test_metrics": test,
            }

        return {
            "model": self.model,
            "params": {k: v for k, v in self.params.items() if k != "num_threads"},
            "chosen": "tuned" if self.decision and self.decision.replaced else "defaults",
            "decision": self.decision.to_json() if self.decision else None,
            "defaults": side(self.defaults, self.defaults_test_metrics),
            "winner": side(self.winner, self.winner_test_metrics),
            "searched": self.best.params,
            "trial": self.best.number,
            "n_trials": len(self.trials),
            "n_pruned": sum(t.state == "pruned" for t in self.trials),
            "sampler": self.sampler,
            "metric": self.metric,
            "validation": self.validation,
            "validation_metrics": self.best.validation_metrics,
            "test_metrics": self.test_metrics,
            "fit_seconds": self.fitted.fit_seconds_,
        }


def _objective(metric: str) -> tuple[str, int]:
    name, _, k = metric.partition("@")
    if name not in METRICS or not k.isdigit() or int(k) < 1:
        raise ConfigError(f"metric must look like 'ndcg@10' with a name from {list(METRICS)}")
    return name, int(k)


@dataclass
class _Setup:
    make: Callable[[dict[str, Any]], Recommender]
    folds: list[Fold]
    item_text: Any
    ks: list[int]
    metrics: list[str]
    objective: str
    exclude_train: bool
    pruner: Pruner

    def score(self, model: Recommender, fold: Fold, ks: list[int], metrics: list[str]) -> Any:
        return evaluate(
            {"m": model},
            fold.fit,
            fold.valid,
            k=ks,
            metrics=metrics,
            candidates=fold.candidates,
            exclude_train=self.exclude_train,
        )

    def objective_on(self, fold: Fold) -> Callable[[Recommender], float]:
        name, _, k = self.objective.partition("@")

        def score(model: Recommender) -> float:
            report = self.score(model, fold, [int(k)], [name])
            return report.metrics_dict("m")[self.objective]

        return score


def _run_trial(setup: _Setup, number: int, params: dict[str, Any], origin: str,
               earlier: list[dict[int, float]]) -> Trial:  # fmt: skip
    start = time.perf_counter()
    values, users, found_all, fit_seconds = [], [], [], 0.0
    watch = None
    try:
        for f, fold in enumerate(setup.folds):
            model = setup.make(params)
            epochs = model.params.get(model.epoch_param) if model.epoch_param else None
            if f == 0 and isinstance(epochs, int) and setup.pruner.quantile > 0:
                watch = Watch(checkpoints(epochs), setup.objective_on(fold), setup.pruner, earlier)
                model.epoch_hook = watch
            registry.fit(model, fold.fit, setup.item_text)
            model.epoch_hook = None
            report = setup.score(model, fold, setup.ks, setup.metrics)
            found = report.metrics_dict("m")
            per_user = report.results["m"].per_user[setup.objective]
            fit_seconds += model.fit_seconds_ or 0.0
            if fold.smaller is not None:  # one step up the learning curve, to train's size
                small = registry.fit(setup.make(params), fold.smaller, setup.item_text)
                low = setup.score(small, fold, setup.ks, setup.metrics)
                found = {key: 2 * v - low.metrics_dict("m")[key] for key, v in found.items()}
                per_user = 2 * per_user - low.results["m"].per_user[setup.objective]
                fit_seconds += small.fit_seconds_ or 0.0
            found_all.append(found)
            values.append(found[setup.objective])
            users.append(per_user)
    except (ConfigError, DataError):
        raise
    except Pruned as stop:
        assert watch is not None
        steps = {str(e): v for e, v in watch.steps.items()}
        return Trial(number, params, "pruned", None, seconds=time.perf_counter() - start,
                     error=str(stop), origin=origin, steps=steps)  # fmt: skip
    except Exception as exc:  # a setting the library cannot fit (e.g. numeric blow-up)
        return Trial(number, params, "failed", None, seconds=time.perf_counter() - start,
                     error=f"{type(exc).__name__}: {exc}", origin=origin)  # fmt: skip
    value = float(np.mean(values))
    ok = math.isfinite(value)
    return Trial(
        number,
        params,
        "complete" if ok else "failed",
        value if ok else None,
        {key: float(np.mean([f[key] for f in found_all])) for key in found_all[0]},
        fit_seconds,
        time.perf_counter() - start,
        None if ok else f"{setup.objective} is {value}",
        origin,
        {} if watch is None else {str(e): v for e, v in watch.steps.items()},
        float(np.std(values, ddof=1)) if len(values) > 1 else None,
        [round(float(v), 6) for v in np.concatenate(users)] if ok else None,
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
    validation: str | Carve = "random",
    validation_fraction: float | None = None,
    repeats: int = 1,
    pruning: float = 0.25,
    decision: str = "bootstrap",
    seed: int = 0,
    refit: bool = True,
    item_text: Any = None,
    candidates: Any = None,
    exclude_train: bool = True,
    threads: int | None = None,
    out_dir: str | Path | None = None,
    log: Log | None = None,
    show_progress: bool | None = None,
) -> TuneResult:
    """Search ``model``'s parameters on validation, then fit the choice once and score ``test``.

    ``fixed`` parameters are held (not searched); ``space`` replaces declared ranges
    (``{"factors": [32, 256, "log"], "loss": ["warp", "bpr"]}``). ``trials`` counts every
    trial, the defaults (trial 0) and resumed ones included; after ``timeout`` seconds no new
    trial starts (one always runs). ``validation``: a :class:`Carve` (the pipeline passes the
    one mirroring ``[split]``; ``extrapolate=True`` scores at train's size, see
    :mod:`~recsys_embed.tuning.carve`), or ``"random"`` / ``"temporal"`` per user with
    ``validation_fraction`` (default 0.2). ``repeats`` carves with seeds ``seed + r``.
    ``pruning``: the quantile of earlier trials' scores below which a trial stops at a
    checkpoint (0: no pruning). ``decision``: ``"bootstrap"`` or ``"best"`` (see ``decide``).
    With ``out_dir``, trials are appended to ``out_dir/trials.jsonl`` as they finish, a rerun
    with the same settings resumes from them, and ``best.json`` is written at the end.
    ``test`` (optional), ``candidates`` (cold-start protocols) are used only for the final
    evaluation; ``exclude_train`` applies to validation and test alike; ``threads`` sets the
    models' ``num_threads`` and is not recorded.
    """
    log = log or (lambda _msg: None)
    name, kk = _objective(metric)
    for what, value, low in (("trials", trials, 1), ("repeats", repeats, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{what} must be a positive int, got {value!r}")
    if not isinstance(pruning, (int, float)) or not 0 <= pruning < 1:
        raise ConfigError(f"pruning must be a quantile in [0, 1), got {pruning!r}")
    decide(decision, None, None, True)  # checks the rule's name before any work
    how = (
        validation
        if isinstance(validation, Carve)
        else Carve.per_user(validation, validation_fraction)
    )
    ks = sorted({*k, kk})
    wanted = list(dict.fromkeys([*metrics, name]))
    fixed = dict(fixed or {})
    dims = search_space(model, fixed, space)
    cls = registry.model_class(model)
    word_vectors = WordVectorCache()  # one per tuning run: every trial builds each set once

    def make(params: dict[str, Any]) -> Recommender:
        extra = {"num_threads": threads} if threads and "num_threads" in cls.PARAMS else {}
        made = registry.create(model, **{**fixed, **params, **extra})
        return share_word_vectors(made, word_vectors)

    if how.extrapolate and not refit:
        raise ConfigError(
            "an extrapolated carve scores settings at train's size, for a refit on all of "
            "train: it needs refit=True"
        )
    folds = [carve(train, how, seed + r) for r in range(repeats)]
    setup = _Setup(make, folds, item_text, ks, wanted, metric, exclude_train, Pruner(pruning))
    described = {**how.describe(), "seed": seed, "repeats": repeats}
    settings = {
        "model": model,
        "fixed": fixed,
        "space": {n: d.describe() for n, d in dims.items()},
        "metric": metric,
        "validation": described,
        "exclude_train": exclude_train,
        "pruning": pruning,
        "train": {"users": train.n_users, "items": train.n_items, "interactions": train.nnz},
    }
    out = Path(out_dir) if out_dir is not None else None
    done: list[Trial] = []
    with ExitStack() as held:  # the folder's lock, while its trials are read and added
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            held.enter_context(folder_lock(out))
            check_resume(out, settings)
            done = read_trials(out / "trials.jsonl", log)
            if done:
                log(f"resuming: {len(done)} trial(s) in {out / 'trials.jsonl'}")
        points = seed_points(model, dims)
        chooser = make_sampler(sampler, dims, seed)
        for t in done:
            chooser.add(t)
        log(
            f"tuning {model} with {chooser.name} search over {sorted(dims)}: "
            f"{folds[0].fit.nnz} fitting, {folds[0].valid.nnz} validation interactions "
            f"({how.method} carve, {repeats} repeat(s))"
        )
        start, resumed = time.monotonic(), len(done)
        bar: Any = progress(total=trials, desc=f"tuning {model}", unit="trial", show=show_progress)
        bar.update(len(done))
        with bar:
            while len(done) < trials:
                ran = len(done) > resumed  # the timeout lets at least one trial of this call run
                if timeout is not None and ran and time.monotonic() - start >= timeout:
                    log(f"timeout after {len(done)} trial(s)")
                    break
                number = done[-1].number + 1 if done else 0
                if number < len(points):
                    params, origin = points[number], "defaults" if number == 0 else "seed"
                else:
                    params, origin = chooser.ask(number), "sampler"
                earlier = [t.int_steps() for t in done if t.steps]
                trial = _run_trial(setup, number, params, origin, earlier)
                (chooser.tell if origin == "sampler" else chooser.add)(trial)
                done.append(trial)
                if out is not None:
                    append_trial(out / "trials.jsonl", trial)
                shown = f"{trial.state}: {trial.error}"
                shown = shown if trial.value is None else f"{trial.value:.4f}"
                log(f"trial {number} ({origin}): {metric} {shown} {params}")
                bar.update(1)
                top = max((t.value for t in done if t.value is not None), default=None)
                if top is not None:
                    bar.set_postfix(best=f"{top:.4f}")
        return _finish(model, done, chooser.name, metric, setup, train, test, refit, candidates,
                       decision, seed, described, out, log)  # fmt: skip


def _finish(model: str, done: list[Trial], sampler: str, metric: str, setup: _Setup,
            train: Interactions, test: Interactions | None, refit: bool, candidates: Any,
            rule: str, seed: int, described: dict[str, Any], out: Path | None,
            log: Log) -> TuneResult:  # fmt: skip
    """Decide, fit the defaults and the winner, and read ``test`` once for both."""
    complete = [t for t in done if t.state == "complete"]
    if not complete:
        raise ConfigError(f"no trial of {model} completed; first error: {done[0].error}")
    winner = max(complete, key=lambda t: (t.value, -t.number))
    base = done[0] if done[0].state == "complete" else None  # trial 0: the defaults

    def users(t: Trial | None) -> np.ndarray | None:
        return None if t is None or t.user_values is None else np.asarray(t.user_values)

    decided = decide(rule, users(base), users(winner), winner is base, seed)
    chosen = winner if decided.replaced or base is None else base
    data = train if refit else setup.folds[0].fit
    fitted = {"winner": registry.fit(setup.make(winner.params), data, setup.item_text)}
    if base is not None and base is not winner:
        fitted["defaults"] = registry.fit(setup.make(base.params), data, setup.item_text)
    elif base is not None:
        fitted["defaults"] = fitted["winner"]
    where = "all of train" if refit else "the fitting part"
    log(
        f"winner trial {winner.number}: {metric} {winner.value:.4f}; {decided.reason}; "
        f"chose trial {chosen.number}, fitted on {where}"
    )
    tested: dict[str, dict[str, float]] = {}
    if test is not None:
        report = evaluate(
            {n: m for n, m in fitted.items() if n == "winner" or m is not fitted["winner"]},
            train,
            test,
            k=setup.ks,
            metrics=setup.metrics,
            candidates=candidates,
            exclude_train=setup.exclude_train,
        )
        tested = {n: report.metrics_dict(n) for n in report.results}
        if "defaults" in fitted and "defaults" not in tested:
            tested["defaults"] = tested["winner"]
    final = fitted["winner"] if chosen is winner else fitted["defaults"]
    result = TuneResult(
        model,
        final.get_params(),
        chosen,
        done,
        sampler,
        metric,
        tested.get("winner" if chosen is winner else "defaults"),
        final,
        base,
        winner,
        decided,
        fitted.get("defaults"),
        tested.get("defaults"),
        tested.get("winner"),
        described,
    )
    if out is not None:
        write_text(out / "best.json", json_text(result.to_json(), indent=2) + "\n")
    return result
