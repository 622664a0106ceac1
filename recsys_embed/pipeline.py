"""The jobs behind the command line, as functions: load, split, fit, evaluate, write."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys_embed import __version__
from recsys_embed.atomic import write_text
from recsys_embed.config import DataConfig, RunConfig, SplitConfig, Vocabulary, to_toml
from recsys_embed.data import splits
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.loaders import read_interactions, read_item_text
from recsys_embed.data.movielens import (
    DATASETS,
    find_local,
    load_dataset,
    read_ratings_file,
    spec,
)
from recsys_embed.data.transforms import filter_min_weight
from recsys_embed.errors import ConfigError
from recsys_embed.evaluate import METRICS, Report, evaluate
from recsys_embed.models import registry
from recsys_embed.models.base import Recommender
from recsys_embed.models.params import check_params
from recsys_embed.models.registry import REGISTRY, create, library_versions
from recsys_embed.reports import plot_metrics, write_artifacts
from recsys_embed.tuning.carve import Carve
from recsys_embed.tuning.search import TuneResult, tune

Log = Callable[[str], None]


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
        inter = filter_min_weight(inter, d.min_weight)
    if d.binary:
        inter = inter.with_unit_weights()
    return inter, items


def read_test_pairs(d: DataConfig, test: str) -> Interactions:
    """The test file of a ``given`` split: in the dataset's folder and layout, or like [data]."""
    if d.is_dataset:  # load_data has found (or fetched) the folder; no second read
        folder = find_local(spec(d.interactions), None) or load_dataset(d.interactions).path
        return read_ratings_file(d.interactions, folder / test)
    cols = (d.user_col or "", d.item_col or "", d.weight_col, d.time_col)
    return read_interactions(test, *cols, sep=d.sep, has_header=d.has_header)


def make_split(
    inter: Interactions, s: SplitConfig, data: DataConfig | None = None
) -> tuple[Interactions, Interactions, np.ndarray | None]:
    """``(train, test, candidates)``; candidates are the cold item ids for ``cold_items``."""
    if s.method == "given":
        if data is None or s.test is None:
            raise ConfigError("a 'given' split needs the [data] table and a test file")
        return (*splits.given_split(inter, read_test_pairs(data, s.test)), None)
    if s.method == "random":
        train, test = splits.random_split(inter, s.test_fraction, s.stratify, s.seed)
    elif s.method == "temporal":
        train, test = splits.temporal_split(inter, s.test_fraction, seed=s.seed)
    elif s.method == "leave_last":
        train, test = splits.leave_last_n(inter, s.n_last, seed=s.seed)
    else:
        train, test = splits.cold_item_split(inter, s.test_fraction, s.seed)
        return train, test, train.item_map.external(splits.cold_items(train, test))
    return train, test, None


def build_model(config: RunConfig, name: str, threads: int | None = None) -> Recommender:
    m = config.model(name)
    params = dict(m.params)
    if threads is not None and "num_threads" in REGISTRY[m.type].PARAMS:
        params["num_threads"] = threads
    vectors = params.get("vectors")
    if isinstance(vectors, str) and vectors != "word2vec" and config.source != "<default config>":
        params["vectors"] = str(Path(config.source).parent / Path(vectors).expanduser())
    return create(m.type, **params)


def fit_model(
    model: Recommender, name: str, train: Interactions, items: pl.DataFrame | None
) -> None:
    """Fit, handing item text to the models that need it."""
    registry.fit(model, train, items, what=f"[models.{name}]")


def resolved_config(config: RunConfig, models: dict[str, Recommender]) -> dict[str, Any]:
    data = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in dataclasses.asdict(config.data).items()
        if v is not None and k not in ("items", "is_dataset")
    }
    if config.data.items is not None:
        data["items"] = {
            k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(config.data.items).items()
            if v is not None
        }
    split = {k: v for k, v in dataclasses.asdict(config.split).items() if v is not None}
    ev = {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in dataclasses.asdict(config.evaluate).items()
    }
    mods = {
        name: {"type": m.name, **{k: v for k, v in m.get_params().items() if v is not None}}
        for name, m in models.items()
    }
    return {"data": data, "split": split, "evaluate": ev, "models": mods}


def run_evaluation(
    config: RunConfig, out_dir: str | Path, log: Log, threads: int | None = None
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
        fit_model(model, m.name, train, items)
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
    out.mkdir(parents=True, exist_ok=True)
    write_artifacts(report, out, extra)
    write_text(out / "config.toml", to_toml(resolved_config(config, models)))
    try:
        plot_metrics(report, out / "metrics.png")
    except ImportError as exc:
        log(f"no plot: {exc}")
    log(f"wrote {out}")
    return report


def train_model(
    config: RunConfig, name: str, out_dir: str | Path, log: Log, threads: int | None = None
) -> Path:
    """Fit one configured model on all the data (no split) and save it."""
    inter, items = load_data(config)
    model = build_model(config, name, threads)
    log(f"fitting {name} on {inter.nnz} interactions")
    fit_model(model, name, inter, items)
    path = model.save(out_dir)
    log(f"saved {name} to {path} ({model.fit_seconds_:.2f}s fit)")
    return path


def validation_carve(config: RunConfig, train: Interactions, test: Interactions) -> Carve:
    """How ``[tune]`` carves validation out of train: like ``[split]`` (``validation = "split"``,
    a given test file becoming a per-user random carve of its share), or per user."""
    t, s = config.tune, config.split
    if t.validation != "split":
        return Carve.per_user(t.validation, t.validation_fraction)
    share = test.nnz / max(1, train.nnz + test.nnz)  # only its size: test is not read here
    fraction = t.validation_fraction
    if fraction is None and s.method == "given":
        fraction = round(share, 4)
    return Carve.like_split(s.method, s.test_fraction, s.stratify, s.n_last, fraction)


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
    if "vectors" in fixed:  # a path relative to the config file
        fixed["vectors"] = build_model(config, name).get_params()["vectors"]
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


def read_user_ids(path: str | Path, id_dtype: np.dtype) -> np.ndarray:
    """User ids, one per line (.txt) or a ``user_id`` column (.csv / .parquet)."""
    from recsys_embed.data.loaders import read_table
    from recsys_embed.errors import DataError

    path = Path(path)
    if path.suffix.lower() in (".csv", ".parquet", ".pq", ".tsv"):
        frame = read_table(path, string_cols=["user_id"])
        if "user_id" not in frame.columns:
            raise DataError(f"{path}: needs a user_id column; found {frame.columns}")
        values = frame["user_id"].drop_nulls().cast(pl.String).to_list()
    else:
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        values = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if id_dtype.kind in "iu":
        bad = [v for v in values if not v.lstrip("-").isdigit()]
        if bad:
            raise DataError(
                f"{path}: user id {bad[0]!r} is not an integer, as this model's ids are"
            )
        return np.asarray([int(v) for v in values], dtype=np.int64)
    return np.asarray(values, dtype=object)
