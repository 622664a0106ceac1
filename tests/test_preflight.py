"""Fail fast: every requirement the config and the log's size tell is checked for every model
of a run before the first fit, with the error the later check gives (issue 22)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from recsys_embed import memory, preflight
from recsys_embed.cli import main
from recsys_embed.config import load_config
from recsys_embed.engine import LocalEngine
from recsys_embed.errors import ConfigError, DataError, MemoryLimitError
from recsys_embed.models import registry
from recsys_embed.pipeline import VOCABULARY, run_evaluation, run_tuning, train_model
from recsys_embed.spark.params import spark_vocabulary

# a play-count log: no item text, as a new user's first log would be
PLAYS = "user,artist,plays\n" + "".join(
    f"u{u},a{(u * 7 + j) % 23},{1 + (u + j) % 5}\n" for u in range(30) for j in range(6)
)
SLOW_FIRST = '[models.als]\ntype = "als"\niterations = 200\nfactors = 64\n'


def _config(tmp_path: Path, models: str, vocab=VOCABULARY):
    (tmp_path / "plays.csv").write_text(PLAYS)
    path = tmp_path / "run.toml"
    path.write_text(
        '[data]\ninteractions = "plays.csv"\nuser_col = "user"\nitem_col = "artist"\n'
        f'weight_col = "plays"\n[split]\nmethod = "hash"\n{models}'
    )
    return load_config(path, vocab)


@pytest.fixture
def fits(monkeypatch):
    """The models fitted while a test runs (none is: a fit fails the test's run at once)."""
    names: list[str] = []

    def no_fit(model, train, item_text=None, what="", show_progress=None):
        names.append(what)
        raise AssertionError(f"{what} was fitted")

    monkeypatch.setattr(registry, "fit", no_fit)
    return names


def test_a_blend_without_item_text_fails_before_the_model_before_it_is_fitted(tmp_path, fits):
    config = _config(tmp_path, SLOW_FIRST + '[models.blend]\ntype = "blend"\n')
    with pytest.raises(ConfigError) as exc:
        run_evaluation(config, tmp_path / "out", lambda _m: None)
    assert str(exc.value) == (
        "[models.blend] type 'blend' needs item text: add a [data.items] table or use a "
        "dataset name"
    )
    assert fits == [] and not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match=r"\[models.blend\] type 'blend' needs item text"):
        train_model(config, "blend", tmp_path / "model", lambda _m: None)
    with pytest.raises(ConfigError, match=r"\[models.blend\] type 'blend' needs item text"):
        run_tuning(config, "blend", tmp_path / "tuned", lambda _m: None, trials=2)
    assert fits == []


def test_the_same_run_without_the_bad_model_fits_the_first(tmp_path, fits):
    config = _config(tmp_path, SLOW_FIRST)
    with pytest.raises(AssertionError, match=r"\[models.als\] was fitted"):
        run_evaluation(config, tmp_path / "out", lambda _m: None)
    assert fits == ["[models.als]"]


