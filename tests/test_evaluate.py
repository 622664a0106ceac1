import json

import numpy as np
import polars as pl
import pytest
from implicit.evaluation import ranking_metrics_at_k

import recsys_embed as rse
from recsys_embed import metrics as M
from recsys_embed import models
from recsys_embed.evaluate import evaluate
from recsys_embed.reports import plot_metrics, write_artifacts
from recsys_embed.testing import planted


@pytest.fixture(scope="module")
def split():
    inter = planted(n_groups=4, users_per=30, items_per=20, density=0.35, seed=2)
    return rse.split.random_split(inter, 0.3, "user", 0)


@pytest.fixture(scope="module")
def fitted(split):
    train, _ = split
    return {
        "als": models.create("als", factors=8, regularization=1.0, iterations=8).fit(train),
        "pop": models.create("popularity").fit(train),
    }


def test_report_values_match_metric_functions(split, fitted):
    train, test = split
    report = evaluate(
        fitted, train, test, k=[5, 10], metrics=["recall", "ndcg", "precision", "map", "auc"]
    )
    als = fitted["als"]
    users = report.user_idx
    assert set(users.tolist()) == set(np.flatnonzero(np.diff(test.matrix.indptr)).tolist())
    scores = als.user_factors_[users] @ als.item_factors_.T  # by hand: seen items last
    scores[train.matrix[users].nonzero()] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    truth = test.matrix[users]
    for k in (5, 10):
        assert report.mean("als", "ndcg", k) == pytest.approx(
            np.nanmean(M.ndcg_at_k(top, truth, k)), abs=1e-12
        )
        assert report.mean("als", "recall", k) == pytest.approx(
            np.nanmean(M.recall_at_k(top, truth, k)), abs=1e-12
        )
    # no train item in any list
    for row, u in zip(report.results["als"].top_idx, users, strict=True):
        assert not set(row.tolist()) & set(train.matrix[u].indices.tolist())
    frame = report.to_frame()
    assert frame.columns == ["model", "metric", "k", "value", "ci_low", "ci_high"]
    row = frame.filter(
        (pl.col("model") == "als") & (pl.col("metric") == "ndcg") & (pl.col("k") == 10)
    ).row(0, named=True)
    assert row["ci_low"] < row["value"] < row["ci_high"]
    assert 0.5 < report.mean("als", "auc", 10) <= 1.0


def test_chunking_does_not_change_results(split, fitted):
    train, test = split
    a = evaluate(fitted, train, test, k=[10], metrics=["ndcg", "auc"], chunk_size=7)
    b = evaluate(fitted, train, test, k=[10], metrics=["ndcg", "auc"], chunk_size=10_000)
    for key in ("ndcg@10", "auc@10"):
        np.testing.assert_array_equal(
            a.results["als"].per_user[key], b.results["als"].per_user[key]
        )


def test_candidates_restrict_ranking_and_relevance(split, fitted):
    train, test = split
    cand = train.item_ids[:25]
    report = evaluate(fitted, train, test, k=[5], metrics=["recall", "auc"], candidates=cand)
    top = report.results["als"].top_idx
    assert set(top[top >= 0].tolist()) <= set(range(25))
    assert "25 candidate items only" in report.to_markdown()
    # every evaluated user has a test item among the candidates
    truth = test.matrix[report.user_idx][:, :25]
    assert (np.diff(truth.indptr) > 0).all()


def test_paired_comparison(split, fitted):
    train, test = split
    report = evaluate(fitted, train, test, k=[10], metrics=["ndcg"])
    cmp = report.compare("als", "pop", "ndcg", 10)
    assert cmp["diff"] == pytest.approx(cmp["mean_a"] - cmp["mean_b"])
    assert (
        cmp["diff"] > 0.1
        and cmp["ci_low"] > 0
        and cmp["t_pvalue"] < 1e-6
        and cmp["wilcoxon_pvalue"] < 1e-6
    )
    same = report.compare("als", "als", "ndcg", 10)
    assert same["diff"] == 0 and same["wilcoxon_pvalue"] == 1.0


def test_bootstrap_ci_and_errors(split, fitted):
    train, test = split
    report = evaluate(fitted, train, test, k=[10], metrics=["recall"], ci="bootstrap")
    row = report.to_frame().row(0, named=True)
    assert row["ci_low"] < row["value"] < row["ci_high"]
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(fitted, train, test, metrics=["f1"])
    with pytest.raises(ValueError, match="not fitted"):
        evaluate({"x": models.create("als")}, train, test)
    other = planted(seed=9)
    with pytest.raises(ValueError, match="another id space"):
        evaluate({"x": models.create("popularity").fit(other)}, train, test)


