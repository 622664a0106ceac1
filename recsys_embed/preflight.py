"""Checks of a run before anything is fitted, for every model of the run: what the config, the
engine and the log's size already tell. A bad last model fails in seconds, not after the
models before it are fitted.

Each error has the one-line message and exit code the command line's later check gave:

- :func:`check_models` (the config alone): each model's type runs on the engine, the item
  text it needs (a blend: any member's) is configured, and the files it names exist;
- :func:`check_sizes` (once the log is read): the memory a fit needs (EASE's dense Gram);
- :func:`check_run_folder`, :func:`check_model_folder`, :func:`check_tune_folder` and
  :func:`check_writable`: where evaluate, train and tune write.

Parameter values are checked when the config is read (:mod:`recsys_embed.config`). ``what``
arguments name a location as the caller's user knows it (the command line: ``--out PATH``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from recsys_embed import atomic
from recsys_embed.config import RunConfig
from recsys_embed.data.interactions import Interactions
from recsys_embed.engine import Engine, build_model
from recsys_embed.errors import ConfigError, DataError
from recsys_embed.features.catalogue import TRAINED_VECTORS
from recsys_embed.features.itemvectors import default_ids_path
from recsys_embed.memory import check_ease_fit
from recsys_embed.models.base import Recommender
from recsys_embed.models.blend import Blend
from recsys_embed.models.ease import EASE
from recsys_embed.models.persist import is_model_dir
from recsys_embed.models.registry import REGISTRY, create
from recsys_embed.models.textbase import TextModel
from recsys_embed.tuning.lock import LOCK_NAME

TUNE_FILES = ("search.json", "trials.jsonl", LOCK_NAME)  # any of them: an earlier tuning's

ENGINE_NAMES = {"local": "one machine (the local engine)", "spark": "Spark"}
SWITCH_ENGINE = "set [engine] name = '{engine}'"  # the command line names its flag too


def has_item_text(config: RunConfig) -> bool:
    """Whether a run gets item text: a ``[data.items]`` table, or a dataset (each has items)."""
    return config.data.items is not None or config.data.is_dataset


def _parts(model: Recommender) -> list[Recommender]:
    """The model and, for a blend, its members (unfitted, as the blend creates them)."""
    specs = model.params["models"] if isinstance(model, Blend) else []
    members = [
        create(s["type"], **{k: v for k, v in s.items() if k not in ("type", "weight")})
        for s in specs
    ]
    return [model, *members]


def _local_models(config: RunConfig, names: Iterable[str]) -> list[tuple[str, Recommender]]:
    """``(name, unfitted model)`` of the named models that are package models (not an
    engine's own, such as ``spark-als``)."""
    return [(n, build_model(config, n)) for n in names if config.model(n).type in REGISTRY]


def reads_item_text(config: RunConfig, names: Iterable[str]) -> bool:
    """Whether any of the named models reads item text when it gets some (a text model, or a
    blend with one), so the run should load it."""
    return any(
        isinstance(part, TextModel)
        for _, model in _local_models(config, names)
        for part in _parts(model)
    )


def check_models(
    config: RunConfig, names: Sequence[str], engine: Engine[Any], switch: str = SWITCH_ENGINE
) -> None:
    """Everything the config tells about the named models, before the log is read.

    ``switch``: how the user picks the other engine, with ``{engine}`` for its name.
    """
    for name in names:
        kind = config.model(name).type
        if kind not in engine.model_types:
            other = next(e for e in ENGINE_NAMES if e != engine.name)
            raise ConfigError(
                f"{config.source}: [models.{name}] type {kind!r} trains on "
                f"{ENGINE_NAMES[other]}: {switch.format(engine=other)}"
            )
    for name, model in _local_models(config, names):
        if getattr(model, "needs_item_text", False) and not has_item_text(config):
            raise ConfigError(
                f"[models.{name}] type {model.name!r} needs item text: add a [data.items] table "
                "or use a dataset name"
            )
        for part in _parts(model):
            _check_files(part.params)


def _check_files(params: dict[str, Any]) -> None:
    """The vector files a text model reads: present, and of a kind it reads."""
    item_vectors = params.get("item_vectors")
    if item_vectors is not None:
        path = Path(item_vectors).expanduser()
        if not path.is_file():
            raise DataError(f"{path}: item-vector file not found")
        if path.suffix == ".npy":
            ids = params.get("item_vector_ids")
            ids_path = Path(ids).expanduser() if ids is not None else default_ids_path(path)
            if not ids_path.is_file():
                raise DataError(
                    f"{ids_path}: ids file of the item vectors not found (one item id per line)"
                )
        elif path.suffix != ".parquet":
            raise DataError(f"{path}: item vectors must be a .parquet or .npy file")
        return  # item vectors replace the word vectors: those are not read
    vectors = params.get("vectors")
    if isinstance(vectors, str) and vectors not in TRAINED_VECTORS:
        if not Path(vectors).is_file():
            raise DataError(f"{Path(vectors)}: word-vector file not found")


def check_sizes(config: RunConfig, names: Iterable[str], n_users: int, n_items: int) -> None:
    """The memory the named models' fits need on a log of this size (every fit of a run sees
    the log's whole id space, split or not)."""
    for _, model in _local_models(config, names):
        for part in _parts(model):
            if isinstance(part, EASE):
                check_ease_fit(n_users, n_items)


def check_writable(out: Path) -> None:
    """Create ``out``'s parent and a temporary folder beside ``out``, as publishing ``out``
    will (the same OSError naming ``out`` if that is refused), then remove the temporary."""
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic.remove(atomic.temp_dir(out))


def check_run_folder(
    out: Path,
    overwrite: bool = True,
    what: str | None = None,
    remedy: str = "allow overwriting to replace it",
) -> None:
    """An evaluation's output folder: absent, a previous run, empty, or ``overwrite``.
    ``remedy``: how the user allows overwriting."""
    what = what or str(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{what}: exists and is not a folder")
    previous = (out / "metrics.json").is_file()
    if out.is_dir() and not previous and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{what}: a non-empty folder that is not a previous run; {remedy}")


def check_model_folder(out: Path, what: str | None = None) -> None:
    """A model's output folder: absent, empty or a saved model."""
    what = what or str(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{what}: exists and is not a folder")
    if out.is_dir() and not is_model_dir(out) and any(out.iterdir()):
        raise ConfigError(f"{what}: a non-empty folder that is not a saved model")


def check_tune_folder(out: Path, what: str | None = None) -> None:
    """A tuning's folder: absent, empty, or an earlier tuning's (its trials are resumed; the
    lock taken by :func:`~recsys_embed.tuning.tune` keeps out a second run at once)."""
    what = what or str(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{what}: exists and is not a folder")
    earlier = any((out / name).exists() for name in TUNE_FILES)
    if out.is_dir() and not earlier and any(out.iterdir()):
        raise ConfigError(
            f"{what}: a non-empty folder that is not an earlier tuning's (no "
            f"{' or '.join(TUNE_FILES)}); use a new or empty folder"
        )


def check_split(config: RunConfig, tuning: bool = False) -> None:
    """A temporal split (or, ``tuning``, a temporal validation carve) needs a log read with
    timestamps: ``[data] time_col`` (a dataset has them)."""
    if config.data.time_col is not None or config.data.is_dataset:
        return
    keys: list[tuple[str, str]] = [("[split] method", config.split.method)]
    if tuning:
        keys.append(("[tune] validation", config.tune.validation))
    for key, value in keys:
        if value == "temporal":
            raise DataError(
                f"{config.source}: {key} {value!r} needs timestamps, but [data] interactions "
                f"{config.data.interactions} is read without them: set [data] time_col"
            )


def check_test_users(config: RunConfig, test: Interactions) -> None:
    """The split leaves at least one user with a test interaction: every metric averages over
    the test users, so with none a run would report no number at all."""
    if test.nnz > 0:
        return
    s = config.split
    how = {"given": f"test {s.test!r}", "leave_last": f"n_last {s.n_last}"}
    setting = how.get(s.method, f"test_fraction {s.test_fraction}")
    raise DataError(
        f"{config.source}: no test user: [split] method {s.method!r} ({setting}) puts none of "
        f"the {config.data.interactions} log's interactions in test; change [split]"
    )
