"""Run configuration: frozen dataclasses read from TOML and validated once.

Every error names the file, the table and the key, and says what is allowed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recsys_embed.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SPLIT_METHODS = ("random", "temporal", "leave_last", "cold_items", "given")
DEFAULT_CONFIG = """\
# The default run of `recsys-embed evaluate`: ml-latest-small (shipped in datasets/),
# every rating an interaction, a per-user random 75/25 split, five models.
[data]
interactions = "movielens-latest-small"

[split]
method = "random"
test_fraction = 0.25
stratify = "user"
seed = 42

[evaluate]
k = [10, 20]
metrics = ["recall", "ndcg", "precision", "map"]

[models.popularity]
type = "popularity"

[models.als]
type = "als"

[models.bpr]
type = "bpr"

[models.lightfm]
type = "lightfm"
epochs = 30

[models.hybrid]
type = "lightfm-hybrid"
"""


@dataclass(frozen=True)
class Vocabulary:
    """What the layers below define, handed in by the caller (config imports none of them).

    ``check_model(type, params)`` raises ConfigError for an unknown type or bad parameters.
    """

    datasets: tuple[str, ...]
    metrics: tuple[str, ...]
    model_types: tuple[str, ...]
    check_model: Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class ItemsConfig:
    path: Path
    id_col: str
    text_cols: tuple[str, ...]
    sep: str | None = None
    tags_path: Path | None = None
    tag_col: str = "tag"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class SplitConfig:
    method: str = "random"
    test_fraction: float = 0.25
    stratify: str | None = "user"
    seed: int = 42
    n_last: int = 1
    test: str | None = None  # method "given": the test file (a dataset's own file name, or a path)


@dataclass(frozen=True)
class EvaluateConfig:
    k: tuple[int, ...] = (10, 20)
    metrics: tuple[str, ...] = ("recall", "ndcg", "precision", "map")
    chunk_size: int = 1024
    exclude_train: bool = True


@dataclass(frozen=True)
class TuneConfig:
    """The ``[tune]`` table: how ``recsys-embed tune`` searches (see :mod:`recsys_embed.tuning`)."""

    metric: str = "ndcg@10"
    validation: str = "split"  # "split": validation carved like [split]; or per user
    validation_fraction: float | None = None  # None: [split]'s test_fraction (0.2 per user)
    seed: int = 0
    sampler: str = "auto"
    refit: bool = True
    trials: int = 20
    timeout: float | None = None
    space: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # model name -> ranges
    repeats: int = 1  # validation carves (seeds seed, seed + 1, ...); the objective is their mean
    pruning: float = 0.25  # stop a trial below this quantile of earlier trials at a checkpoint
    decision: str = "bootstrap"  # when the winner replaces the defaults: "bootstrap" or "best"


@dataclass(frozen=True)
class ModelConfig:
    name: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig
    split: SplitConfig
    evaluate: EvaluateConfig
    models: tuple[ModelConfig, ...]
    source: str  # the file it came from, or "<default>"
    tune: TuneConfig = field(default_factory=TuneConfig)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def model(self, name: str) -> ModelConfig:
        for m in self.models:
            if m.name == name:
                return m
        raise ConfigError(
            f"{self.source}: no [models.{name}] table; configured: {[m.name for m in self.models]}"
        )


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
        return value

    def choice(self, key: str, choices: tuple[Any, ...], default: Any) -> Any:
        value = self.values.get(key, default)
        if value not in choices:
            raise self.fail(key, f"one of {list(choices)}")
        return value


def _path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _data(source: str, base: Path, raw: Any, vocab: Vocabulary) -> DataConfig:
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
            _path(base, it.get("path", str, required=True)),
            it.get("id_col", str, required=True),
            tuple(cols),
            it.get("sep", str),
            _path(base, tags) if tags else None,
            it.get("tag_col", str, "tag"),
        )
    min_weight = t.get("min_weight", float)
    return DataConfig(
        target,
        t.get("user_col", str),
        t.get("item_col", str),
        t.get("weight_col", str),
        t.get("time_col", str),
        t.get("sep", str),
        t.get("has_header", bool, True),
        min_weight,
        t.get("binary", bool, False),
        items,
        is_dataset,
    )


def _split(source: str, base: Path, raw: Any, is_dataset: bool) -> SplitConfig:
    keys = ("method", "test_fraction", "stratify", "seed", "n_last", "test")
    t = _Table(source, "split", raw, keys)
    method = t.choice("method", SPLIT_METHODS, "random")
    frac = t.get("test_fraction", float, 0.25)
    if not 0 < frac < 1:
        raise t.fail("test_fraction", "a number in (0, 1)")
    stratify = t.choice("stratify", ("user", "item", "none"), "user")
    if "stratify" in t.values and method != "random":
        raise t.fail("stratify", "no stratify key unless method = 'random'")
    n_last = t.get("n_last", int, 1)
    if n_last < 1:
        raise t.fail("n_last", "a positive int")
    test = t.get("test", str)
    if (test is None) == (method == "given"):
        raise t.fail("test", "a test file exactly when method = 'given'")
    if test is not None and not is_dataset:
        test = str(_path(base, test))
    return SplitConfig(
        method,
        frac,
        None if stratify == "none" else stratify,
        t.get("seed", int, 42),
        n_last,
        test,
    )


def _evaluate(source: str, raw: Any, vocab: Vocabulary) -> EvaluateConfig:
    t = _Table(source, "evaluate", raw, ("k", "metrics", "chunk_size", "exclude_train"))
    k = t.get("k", list, [10, 20])
    if not k or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in k):
        raise t.fail("k", "a non-empty list of positive ints")
    metrics = t.get("metrics", list, ["recall", "ndcg", "precision", "map"])
    bad = [m for m in metrics if m not in vocab.metrics]
    if not metrics or bad:
        raise t.fail("metrics", f"a list of metric names from {list(vocab.metrics)}")
    chunk = t.get("chunk_size", int, 1024)
    if chunk < 1:
        raise t.fail("chunk_size", "a positive int")
    exclude = t.get("exclude_train", bool, True)
    return EvaluateConfig(tuple(sorted(set(k))), tuple(metrics), chunk, exclude)


def _tune(source: str, raw: Any, vocab: Vocabulary) -> TuneConfig:
    keys = ("metric", "validation", "validation_fraction", "seed", "sampler", "refit")
    more = ("trials", "timeout", "space", "repeats", "pruning", "decision")
    t = _Table(source, "tune", raw, (*keys, *more))
    metric = t.get("metric", str, "ndcg@10")
    name, _, k = metric.partition("@")
    if name not in vocab.metrics or not k.isdigit() or int(k) < 1:
        raise t.fail("metric", f"a metric and a cut-off like 'ndcg@10', from {list(vocab.metrics)}")
    frac = t.get("validation_fraction", float)
    if frac is not None and not 0 < frac < 1:
        raise t.fail("validation_fraction", "a number in (0, 1)")
    repeats = t.get("repeats", int, 1)
    if repeats < 1:
        raise t.fail("repeats", "a positive int (validation carves)")
    pruning = t.get("pruning", float, 0.25)
    if not 0 <= pruning < 1:
        raise t.fail("pruning", "a quantile in [0, 1) (0: no pruning)")
    trials = t.get("trials", int, 20)
    if trials < 1:
        raise t.fail("trials", "a positive int")
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
        metric,
        t.choice("validation", ("split", "random", "temporal"), "split"),
        frac,
        t.get("seed", int, 0),
        t.choice("sampler", ("auto", "random", "tpe"), "auto"),
        t.get("refit", bool, True),
        trials,
        timeout,
        space,
        repeats,
        pruning,
        t.choice("decision", ("bootstrap", "best"), "bootstrap"),
    )


def _models(source: str, raw: Any, vocab: Vocabulary) -> tuple[ModelConfig, ...]:
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
        out.append(ModelConfig(name, kind, params))
    return tuple(out)


def parse_config(raw: dict[str, Any], source: str, base: Path, vocab: Vocabulary) -> RunConfig:
    """Validate a parsed TOML document. Relative paths are relative to ``base``."""
    unknown = sorted(set(raw) - {"data", "split", "evaluate", "models", "tune"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown table(s) {unknown}; "
            "allowed: ['data', 'evaluate', 'models', 'split', 'tune']"
        )
    if "data" not in raw:
        raise ConfigError(f"{source}: needs a [data] table")
    data = _data(source, base, raw["data"], vocab)
    models = _models(source, raw.get("models"), vocab)
    tune = _tune(source, raw.get("tune", {}), vocab)
    stray = sorted(set(tune.space) - {m.name for m in models})
    if stray:
        raise ConfigError(f"{source}: [tune.space.{stray[0]}] names no [models.{stray[0]}] table")
    return RunConfig(
        data,
        _split(source, base, raw.get("split", {}), data.is_dataset),
        _evaluate(source, raw.get("evaluate", {}), vocab),
        models,
        source,
        tune,
        raw,
    )


def load_config(path: str | Path | None, vocab: Vocabulary) -> RunConfig:
    """Read and validate a TOML config; ``None`` gives the default run."""
    if path is None:
        return parse_config(tomllib.loads(DEFAULT_CONFIG), "<default config>", Path.cwd(), vocab)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(raw, str(path), path.parent.resolve(), vocab)


def to_toml(doc: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for resolved configs (str, int, float, bool, lists, nested tables)."""
    lines, tables = [], []
    for key, value in doc.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    out = "\n".join(lines)
    for key, value in tables:
        name = f"{prefix}{key}"
        has_scalars = any(not isinstance(v, dict) for v in value.values())
        header = f"\n[{name}]\n" if has_scalars or not value else "\n"
        out += header + to_toml(value, f"{name}.")
    return out.strip() + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Path):
        return _toml_value(str(value))
    raise ConfigError(f"cannot write {type(value).__name__} to TOML")
