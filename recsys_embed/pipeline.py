"""The jobs behind the command line, as functions: load, split, fit, evaluate, write."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from recsys_embed.atomic import write_text
from recsys_embed.config import RunConfig, Vocabulary, resolved_config, to_toml
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.loaders import read_interactions, read_item_text, read_user_ids
from recsys_embed.data.movielens import (
    DATASETS,
    load_dataset,
)
from recsys_embed.data.splits import make_split, read_test_pairs
from recsys_embed.data.transforms import filter_min_weight
from recsys_embed.errors import ConfigError
from recsys_embed.evaluate import METRICS, Report, evaluate
from recsys_embed.features.catalogue import TRAINED_VECTORS
from recsys_embed.models import registry
from recsys_embed.models.ann import choice_of
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import check_params
from recsys_embed.models.registry import REGISTRY, create, library_versions
from recsys_embed.reports import plot_metrics, write_artifacts
from recsys_embed.tuning.carve import Carve
from recsys_embed.tuning.search import TuneResult, tune
from recsys_embed.version import __version__

Log = Callable[[str], None]
PATH_PARAMS = ("vectors", "item_vectors", "item_vector_ids")

# make_split, read_test_pairs, read_user_ids and resolved_config live next to what they
# belong to (splits, loaders, config); they stay importable from here
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


def load_data(config: RunConfig) -> tuple[Interactions, pl.DataFrame | None]:
    """Interactions (filtered and weighted as configured) and the item text, if any."""
    d = config.data
    items = None
    if d.is_dataset:
        ds = load_dataset(d.interactions)
        inter, items = ds.interactions, ds.items
    else:
        inter = read_interactions(
            d.interactions,
            d.user_col or "",
            d.item_col or "",
            d.weight_col,
            d.time_col,
            sep=d.sep,
            has_header=d.has_header,
        )
    if d.items is not None:
        it = d.items
        items = read_item_text(
            it.path,
            it.id_col,
            list(it.text_cols),
            sep=it.sep,
            tags_path=it.tags_path,
            tag_col=it.tag_col,
        )
    if d.min_weight is not None:
        low, high = (
            (float(inter.weights.min()), float(inter.weights.max())) if inter.nnz else (0, 0)
        )
        inter = filter_min_weight(inter, d.min_weight)
        if inter.nnz == 0:
            raise ConfigError(
                f"{config.source}: [data] min_weight = {d.min_weight} leaves no interaction "
                f"(the weights of {d.interactions} range from {low:g} to {high:g})"
            )
    if d.binary:
        inter = inter.with_unit_weights()
    return inter, items


def build_model(config: RunConfig, name: str, threads: int | None = None) -> Recommender:
    m = config.model(name)
    params = dict(m.params)
    if threads is not None and "num_threads" in REGISTRY[m.type].PARAMS:
        params["num_threads"] = threads
    for key in PATH_PARAMS:  # files named relative to the config file
        value = params.get(key)
        if isinstance(value, str) and value not in TRAINED_VECTORS:
            if config.source != "<default config>":
                params[key] = str(Path(config.source).parent / Path(value).expanduser())
    return create(m.type, **params)


def fit_model(
    model: Recommender,
    name: str,
    train: Interactions,
    items: pl.DataFrame | None,
    show_progress: bool | None = None,
) -> None:
    """Fit, handing item text to the models that need it."""
    registry.fit(model, train, items, what=f"[models.{name}]", show_progress=show_progress)


def run_evaluation(
    config: RunConfig,
    out_dir: str | Path,
    log: Log,
    threads: int | None = None,
    show_progress: bool | None = None,
) -> Report:
    """Load, split, fit every configured model, evaluate, and write the run's files."""
    out = Path(out_dir)
    log(f"loading {config.data.interactions}")
    inter, items = load_data(config)
    log(f"{inter.n_users} users x {inter.n_items} items, {inter.nnz} interactions")
    train, test, candidates = make_split(inter, config.split, config.data)
    log(f"split {config.split.method}: {train.nnz} train, {test.nnz} test interactions")
    models: dict[str, Recommender] = {}
    for m in config.models:
        model = build_model(config, m.name, threads)
        log(f"fitting {m.name} ({m.type})")
        fit_model(model, m.name, train, items, show_progress)
        log(f"fitted {m.name} in {model.fit_seconds_:.2f}s")
        models[m.name] = model
    log("evaluating")
    report = evaluate(
        models,
        train,
        test,
        k=config.evaluate.k,
        metrics=config.evaluate.metrics,
        candidates=candidates,
        chunk_size=config.evaluate.chunk_size,
        exclude_train=config.evaluate.exclude_train,
        show_progress=show_progress,
        retrieval=choice_of(config.retrieval),
    )
    extra = {
        "dataset": {
            "source": config.data.interactions,
            "users": inter.n_users,
            "items": inter.n_items,
            "interactions": inter.nnz,
        },
        "split": dataclasses.asdict(config.split),
        "versions": {"recsys_embed": __version__, **library_versions()},
    }
    write_run(report, out, extra, resolved_config(config, models), log)
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
) -> Path:
    """Fit one configured model on all the data (no split) and save it."""
    inter, items = load_data(config)
    model = build_model(config, name, threads)
    log(f"fitting {name} on {inter.nnz} interactions")
    fit_model(model, name, inter, items, show_progress)
    path = model.save(out_dir)
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
    train, test, candidates, items, how = data if data is not None else tuning_data(config)
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
