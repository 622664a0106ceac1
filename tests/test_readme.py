"""README.md's and docs/*.md's code blocks, extracted from the files and run verbatim.

Which fences run:
- ``python``: each block in its own subprocess, from a temporary directory laid out like a
  fresh clone (the repository's top-level entries linked in, ``.venv`` pointing at the running
  interpreter's environment), so files a block writes land there.
- ``bash``/``sh``/``shell``: with ``bash -euo pipefail`` in such a directory, the running
  environment's ``bin`` first on the PATH. Two set-up commands are recognised and skipped,
  because CI runs them itself before the tests: ``python3 -m venv .venv`` and
  ``.venv/bin/pip install ...``. The test-command block (after ``<!-- test-command -->``) is the
  command that runs these tests, so it is not run again here.
- ``toml``: parsed and validated as run configs.
Not run: ``text`` and ``console`` (synopses with placeholders) and ``cron`` (a crontab line).
Any other fence tag fails the test, so no block goes unchecked by accident. Every relative link
of these pages must name a file of the repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_embed.config import parse_config, tomllib
from recsys_embed.pipeline import VOCABULARY
from recsys_embed.spark.params import spark_vocabulary
from tests.conftest import REPO

RUN = {"python", "bash", "sh", "shell", "toml"}
NOT_RUN = {"text", "console", "cron"}
SETUP = (re.compile(r"^python3? -m venv \S+$"), re.compile(r"^(\S+/)?pip install .*$"))
TEST_MARKER = "<!-- test-command -->"


DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [REPO / "README.md", *DOCS]


def blocks(page: Path = REPO / "README.md") -> list[tuple[int, str, str, bool]]:
    """``(line, tag, code, is_test_command)`` of every fenced block of ``page``."""
    out = []
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, tag = i + 1, m.group(1)
        j = start
        while not lines[j].startswith("```"):
            j += 1
        marker = i > 0 and lines[i - 1].strip() == TEST_MARKER
        out.append((start, tag, "\n".join(lines[start:j]) + "\n", marker))
        i = j + 1
    return out


def without_setup(code: str) -> str:
    """The shell code less the venv and pip install commands (CI has run them)."""
    kept = []
    for line in code.splitlines():
        parts = [p.strip() for p in line.split(" && ")]
        rest = [p for p in parts if not any(r.match(p) for r in SETUP)]
        if rest:
            kept.append(" && ".join(rest))
    return "\n".join(kept) + "\n"


def clone_like(tmp: Path) -> Path:
    """A directory that looks like a fresh clone with its venv, writing into ``tmp``."""
    for entry in REPO.iterdir():
        if entry.name not in (
            ".venv",
            ".git",
            "runs",
            "models",
            "tuned",
        ) and not entry.name.startswith(".pytest"):
            (tmp / entry.name).symlink_to(entry)
    (tmp / ".venv").symlink_to(Path(sys.prefix))
    return tmp


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.prefix) / "bin"), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.setdefault("MPLBACKEND", "Agg")
    return env


ALL = blocks()
RUNNABLE = [b for b in ALL if b[1] in ("python", "bash", "sh", "shell") and not b[3]]
DOC_BLOCKS = [(page, *b) for page in DOCS for b in blocks(page)]
DOC_RUNNABLE = [b for b in DOC_BLOCKS if b[2] in ("python", "bash", "sh", "shell")]


def test_every_block_has_a_known_tag():
    unknown = [(line, tag) for line, tag, _, _ in ALL if tag not in RUN | NOT_RUN]
    assert not unknown, f"README blocks with fence tags the test neither runs nor skips: {unknown}"
    assert sum(1 for b in ALL if b[3]) == 1  # exactly one test command
    assert len([b for b in RUNNABLE if b[1] == "python"]) >= 4


def test_docs_blocks_have_known_tags_and_no_test_command():
    assert DOCS, "docs/ has no pages"
    unknown = [(p.name, line, tag) for p, line, tag, _, _ in DOC_BLOCKS if tag not in RUN | NOT_RUN]
    assert not unknown, f"docs blocks with fence tags the test neither runs nor skips: {unknown}"
    assert not [p.name for p, *_, marker in DOC_BLOCKS if marker]  # the test command is README's


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_relative_links_name_files_of_the_repository():
    for page in PAGES:
        text = page.read_text()
        assert "LIBRARY-FACTS" not in text, f"{page.name} cites a file outside the repository"
        for target, _anchor in LINK.findall(text):
            if "://" in target:
                continue
            path = (page.parent / target).resolve()
            assert path.is_relative_to(REPO), f"{page.name}: {target} is outside the repository"
            assert path.exists(), f"{page.name}: link to {target}, which does not exist"


def test_setup_commands_are_recognised():
    code = 'python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev]" && .venv/bin/x run\n'
    assert without_setup(code) == ".venv/bin/x run\n"
    assert without_setup("echo a && pip3 installer\n") == "echo a && pip3 installer\n"


def run_block(tag: str, code: str, where: str, tmp_path: Path) -> str:
    """Run one block as a reader would, from a fresh-clone-like directory; its stdout."""
    cwd = clone_like(tmp_path)
    if tag == "python":
        cmd = [sys.executable, "-c", code]
    else:
        cmd = ["bash", "-euo", "pipefail", "-c", without_setup(code)]
    proc = subprocess.run(
        cmd, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"{where}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"README.md:{b[0]}-{b[1]}" for b in RUNNABLE])
def test_block_runs_verbatim(block, tmp_path):
    line, tag, code, _ = block
    printed = run_block(tag, code, f"README.md line {line}", tmp_path)
    if "recsys-embed evaluate --out runs/default" in code:
        check_main_job_table(printed)


@pytest.mark.parametrize(
    "block", DOC_RUNNABLE, ids=[f"docs/{b[0].name}:{b[1]}-{b[2]}" for b in DOC_RUNNABLE]
)
def test_docs_block_runs_verbatim(block, tmp_path):
    page, line, tag, code, _ = block
    run_block(tag, code, f"docs/{page.name} line {line}", tmp_path)


def table_rows(text: str) -> dict[str, list[float]]:
    """Model -> metric values of a markdown results table (fit and eval seconds left out)."""
    rows = {}
    for row in text.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if row.startswith("| ") and not row.startswith("| model") and len(cells) > 3:
            rows[cells[0]] = [float(c) for c in cells[1:-2]]
    return rows


def check_main_job_table(printed: str) -> None:
    """The README's table of the main job is what the command prints (timings aside)."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## The main job's output") :]
    want = table_rows(section[: section.index("\nUsers:")])
    got = table_rows(printed)
    assert set(got) == set(want)
    for model, values in want.items():
        assert got[model] == pytest.approx(values, abs=0.002), model


def test_toml_blocks_are_valid_configs(tmp_path):
    vocabulary = spark_vocabulary(VOCABULARY)  # as `evaluate` and `train` read configs
    tomls = [(REPO / "README.md", *b) for b in ALL if b[1] == "toml"]
    assert tomls
    tomls += [b for b in DOC_BLOCKS if b[2] == "toml"]
    for page, line, _, code, _ in tomls:
        raw = tomllib.loads(code)
        config = parse_config(raw, f"{page.name}:{line}", tmp_path, vocabulary)
        assert config.models, (page.name, line)
