"""Report output: markdown / CSV / JSON tables, the recommendations frame, plots, artefacts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from recsys_embed.atomic import atomic_write, write_parquet, write_text
from recsys_embed.evaluate import Report, recommendations_frame, report_markdown

__all__ = [
    "json_text",
    "metrics_json",
    "plot_metrics",
    "recommendations_frame",
    "report_markdown",
    "write_artifacts",
]


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
    write_text(out / "metrics.json", json_text(metrics_json(report, extra), indent=2))
    return out


def json_text(obj: Any, **dumps: Any) -> str:
    """``json.dumps`` of ``obj`` as valid JSON: a non-finite number (NaN: no value, such as a
    metric with no user to average) becomes ``null``, a numpy scalar its Python value."""
    return json.dumps(_finite(obj), allow_nan=False, default=_jsonable, **dumps)


def _finite(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


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
