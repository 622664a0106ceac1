"""Where a run's steps execute: the :class:`Engine` seam of :mod:`recsys_embed.pipeline` and its
one-process implementation, :class:`LocalEngine`.

An engine reads the configured log, splits it, fits one configured model, evaluates fitted
models and saves one. The pipeline does everything else the same way on every engine: the
checks before any fit, the order of the steps, the log lines and the run's files. The Spark
engine (:class:`recsys_embed.spark.jobs.SparkEngine`) holds only what differs on Spark.
An engine's ``L`` is its own form of a log or of a split's part (:class:`Interactions` here).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl

from recsys_embed.config import RunConfig, resolved_config
from recsys_embed.data.interactions import Interactions
from recsys_embed.data.loaders import read_interactions, read_item_text
from recsys_embed.data.movielens import load_dataset
from recsys_embed.data.splits import make_split
from recsys_embed.data.transforms import filter_min_weight
from recsys_embed.errors import ConfigError
from recsys_embed.evaluate import Report, evaluate
from recsys_embed.features.cache import WordVectorCache
from recsys_embed.features.catalogue import TRAINED_VECTORS
from recsys_embed.models import registry
from recsys_embed.models.ann import choice_of
from recsys_embed.models.base import Recommender
from recsys_embed.models.registry import REGISTRY, create
from recsys_embed.models.textbase import share_word_vectors

Log = Callable[[str], None]
L = TypeVar("L")
PATH_PARAMS = ("vectors", "item_vectors", "item_vector_ids")


class Engine(Protocol[L]):
    """What differs between engines; see the module docstring."""

    name: str  # as [engine] name says it: "local" or "spark"
    model_types: Collection[str]  # the model types it fits

    @property
    def label(self) -> str:
        """Where it runs, as the log says after ``loading <log>`` ('' for one process)."""
        ...

    def where(self, kind: str) -> str:
        """Where a model of type ``kind`` is fitted, as the log says after its type."""
        ...

    def check_evaluation(self, config: RunConfig) -> None:
        """ConfigError for what the config asks of an evaluation and this engine cannot do."""
        ...

    def load(self, config: RunConfig, with_text: bool) -> tuple[L, pl.DataFrame | None]:
        """The configured log, filtered and weighted as configured, and the item text: the
        ``[data.items]`` file, else a dataset's own items (at least when ``with_text``)."""
        ...

    def size(self, data: L) -> tuple[int, int, int]:
        """``(users, items, interactions)`` of a log."""
        ...

    def split(self, config: RunConfig, data: L) -> tuple[L, L, Any]:
        """``(train, test, candidates)`` as ``[split]`` says; candidates: item ids or None."""
        ...

    def local(self, data: L) -> Interactions:
        """A log (or a split's part) as :class:`Interactions` in this process."""
        ...

    def fit(
        self,
        config: RunConfig,
        name: str,
        train: L,
        items: pl.DataFrame | None,
        threads: int | None,
        show_progress: bool | None,
        word_vectors: WordVectorCache | None = None,
    ) -> Recommender:
        """``[models.NAME]`` fitted on ``train``."""
        ...

    def evaluate(
        self,
        models: Mapping[str, Recommender],
        train: L,
        test: L,
        candidates: Any,
        config: RunConfig,
        show_progress: bool | None,
        log: Log,
    ) -> Report:
        """The report of fitted models on the split, as ``[evaluate]`` says."""
        ...

    def save(self, config: RunConfig, name: str, model: Recommender, out: Path) -> Path:
        """A fitted ``[models.NAME]`` saved as a model folder that ``models.load`` reads."""
        ...

    def versions(self) -> dict[str, str]:
        """Versions of what it runs on, for the run's record (beside the libraries')."""
        ...

    def resolved(self, config: RunConfig, models: Mapping[str, Recommender]) -> dict[str, Any]:
        """The run's config as resolved, written as the run's config.toml."""
        ...


def read_items(config: RunConfig) -> pl.DataFrame | None:
    """The ``[data.items]`` file's item text, or None without that table."""
    it = config.data.items
    if it is None:
        return None
    return read_item_text(
        it.path,
        it.id_col,
        list(it.text_cols),
        sep=it.sep,
        tags_path=it.tags_path,
        tag_col=it.tag_col,
    )


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
        items = read_items(config)
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
    """``[models.NAME]`` as an unfitted model; files named relative to the config file."""
    m = config.model(name)
    params = dict(m.params)
    if threads is not None and "num_threads" in REGISTRY[m.type].PARAMS:
        params["num_threads"] = threads
    for key in PATH_PARAMS:
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


class LocalEngine:
    """One process: the log as :class:`Interactions`, each model's own fit, :func:`evaluate`."""

    name = "local"
    label = ""
    model_types: Collection[str] = tuple(REGISTRY)

    def where(self, kind: str) -> str:
        return ""

    def check_evaluation(self, config: RunConfig) -> None:
        return None  # [evaluate] holds nothing the config's own checks let through

    def load(self, config: RunConfig, with_text: bool) -> tuple[Interactions, pl.DataFrame | None]:
        return load_data(config)  # a dataset's items come with its log

    def size(self, data: Interactions) -> tuple[int, int, int]:
        return data.n_users, data.n_items, data.nnz

    def split(
        self, config: RunConfig, data: Interactions
    ) -> tuple[Interactions, Interactions, Any]:
        return make_split(data, config.split, config.data)

    def local(self, data: Interactions) -> Interactions:
        return data

    def fit(
        self,
        config: RunConfig,
        name: str,
        train: Interactions,
        items: pl.DataFrame | None,
        threads: int | None,
        show_progress: bool | None,
        word_vectors: WordVectorCache | None = None,
    ) -> Recommender:
        model = share_word_vectors(build_model(config, name, threads), word_vectors)
        fit_model(model, name, train, items, show_progress)
        return model

    def evaluate(
        self,
        models: Mapping[str, Recommender],
        train: Interactions,
        test: Interactions,
        candidates: Any,
        config: RunConfig,
        show_progress: bool | None,
        log: Log,
    ) -> Report:
        ev = config.evaluate
        log("evaluating")
        return evaluate(
            models,
            train,
            test,
            k=ev.k,
            metrics=ev.metrics,
            candidates=candidates,
            chunk_size=ev.chunk_size,
            exclude_train=ev.exclude_train,
            show_progress=show_progress,
            retrieval=choice_of(config.retrieval),
        )

    def save(self, config: RunConfig, name: str, model: Recommender, out: Path) -> Path:
        return model.save(out)

    def versions(self) -> dict[str, str]:
        return {}

    def resolved(self, config: RunConfig, models: Mapping[str, Recommender]) -> dict[str, Any]:
        return resolved_config(config, dict(models))
