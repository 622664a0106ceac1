"""tune's output folder (one run at a time, distinct trials, no file or foreign folder), an
evaluation whose split leaves no test user, the split's timestamps named in messages, and
every JSON the package writes being valid JSON."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed.errors import ConfigError
from recsys_embed.reports import json_text, write_artifacts
from recsys_embed.tuning import tune
from recsys_embed.tuning.lock import LOCK_NAME, folder_lock
from recsys_embed.tuning.records import Trial, append_trial, read_trials
from tests.test_cli import one_error_line, run

FAST = {
    "space": {"factors": [2, 16, "log"], "iterations": [2, 6]},
    "fixed": {"weighting": "binary"},
    "sampler": "random",
}


def strict_json(text: str) -> object:
    """``json.loads`` refusing the NaN / Infinity that Python writes by default."""

    def refuse(constant: str) -> object:
        raise ValueError(f"not valid JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def data() -> tuple[rse.Interactions, rse.Interactions]:
    rng = np.random.default_rng(5)
    rows = [(u, i) for u in range(80) for i in range(60) if rng.random() < 0.15]
    inter = rse.Interactions.from_frame(
        pl.DataFrame(rows, schema=["u", "i"], orient="row"), "u", "i"
    )
    return rse.split.random_split(inter, 0.25, "user", 0)


def write_log(path: Path, per_user: int = 12, users: int = 40) -> Path:
    rng = np.random.default_rng(0)
    lines = ["user,item"]
    for u in range(users):
        lines += [f"{u},{i}" for i in rng.choice(50, per_user, replace=False)]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_config(tmp_path: Path, split: str, log: Path | None = None) -> Path:
    log = log or write_log(tmp_path / "log.csv")
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        f'[data]\ninteractions = "{log}"\nuser_col = "user"\nitem_col = "item"\n'
        f"[split]\n{split}\n[evaluate]\nk = [5]\n"
        '[models.als]\ntype = "als"\nweighting = "binary"\n'
        "[tune.space.als]\nfactors = [2, 8]\niterations = [2, 4]\n"
    )
    return cfg


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


# --- tune: one run at a time on a folder ----------------------------------------------------


def test_a_second_tune_into_a_held_folder_is_refused_naming_folder_and_holder(tmp_path, data):
    train, test = data
    out = tmp_path / "tuned"
    out.mkdir()
    with folder_lock(out):
        with pytest.raises(
            ConfigError, match=re.escape(f"{out}: in use by another tune (pid {os.getpid()},")
        ):
            tune("als", train, test, out_dir=out, trials=2, **FAST)
    assert not (out / "trials.jsonl").exists()
    assert not (out / LOCK_NAME).exists()  # released and removed by its holder
    done = tune("als", train, test, out_dir=out, trials=2, **FAST)
    assert len(done.trials) == 2 and not (out / LOCK_NAME).exists()


def test_the_command_line_refuses_a_held_folder_with_one_line_exit_2(tmp_path):
    cfg = write_config(tmp_path, 'method = "random"\ntest_fraction = 0.25')
    out = tmp_path / "tuned"
    out.mkdir()
    with folder_lock(out):
        proc = run("tune", "--config", str(cfg), "--model", "als", "--out", str(out))
    one_error_line(proc, 2, str(out), f"pid {os.getpid()}", "in use by another tune")
    assert not (out / "trials.jsonl").exists()


def test_a_lock_file_left_by_a_dead_run_is_taken_over(tmp_path, data):
    train, test = data
    out = tmp_path / "tuned"
    out.mkdir()
    (out / LOCK_NAME).write_text(f"{dead_pid()}\n")  # a run killed while it held the folder
    done = tune("als", train, test, out_dir=out, trials=2, **FAST)
    assert [t.number for t in done.trials] == [0, 1]
    assert not (out / LOCK_NAME).exists()


def test_the_lock_file_holds_the_pid_of_its_holder(tmp_path):
    with folder_lock(tmp_path) as path:
        assert path.read_text() == f"{os.getpid()}\n"
        other = subprocess.run(  # another process is refused while this one holds it
            [sys.executable, "-c", "import sys; from pathlib import Path; "
             "from recsys_embed.tuning.lock import folder_lock\n"
             "with folder_lock(Path(sys.argv[1])): pass", str(tmp_path)],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()},
        )  # fmt: skip
        assert other.returncode != 0 and f"pid {os.getpid()}" in other.stderr


def test_resuming_counts_distinct_trials_not_rows(tmp_path, data):
    """Two runs that wrote one folder before the lock existed: 0..5 and 0..4 interleaved."""
    train, test = data
    whole = tune("als", train, test, trials=8, **FAST)
    out = tmp_path / "tuned"
    tune("als", train, test, out_dir=out, trials=6, **FAST)
    rows = (out / "trials.jsonl").read_text().splitlines()
    (out / "trials.jsonl").write_text("\n".join(rows + rows[:5]) + "\n")  # 11 rows, 6 trials
    notes: list[str] = []
    resumed = tune("als", train, test, out_dir=out, trials=8, log=notes.append, **FAST)
    assert any("dropping 5 record(s) repeating a trial number" in n for n in notes)
    assert any("resuming: 6 trial(s)" in n for n in notes)
    assert [t.number for t in resumed.trials] == list(range(8))
    assert [(t.params, t.value) for t in resumed.trials] == [
        (t.params, t.value) for t in whole.trials
    ]
    numbers = [json.loads(r)["number"] for r in (out / "trials.jsonl").read_text().splitlines()]
    assert numbers == list(range(8))


def test_tune_out_a_file_is_a_one_line_exit_2(tmp_path):
    cfg = write_config(tmp_path, 'method = "random"\ntest_fraction = 0.25')
    target = tmp_path / "afile"
    target.write_text("x")
    proc = run("tune", "--config", str(cfg), "--model", "als", "--out", str(target))
    one_error_line(proc, 2, f"--out {target}", "exists and is not a folder")
    assert target.read_text() == "x"


def test_tune_out_a_foreign_non_empty_folder_is_refused(tmp_path):
    cfg = write_config(tmp_path, 'method = "random"\ntest_fraction = 0.25')
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_text("x")
    proc = run("tune", "--config", str(cfg), "--model", "als", "--out", str(folder))
    one_error_line(proc, 2, f"--out {folder}", "not an earlier tuning's")
    assert sorted(p.name for p in folder.iterdir()) == ["cat.jpg"]
    # an empty folder and an earlier tuning's folder are fine
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ("tune", "--config", str(cfg), "--model", "als", "--trials", "1")
    assert run(*args, "--out", str(empty)).returncode == 0
    again = run(*args, "--out", str(empty))
    assert again.returncode == 0, again.stderr
    assert "resuming: 1 trial(s)" in again.stderr


# --- messages: the split's timestamps ------------------------------------------------------


@pytest.mark.parametrize("command", ["tune", "evaluate"])
def test_a_temporal_split_without_timestamps_names_the_config_key_and_the_log(tmp_path, command):
    cfg = write_config(tmp_path, 'method = "temporal"\ntest_fraction = 0.2')
    args = ["--model", "als"] if command == "tune" else []
    proc = run(command, "--config", str(cfg), *args, "--out", str(tmp_path / "o"))
    one_error_line(
        proc, 3, str(cfg), "[split] method 'temporal'", str(tmp_path / "log.csv"), "time_col"
    )
    assert not (tmp_path / "o").exists()


# --- evaluate: a split with no test user ---------------------------------------------------


@pytest.mark.parametrize("command", ["evaluate", "tune"])
def test_a_split_leaving_no_test_user_is_a_data_error(tmp_path, command):
    """Two interactions per user and a 10% per-user test share: every user keeps both."""
    log = write_log(tmp_path / "two.csv", per_user=2)
    cfg = write_config(tmp_path, 'method = "random"\ntest_fraction = 0.1', log)
    args = ["--model", "als"] if command == "tune" else []
    proc = run(command, "--config", str(cfg), *args, "--out", str(tmp_path / "o"))
    one_error_line(proc, 3, str(cfg), "no test user", "[split] method 'random'", "test_fraction")
    assert proc.stdout == ""
    assert not (tmp_path / "o" / "metrics.json").exists()


# --- valid JSON everywhere -----------------------------------------------------------------


def test_metrics_json_of_a_report_with_no_user_is_valid_json_with_null(tmp_path):
    rows = [(u, (u + j) % 10) for u in range(30) for j in (0, 3)]
    inter = rse.Interactions.from_frame(
        pl.DataFrame(rows, schema=["u", "i"], orient="row"), "u", "i"
    )
    train, empty = rse.split.random_split(inter, 0.1, "user", 0)  # two each: none in test
    assert empty.nnz == 0
    model = rse.models.create("popularity").fit(train)
    report = rse.evaluate({"pop": model}, train, empty, k=[5], metrics=["ndcg"])
    assert math.isnan(report.metrics_dict("pop")["ndcg@5"])
    write_artifacts(report, tmp_path)
    doc = strict_json((tmp_path / "metrics.json").read_text())
    assert doc["models"]["pop"]["metrics"] == {"ndcg@5": None}  # type: ignore[index]
    assert doc["n_users_evaluated"] == 0  # type: ignore[index]


def test_json_text_writes_null_for_non_finite_numbers():
    doc = {"a": float("nan"), "b": [np.float32("inf"), 1.5, np.int64(3)], "c": (-math.inf,)}
    assert strict_json(json_text(doc)) == {"a": None, "b": [None, 1.5, 3], "c": [None]}


def test_trial_records_stay_valid_json_and_read_back_nan(tmp_path):
    path = tmp_path / "trials.jsonl"
    trial = Trial(0, {"factors": 8}, "complete", 0.5, {"ndcg@10": 0.5, "map@10": math.nan},
                  steps={"2": math.nan}, user_values=[0.25, math.nan])  # fmt: skip
    append_trial(path, trial)
    strict_json(path.read_text())
    back = read_trials(path, lambda _m: None)[0]
    assert math.isnan(back.validation_metrics["map@10"]) and math.isnan(back.steps["2"])
    assert back.user_values is not None and math.isnan(back.user_values[1])
    assert back.user_values[0] == 0.25 and back.value == 0.5
