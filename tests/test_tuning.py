"""Tuning: the test split is never read during search, seeds fix the trials, runs resume."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import models
from recsys_embed.errors import ConfigError
from recsys_embed.tuning import samplers, search, search_space, tune, validation_split

SPACE = {"factors": [2, 24, "log"], "iterations": [2, 10], "regularization": [0.01, 100.0]}
FAST = {"space": SPACE, "fixed": {"weighting": "binary"}, "trials": 5, "sampler": "random"}


@pytest.fixture(scope="module")
def data() -> tuple[rse.Interactions, rse.Interactions]:
    """Four user groups with their own items, plus 10% noise: settings matter, not too much."""
    rng = np.random.default_rng(3)
    rows = []
    for u in range(160):
        g = u % 4
        for i in range(120):
            own = i // 30 == g
            if rng.random() < (0.35 if own else 0.03):
                rows.append((u, i))
    inter = rse.Interactions.from_frame(
        pl.DataFrame(rows, schema=["u", "i"], orient="row"), "u", "i"
    )
    return rse.split.random_split(inter, 0.25, "user", 0)


def poisoned(test: rse.Interactions, seed: int = 9) -> rse.Interactions:
    """The same id space and size as ``test``, every pair replaced by a random one."""
    rng = np.random.default_rng(seed)
    return rse.Interactions.from_indices(
        rng.integers(0, test.n_users, test.nnz),
        rng.integers(0, test.n_items, test.nnz),
        test.user_map,
        test.item_map,
    )


def trial_rows(result) -> list[tuple]:
    return [(t.params, t.value, t.state) for t in result.trials]


def test_poisoned_test_split_changes_nothing_but_the_test_metrics(data):
    train, test = data
    clean = tune("als", train, test, **FAST)
    bad = tune("als", train, poisoned(test), **FAST)
    assert trial_rows(clean) == trial_rows(bad)
    assert clean.best.params == bad.best.params
    assert clean.params == bad.params
    # ... while the test metrics do come from the test split given
    assert clean.test_metrics["ndcg@10"] > 2 * bad.test_metrics["ndcg@10"]


def test_test_split_is_evaluated_once_after_the_search(data, monkeypatch):
    train, test = data
    seen = []
    real = search.evaluate

    def spy(models_, tr, te, **kw):
        seen.append(te is test)
        return real(models_, tr, te, **kw)

    monkeypatch.setattr(search, "evaluate", spy)
    tune("als", train, test, **FAST)
    assert seen == [False] * 5 + [True]


def test_fixed_seed_gives_identical_trials_and_another_seed_others(data):
    train, test = data
    for sampler in ("random", "tpe"):
        kw = {**FAST, "sampler": sampler, "trials": 4}
        a, b = tune("als", train, test, seed=1, **kw), tune("als", train, test, seed=1, **kw)
        assert trial_rows(a) == trial_rows(b)
        c = tune("als", train, test, seed=2, **kw)
        assert [t.params for t in c.trials] != [t.params for t in a.trials]


def test_validation_is_carved_from_train_per_user(data):
    train, _ = data
    fit_part, valid = validation_split(train, "random", 0.2, seed=0)
    assert fit_part.nnz + valid.nnz == train.nnz
    assert fit_part.matrix.multiply(valid.matrix).nnz == 0
    assert np.all(np.diff(fit_part.matrix.indptr) >= 1)  # every user keeps fitting data
    with pytest.raises(rse.DataError, match="needs timestamps"):
        validation_split(train, "temporal")  # no timestamps in this log
    with pytest.raises(ConfigError, match="validation must be one of"):
        validation_split(train, "leave_one_out")


def test_best_is_the_top_validation_trial_and_refit_chooses_the_data(data):
    train, test = data
    full = tune("als", train, test, **FAST)
    values = [t.value for t in full.trials]
    assert full.best.value == max(values)
    assert full.best.validation_metrics["ndcg@10"] == full.best.value
    fit_part, _ = validation_split(train, "random", 0.2, seed=0)
    part = tune("als", train, test, refit=False, **FAST)
    by_hand = models.create("als", **part.params).fit(fit_part)
    np.testing.assert_allclose(part.fitted.item_factors_, by_hand.item_factors_, rtol=1e-5)
    again = models.create("als", **full.params).fit(train)
    np.testing.assert_allclose(full.fitted.item_factors_, again.item_factors_, rtol=1e-5)


def test_trials_jsonl_resumes_to_the_same_trials(tmp_path, data):
    train, test = data
    whole = tune("als", train, test, **FAST)
    out = tmp_path / "run"
    tune("als", train, test, out_dir=out, **{**FAST, "trials": 3})
    with open(out / "trials.jsonl", "a") as fh:
        fh.write('{"number": 3, "par')  # a run killed mid-line
    lines = (out / "trials.jsonl").read_text().splitlines()[:3]
    notes = []
    resumed = tune("als", train, test, out_dir=out, log=notes.append, **FAST)
    assert any("resuming: 3 trial(s)" in n for n in notes)
    assert any("dropping the incomplete last line" in n for n in notes)
    assert trial_rows(resumed) == trial_rows(whole)
    rows = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()[-5:]]
    assert [r["number"] for r in rows] == [0, 1, 2, 3, 4]
    assert (out / "trials.jsonl").read_text().splitlines()[:3] == lines
    best = json.loads((out / "best.json").read_text())
    assert set(best) >= {"model", "params", "validation_metrics", "test_metrics"}
    assert best["params"] == {k: v for k, v in whole.params.items() if k != "num_threads"}
    assert best["test_metrics"]["ndcg@10"] == pytest.approx(whole.test_metrics["ndcg@10"])
    assert set(best["test_metrics"]) == {
        f"{m}@{k}" for m in ("recall", "ndcg", "precision", "map") for k in (10, 20)
    }


def test_a_directory_of_another_search_is_refused(tmp_path, data):
    train, test = data
    tune("als", train, test, out_dir=tmp_path, **{**FAST, "trials": 1})
    with pytest.raises(ConfigError, match=r"another search .*metric"):
        tune("als", train, test, out_dir=tmp_path, metric="recall@10", **{**FAST, "trials": 1})


def test_timeout_stops_new_trials_but_runs_one(data):
    train, test = data
    result = tune("als", train, test, timeout=1e-9, **FAST)
    assert len(result.trials) == 1


def test_failed_trials_are_recorded_and_skipped(data, monkeypatch):
    train, test = data
    real = models.registry.create

    def flaky(name, **params):
        if params["factors"] > 8:
            raise FloatingPointError("diverged")
        return real(name, **params)

    monkeypatch.setattr(search.registry, "create", flaky)
    result = tune("als", train, test, **FAST)
    failed = [t for t in result.trials if t.state == "failed"]
    assert failed and all("diverged" in t.error and t.value is None for t in failed)
    assert result.best.params["factors"] <= 8


def test_search_space_from_the_registry_and_overrides():
    space = search_space("als", fixed={"weighting": "binary"})
    assert set(space) == {"factors", "regularization", "alpha", "iterations"}
    assert space["regularization"].scale == "log"
    lf = search_space("lightfm")
    assert {"no_components", "learning_rate", "epochs", "item_alpha", "loss"} <= set(lf)
    assert set(search_space("bpr")) >= {"factors", "learning_rate", "regularization", "iterations"}
    rng = np.random.default_rng(0)
    draws = [space["regularization"].sample(rng) for _ in range(2000)]
    lo, hi = space["regularization"].low, space["regularization"].high
    assert min(draws) >= lo and max(draws) <= hi
    # log scale: the geometric middle splits the draws in half
    assert 0.45 < np.mean(np.array(draws) < np.sqrt(lo * hi)) < 0.55
    ints = [space["factors"].sample(rng) for _ in range(200)]
    assert all(isinstance(v, int) for v in ints)
    assert search_space("lightfm", overrides={"loss": ["warp"]})["loss"].choices == ("warp",)
    assert "tuned over [0.1, 200.0] (log scale)" in models.describe("als")
    with pytest.raises(ConfigError, match="no parameter"):
        search_space("als", overrides={"factor": [1, 2]})
    with pytest.raises(ConfigError, match="both fixed and searched"):
        search_space("als", fixed={"factors": 8}, overrides={"factors": [4, 8]})
    with pytest.raises(ConfigError, match="low < high"):
        search_space("als", overrides={"factors": [64, 16]})
    with pytest.raises(ConfigError, match="factors must be int >= 1"):
        search_space("als", overrides={"factors": [0, 16, "linear"]})
    with pytest.raises(ConfigError, match="nothing|no parameter left"):
        search_space("popularity")


def test_tpe_without_optuna_names_the_extra(data, monkeypatch):
    train, test = data
    monkeypatch.setattr(samplers, "optuna_module", lambda: None)
    with pytest.raises(ConfigError, match=r"recsys-embed\[tune\]"):
        tune("als", train, test, **{**FAST, "sampler": "tpe"})
    result = tune("als", train, test, **{**FAST, "sampler": "auto", "trials": 2})
    assert result.sampler == "random"


def test_bad_arguments_are_config_errors(data):
    train, test = data
    with pytest.raises(ConfigError, match="trials must be a positive int"):
        tune("als", train, test, **{**FAST, "trials": 0})
    with pytest.raises(ConfigError, match="metric must look like"):
        tune("als", train, test, metric="ndcg", **FAST)
    with pytest.raises(ConfigError, match="sampler must be one of"):
        tune("als", train, test, **{**FAST, "sampler": "grid"})


def test_tune_table_of_a_config_is_checked(tmp_path):
    from recsys_embed.config import parse_config
    from recsys_embed.pipeline import VOCABULARY

    def parse(extra: str):
        import tomllib

        doc = '[data]\ninteractions = "movielens-100k"\n[models.a]\ntype = "als"\n' + extra
        return parse_config(tomllib.loads(doc), "run.toml", tmp_path, VOCABULARY)

    t = parse(
        '[tune]\nmetric = "recall@20"\nsampler = "random"\n[tune.space.a]\nfactors = [8, 64]\n'
    ).tune
    assert (t.metric, t.sampler, t.refit, t.space) == (
        "recall@20",
        "random",
        True,
        {"a": {"factors": [8, 64]}},
    )
    for bad, needle in [
        ('[tune]\nmetric = "ndcg"', "[tune] metric"),
        ('[tune]\nmetric = "hits@10"', "[tune] metric"),
        ('[tune]\nvalidation = "cold"', "[tune] validation"),
        ("[tune]\nvalidation_fraction = 1.5", "validation_fraction"),
        ("[tune]\ntrials = 0", "[tune] trials"),
        ('[tune]\nsamplr = "tpe"', "unknown key(s) ['samplr']"),
        ("[tune.space.a]\nfactors = 8", "[tune.space.a] factors"),
        ('[split]\nmethod = "given"', "[split] test"),
        ('[split]\ntest = "ua.test"', "[split] test"),
        ('[evaluate]\nexclude_train = "no"', "[evaluate] exclude_train"),
        ("[tune.space.b]\nfactors = [8, 64]", "[tune.space.b] names no [models.b]"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(needle)):
            parse(bad + "\n")
    assert parse('[split]\nmethod = "given"\ntest = "ua.test"\n').split.test == "ua.test"