def test_artifacts_reproduce_metrics(split, fitted, tmp_path):
    train, test = split
    report = evaluate(
        fitted, train, test, k=[5, 10], metrics=["recall", "ndcg", "coverage", "novelty"]
    )
    out = write_artifacts(report, tmp_path / "run")
    recs = pl.read_parquet(out / "recommendations.parquet")
    test_df = pl.read_parquet(out / "test.parquet")
    assert set(recs.columns) == {"model", "user_id", "rank", "item_id", "score"}
    # recompute recall@10 of als from the files alone
    rel = test_df.group_by("user_id").agg(pl.col("item_id"))
    relevant = {r["user_id"]: set(r["item_id"]) for r in rel.iter_rows(named=True)}
    top = (
        recs.filter((pl.col("model") == "als") & (pl.col("rank") <= 10))
        .group_by("user_id")
        .agg(pl.col("item_id"))
    )
    got = np.mean(
        [
            len(set(r["item_id"]) & relevant[r["user_id"]]) / len(relevant[r["user_id"]])
            for r in top.iter_rows(named=True)
        ]
    )
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["models"]["als"]["metrics"]["recall@10"] == pytest.approx(got, abs=1e-12)
    assert 0 < saved["models"]["pop"]["metrics"]["coverage@10"] < 0.2
    assert plot_metrics(report, out / "metrics.png").read_bytes()[:4] == b"\x89PNG"


def test_matches_implicit_ranking_metrics(split):
    """With implicit's conventions our numbers equal its ranking_metrics_at_k on the same model."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    train, test = split
    with threadpool_limits(1, "blas"):
        ref = AlternatingLeastSquares(factors=8, regularization=1.0, iterations=8, random_state=0)
        ref.fit(train.matrix, show_progress=False)
        theirs = ranking_metrics_at_k(ref, train.matrix, test.matrix, K=10, show_progress=False)
    ours_model = models.create(
        "als", factors=8, regularization=1.0, alpha=1.0, iterations=8, random_state=0
    ).fit(train)
    report = evaluate(
        {"als": ours_model}, train, test, k=[10], metrics=["ndcg", "map", "limited_auc"]
    )
    assert report.mean("als", "ndcg", 10) == pytest.approx(theirs["ndcg"], abs=1e-9)
    assert report.mean("als", "map", 10) == pytest.approx(theirs["map"], abs=1e-9)
    assert report.mean("als", "limited_auc", 10) == pytest.approx(theirs["auc"], abs=1e-9)
    top = report.results["als"].top_idx
    truth = test.matrix[report.user_idx]
    hits = M.hits_at_k(top, truth, 10)
    micro_precision = hits.sum() / np.minimum(10, M.n_relevant(truth)).sum()
    assert micro_precision == pytest.approx(theirs["precision"], abs=1e-9)


def test_exclude_train_false_ranks_train_items_as_lightfm_does(split, fitted):
    train, test = split
    kept = evaluate(fitted, train, test, k=[10], metrics=["precision", "auc"], exclude_train=False)
    top = kept.results["als"].top_idx
    seen = train.matrix[kept.user_idx]
    in_train = np.array([np.isin(row, seen[i].indices).sum() for i, row in enumerate(top)])
    assert in_train.sum() > 0  # train items now take slots in the lists
    # by hand for the first user: scores of every item, train ones included, and AUC over all
    u = kept.user_idx[0]
    scores = fitted["als"].user_factors_[u] @ fitted["als"].item_factors_.T
    order = np.argsort(-scores, kind="stable")[:10]
    np.testing.assert_array_equal(np.sort(top[0]), np.sort(order))
    pos = test.matrix[u].indices
    neg = np.setdiff1d(np.arange(train.n_items), pos)
    auc = (scores[pos][:, None] > scores[neg][None, :]).mean()
    assert kept.results["als"].per_user["auc@10"][0] == pytest.approx(auc, abs=1e-9)
    excluded = evaluate(fitted, train, test, k=[10], metrics=["precision"])
    assert excluded.mean("als", "precision", 10) > kept.mean("als", "precision", 10)
    assert "nothing" in kept.conventions["excluded"]
