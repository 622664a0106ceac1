"""Run configuration: frozen dataclasses read from TOML and validated once.

Every error names the file, the table and the key, and says what is allowed.

Layout of this package: ``schema`` holds the dataclasses and limits, ``tables`` the per-table
readers and validators; this module parses and loads a whole config, writes TOML, and
re-exports the public names (import them from ``recsys_embed.config``).
"""

from __future__ import annotations

import dataclasses
import sys
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
    EngineName,
    EvaluateConfig,
    ItemsConfig,
    ModelConfig,
    RetrievalConfig,
    RunConfig,
    SplitConfig,
    SplitMethod,
    TuneConfig,
    Vocabulary,
)
from recsys_embed.config.tables import (
    data_table,
    engine_table,
    evaluate_table,
    models_table,
    retrieval_table,
    split_table,
    tune_table,
)
from recsys_embed.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_CONFIG",
    "ENGINES",
    "MAX_CHUNK",
    "MAX_K",
    "MAX_SEED",
    "SPLIT_METHODS",
    "DataConfig",
    "EngineConfig",
    "EngineName",
    "EvaluateConfig",
    "ItemsConfig",
    "ModelConfig",
    "RetrievalConfig",
    "RunConfig",
    "SplitConfig",
    "SplitMethod",
    "TuneConfig",
    "Vocabulary",
    "load_config",
    "parse_config",
    "resolved_config",
    "to_toml",
    "tomllib",
]

DEFAULT_CONFIG = """\
# The default run of `recsys-embed evaluate`: ml-latest-small (shipped in datasets/),
# every rating an interaction, a per-user random 75/25 split, six models.
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
identity = true                   # a warm split: warm items keep a free vector
no_components = 64                # warm validation (evaluation/studies/warm_hybrid_validation.py):
epochs = 30                       # the cold defaults (32 x 15, content 2) lose NDCG@10 here
content_weight = 0.0
token_features = false            # the warm setting was validated without token one-hots
length_weight = 0.0               # and without the text-length
year_weight = 0.0                 # and decade features

[models.text-map]
type = "als-text-map"
"""


def parse_config(raw: dict[str, Any], source: str, base: Path, vocab: Vocabulary) -> RunConfig:
    """Validate a parsed TOML document. Relative paths are relative to ``base``."""
    tables = {"data", "split", "evaluate", "models", "tune", "engine", "retrieval"}
    unknown = sorted(set(raw) - tables)
    if unknown:
        raise ConfigError(f"{source}: unknown table(s) {unknown}; allowed: {sorted(tables)}")
    if "data" not in raw:
        raise ConfigError(f"{source}: needs a [data] table")
    data = data_table(source, base, raw["data"], vocab)
    models = models_table(source, raw.get("models"), vocab)
    tune = tune_table(source, raw.get("tune", {}), vocab)
    stray = sorted(set(tune.space) - {m.name for m in models})
    if stray:
        raise ConfigError(f"{source}: [tune.space.{stray[0]}] names no [models.{stray[0]}] table")
    return RunConfig(
        data=data,
        split=split_table(source, base, raw.get("split", {}), data.is_dataset),
        evaluate=evaluate_table(source, raw.get("evaluate", {}), vocab),
        models=models,
        source=source,
        tune=tune,
        engine=engine_table(source, raw.get("engine", {})),
        retrieval=retrieval_table(source, raw.get("retrieval", {})),
        raw=raw,
    )


def load_config(path: str | Path | None, vocab: Vocabulary) -> RunConfig:
    """Read and validate a TOML config; ``None`` gives the default run."""
    if path is None:
        return parse_config(tomllib.loads(DEFAULT_CONFIG), "<default config>", Path.cwd(), vocab)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
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
    if isinstance(value, dict):  # an inline table (a blend's member models)
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write {type(value).__name__} to TOML")


def resolved_config(config: RunConfig, models: dict[str, Any]) -> dict[str, Any]:
    """The run as it was resolved: data, split, evaluate and every model's full parameters
    (``models`` maps names to fitted or unfitted models: ``name`` and ``get_params()``)."""
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
    resolved = {"data": data, "split": split, "evaluate": ev, "models": mods}
    if config.retrieval.method != "exact":  # exact runs' files stay as they were
        resolved["retrieval"] = dataclasses.asdict(config.retrieval)
    return resolved
