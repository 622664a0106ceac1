"""One orchestration of a run behind the command line: check, load, split, fit, evaluate,
write. Where the steps execute is an :class:`~recsys_embed.engine.Engine`: this process
(:class:`~recsys_embed.engine.LocalEngine`, the default) or Spark
(:class:`recsys_embed.spark.jobs.SparkEngine`); the checks, the order of the steps, the log
lines and the run's files are the same on both. Every requirement the config and the log's
size tell is checked for every model before the first fit (:mod:`recsys_embed.preflight`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from recsys_embed import preflight
from recsys_embed.atomic import write_text
from recsys_embed.config import RunConfig, Vocabulary, resolved_config, to_toml
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.loaders import read_user_ids
from recsys_embed.data.movielens import DATASETS
from recsys_embed.data.splits import make_split, read_test_pairs
from recsys_embed.engine import (
    PATH_PARAMS,
    Engine,
    LocalEngine,
    Log,
    build_model,
    fit_model,
    load_data,
)
from recsys_embed.errors import ConfigError
from recsys_embed.evaluate import METRICS, Report
from recsys_embed.features.cache import WordVectorCache
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import check_params
from recsys_embed.models.registry import REGISTRY, library_versions
from recsys_embed.reports import plot_metrics, write_artifacts
from recsys_embed.tuning.carve import Carve
from recsys_embed.tuning.search import TuneResult, tune
from recsys_embed.version import __version__

# make_split, read_test_pairs, read_user_ids, resolved_config and the engine's helpers live
# next to what they belong to (splits, loaders, config, engine); they stay importable from here
__all__ = [
    "VOCABULARY",
    "build_model",
    "fit_model",
    "load_data",
    "make_split",
    "read_test_pairs",
    "read_user_ids",
    "resolved_config",
    "run_evaluation",
    "run_tuning",
    "train_model",
]


def _check_model(kind: str, params: dict[str, Any]) -> None:
    check_params(kind, REGISTRY[kind].PARAMS, params)


VOCABULARY = Vocabulary(tuple(DATASETS), METRICS, tuple(REGISTRY), _check_model)


def run_evaluation(
    config: RunConfig,
    out_dir: str | Path,
    log: Log,
    threads: int | None = None,
    show_progress: bool | None = None,
    engine: Engine[Any] | None = None,
) -> Report:
    """Check, load, split, fit every configured model, evaluate, and write the run's files
    in ``out_dir`` (files of an earlier run there are replaced)."""
    run: Engine[Any] = engine or LocalEngine()
    out = Path(out_dir)
    names = [m.name for m in config.models]
    preflight.check_models(config, names, run)
    preflight.check_split(config)
    run.check_evaluation(config)
    preflight.check_run_folder(out)
    preflight.check_writable(out)
    log(f"loading {config.data.interactions}{run.label}")
    data, items = run.load(config, preflight.reads_item_text(config, names))
    n_users, n_items, nnz = run.size(data)
    log(f"{n_users} users x {n_items} items, {nnz} interactions")
    preflight.check_sizes(config, names, n_users, n_items)
    train_part, test_part, candidates = run.split(config, data)
    train, test = run.local(train_part), run.local(test_part)
    log(f"split {config.split.method}: {train.nnz} train, {test.nnz} test interactions")
    preflight.check_test_users(config, test)
    models: dict[str, Recommender] = {}
    word_vectors = WordVectorCache()  # one per run: its text models build each vector set once
    for m in config.models:
        log(f"fitting {m.name} ({m.type}{run.where(m.type)})")
        model = run.fit(config, m.name, train_part, items, threads, show_progress, word_vectors)
        log(f"fitted {m.name} in {model.fit_seconds_:.2f}s")
        models[m.name] = model
    report = run.evaluate(models, train_part, test_part, candidates, config, show_progress, log)
    extra = {
        "dataset": {
            "source": config.data.interactions,
            "users": n_users,
            "items": n_items,
            "interactions": nnz,
        },
        "split": dataclasses.asdict(config.split),
        "versions": {"recsys_embed": __version__, **run.versions(), **library_versions()},
    }
    write_run(report, out, extra, run.resolved(config, models), log)
    return report


def write_run(
    report: Report, out: Path, extra: dict[str, Any], resolved: dict[str, Any], log: Log
) -> None:
    """An evaluation run's files in ``out``: the artefacts, the resolved config, the plot."""
    out.mkdir(parents=True, exist_ok=True)
    write_artifacts(report, out, extra)
    write_text(out / "config.toml", to_toml(resolved))
    try:
        plot_metrics(report, out / "metrics.png")
    except ImportError as exc:
        log(f"no plot: {exc}")
    log(f"wrote {out}")


