"""Run fitted models over one split: per-user metrics, means with 95% CIs, timings, paired tests."""

from __future__ import annotations

import math
import sys
import time
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy import stats

from recsys_embed import metrics as M
from recsys_embed.data.interactions import Interactions
from recsys_embed.errors import ConfigError
from recsys_embed.memory import check_memory, dense_scores_bytes
from recsys_embed.models.base import Recommender
from recsys_embed.models.frames import top_lists_frame
from recsys_embed.models.retrieval import top_k_chunks
from recsys_embed.models.vectors import RetrievalChoice, ann_settings
from recsys_embed.progress import counter

METRICS = (
    "recall",
    "precision",
    "ndcg",
    "map",
    "mrr",
    "hit_rate",
    "auc",
    "limited_auc",
    "coverage",
    "novelty",
)


@dataclass
class ModelResult:
    name: str
    per_user: dict[str, np.ndarray]  # "ndcg@10" -> value per evaluated user (nan: not counted)
    scalars: dict[str, float]  # metrics with one value per model (coverage)
    top_idx: np.ndarray  # (n_evaluated_users, max k) item indices, -1 padded
    top_scores: np.ndarray
    params: dict[str, Any]
    fit_seconds: float | None
    eval_seconds: float


@dataclass
class Report:
    """Evaluation results of several models on one split. See :func:`evaluate`."""

    results: dict[str, ModelResult]
    user_idx: np.ndarray  # evaluated users (dense indices of the split's id space)
    ks: list[int]
    metrics: list[str]
    conventions: dict[str, Any]
    train: Interactions = field(repr=False)
    test: Interactions = field(repr=False)
    ci: Literal["normal", "bootstrap"] = "normal"
    seed: int = 0

    def _counted(self, model: str, key: str) -> np.ndarray:
        """Per-user values of ``key``, ``nan`` for users the averaging convention leaves out."""
        res = self.results[model]
        vals = res.per_user[key]
        if self.conventions["only_with_recommendations"]:
            vals = np.where((res.top_idx >= 0).any(axis=1), vals, np.nan)
        return vals

    def mean(self, model: str, metric: str, k: int) -> float:
        key = f"{metric}@{k}"
        scalars = self.results[model].scalars
        return scalars[key] if key in scalars else M.mean_over_users(self._counted(model, key))

    def _interval(self, vals: np.ndarray) -> tuple[float, float]:
        vals = vals[~np.isnan(vals)]
        if len(vals) < 2:
            return float("nan"), float("nan")
        if self.ci == "bootstrap":
            rng = np.random.default_rng(self.seed)
            boots = rng.choice(vals, size=(1000, len(vals)), replace=True).mean(axis=1)
            lo, hi = np.percentile(boots, [2.5, 97.5])
            return float(lo), float(hi)
        half = 1.959963984540054 * vals.std(ddof=1) / np.sqrt(len(vals))
        return float(vals.mean() - half), float(vals.mean() + half)

    def to_frame(self) -> pl.DataFrame:
        """One row per (model, metric, k): ``value`` and the 95% CI over users."""
        rows = []
        for name, res in self.results.items():
            for metric in self.metrics:
                for k in self.ks:
                    key = f"{metric}@{k}"
                    if key in res.scalars:
                        lo = hi = float("nan")
                    else:
                        lo, hi = self._interval(self._counted(name, key))
                    rows.append((name, metric, k, self.mean(name, metric, k), lo, hi))
        return pl.DataFrame(
            rows, schema=["model", "metric", "k", "value", "ci_low", "ci_high"], orient="row"
        )

    def metrics_dict(self, model: str) -> dict[str, float]:
        """``{"recall@10": ..., "ndcg@10": ...}`` for one model."""
        return {f"{m}@{k}": self.mean(model, m, k) for m in self.metrics for k in self.ks}

    def compare(
        self, a: str, b: str, metric: str = "ndcg", k: int = 10, seed: int = 0
    ) -> dict[str, float]:
        """Paired comparison of models ``a`` and ``b`` on the same users.

        Returns the means, their difference (a - b), a 95% bootstrap CI of the mean difference,
        and two-sided p-values of the paired t-test and the Wilcoxon signed-rank test.
        """
        key = f"{metric}@{k}"
        if key not in self.results[a].per_user:
            raise ConfigError(f"{key} is not a per-user metric of this report")
        va, vb = self.results[a].per_user[key], self.results[b].per_user[key]
        keep = ~np.isnan(va) & ~np.isnan(vb)
        diff = va[keep] - vb[keep]
        rng = np.random.default_rng(seed)
        boots = rng.choice(diff, size=(2000, len(diff)), replace=True).mean(axis=1)
        nonzero = diff[diff != 0]
        return {
            "n_users": int(keep.sum()),
            "mean_a": float(va[keep].mean()),
            "mean_b": float(vb[keep].mean()),
            "diff": float(diff.mean()),
            "ci_low": float(np.percentile(boots, 2.5)),
            "ci_high": float(np.percentile(boots, 97.5)),
            "t_pvalue": float(stats.ttest_rel(va[keep], vb[keep]).pvalue)
            if len(diff) > 1
            else float("nan"),
            "wilcoxon_pvalue": float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) > 0 else 1.0,
        }

    def recommendations(self) -> pl.DataFrame:
        """Top-k lists of every model: ``model, user_id, rank, item_id, score`` (external ids)."""
        return recommendations_frame(self)

    def to_markdown(self) -> str:
        return report_markdown(self)


