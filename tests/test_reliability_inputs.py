"""Input-caused failures: exit 2 (usage/config) or 3 (data/model), one line naming the cause;
and inputs that used to be accepted silently (float32 overflow, spaced ids, duplicate headers)."""

from __future__ import annotations

import os

import numpy as np
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import cli
from recsys_embed.data import loaders
from recsys_embed.errors import DataError
from tests.reliability_support import config, one_line, run_cli, small_log


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inputs")
    log = small_log(tmp / "log.csv")
    cfg = config(tmp / "run.toml", log)
    assert (
        cli.main(
            ["train", "--config", str(cfg), "--model", "als", "--out", str(tmp / "m"), "--quiet"]
        )
        == 0
    )
    return tmp, log, cfg, tmp / "m"


# ---- data files ---------------------------------------------------------------------------
def _csv(tmp_path, text, name="log.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("u,i,w\n1,2,1\n1,3,1e39\n", ["row 1", "too large for float32"]),
        ("u,i,w\n1,2,1e-46\n", ["row 0", "too small (it rounds to 0)"]),
        ("u,i,w\n1,2,1e308\n1,2,1e308\n", ["row 0", "too large"]),
    ],
)
def test_weights_must_survive_float32(tmp_path, text, needles):
    with pytest.raises(DataError) as info:
        rse.read_interactions(_csv(tmp_path, text), "u", "i", "w")
    for n in needles:
        assert n in str(info.value)


def test_merged_duplicates_must_stay_finite(tmp_path):
    # each weight fits float32 (max 3.4e38); their sum does not
    p = _csv(tmp_path, "u,i,w\n7,2,3e38\n5,3,1\n7,2,3e38\n")
    with pytest.raises(DataError, match=r"user 7, item 2: the merged weight 6e\+38"):
        rse.read_interactions(p, "u", "i", "w")
    ok = rse.read_interactions(_csv(tmp_path, "u,i,w\n7,2,1e38\n7,2,1e38\n"), "u", "i", "w")
    assert ok.matrix.data.tolist() == [np.float32(2e38)]


def test_ids_are_trimmed_of_surrounding_whitespace(tmp_path):
    p = _csv(tmp_path, "u,i\n 1,10\n1,11\n1 ,12\n2, 10\n")
    inter = rse.read_interactions(p, "u", "i")
    assert inter.user_ids.tolist() == [1, 2] and inter.user_ids.dtype == np.int64
    assert inter.item_ids.tolist() == [10, 11, 12]
    frame = pl.DataFrame({"u": [" a", "a", "b "], "i": ["x", "x ", "y"]})
    inter = rse.Interactions.from_frame(frame, "u", "i")
    assert inter.user_ids.tolist() == ["a", "b"] and inter.nnz == 2 and inter.n_duplicates == 1
    with pytest.raises(DataError, match="missing id at row 1"):
        rse.read_interactions(_csv(tmp_path, "u,i\n1,10\n   ,11\n"), "u", "i")


def test_duplicate_headers_refused(tmp_path):
    with pytest.raises(DataError, match="header names column 'u' more than once"):
        rse.read_interactions(_csv(tmp_path, "u,i,u\n1,2,3\n"), "u", "i")


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('u,i,w\n1,2,1\n"3,4,1\n5,6,1\n', ["row 1 (line 3)", "unbalanced quote"]),
        ("u,i,w\n1,2,1\n3,4,1\n3,4,1,9\n5,6,1\n", ["row 2 (line 4)", "4 fields, expected 3"]),
    ],
)
def test_parse_errors_are_one_line_naming_the_row(tmp_path, text, needles, capsys):
    p = _csv(tmp_path, text)
    with pytest.raises(DataError) as info:
        rse.read_interactions(p, "u", "i", "w")
    msg = str(info.value)
    assert "\n" not in msg and str(p) in msg
    for n in needles:
        assert n in msg
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[data]\ninteractions = "{p}"\nuser_col = "u"\nitem_col = "i"\n[models.p]\ntype = "popularity"\n'
    )
    code, err = run_cli(
        "train", "--config", str(cfg), "--model", "p", "--out", str(tmp_path / "m"), capsys=capsys
    )
    assert code == 3
    one_line(err, *needles)


