"""Extrapolated carves: a trial is scored at train's size from the fitting part and a smaller
part of it (``2 * fit - smaller``), the smaller part carved again the same way."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import recsys_embed as rse
from recsys_embed import models
from recsys_embed.errors import ConfigError
from recsys_embed.evaluate import evaluate
from recsys_embed.tuning import Carve, carve, tune
from recsys_embed.tuning import space as space_module
from recsys_embed.tuning.carve import SMALLER_SEED


@pytest.fixture(autouse=True)
def no_seeds(monkeypatch):
    monkeypatch.setattr(space_module, "SEEDS", {})


@pytest.fixture(scope="module")
def data() -> tuple[rse.Interactions, rse.Interactions]:
    """Four user groups with their own items, plus noise."""
    rng = np.random.default_rng(5)
    rows = [
        (u, i)
        for u in range(120)
        for i in range(100)
        if rng.random() < (0.35 if i // 25 == u % 4 else 0.03)
    ]
    inter = rse.Interactions.from_frame(
        pl.DataFrame(rows, schema=["u", "i"], orient="row"), "u", "i"
    )
    return rse.split.random_split(inter, 0.25, "item", 0)


def pairs(inter: rse.Interactions) -> set[tuple[int, int]]:
    return set(zip(inter.user_idx.tolist(), inter.item_idx.tolist(), strict=True))


def test_the_smaller_part_is_the_fitting_part_carved_again_the_same_way(data):
    train, _ = data
    plain = carve(train, Carve("random", 0.25, "item"), seed=3)
    fold = carve(train, Carve("random", 0.25, "item", extrapolate=True), seed=3)
    assert pairs(fold.fit) == pairs(plain.fit) and pairs(fold.valid) == pairs(plain.valid)
    assert plain.smaller is None and fold.smaller is not None
    again = rse.split.random_split(fold.fit, 0.25, "item", 3 + SMALLER_SEED)[0]
    assert pairs(fold.smaller) == pairs(again)
    assert pairs(fold.smaller) < pairs(fold.fit)
    # the same ratio twice: train -> fit as fit -> smaller (per-item rounding aside)
    assert fold.smaller.nnz / fold.fit.nnz == pytest.approx(fold.fit.nnz / train.nnz, abs=0.02)
    assert Carve("random", 0.25, "item", extrapolate=True).describe()["extrapolate"] is True
    assert "extrapolate" not in Carve("random", 0.25, "item").describe()


def test_extrapolation_needs_a_fraction_carve_and_a_refit(data):
    train, test = data
    for method in ("temporal", "leave_last", "cold_items"):
        with pytest.raises(ConfigError, match="extrapolate needs a carve"):
            Carve(method, 0.2, extrapolate=True)
    with pytest.raises(ConfigError, match="refit=True"):
        tune("als", train, test, validation=Carve("random", 0.2, extrapolate=True), refit=False)


def test_a_trial_scores_twice_the_fitting_part_less_the_smaller_part(data):
    train, test = data
    how = Carve("random", 0.25, "item", extrapolate=True)
    fixed = {"factors": 8, "iterations": 6, "weighting": "binary", "regularization": 1.0}
    result = tune(
        "als",
        train,
        test,
        fixed=fixed,
        space={"alpha": [1.0, 20.0]},
        trials=2,
        sampler="random",
        pruning=0.0,
        validation=how,
    )
    fold = carve(train, how, seed=0)
    scored = {}
    for name, part in (("fit", fold.fit), ("smaller", fold.smaller)):
        model = models.create("als", **fixed).fit(part)  # trial 0: the default alpha
        report = evaluate({"m": model}, fold.fit, fold.valid, k=[10, 20])
        scored[name] = report
    ndcg = {n: r.metrics_dict("m")["ndcg@10"] for n, r in scored.items()}
    assert ndcg["fit"] > ndcg["smaller"]  # more data, better: the curve rises
    first = result.trials[0]
    assert first.value == pytest.approx(2 * ndcg["fit"] - ndcg["smaller"], abs=1e-9)
    users = 2 * scored["fit"].results["m"].per_user["ndcg@10"]
    users = users - scored["smaller"].results["m"].per_user["ndcg@10"]
    assert first.user_values == pytest.approx(np.round(users, 6).tolist(), abs=1e-6)
    recall = {n: r.metrics_dict("m")["recall@20"] for n, r in scored.items()}
    assert first.validation_metrics["recall@20"] == pytest.approx(
        2 * recall["fit"] - recall["smaller"], abs=1e-9
    )
    assert result.validation["extrapolate"] is True


def test_tune_table_extrapolate_reaches_the_carve_and_refuses_what_it_cannot_do(tmp_path):
    from recsys_embed.config import load_config
    from recsys_embed.pipeline import VOCABULARY, tuning_data

    data = tmp_path / "log.csv"
    rows = [f"{u},{i},{i}" for u in range(30) for i in range(u % 7, u % 7 + 8)]
    data.write_text("user_id,item_id,ts\n" + "\n".join(rows) + "\n")
    base = (
        f'[data]\ninteractions = "{data}"\nuser_col = "user_id"\nitem_col = "item_id"\n'
        'time_col = "ts"\n'
        '[models.a]\ntype = "popularity"\n'
    )
    for split, extra, ok in [
        ('method = "random"', "", True),
        ('method = "hash"', "", True),
        ('method = "temporal"', "", "removes a fraction"),
        ('method = "random"', "refit = false\n", "needs refit"),
    ]:
        cfg = tmp_path / "run.toml"
        cfg.write_text(f"{base}[split]\n{split}\n[tune]\nextrapolate = true\n{extra}")
        config = load_config(cfg, VOCABULARY)
        if ok is True:
            how = tuning_data(config)[-1]
            assert how.extrapolate and how.method == split.split('"')[1]
        else:
            with pytest.raises(ConfigError, match=f"extrapolate.*{ok}"):
                tuning_data(config)
