"""Readers of the config's TOML tables: ``_Table`` (typed reads, errors naming file, table and
key) and one validator per table, each returning its dataclass."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from recsys_embed.config.schema import (
    ENGINES,
    MAX_CHUNK,
    MAX_K,
    MAX_SEED,
    SPLIT_METHODS,
    DataConfig,
    EngineConfig,
    EvaluateConfig,
    ItemsConfig,
    ModelConfig,
    RetrievalConfig,
    SplitConfig,
    TuneConfig,
    Vocabulary,
)
from recsys_embed.errors import ConfigError


class _Table:
    """Typed reads from one TOML table, with errors naming file, table and key."""

    def __init__(self, source: str, name: str, values: Any, allowed: tuple[str, ...]):
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        self.source, self.name, self.values = source, name, values
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ConfigError(
                f"{source}: [{name}] has unknown key(s) {unknown}; allowed: {sorted(allowed)}"
            )

    def fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(
            f"{self.source}: [{self.name}] {key} = {self.values.get(key)!r}; expected {expected}"
        )

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = None, required: bool = False
    ) -> Any:
        if key not in self.values:
            if required:
                raise ConfigError(f"{self.source}: [{self.name}] needs {key}")
            return default
        value = self.values[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, " or ".join(k.__name__ for k in kinds))
        if not isinstance(value, kinds):
            raise self.fail(key, " or ".join(k.__name__ for k in kinds))
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, "a finite number")
        if isinstance(value, str) and key.endswith("sep") and value == "":
            raise self.fail(key, "a non-empty separator such as ',' or '\\t'")
        return value

    def int_in(self, key: str, default: int, low: int, high: int) -> int:
        """An int key within ``[low, high]``."""
        value = self.get(key, int, default)
        if not low <= value <= high:
            raise self.fail(key, f"an int from {low} to {high}")
        return int(value)

    def choice(self, key: str, choices: tuple[Any, ...], default: Any) -> Any:
        value = self.values.get(key, default)
        if value not in choices:
            raise self.fail(key, f"one of {list(choices)}")
        return value


def _path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def data_table(source: str, base: Path, raw: Any, vocab: Vocabulary) -> DataConfig:
    t = _Table(
        source,
        "data",
        raw,
        (
            "interactions",
            "user_col",
            "item_col",
            "weight_col",
            "time_col",
            "sep",
            "has_header",
            "min_weight",
            "binary",
            "items",
        ),
    )
    target = t.get("interactions", str, required=True)
    is_dataset = target in vocab.datasets
    if not is_dataset:
        if Path(target).suffix.lower() not in (".csv", ".tsv", ".txt", ".dat", ".parquet", ".pq"):
            raise t.fail(
                "interactions",
                f"a .csv/.tsv/.txt/.dat/.parquet path or a dataset name {sorted(vocab.datasets)}",
            )
        if "://" not in target:  # URLs (hdfs://, s3a://) are for the Spark engine, as given
            target = str(_path(base, target))
        for key in ("user_col", "item_col"):
            t.get(key, str, required=True)
    items = None
    if "items" in t.values:
        it = _Table(
            source,
            "data.items",
            t.values["items"],
            ("path", "id_col", "text_cols", "sep", "tags_path", "tag_col"),
        )
        cols = it.get("text_cols", list, required=True)
        if not cols or not all(isinstance(c, str) for c in cols):
            raise it.fail("text_cols", "a non-empty list of column names")
        tags = it.get("tags_path", str)
        items = ItemsConfig(
            path=_path(base, it.get("path", str, required=True)),
            id_col=it.get("id_col", str, required=True),
            text_cols=tuple(cols),
            sep=it.get("sep", str),
            tags_path=_path(base, tags) if tags else None,
            tag_col=it.get("tag_col", str, "tag"),
        )
    min_weight = t.get("min_weight", float)
    return DataConfig(
        interactions=target,
        user_col=t.get("user_col", str),
        item_col=t.get("item_col", str),
        weight_col=t.get("weight_col", str),
        time_col=t.get("time_col", str),
        sep=t.get("sep", str),
        has_header=t.get("has_header", bool, True),
        min_weight=min_weight,
        binary=t.get("binary", bool, False),
        items=items,
        is_dataset=is_dataset,
    )


def split_table(source: str, base: Path, raw: Any, is_dataset: bool) -> SplitConfig:
    keys = ("method", "test_fraction", "stratify", "seed", "n_last", "test")
    t = _Table(source, "split", raw, keys)
    method = t.choice("method", SPLIT_METHODS, "random")
    frac = t.get("test_fraction", float, 0.25)
    if not 0 < frac < 1:
        raise t.fail("test_fraction", "a number in (0, 1)")
    stratify = t.choice("stratify", ("user", "item", "none"), "user")
    if "stratify" in t.values and method != "random":  # "hash" draws per interaction
        raise t.fail("stratify", "no stratify key unless method = 'random'")
    n_last = t.int_in("n_last", 1, 1, 2**31 - 1)
    test = t.get("test", str)
    if (test is None) == (method == "given"):
        raise t.fail("test", "a test file exactly when method = 'given'")
    if test is not None and not is_dataset:
        test = str(_path(base, test))
    return SplitConfig(
        method=method,
        test_fraction=frac,
        stratify=None if stratify == "none" else stratify,
        seed=t.int_in("seed", 42, 0, MAX_SEED),
        n_last=n_last,
        test=test,
    )


def evaluate_table(source: str, raw: Any, vocab: Vocabulary) -> EvaluateConfig:
    t = _Table(source, "evaluate", raw, ("k", "metrics", "chunk_size", "exclude_train"))
    k = t.values.get("k", [10, 20])
    if isinstance(k, int) and not isinstance(k, bool):
        k = [k]  # k = 10 means [10]
    if (
        not isinstance(k, list)
        or not k
        or not all(isinstance(x, int) and not isinstance(x, bool) and 0 < x <= MAX_K for x in k)
    ):
        raise t.fail("k", f"a positive int or a non-empty list of positive ints up to {MAX_K}")
    metrics = t.get("metrics", list, ["recall", "ndcg", "precision", "map"])
    bad = [m for m in metrics if m not in vocab.metrics]
    if not metrics or bad:
        raise t.fail("metrics", f"a list of metric names from {list(vocab.metrics)}")
    chunk = t.int_in("chunk_size", 1024, 1, MAX_CHUNK)
    exclude = t.get("exclude_train", bool, True)
    return EvaluateConfig(
        k=tuple(sorted(set(k))), metrics=tuple(metrics), chunk_size=chunk, exclude_train=exclude
    )


def tune_table(source: str, raw: Any, vocab: Vocabulary) -> TuneConfig:
    keys = ("metric", "validation", "validation_fraction", "seed", "sampler", "refit")
    more = ("trials", "timeout", "space", "repeats", "extrapolate", "pruning", "decision")
    t = _Table(source, "tune", raw, (*keys, *more))
    metric = t.get("metric", str, "ndcg@10")
    name, _, k = metric.partition("@")
    plain = k.isascii() and k.isdigit() and len(k) <= 6
    if name not in vocab.metrics or not plain or not 1 <= int(k) <= MAX_K:
        raise t.fail("metric", f"a metric and a cut-off like 'ndcg@10', from {list(vocab.metrics)}")
    frac = t.get("validation_fraction", float)
    if frac is not None and not 0 < frac < 1:
        raise t.fail("validation_fraction", "a number in (0, 1)")
    repeats = t.int_in("repeats", 1, 1, 100)
    pruning = t.get("pruning", float, 0.25)
    if not 0 <= pruning < 1:
        raise t.fail("pruning", "a quantile in [0, 1) (0: no pruning)")
    trials = t.int_in("trials", 20, 1, 1_000_000)
    timeout = t.get("timeout", float)
    if timeout is not None and timeout <= 0:
        raise t.fail("timeout", "a positive number of seconds")
    space = t.get("space", dict, {})
    for model, ranges in space.items():
        r = _Table(
            source, f"tune.space.{model}", ranges, tuple(ranges) if isinstance(ranges, dict) else ()
        )
        for key, value in r.values.items():
            if not isinstance(value, list) or not value:
                raise r.fail(key, "a list: [low, high], [low, high, 'log' | 'linear'] or choices")
    return TuneConfig(
        metric=metric,
        validation=t.choice("validation", ("split", "random", "temporal"), "split"),
        validation_fraction=frac,
        seed=t.int_in("seed", 0, 0, MAX_SEED),
        sampler=t.choice("sampler", ("auto", "random", "tpe"), "auto"),
        refit=t.get("refit", bool, True),
        trials=trials,
        timeout=timeout,
        space=space,
        repeats=repeats,
        extrapolate=t.get("extrapolate", bool, False),
        pruning=pruning,
        decision=t.choice("decision", ("bootstrap", "best"), "bootstrap"),
    )


def engine_table(source: str, raw: Any) -> EngineConfig:
    t = _Table(source, "engine", raw, ("name", "master", "conf", "checkpoint_dir"))
    conf = t.get("conf", dict, {})
    for key, value in conf.items():
        if isinstance(value, bool):
            conf[key] = "true" if value else "false"
        elif isinstance(value, (int, float, str)):
            conf[key] = str(value)
        else:
            raise ConfigError(
                f"{source}: [engine.conf] {key} = {value!r}; expected a string, number or bool"
            )
    master = t.get("master", str, "local[*]")
    if not master:
        raise t.fail("master", "a Spark master URL such as 'local[2]' or 'yarn'")
    return EngineConfig(
        name=t.choice("name", ENGINES, "local"),
        master=master,
        conf=conf,
        checkpoint_dir=t.get("checkpoint_dir", str),
    )


def models_table(source: str, raw: Any, vocab: Vocabulary) -> tuple[ModelConfig, ...]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{source}: [models] needs at least one [models.NAME] table")
    out = []
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [models.{name}] must be a table")
        kind = table.get("type")
        if kind not in vocab.model_types:
            raise ConfigError(
                f"{source}: [models.{name}] type = {kind!r}; "
                f"expected one of {sorted(vocab.model_types)}"
            )
        params = {k: v for k, v in table.items() if k != "type"}
        try:
            vocab.check_model(kind, params)
        except ConfigError as exc:
            raise ConfigError(f"{source}: [models.{name}] {exc}") from None
        out.append(ModelConfig(name=name, type=kind, params=params))
    return tuple(out)


def retrieval_table(source: str, raw: Any) -> RetrievalConfig:
    """The ``[retrieval]`` table (defaults: exact; the ann settings of models/ann.py)."""
    keys = ("method", "m", "ef_construction", "ef_search", "overfetch")
    t = _Table(source, "retrieval", raw, keys)
    return RetrievalConfig(
        method=t.choice("method", ("exact", "ann"), "exact"),
        m=t.int_in("m", 16, 2, 512),
        ef_construction=t.int_in("ef_construction", 256, 1, 100_000),
        ef_search=t.int_in("ef_search", 256, 1, 100_000),
        overfetch=t.int_in("overfetch", 32, 0, 100_000),
    )
