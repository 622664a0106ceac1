"""The run config's frozen dataclasses, their limits and the ``Vocabulary`` the caller hands in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from recsys_embed.errors import ConfigError

MAX_SEED = 2**32 - 1  # numpy's legacy seeds and the libraries' take 32-bit unsigned ints
MAX_K = 100_000  # a cut-off past which a top list is not a recommendation
MAX_CHUNK = 1_000_000
SplitMethod = Literal["random", "hash", "temporal", "leave_last", "cold_items", "given"]
SPLIT_METHODS: tuple[SplitMethod, ...] = get_args(SplitMethod)
EngineName = Literal["local", "spark"]
ENGINES: tuple[EngineName, ...] = get_args(EngineName)


@dataclass(frozen=True)
class Vocabulary:
    """What the layers below define, handed in by the caller (config imports none of them).

    ``check_model(type, params)`` raises ConfigError for an unknown type or bad parameters.
    """

    datasets: tuple[str, ...]
    metrics: tuple[str, ...]
    model_types: tuple[str, ...]
    check_model: Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True, kw_only=True)
class ItemsConfig:
    path: Path
    id_col: str
    text_cols: tuple[str, ...]
    sep: str | None = None
    tags_path: Path | None = None
    tag_col: str = "tag"


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    interactions: str  # a dataset name, or a resolved file path
    user_col: str | None = None
    item_col: str | None = None
    weight_col: str | None = None
    time_col: str | None = None
    sep: str | None = None
    has_header: bool = True
    min_weight: float | None = None
    binary: bool = False
    items: ItemsConfig | None = None

    is_dataset: bool = False


@dataclass(frozen=True, kw_only=True)
class SplitConfig:
    method: SplitMethod = "random"
    test_fraction: float = 0.25
    stratify: Literal["user", "item"] | None = "user"
    seed: int = 42
    n_last: int = 1
    test: str | None = None  # method "given": the test file (a dataset's own file name, or a path)


@dataclass(frozen=True, kw_only=True)
class EvaluateConfig:
    k: tuple[int, ...] = (10, 20)
    metrics: tuple[str, ...] = ("recall", "ndcg", "precision", "map")
    chunk_size: int = 1024
    exclude_train: bool = True


@dataclass(frozen=True, kw_only=True)
class TuneConfig:
    """The ``[tune]`` table: how ``recsys-embed tune`` searches (see :mod:`recsys_embed.tuning`)."""

    metric: str = "ndcg@10"
    validation: Literal["split", "random", "temporal"] = "split"  # "split": carved like [split]
    validation_fraction: float | None = None  # None: [split]'s test_fraction (0.2 per user)
    seed: int = 0
    sampler: Literal["auto", "random", "tpe"] = "auto"
    refit: bool = True
    trials: int = 20
    timeout: float | None = None
    space: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # model name -> ranges
    repeats: int = 1  # validation carves (seeds seed, seed + 1, ...); the objective is their mean
    extrapolate: bool = False  # score each trial at train's size (random / hash carves, refit)
    pruning: float = 0.25  # stop a trial below this quantile of earlier trials at a checkpoint
    decision: Literal["bootstrap", "best"] = (
        "bootstrap"  # when the winner replaces the defaults: "bootstrap" or "best"
    )


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    name: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """The ``[engine]`` table: where the job runs (see :mod:`recsys_embed.spark`).

    ``master`` and ``conf`` (Spark settings, values as strings) apply when no Spark session
    exists yet; under ``spark-submit`` the session it created is used as is.
    ``checkpoint_dir`` is where Spark ALS cuts its lineage (default: a temporary directory).
    """

    name: EngineName = "local"
    master: str = "local[*]"
    conf: dict[str, str] = field(default_factory=dict)
    checkpoint_dir: str | None = None


@dataclass(frozen=True, kw_only=True)
class RetrievalConfig:
    """The ``[retrieval]`` table: how top-k lists are ranked when evaluating (see
    :mod:`recsys_embed.models.ann`): ``method`` exact or ann, and the ann index settings."""

    method: Literal["exact", "ann"] = "exact"
    m: int = 16
    ef_construction: int = 256
    ef_search: int = 256
    overfetch: int = 32


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    data: DataConfig
    split: SplitConfig
    evaluate: EvaluateConfig
    models: tuple[ModelConfig, ...]
    source: str  # the file it came from, or "<default>"
    tune: TuneConfig = field(default_factory=TuneConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def model(self, name: str) -> ModelConfig:
        for m in self.models:
            if m.name == name:
                return m
        raise ConfigError(
            f"{self.source}: no [models.{name}] table; configured: {[m.name for m in self.models]}"
        )
