"""The benchmark suite's reduced run (python -m evaluation.protocols.suite --smoke), so it cannot rot.

The smoke run tunes with two cheap trials, so only the rows it does not tune are checked
against real values: the LightFM example's settings reproduce its published numbers, and the
popularity baseline and EASE land where the full run puts them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO, requires_ml100k


def row(section: str, name: str) -> list[str]:
    for line in section.splitlines():
        if line.startswith(f"| {name} |"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no row {name!r} in:\n{section}")


def suite(out, cache, *more: str) -> subprocess.CompletedProcess:
    args = ["--smoke", "--out", str(out), "--cache", str(cache), *more]
    return subprocess.run(
        [sys.executable, "-m", "evaluation.protocols.suite", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )


@requires_ml100k
def test_suite_smoke_run_writes_every_protocol(tmp_path):
    out = tmp_path / "RESULTS.md"
    proc = suite(out, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    sections = text.split("\n## ")[1:]
    assert [s.splitlines()[0] for s in sections] == [
        "Microsoft Recommenders benchmark, MovieLens 100K",
        "RecBole quick start, MovieLens 100K",
        "LightFM's MovieLens example, ua.base / ua.test",
        "Cold-start items, ml-latest-small (text-hybrid issue)",
        "Notes",
    ]
    ms, recbole, lightfm, cold, _ = sections
    # columns: model, ndcg@10, precision@10, recall@10, map@10, ...
    assert float(row(ms, "popularity")[1]) == pytest.approx(0.249, abs=0.005)
    assert float(row(ms, "ease (defaults)")[1]) > 0.475
    assert "2 trials" in row(ms, "als (tuned)")[-1]
    # trial 0 is the defaults: the tuned row is the defaults unless the rule let a trial replace them
    for model in ("als", "bpr", "bpr-uniform", "lightfm", "ease"):
        tuned, defaults = row(ms, f"{model} (tuned)"), row(ms, f"{model} (defaults)")
        if "kept the defaults" in tuned[-1]:
            assert tuned[1:5] == defaults[1:5]
        assert f"- {model} (tuned) vs defaults: ndcg@10" in ms
    blend = row(ms, "als+lightfm-meta (tuned)")
    assert blend[-1] == "blend of the als and lightfm-meta rows, equal weights, no refit"
    assert "- als+lightfm-meta (tuned) vs defaults: ndcg@10" in ms
    assert float(row(recbole, "ease (defaults)")[2]) > 0.292  # beats published BPR
    # LightFM's example settings, train items ranked: published P@10 0.11, AUC 0.90
    example = row(lightfm, "warp-example")
    assert float(example[1]) == pytest.approx(0.11, abs=0.01)
    assert float(example[2]) == pytest.approx(0.90, abs=0.01)
    excluded = lightfm.split("The same models with train items excluded:")[1]
    assert float(row(excluded, "warp-example")[1]) > 0.2
    assert float(row(cold, "random")[-3]) == pytest.approx(0.5, abs=0.02)  # AUC of chance
    assert "Machine:" in text and "rectools-lightfm" in text
    # --only reruns one protocol and keeps the other sections as they were
    before = {sec.splitlines()[0]: sec for sec in sections}
    proc = suite(out, tmp_path, "--only", "lightfm")
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = {sec.splitlines()[0]: sec for sec in out.read_text().split("\n## ")[1:]}
    assert list(after) == list(before)
    for title in before:
        if title != "Notes" and not title.startswith("LightFM's"):
            assert after[title].rstrip() == before[title].rstrip(), title
    assert "warp-example" in after["LightFM's MovieLens example, ua.base / ua.test"]