def test_unreadable_input_is_a_data_error(tmp_path, monkeypatch, capsys):
    p = _csv(tmp_path, "u,i\n1,2\n")
    if os.geteuid() == 0:  # root reads anything: make the read itself fail as EACCES would
        monkeypatch.setattr(loaders.os, "access", lambda path, mode: False)
    else:
        p.chmod(0)
    with pytest.raises(DataError, match="cannot read the file"):
        rse.read_interactions(p, "u", "i")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[data]\ninteractions = "{p}"\nuser_col = "u"\nitem_col = "i"\n[models.p]\ntype = "popularity"\n'
    )
    code, err = run_cli(
        "train", "--config", str(cfg), "--model", "p", "--out", str(tmp_path / "m"), capsys=capsys
    )
    assert code == 3
    one_line(err, str(p), "cannot read the file")


# ---- config keys and arguments -------------------------------------------------------------
BAD_CONFIGS = {
    "regularization nan": ('[models.a]\ntype = "als"\nregularization = nan\n', "regularization"),
    "regularization inf": ('[models.a]\ntype = "als"\nregularization = inf\n', "finite"),
    "iterations 1e17 (int)": (
        '[models.a]\ntype = "als"\niterations = 100000000000000000\n',
        "<= 100000",
    ),
    "iterations 1e17 (float)": ('[models.a]\ntype = "als"\niterations = 1e17\n', "iterations"),
    "negative random_state": ('[models.a]\ntype = "als"\nrandom_state = -1\n', "random_state"),
    "split seed -1": ('[split]\nseed = -1\n[models.a]\ntype = "popularity"\n', "[split] seed = -1"),
    "tune seed -1": ('[tune]\nseed = -1\n[models.a]\ntype = "popularity"\n', "[tune] seed"),
    "tune timeout nan": (
        '[tune]\ntimeout = nan\n[models.a]\ntype = "popularity"\n',
        "[tune] timeout",
    ),
    "tune timeout inf": ('[tune]\ntimeout = inf\n[models.a]\ntype = "popularity"\n', "finite"),
    "evaluate k huge": (
        '[evaluate]\nk = [1000000000]\n[models.a]\ntype = "popularity"\n',
        "[evaluate] k",
    ),
    "tune metric non-ascii digit": (
        '[tune]\nmetric = "ndcg@²"\n[models.a]\ntype = "popularity"\n',
        "[tune] metric",
    ),
    "test_fraction nan": (
        '[split]\ntest_fraction = nan\n[models.a]\ntype = "popularity"\n',
        "test_fraction",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_values_exit_2_naming_the_key(env, tmp_path, case, capsys):
    _, log, _, _ = env
    body, needle = BAD_CONFIGS[case]
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\ninteractions = "{log}"\nuser_col = "user"\nitem_col = "item"\n' + body)
    code, err = run_cli(
        "evaluate", "--config", str(cfg), "--out", str(tmp_path / "o"), capsys=capsys
    )
    assert code == 2
    one_line(err, str(cfg), needle)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("key", "value"), [("sep", '""'), ("min_weight", "nan")])
def test_bad_data_keys(env, tmp_path, key, value, capsys):
    _, log, _, _ = env
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[data]\ninteractions = "{log}"\nuser_col = "user"\nitem_col = "item"\n{key} = {value}\n'
        '[models.a]\ntype = "popularity"\n'
    )
    code, err = run_cli(
        "evaluate", "--config", str(cfg), "--out", str(tmp_path / "o"), capsys=capsys
    )
    assert code == 2
    one_line(err, f"[data] {key}")


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_min_weight_that_keeps_nothing(env, tmp_path, command, capsys):
    _, log, _, _ = env
    cfg = config(tmp_path / "c.toml", log, min_weight=100.0)
    extra = ["--model", "als"] if command == "train" else []
    code, err = run_cli(
        command, "--config", str(cfg), *extra, "--out", str(tmp_path / "o"), capsys=capsys
    )
    assert code == 2
    one_line(err, "min_weight = 100.0 leaves no interaction", "range from 1 to 5")


@pytest.mark.parametrize("argv", [["--threads", "-1"], ["--threads", "x"], ["--threads", "100000"]])
def test_threads_argument(env, tmp_path, argv, capsys):
    _, _, cfg, _ = env
    code, err = run_cli(
        "evaluate", "--config", str(cfg), "--out", str(tmp_path / "o"), *argv, capsys=capsys
    )
    assert code == 2
    one_line(err, "--threads")