def train_model(
    config: RunConfig,
    name: str,
    out_dir: str | Path,
    log: Log,
    threads: int | None = None,
    show_progress: bool | None = None,
    engine: Engine[Any] | None = None,
) -> Path:
    """Check, then fit one configured model on all the data (no split) and save it."""
    run: Engine[Any] = engine or LocalEngine()
    out = Path(out_dir)
    preflight.check_models(config, [name], run)
    preflight.check_model_folder(out)
    preflight.check_writable(out)
    data, items = run.load(config, preflight.reads_item_text(config, [name]))
    n_users, n_items, nnz = run.size(data)
    preflight.check_sizes(config, [name], n_users, n_items)
    log(f"fitting {name} on {nnz} interactions")
    model = run.fit(config, name, data, items, threads, show_progress)
    path = run.save(config, name, model, out)
    log(f"saved {name} to {path} ({model.fit_seconds_:.2f}s fit)")
    return path


def validation_carve(config: RunConfig, train: Interactions, test: Interactions) -> Carve:
    """How ``[tune]`` carves validation out of train: like ``[split]`` (``validation = "split"``,
    a given test file becoming a per-user random carve of its share), or per user; with
    ``extrapolate = true`` each trial is also scored from a smaller fit, at train's size."""
    t, s = config.tune, config.split
    if t.validation != "split":
        how = Carve.per_user(t.validation, t.validation_fraction)
    else:
        share = test.nnz / max(1, train.nnz + test.nnz)  # only its size: test is not read here
        fraction = t.validation_fraction
        if fraction is None and s.method == "given":
            fraction = round(share, 4)
        how = Carve.like_split(s.method, s.test_fraction, s.stratify, s.n_last, fraction)
    if not t.extrapolate:
        return how
    if not t.refit:
        raise ConfigError("[tune] extrapolate = true scores for a refit on train: needs refit")
    try:
        return dataclasses.replace(how, extrapolate=True)
    except ConfigError as e:
        raise ConfigError(f"[tune] extrapolate: {e}") from None


def tuning_data(config: RunConfig) -> Any:
    """``(train, test, candidates, items, carve)`` of a config, for :func:`run_tuning`."""
    inter, items = load_data(config)
    train, test, candidates = make_split(inter, config.split, config.data)
    return train, test, candidates, items, validation_carve(config, train, test)


def run_tuning(
    config: RunConfig,
    name: str,
    out_dir: str | Path,
    log: Log,
    trials: int | None = None,
    timeout: float | None = None,
    sampler: str | None = None,
    threads: int | None = None,
    data: Any = None,
    show_progress: bool | None = None,
) -> TuneResult:
    """Tune ``[models.NAME]`` on validation carved from the configured split's train, then
    evaluate the defaults and the winner once on its test; writes trials.jsonl, best.json,
    best.toml (the chosen setting). ``data``: :func:`tuning_data`'s result, to reuse one."""
    m = config.model(name)
    t = config.tune
    preflight.check_models(config, [name], LocalEngine())
    preflight.check_tune_folder(Path(out_dir))
    preflight.check_split(config, tuning=True)
    train, test, candidates, items, how = data if data is not None else tuning_data(config)
    preflight.check_test_users(config, test)
    preflight.check_sizes(config, [name], train.n_users, train.n_items)
    log(f"split {config.split.method}: {train.nnz} train, {test.nnz} test interactions")
    fixed = dict(m.params)  # what the table sets is held; the rest is searched
    resolved = build_model(config, name).get_params()
    for key in PATH_PARAMS:  # a path relative to the config file
        if key in fixed:
            fixed[key] = resolved[key]
    try:
        result = tune(
            m.type,
            train,
            test,
            fixed=fixed,
            space=t.space.get(name),
            trials=trials if trials is not None else t.trials,
            timeout=timeout if timeout is not None else t.timeout,
            sampler=sampler or t.sampler,
            metric=t.metric,
            k=config.evaluate.k,
            metrics=config.evaluate.metrics,
            validation=how,
            repeats=t.repeats,
            pruning=t.pruning,
            decision=t.decision,
            seed=t.seed,
            refit=t.refit,
            item_text=items,
            candidates=candidates,
            exclude_train=config.evaluate.exclude_train,
            threads=threads,
            out_dir=out_dir,
            log=log,
            show_progress=show_progress,
        )
    except ConfigError as exc:
        raise ConfigError(f"{config.source}: [models.{name}] / [tune]: {exc}") from None
    params = {k: v for k, v in result.params.items() if v is not None and k != "num_threads"}
    write_text(Path(out_dir) / "best.toml", to_toml({"models": {name: {"type": m.type, **params}}}))
    return result
