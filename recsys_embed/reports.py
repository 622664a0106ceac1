"""Report output: markdown / CSV / JSON tables, the recommendations frame, plots, artefacts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from recsys_embed.atomic import atomic_write, write_parquet, write_text
from recsys_embed.batch import top_lists_frame

if TYPE_CHECKING:
    from recsys_embed.evaluate import Report


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


def write_artifacts(
    report: Report, out_dir: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write the split, the top-k lists and the metrics, so anyone can recompute the numbers.

    Files: ``train.parquet``, ``test.parquet`` (user_id, item_id, weight[, timestamp]),
    ``recommendations.parquet``, ``metrics.json``, ``metrics.csv``, ``metrics.md``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(out / "train.parquet", report.train.to_frame())
    write_parquet(out / "test.parquet", report.test.to_frame())
    write_parquet(out / "recommendations.parquet", report.recommendations())
    frame = report.to_frame()
    atomic_write(out / "metrics.csv", lambda p: frame.write_csv(p))
    write_text(out / "metrics.md", report.to_markdown())
    write_text(
        out / "metrics.json", json.dumps(metrics_json(report, extra), indent=2, default=_jsonable)
    )
    return out


def metrics_json(report: Report, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    models = {}
    for name, res in report.results.items():
        models[name] = {
            "metrics": report.metrics_dict(name),
            "params": res.params,
            "fit_seconds": res.fit_seconds,
            "eval_seconds": res.eval_seconds,
        }
    return {
        "models": models,
        "n_users_evaluated": len(report.user_idx),
        "train": {
            "users": report.train.n_users,
            "items": report.train.n_items,
            "interactions": report.train.nnz,
        },
        "test": {"interactions": report.test.nnz},
        "k": report.ks,
        "conventions": report.conventions,
        **(extra or {}),
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def plot_metrics(
    report: Report, path: str | Path, metrics: tuple[str, ...] = ("recall", "ndcg")
) -> Path:
    """PNG of each metric against k, one line per model. Needs the ``plot`` extra (matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('plotting needs matplotlib: pip install "recsys-embed[plot]"') from None
    shown = [m for m in metrics if m in report.metrics]
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(5 * max(len(shown), 1), 4))
    axes = np.atleast_1d(axes)
    for ax, metric in zip(axes, shown, strict=False):
        for name in report.results:
            ax.plot(
                report.ks, [report.mean(name, metric, k) for k in report.ks], marker="o", label=name
            )
        ax.set_xlabel("k")
        ax.set_ylabel(f"{metric}@k")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=100))
    plt.close(fig)
    return Path(path)
