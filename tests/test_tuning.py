"""Tuning: trial 0 is the defaults, validation mirrors the split, noise cannot replace the
defaults, bad trials stop early, the test split is read once, seeds fix the trials, runs resume."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import models
from recsys_embed.errors import ConfigError
from recsys_embed.evaluate import evaluate
from recsys_embed.models.registry import model_class
from recsys_embed.tuning import (
    Carve,
    carve,
    paired_bootstrap,
    samplers,
    search,
    search_space,
    tune,
    validation_split,
)
from recsys_embed.tuning import space as space_module
from recsys_embed.tuning.decide import decide
from recsys_embed.tuning.prune import Pruner, checkpoints

DECLARED_SEEDS = space_module.SEEDS  # before the fixture below clears them
SPACE = {"factors": [2, 24, "log"], "iterations": [2, 10], "regularization": [0.01, 100.0]}
FAST = {"space": SPACE, "fixed": {"weighting": "binary"}, "trials": 5, "sampler": "random"}


@pytest.fixture(autouse=True)
def no_seeds(monkeypatch):
    """Searches here run defaults then sampler trials; tests that want seeds plant their own."""
    monkeypatch.setattr(space_module, "SEEDS", {})


def test_the_declared_seeds_are_valid_settings_inside_the_ranges():
    assert DECLARED_SEEDS["als"] and space_module.SEEDS == {}
    for model, seeds in DECLARED_SEEDS.items():
        dims = search_space(model)
        for seed in seeds:
            models.create(model, **seed)  # valid parameters
            for name, value in seed.items():
                d = dims[name]
                assert d.choices is None or value in d.choices
                assert d.low is None or d.low <= value <= d.high, (model, name, value)


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
        seen.append((te is test, sorted(models_)))
        return real(models_, tr, te, **kw)

    monkeypatch.setattr(search, "evaluate", spy)
    result = tune("als", train, test, **FAST)
    assert len(seen) > 5  # every trial, checkpoints included, scored on validation
    assert [s[0] for s in seen] == [False] * (len(seen) - 1) + [True]
    # that one reading scores the defaults and the winner side by side
    expected = ["winner"] if result.winner is result.defaults else ["defaults", "winner"]
    assert seen[-1][1] == expected


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
    values = [t.value for t in full.trials if t.value is not None]
    assert full.decision.replaced  # the defaults (regularization 50) are poor on this tiny log
    assert full.best is full.winner and full.best.value == max(values)
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
    assert set(best) >= {"model", "params", "validation_metrics", "test_metrics", "decision"}
    # defaults and winner side by side, validation and test, and the rule that decided
    assert best["defaults"]["trial"] == 0 and best["winner"]["trial"] == whole.winner.number
    assert best["decision"]["rule"] == "bootstrap" and best["chosen"] == "tuned"
    lo, hi = best["decision"]["ci95"]
    assert 0 < lo <= best["decision"]["gain"] <= hi
    assert best["defaults"]["test_metrics"]["ndcg@10"] == pytest.approx(
        whole.defaults_test_metrics["ndcg@10"]
    )
    assert best["winner"]["validation_metrics"] == whole.winner.validation_metrics
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
    assert result.trials[0].state == "failed"  # the defaults (64 factors) failed too
    assert result.decision.reason == "the defaults failed on validation"
    assert result.best.params["factors"] <= 8 and result.defaults_fitted is None


def test_search_space_from_the_registry_and_overrides():
    space = search_space("als", fixed={"weighting": "binary"})
    assert set(space) == {"factors", "regularization", "alpha", "iterations"}
    assert space["regularization"].scale == "log"
    lf = search_space("lightfm")
    assert {"no_components", "learning_rate", "epochs", "item_alpha"} <= set(lf)
    # settings that never won on validation are out of the default space
    assert "loss" not in lf and "bm25" not in search_space("als")["weighting"].choices
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
    assert "tuned over [20.0, 100.0] (log scale)" in models.describe("als")
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
    # by default validation mirrors [split], bad trials stop early, noise keeps the defaults
    assert (t.validation, t.validation_fraction, t.repeats) == ("split", None, 1)
    assert (t.pruning, t.decision) == (0.25, "bootstrap")
    for bad, needle in [
        ('[tune]\nmetric = "ndcg"', "[tune] metric"),
        ('[tune]\nmetric = "hits@10"', "[tune] metric"),
        ('[tune]\nvalidation = "cold"', "[tune] validation"),
        ("[tune]\nrepeats = 0", "[tune] repeats"),
        ("[tune]\npruning = 1.0", "[tune] pruning"),
        ('[tune]\ndecision = "vote"', "[tune] decision"),
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


# ---- trial 0, the decision rule --------------------------------------------------------------
GOOD = {"regularization": 1.5, "alpha": 3.3, "iterations": 4, "weighting": "binary"}


def test_trial_0_is_the_defaults_with_the_fixed_keys(data):
    train, test = data
    result = tune("als", train, test, **{**FAST, "trials": 2})
    first = result.trials[0]
    params = model_class("als").PARAMS
    assert first.origin == "defaults"
    searched = ("factors", "regularization", "alpha", "iterations")  # weighting is fixed
    assert first.params == {n: params[n].default for n in searched}  # factors 64, reg 50, ...
    # its score is that of the defaults fitted by hand (weighting held as [models.NAME] sets it)
    fit_part, valid = validation_split(train, "random", 0.2, seed=0)
    by_hand = models.create("als", weighting="binary").fit(fit_part)
    report = evaluate({"m": by_hand}, fit_part, valid, k=[10, 20])
    assert first.value == pytest.approx(report.metrics_dict("m")["ndcg@10"], abs=1e-9)
    assert result.defaults is first
    np.testing.assert_allclose(
        result.defaults_fitted.item_factors_,
        models.create("als", weighting="binary").fit(train).item_factors_,
        rtol=1e-5,
    )


def test_a_search_where_every_other_trial_is_worse_returns_the_defaults(data, tmp_path):
    train, test = data
    for rule in ("bootstrap", "best"):
        result = tune("als", train, test, fixed=GOOD, space={"factors": [1, 2, "linear"]},
                      trials=6, sampler="random", decision=rule, out_dir=tmp_path / rule)  # fmt: skip
        assert all(t.value < result.trials[0].value for t in result.trials[1:] if t.value)
        assert result.best.number == 0 and result.winner.number == 0
        assert result.params["factors"] == 64 and not result.decision.replaced
        assert result.test_metrics == result.defaults_test_metrics
        best = json.loads((tmp_path / rule / "best.json").read_text())
        assert best["chosen"] == "defaults" and best["searched"] == {"factors": 64}


def test_the_bootstrap_rule_keeps_the_defaults_when_the_gain_is_noise():
    rng = np.random.default_rng(0)
    base = rng.random(300)
    noisy = base + rng.normal(0.002, 0.1, 300)  # a tiny mean gain under a lot of noise
    kept = decide("bootstrap", base, noisy, same=False)
    assert not kept.replaced and kept.ci95[0] < 0 < kept.ci95[1]
    assert decide("best", base, noisy, same=False).replaced  # the plain maximum would switch
    clear = decide("bootstrap", base, base + rng.normal(0.05, 0.1, 300), same=False)
    assert clear.replaced and clear.ci95[0] > 0
    # nan users (not counted) drop out of the pairs; the mean gain is exact
    gain, lo, hi = paired_bootstrap(np.array([0.0, 1.0, np.nan]), np.array([0.5, 1.5, 2.0]))
    assert gain == pytest.approx(0.5) and lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="decision must be one of"):
        decide("vote", None, None, same=True)


def test_known_good_seeds_follow_the_defaults(data, monkeypatch):
    train, test = data
    seeds = [{"factors": 5, "weighting": "log"}, {"factors": 100}]  # 100: outside FAST's range
    monkeypatch.setitem(space_module.SEEDS, "als", seeds)
    result = tune("als", train, test, **{**FAST, "trials": 3})
    assert [t.origin for t in result.trials] == ["defaults", "seed", "sampler"]
    assert result.trials[1].params == {**result.trials[0].params, "factors": 5}  # weighting held


# ---- validation mirrors the split --------------------------------------------------------------
def test_validation_carve_follows_the_split(ml_like):
    from recsys_embed.config import SplitConfig, TuneConfig
    from recsys_embed.pipeline import validation_carve

    train, test = rse.split.random_split(ml_like, 0.25, "item", 42)

    def carve_of(split: SplitConfig, tune_: TuneConfig | None = None) -> Carve:
        cfg = type("C", (), {"split": split, "tune": tune_ or TuneConfig()})()
        return validation_carve(cfg, train, test)  # type: ignore[arg-type]

    how = carve_of(SplitConfig(method="random", test_fraction=0.25, stratify="item", seed=42))
    assert how == Carve("random", 0.25, "item")
    fold = carve(train, how, seed=0)
    # per item: min(floor(n * 0.25 + 0.5), n - 1) of each item's train interactions validate
    n = np.bincount(train.item_idx, minlength=train.n_items)
    got = np.bincount(fold.valid.item_idx, minlength=train.n_items)
    np.testing.assert_array_equal(got, np.minimum(np.floor(n * 0.25 + 0.5), np.maximum(n - 1, 0)))
    assert fold.fit.nnz + fold.valid.nnz == train.nnz
    assert fold.fit.matrix.multiply(fold.valid.matrix).nnz == 0
    # the per-user carves stay as options; a given test file becomes a per-user carve of its share
    assert carve_of(SplitConfig(), TuneConfig(validation="random")) == Carve("random", 0.2)
    assert carve_of(SplitConfig(method="temporal", test_fraction=0.1)) == Carve(
        "temporal", 0.1, "user"
    )
    assert carve_of(SplitConfig(method="leave_last", n_last=2)).method == "leave_last"
    given = carve_of(SplitConfig(method="given", test="ua.test"))
    assert given == Carve("random", round(test.nnz / (train.nnz + test.nnz), 4), "user")
    assert carve_of(SplitConfig(method="cold_items", test_fraction=0.2)) == Carve(
        "cold_items", 0.2, "user"
    )
    assert carve_of(SplitConfig(), TuneConfig(validation_fraction=0.1)).fraction == 0.1


@pytest.fixture(scope="module")
def ml_like() -> rse.Interactions:
    """A skewed log (popular and rare items) where per-user and per-item carves differ."""
    rng = np.random.default_rng(5)
    pop = rng.zipf(1.6, 400).astype(float)
    users, items = [], []
    for u in range(300):
        chosen = rng.choice(400, size=int(rng.integers(10, 40)), replace=False, p=pop / pop.sum())
        users += [u] * len(chosen)
        items += list(chosen)
    frame = pl.DataFrame({"u": users, "i": items})
    return rse.Interactions.from_frame(frame, "u", "i")


def test_cold_item_validation_never_reads_the_test_items(data, monkeypatch):
    train_all, _ = data
    inter = train_all  # any log: make 20% of its items cold for test
    train, test = rse.split.cold_item_split(inter, 0.2, 0)
    test_cold = set(rse.split.cold_items(train, test).tolist())
    fold = carve(train, Carve("cold_items", 0.2), seed=0)
    valid_cold = set(train.item_map.indices(fold.candidates).tolist())
    assert valid_cold and not valid_cold & test_cold  # cold validation items have train data
    assert set(fold.valid.item_idx.tolist()) == valid_cold
    seen = []
    real = search.evaluate

    def spy(models_, tr, te, candidates=None, **kw):
        if te is not test:
            seen.append(set(tr.item_map.indices(candidates).tolist()))
        return real(models_, tr, te, candidates=candidates, **kw)

    monkeypatch.setattr(search, "evaluate", spy)
    kw = {**FAST, "trials": 3, "validation": Carve("cold_items", 0.2)}
    cand = train.item_map.external(np.array(sorted(test_cold)))
    clean = tune("als", train, test, candidates=cand, **kw)
    assert seen and all(s == valid_cold for s in seen)  # validation ranks its own cold items
    bad = tune("als", train, poisoned(test), candidates=cand[:3], **kw)
    assert trial_rows(clean) == trial_rows(bad)


def test_repeated_carves_average_the_objective_and_report_its_spread(data):
    train, test = data
    one = tune("als", train, test, **{**FAST, "trials": 2, "pruning": 0.0})
    three = tune("als", train, test, repeats=3, **{**FAST, "trials": 2, "pruning": 0.0})
    values = []
    for r in range(3):
        fold = carve(train, Carve("random", 0.2), seed=r)
        model = models.create("als", weighting="binary").fit(fold.fit)
        report = evaluate({"m": model}, fold.fit, fold.valid, k=[10])
        values.append(report.metrics_dict("m")["ndcg@10"])
    first = three.trials[0]
    assert first.value == pytest.approx(np.mean(values), abs=1e-9)
    assert first.spread == pytest.approx(np.std(values, ddof=1), abs=1e-9)
    assert (
        one.trials[0].value == pytest.approx(values[0], abs=1e-9) and one.trials[0].spread is None
    )
    assert len(first.user_values) == 3 * len(one.trials[0].user_values)


# ---- multi-fidelity ----------------------------------------------------------------------------
def test_pruning_stops_a_planted_bad_trial_early(data, monkeypatch):
    train, test = data
    good = {"regularization": 1.5, "alpha": 3.3, "iterations": 16}
    bad = {"regularization": 1.5, "alpha": 3.3e-6, "iterations": 16}  # confidences ~ 0: noise
    planted = [{**good, "factors": f} for f in (4, 5, 6, 8)] + [{**bad, "factors": 6}]
    monkeypatch.setitem(space_module.SEEDS, "als", planted)
    kw = {"fixed": {"weighting": "binary"}, "space": {"factors": [2, 24], "regularization":
          [0.5, 5.0], "alpha": [1e-6, 10.0], "iterations": [8, 16]}, "sampler": "random"}  # fmt: skip
    result = tune("als", train, test, trials=6, **kw)
    trial = result.trials[5]  # the first trial with five earlier ones to be judged against
    assert trial.params == {**bad, "factors": 6}
    assert trial.state == "pruned" and trial.value is None
    assert list(trial.steps) == ["4"]  # stopped at the first checkpoint of 16 iterations
    full = [t for t in result.trials[1:5] if t.state == "complete"]
    assert len(full) == 4 and all(set(t.steps) == {"4", "8"} for t in full)
    assert trial.steps["4"] < min(t.steps["4"] for t in full)
    # without pruning the same trial runs to the end, and scores badly there too
    off = tune("als", train, test, trials=6, pruning=0.0, **kw).trials[5]
    assert off.state == "complete" and off.steps == {} and off.value < 0.6 * result.best.value


def test_checkpoints_and_the_pruner():
    assert checkpoints(15) == [4, 8] and checkpoints(50) == [4, 8, 16, 32]
    assert checkpoints(100) == [8, 16, 32, 64]  # not judged before 1/16 of its epochs
    assert checkpoints(400) == [32, 64, 128, 256]
    assert checkpoints(4) == [] and checkpoints(5) == [4]
    pruner = Pruner(0.25, min_trials=3)
    earlier = [{4: 0.30}, {4: 0.20}, {4: 0.40, 8: 0.5}]
    assert not pruner.should_prune(4, 0.10, earlier[:2])  # too few to judge
    assert pruner.should_prune(4, 0.10, earlier)  # below the lower quartile 0.25
    assert not pruner.should_prune(4, 0.26, earlier)
    assert not pruner.should_prune(8, 0.0, earlier)  # one trial reached epoch 8
    assert not Pruner(0.0).should_prune(4, -1.0, earlier * 3)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("als", {"iterations": 6, "factors": 8}),
        ("bpr", {"iterations": 6, "factors": 8}),
        ("bpr-uniform", {"epochs": 6, "factors": 8}),
        ("lightfm", {"epochs": 6, "no_components": 8}),
        ("lightfm-hybrid", {"epochs": 6, "no_components": 8, "identity": True}),
    ],
)
def test_the_epoch_hook_sees_the_fit_and_changes_nothing(data, name, params):
    train, _ = data
    text = {i: f"group{i // 30} word{i % 7}" for i in range(120)}  # read by the hybrid only
    plain = models.create(name, **params).fit(train, text)
    seen = []

    class Hook:
        def wants(self, epoch: int) -> bool:
            return epoch in (2, 5)

        def __call__(self, epoch: int, model) -> None:
            seen.append((epoch, model.item_factors_.copy()))

    watched = models.create(name, **params)
    watched.epoch_hook = Hook()
    watched.fit(train, text)
    assert [e for e, _ in seen] == [2, 5]
    np.testing.assert_array_equal(plain.item_factors_, watched.item_factors_)
    assert not np.allclose(seen[0][1], watched.item_factors_)  # epoch 2 is not the end