def test_threads_zero_means_all_cores(env, tmp_path, capsys):
    _, log, _, _ = env
    cfg = config(
        tmp_path / "c.toml", log, '[models.lfm]\ntype = "lightfm"\nepochs = 1\nno_components = 4\n'
    )
    code, err = run_cli(
        "train",
        "--config",
        str(cfg),
        "--model",
        "lfm",
        "--out",
        str(tmp_path / "m"),
        "--threads",
        "0",
        capsys=capsys,
    )
    assert code == 0, err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_tune_timeout_argument(env, tmp_path, value, capsys):
    _, _, cfg, _ = env
    code, err = run_cli(
        "tune",
        "--config",
        str(cfg),
        "--model",
        "als",
        "--out",
        str(tmp_path / "t"),
        "--timeout",
        value,
        capsys=capsys,
    )
    assert code == 2
    one_line(err, "--timeout")


def test_unreadable_or_bad_config_file(tmp_path, capsys):
    (tmp_path / "dir.toml").mkdir()
    code, err = run_cli(
        "evaluate",
        "--config",
        str(tmp_path / "dir.toml"),
        "--out",
        str(tmp_path / "o"),
        capsys=capsys,
    )
    assert code == 2
    one_line(err, "dir.toml")
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    code, err = run_cli(
        "evaluate", "--config", str(deep), "--out", str(tmp_path / "o"), capsys=capsys
    )
    assert code == 2
    one_line(err, "deep.toml")


# ---- recommend ---------------------------------------------------------------------------------
def _rec(model, out, *args, capsys, quiet=True):
    capsys.readouterr()
    argv = ["recommend", "--model", str(model), "--out", str(out), *args]
    code = cli.main([*argv, "--quiet"] if quiet else argv)
    return code, capsys.readouterr().err


def test_recommend_k_absurd_refused_and_large_capped(env, tmp_path, capsys):
    _, _, _, model = env
    code, err = _rec(model, tmp_path / "r.csv", "--k", "1000000000", capsys=capsys)
    assert code == 2
    one_line(err, "--k must be an int from 1 to 1000000, got 1000000000")
    code, err = _rec(model, tmp_path / "r.csv", "--k", "500", capsys=capsys, quiet=False)
    assert code == 0
    assert "warning: --k 500 is more than the 40 items the model knows; using 40" in err
    recs = pl.read_csv(tmp_path / "r.csv")
    assert recs.group_by("user_id").len()["len"].max() == 40 - 8  # every user has seen 8


def test_recommend_user_ids_out_of_range_and_unknown(env, tmp_path, capsys):
    _, _, _, model = env
    users = tmp_path / "u.txt"
    users.write_text("1\n99999999999999999999999\n")
    code, err = _rec(model, tmp_path / "r.csv", "--users", str(users), capsys=capsys)
    assert code == 3
    one_line(err, "'99999999999999999999999' is outside the 64-bit integer range")
    users.write_text("1\n2\n" + "".join(f"{900 + j}\n" for j in range(7)))
    code, err = _rec(model, tmp_path / "r.csv", "--users", str(users), capsys=capsys, quiet=False)
    assert code == 0
    assert "7 unknown user(s) skipped: 900, 901, 902, 903, 904, ..." in err
    code, err = _rec(model, tmp_path / "s.csv", "--users", str(users), "--strict", capsys=capsys)
    assert code == 3
    one_line(err, "7 user id(s) the model does not know: 900, 901, 902, 903, 904 and 2 more")
    assert not (tmp_path / "s.csv").exists()
    users.write_text("900\n901\n")
    code, err = _rec(model, tmp_path / "s.csv", "--users", str(users), capsys=capsys)
    assert code == 3
    one_line(err, "2 user id(s) the model does not know: 900, 901")


def test_recommend_out_is_a_directory_or_bad_chunk(env, tmp_path, capsys):
    _, _, _, model = env
    (tmp_path / "d.parquet").mkdir()
    code, err = _rec(model, tmp_path / "d.parquet", capsys=capsys)
    assert code == 2
    line = one_line(err, f"--out {tmp_path / 'd.parquet'}: is a directory")
    assert ".tmp" not in line
    code, err = _rec(model, tmp_path / "r.csv", "--chunk-size", "-1", capsys=capsys)
    assert code == 2
    one_line(err, "--chunk-size must be a positive int, got -1")