def test_the_command_line_fails_with_one_line_and_exit_2_before_any_fit(tmp_path, fits, capsys):
    _config(tmp_path, SLOW_FIRST + '[models.blend]\ntype = "blend"\n')
    code = main(["evaluate", "--config", str(tmp_path / "run.toml"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert err.endswith("[models.blend] type 'blend' needs item text: add a [data.items] table "
                        "or use a dataset name")  # fmt: skip
    assert fits == []


def test_spark_only_types_name_the_engine_switch_of_the_caller(tmp_path, fits, capsys):
    spark_model = '[models.sals]\ntype = "spark-als"\n'
    config = _config(tmp_path, SLOW_FIRST + spark_model, spark_vocabulary(VOCABULARY))
    with pytest.raises(ConfigError) as exc:
        run_evaluation(config, tmp_path / "out", lambda _m: None)
    assert str(exc.value) == (
        f"{config.source}: [models.sals] type 'spark-als' trains on Spark: "
        "set [engine] name = 'spark'"
    )
    code = main(["evaluate", "--config", config.source, "--out", str(tmp_path / "o")])
    assert code == 2 and capsys.readouterr().err.strip().endswith(
        "[models.sals] type 'spark-als' trains on Spark: run with --engine spark "
        "(or [engine] name = 'spark')"
    )
    # training another model of the same config is fine: only the trained one is checked
    with pytest.raises(AssertionError, match="was fitted"):
        train_model(config, "als", tmp_path / "m", lambda _m: None)
    assert fits == ["[models.als]"]


def test_a_missing_vector_file_of_a_blend_member_fails_before_any_fit(tmp_path, fits):
    member = '{type = "text-knn", item_vectors = "nowhere.parquet"}'
    config = _config(
        tmp_path,
        SLOW_FIRST + f'[models.b]\ntype = "blend"\nmodels = [{{type = "als"}}, {member}]\n',
    )
    with pytest.raises(DataError, match=r"^nowhere.parquet: item-vector file not found$"):
        run_evaluation(config, tmp_path / "out", lambda _m: None)
    (tmp_path / "word.toml").write_text(
        '[data]\ninteractions = "movielens-latest-small"\n'
        '[models.t]\ntype = "text-knn"\nvectors = "glove.txt"\n'
    )
    word = load_config(tmp_path / "word.toml", VOCABULARY)
    with pytest.raises(DataError, match=r"^/.*/glove.txt: word-vector file not found$"):
        preflight.check_models(word, ["t"], LocalEngine())
    assert fits == []


def test_ease_memory_is_checked_on_the_log_size_before_any_fit(tmp_path, fits, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 1_000)
    config = _config(tmp_path, SLOW_FIRST + '[models.e]\ntype = "ease"\n')
    with pytest.raises(MemoryLimitError, match=r"^EASE on 23 items and 30 users .* needs about"):
        run_evaluation(config, tmp_path / "out", lambda _m: None)
    assert fits == []
    assert memory.ease_fit_bytes(30, 23) == 4 * 23 * 23 + 4 * 30 * 23


def test_output_locations_fail_before_any_fit(tmp_path, fits):
    config = _config(tmp_path, SLOW_FIRST)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"file: exists and is not a folder"):
        train_model(config, "als", tmp_path / "file", lambda _m: None)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"foreign: a non-empty folder that is not a saved"):
        train_model(config, "als", tmp_path / "foreign", lambda _m: None)
    with pytest.raises(ConfigError, match=r"file: exists and is not a folder"):
        run_evaluation(config, tmp_path / "file", lambda _m: None)
    with pytest.raises(ConfigError, match=r"file: exists and is not a folder"):
        run_tuning(config, "als", tmp_path / "file", lambda _m: None, trials=2)
    with pytest.raises(ConfigError, match=r"foreign: a non-empty folder that is not an earlier"):
        run_tuning(config, "als", tmp_path / "foreign", lambda _m: None, trials=2)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(PermissionError) as exc:
                train_model(config, "als", locked / "m", lambda _m: None)
            assert exc.value.filename == str(locked / "m")
        finally:
            locked.chmod(0o700)
    assert fits == []


def test_item_text_is_loaded_when_a_model_reads_it(tmp_path):
    knn_vectors = '[models.t]\ntype = "text-knn"\nitem_vectors = "v.parquet"\n'
    config = _config(tmp_path, SLOW_FIRST + '[models.b]\ntype = "blend"\n' + knn_vectors)
    assert not preflight.reads_item_text(config, ["als"])
    assert preflight.reads_item_text(config, ["b"])  # its default LightFM member reads text
    assert preflight.reads_item_text(config, ["t"])  # reads text beside its vectors if given
    plain = '[models.b]\ntype = "blend"\nmodels = [{type = "als"}, {type = "ease"}]\n'
    assert not preflight.reads_item_text(_config(tmp_path, plain), ["b"])


def test_a_good_run_still_fits_evaluates_and_writes(tmp_path):
    config = _config(tmp_path, '[models.pop]\ntype = "popularity"\n[models.e]\ntype = "ease"\n')
    lines: list[str] = []
    report = run_evaluation(config, tmp_path / "out", lines.append)
    assert sorted(report.results) == ["e", "pop"]
    assert (tmp_path / "out" / "metrics.json").is_file()
    assert lines[:2] == [
        "loading " + config.data.interactions,
        "30 users x 23 items, 180 interactions",
    ]
    assert report.conventions["ranking"] == "full catalogue"
    assert np.isfinite(report.mean("e", "ndcg", 10))