def _fmt(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def report_markdown(report: Report) -> str:
    """A table: one row per model, one column per metric@k, then fit and evaluation seconds."""
    pairs = [(m, k) for m in report.metrics for k in report.ks]
    cols = [f"{m}@{k}" for m, k in pairs]
    lines = [
        "| model | " + " | ".join(cols) + " | fit s | eval s |",
        "|---|" + "---:|" * (len(cols) + 2),
    ]
    for name, res in report.results.items():
        vals = [_fmt(report.mean(name, m, k)) for m, k in pairs]
        fit = "" if res.fit_seconds is None else f"{res.fit_seconds:.2f}"
        lines.append(f"| {name} | " + " | ".join(vals) + f" | {fit} | {res.eval_seconds:.2f} |")
    conv = report.conventions
    lines.append("")
    lines.append(
        f"Users: {conv['users']} ({len(report.user_idx)}). Ranking: {conv['ranking']}; "
        f"{conv['excluded']}. Recall denominator: {conv['recall_denominator']}; NDCG ideal DCG "
        f"over {'min(k, |relevant|)' if conv['ndcg_ideal'] == 'relevant' else 'k'} positions. "
        f"Ties: {conv['ties']}."
        + (f" Retrieval: {conv['retrieval']}." if "retrieval" in conv else "")
    )
    return "\n".join(lines) + "\n"


def recommendations_frame(report: Report) -> pl.DataFrame:
    """``model, user_id, rank, item_id, score`` for every evaluated user's top list (no padding)."""
    users = report.train.user_map.ids[report.user_idx]
    item_ids = report.train.item_map.ids
    frames = [
        top_lists_frame(users, item_ids[np.maximum(res.top_idx, 0)], res.top_scores)
        .with_columns(pl.lit(name).alias("model"), pl.col("score").cast(pl.Float64))
        .select("model", "user_id", "rank", "item_id", "score")
        for name, res in report.results.items()
    ]
    return pl.concat(frames) if frames else pl.DataFrame()


def _truth_rows(
    test: Interactions, rows: np.ndarray, cand_mask: np.ndarray | None
) -> sp.csr_matrix:
    truth = test.matrix[rows]
    truth = sp.csr_matrix((np.ones(truth.nnz), truth.indices, truth.indptr), shape=truth.shape)
    if cand_mask is not None:
        truth = truth.multiply(cand_mask[None, :]).tocsr()
        truth.eliminate_zeros()
    return truth


def _check_models(models: Mapping[str, Recommender], train: Interactions) -> None:
    if not models:
        raise ConfigError("evaluate needs at least one model")
    for name, model in models.items():
        if not model.is_fitted:
            raise ConfigError(f"model {name!r} is not fitted; fit it on train first")
        items = model.item_map_.ids
        same_items = len(items) >= train.n_items and bool(
            np.all(items[: train.n_items] == train.item_ids)
        )  # a text model's catalogue may extend the training items
        if model.user_map_ != train.user_map or not same_items:
            raise ConfigError(
                f"model {name!r} was fitted on another id space than this split's train set"
            )


def evaluate(
    models: Mapping[str, Recommender],
    train: Interactions,
    test: Interactions,
    k: Iterable[int] = (10, 20),
    metrics: Sequence[str] = ("recall", "ndcg", "precision", "map"),
    candidates: Any = None,
    chunk_size: int = 1024,
    recall_denominator: Literal["relevant", "min_k"] = "relevant",
    ideal: Literal["relevant", "k"] = "relevant",
    only_with_recommendations: bool = False,
    ci: Literal["normal", "bootstrap"] = "normal",
    seed: int = 0,
    exclude_train: bool = True,
    show_progress: bool | None = None,
    retrieval: RetrievalChoice = "exact",
) -> Report:
    """Evaluate fitted models on a split; fits nothing.

    Every user with at least one test item (within ``candidates``, if given) is evaluated.
    Each user's train items are excluded from ranking (``exclude_train=False``: ranked too, and
    counted as negatives by AUC, as LightFM's own evaluation does by default). ``candidates``
    (item ids) restricts ranking, the relevant set and AUC to those items (cold-start
    protocols). Scoring runs
    ``chunk_size`` users at a time, so memory is bounded by ``chunk_size x n_items`` scores.
    Conventions are those of :mod:`recsys_embed.metrics`, recorded in ``report.conventions``.
    ``ci`` is ``"normal"`` (mean +- 1.96 standard errors) or ``"bootstrap"`` (percentile, 1000
    resamples of users). ``show_progress``: a bar over the scored chunks on a terminal, log
    lines off it (None), always a bar (True) or nothing (False); see :mod:`recsys_embed.progress`.

    ``test`` must be in ``train``'s id space: from a split of one :class:`Interactions`, or
    your own frame read with ``Interactions.from_frame(df, ..., like=train)``.

    ``retrieval``: ``"exact"`` or ``"ann"`` (or :class:`~recsys_embed.models.ann.AnnSettings`)
    ranks the top-k lists; AUC needs the full ranking and is always computed from exact scores.
    """
    ks = sorted({int(x) for x in k})
    if not ks or ks[0] < 1:
        raise ConfigError(f"k must be positive ints, got {list(k)}")
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise ConfigError(f"unknown metric(s) {bad}; available: {list(METRICS)}")
    if ci not in ("normal", "bootstrap"):
        raise ConfigError(f"ci must be 'normal' or 'bootstrap', got {ci!r}")
    if test.user_map != train.user_map or test.item_map != train.item_map:
        raise ConfigError(
            "train and test must share one id space: split one Interactions with "
            "recsys_embed.split, or read the test frame with "
            "Interactions.from_frame(df, ..., like=train)"
        )
    _check_models(models, train)
    cand = None if candidates is None else np.unique(train.item_map.indices(candidates))
    cand_mask = None
    if cand is not None:
        cand_mask = np.zeros(train.n_items, dtype=bool)
        cand_mask[cand] = True
    n_test = np.diff(_truth_rows(test, np.arange(test.n_users), cand_mask).indptr)
    user_idx = np.flatnonzero(n_test > 0)
    kmax = ks[-1]
    item_counts = np.bincount(train.matrix.indices, minlength=train.n_items)
    seen = train.matrix if exclude_train else sp.csr_matrix(train.matrix.shape, dtype=np.float32)
    n_catalogue = train.n_items if cand is None else len(cand)
    check_memory(
        dense_scores_bytes(
            min(chunk_size, len(user_idx)), max(len(m.item_map_) for m in models.values())
        ),
        f"evaluating {min(chunk_size, len(user_idx))} users at a time (chunk_size)",
        "lower chunk_size",
    )
    results = {}
    n_chunks = -(-len(user_idx) // chunk_size)
    bar = counter(total=n_chunks * len(models), desc="evaluate", show=show_progress, unit="chunk")
    for name, model in models.items():
        start = time.perf_counter()
        tops, vals = [], []
        aucs: list[np.ndarray] = []
        model_cand = cand
        if cand is None and len(model.item_map_) > train.n_items:
            model_cand = np.arange(train.n_items)  # rank the split's items only
        bar.set_postfix(model=name)
        core = model.require_fitted()
        backend = core.backend(retrieval)

        def auc_of(rows: slice, scores: np.ndarray, aucs: list[np.ndarray] = aucs) -> None:
            excl, truth = seen[user_idx[rows]], _truth_rows(test, user_idx[rows], cand_mask)
            if cand is not None:
                excl, truth = excl[:, cand], truth[:, cand]
            aucs.append(M.auc_from_scores(scores, truth, excl))

        parts = top_k_chunks(
            backend,
            core.user_factors[user_idx],
            kmax,
            seen[user_idx],
            model_cand,
            chunk_size,
            on_scores=auc_of if "auc" in metrics else None,
        )
        for _, idx, sc in parts:
            tops.append(idx)
            vals.append(sc)
            bar.update(1)
        top = np.vstack(tops) if tops else np.zeros((0, kmax), dtype=np.int64)
        top_scores = np.vstack(vals) if vals else np.zeros((0, kmax), dtype=np.float32)
        truth = _truth_rows(test, user_idx, cand_mask)
        per_user: dict[str, np.ndarray] = {}
        scalars: dict[str, float] = {}
        for kk in ks:
            for metric in metrics:
                key = f"{metric}@{kk}"
                if metric == "recall":
                    per_user[key] = M.recall_at_k(top, truth, kk, recall_denominator)
                elif metric == "ndcg":
                    per_user[key] = M.ndcg_at_k(top, truth, kk, ideal=ideal)
                elif metric == "auc":
                    per_user[key] = np.concatenate(aucs) if aucs else np.zeros(0)
                elif metric == "coverage":
                    scalars[key] = M.coverage_at_k(top, kk, n_catalogue)
                elif metric == "novelty":
                    per_user[key] = M.novelty_at_k(top, kk, item_counts, train.n_users)
                else:
                    per_user[key] = M.PER_USER[metric](top, truth, kk)
        results[name] = ModelResult(
            name,
            per_user,
            scalars,
            top,
            top_scores,
            model.get_params(),
            getattr(model, "fit_seconds_", None),
            time.perf_counter() - start,
        )
    bar.close()
    used = M.conventions(
        exclude_train,
        None if cand is None else len(cand),
        recall_denominator,
        ideal,
        only_with_recommendations,
        ci,
    )
    settings = ann_settings(retrieval)
    if settings is not None:  # exact reports stay as they were
        used["retrieval"] = f"ann ({settings}); AUC from exact scores"
    return Report(results, user_idx, ks, list(metrics), used, train, test, ci, seed)


def fit_and_evaluate(
    models: Mapping[str, Recommender],
    train: Interactions,
    test: Interactions,
    item_text: Any = None,
    *,
    show_progress: bool | None = None,
    **kwargs: Any,
) -> Report:
    """Fit each model on ``train`` (recording fit seconds), then :func:`evaluate`.

    ``item_text`` (a frame with ``item_id`` and ``text``, or ``{item_id: text}``) goes to every
    fit: the text models read it, the others ignore it.
    """
    for model in models.values():
        model.fit(train, item_text, show_progress=show_progress)
    return evaluate(models, train, test, show_progress=show_progress, **kwargs)


class _CallableModule(types.ModuleType):
    """``recsys_embed.evaluate`` is also the function: ``rse.evaluate(models, train, test)``
    works whether the name resolves to this module or to the function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
