"""Install extras: the default run needs none of them, the dev extra holds all of them, and a
missing extra fails with one line naming the ``pip install`` that brings it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_embed.config import tomllib
from recsys_embed.errors import ConfigError
from recsys_embed.features import train_word2vec
from tests.conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]


def distribution(requirement: str) -> str:
    """The distribution a requirement names: ``"gensim>=4.3"`` -> ``"gensim"``."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group(0).lower()


def test_dev_extra_holds_every_other_extra():
    dev = set(EXTRAS["dev"])
    for extra, requirements in EXTRAS.items():
        missing = set(requirements) - dev
        assert not missing, f"extra {extra!r}: {sorted(missing)} not in the dev extra"


def test_default_install_leaves_out_what_the_default_run_never_imports():
    default = {distribution(r) for r in PROJECT["dependencies"]}
    for extra in ("plot", "tune", "spark", "word2vec"):
        optional = {distribution(r) for r in EXTRAS[extra]}
        assert not optional & default, f"{extra}: {sorted(optional & default)} is a dependency"
    assert {distribution(r) for r in EXTRAS["word2vec"]} == {"gensim"}


def test_word2vec_without_gensim_names_its_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)  # makes `import gensim...` raise ImportError
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(ConfigError, match=re.escape('pip install "recsys-embed[word2vec]"')):
        train_word2vec([["a", "b"], ["b", "c"]], dim=4, epochs=1, show=False)


WITHOUT_MATPLOTLIB = """
import sys
sys.modules["matplotlib"] = None  # as if the plot extra were not installed
from recsys_embed.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_evaluate_without_matplotlib_writes_everything_but_the_plot(tmp_path: Path):
    (tmp_path / "log.csv").write_text(
        "user,item\n" + "".join(f"{u},{i}\n" for u in range(8) for i in range(u % 4, u % 4 + 5))
    )
    (tmp_path / "run.toml").write_text(
        '[data]\ninteractions = "log.csv"\nuser_col = "user"\nitem_col = "item"\n'
        '[split]\nmethod = "random"\ntest_fraction = 0.25\n'
        "[evaluate]\nk = [2]\n"
        '[models.pop]\ntype = "popularity"\n'
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    args = ["evaluate", "--config", "run.toml", "--out", "run"]
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_MATPLOTLIB, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert 'no plot: plotting needs matplotlib: pip install "recsys-embed[plot]"' in proc.stderr
    written = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"metrics.json", "metrics.csv", "config.toml"} <= written
    assert "metrics.png" not in written
