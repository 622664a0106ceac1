"""The reliability probe's cases on the newer surfaces (issue 27): add-items, history files,
similar, blends, manifest edits, tune's folder, a split with no test user, a reader racing a
writer. Each row records the exit code (a library call: the code the command line gives its
error, :func:`recsys_embed.cli.exits.classify`), the error lines, and ``silent``: exit 0 where
the answer is wrong (an error was due, or the check of the output failed).

Run by ``python -m evaluation.probes.reliability --only surfaces`` (about two minutes).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from recsys_embed import cli, models
from recsys_embed.cli.exits import classify
from recsys_embed.testing import GROUP_WORDS, planted, planted_text
from recsys_embed.tuning.lock import folder_lock
from tests.reliability_support import config, run_sub, small_log

Row = dict
Want = int | tuple[int, ...]


def cli_run(argv: list[str]) -> tuple[int, int]:
    """Exit code and number of error lines of the CLI run in this process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main([*argv, "--quiet"])
    return code, sum(
        line.startswith("recsys-embed: error:") for line in err.getvalue().splitlines()
    )


def call(fn: Callable[[], Any]) -> tuple[int, int]:
    """A library call as the command line would end: (exit code, error lines)."""
    try:
        fn()
    except Exception as exc:  # the probe records every outcome
        code, message = classify(exc)
        return code, 1 if "\n" not in message else 2
    return 0, 0


def row(category: str, case: str, got: tuple[int, int], want: Want, wrong: bool = False) -> Row:
    """``wrong``: the output of an exit-0 run failed its check."""
    code, lines = got
    wants = want if isinstance(want, tuple) else (want,)
    silent = code == 0 and (0 not in wants or wrong)
    return dict(category=category, case=case, code=code, want=list(wants), lines=lines,
                silent=silent)  # fmt: skip


def retamper(folder: Path, stem: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    """Rewrite ``stem.npy`` and update its checksum in the manifest (a deliberate edit)."""
    path = folder / f"{stem}.npy"
    np.save(path, change(np.load(path)))
    doc = json.loads((folder / "manifest.json").read_text())
    doc["arrays"][stem] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(doc))


def add_items(tmp: Path) -> list[Row]:
    cat = "add-items long text / ids"
    inter = planted()
    model = models.create("als-text-map", factors=8, iterations=5).fit(
        inter, planted_text(inter), show_progress=False
    )
    saved = model.save(tmp / "textmap")
    rows = []
    mixed = " ".join(GROUP_WORDS)  # every group's words: its content reaches many users anyway

    def reach(text: str, out: Path) -> tuple[tuple[int, list[str]], float]:
        """The CLI's answer, and the share of users whose top 5 holds the added item."""
        f = tmp / "long.csv"
        pl.DataFrame({"item_id": [900], "text": [text]}).write_csv(f)
        got = cli_run(["add-items", "--model", str(saved), "--items", str(f),
                       "--out", str(out)])  # fmt: skip
        if got[0]:
            return got, 0.0
        grown = models.load(out)
        ids, _ = grown.recommend(grown.user_map_.ids, k=5)
        return got, float((ids == 900).any(axis=1).mean())

    _, once = reach(mixed, tmp / "grown-once")
    for name, size in (("19 KB text", 19_000), ("1 MB text", 1_000_000)):
        got, share = reach((mixed + " ") * (size // len(mixed)), tmp / "grown")
        # the same words repeated must not reach more users than the text said once
        rows.append(row(cat, name, got, 0, share > once + 0.05))
    ids = {"fractional id 300020.7": "300020.7", "text id on an int model": "abc",
           "float id onto an existing id": "1.0000001", "id 10^23": "1" + "0" * 23,
           "missing id": ""}  # fmt: skip
    for name, value in ids.items():
        f = tmp / "ids.csv"
        f.write_text(f'item_id,text\n"{value}",space alien\n')
        got = cli_run(["add-items", "--model", str(saved), "--items", str(f),
                       "--out", str(tmp / "o-ids")])  # fmt: skip
        rows.append(row(cat, name, got, 3))
    got = cli_run(["add-items", "--model", str(saved), "--items", str(tmp), "--out",
                   str(tmp / "o-dir")])  # fmt: skip
    rows.append(row(cat, "--items a directory", got, (3, 4)))
    return rows


def histories(tmp: Path, als: Path) -> list[Row]:
    cat = "recommend --history files"
    cases = {
        "every item unknown": "user_id,item_id\nn1,77777\nn1,88888\n",
        "header only": "user_id,item_id\n",
        "one known item": "user_id,item_id\nn1,100\n",
    }
    rows = []
    for name, text in cases.items():
        f = tmp / "h.csv"
        f.write_text(text)
        got = cli_run(["recommend", "--model", str(als), "--history", str(f), "--out",
                       str(tmp / "h-out.csv")])  # fmt: skip
        rows.append(row(cat, name, got, 0 if name == "one known item" else 3))
    got = cli_run(["recommend", "--model", str(als), "--history", str(tmp), "--out",
                   str(tmp / "h-out.csv")])  # fmt: skip
    rows.append(row(cat, "--history a directory", got, (3, 4)))
    read, write = os.pipe()
    os.write(write, b"user_id,item_id\nn1,100\n")
    os.close(write)
    try:
        got = cli_run(["recommend", "--model", str(als), "--history", f"/dev/fd/{read}",
                       "--out", str(tmp / "h-out.csv")])  # fmt: skip
    finally:
        os.close(read)
    rows.append(row(cat, "--history a pipe (/dev/fd/N)", got, 0))
    model = models.load(als)
    for name, w in (("weight 0", 0.0), ("weight -1", -1.0), ("weight nan", float("nan")),
                    ("weight inf", float("inf"))):  # fmt: skip
        got = call(lambda w=w: model.recommend_for_history([[100, 102]], k=5, weights=[[w, 1.0]]))
        rows.append(row(cat, f"API {name}", got, (2, 3)))
    for name, hist in (("API empty history", [[]]), ("API string items", [["a", "b"]])):
        rows.append(row(cat, name, call(lambda h=hist: model.recommend_for_history(h, k=5)),
                        (2, 3)))  # fmt: skip
    return rows


def similar(tmp: Path, als: Path) -> list[Row]:
    cat = "similar k and files"
    base = ["similar", "--model", str(als), "--out", str(tmp / "s.csv")]
    empty = tmp / "empty.txt"
    empty.write_text("")
    cases: dict[str, tuple[list[str], Want]] = {
        "--k 10^11": (["--item", "100", "--k", str(10**11)], (0, 2)),
        "--item above 2^64": (["--item", "9" * 23], 3),
        "--items an empty file": (["--items", str(empty)], 3),
        "--items a directory": (["--items", str(tmp)], (3, 4)),
        "--k 3": (["--item", "100", "--k", "3"], 0),
    }
    return [row(cat, name, cli_run([*base, *extra]), want)
            for name, (extra, want) in cases.items()]  # fmt: skip


def blends(tmp: Path, log: Path, als: Path) -> list[Row]:
    cat = "blend configs and folders"
    rows = []
    members = '[{type = "als", factors = 4, iterations = 2, weight = 1e308}, ' + (
        '{type = "popularity", weight = 1e308}]'
    )
    cfg = config(tmp / "b.toml", log, f'[models.b]\ntype = "blend"\nmodels = {members}\n')
    got = cli_run(["train", "--config", str(cfg), "--model", "b", "--out", str(tmp / "b")])
    wrong = False
    if got[0] == 0:  # scores of all zeros rank the catalogue in index order
        _ids, scores = models.load(tmp / "b").recommend([1, 2, 3], k=5)
        wrong = bool((scores == 0).all())
    rows.append(row(cat, "weights 1e308 each", got, (0, 2), wrong))
    fitted = models.load(als)
    rows.append(row(cat, "Blend.of([])", call(lambda: models.Blend.of([])), 2))
    rows.append(row(cat, "Blend.of([model, 'als'])",
                    call(lambda: models.Blend.of([fitted, "als"])), 2))  # type: ignore[list-item]  # fmt: skip
    good = tmp / "bgood"
    two = (
        '[{type = "als", factors = 4, iterations = 2}, {type = "als", factors = 3, iterations = 2}]'
    )
    cfg = config(tmp / "b2.toml", log, f'[models.b]\ntype = "blend"\nmodels = {two}\n')
    assert (
        run_sub("train", "--config", str(cfg), "--model", "b", "--out", str(good)).returncode == 0
    )
    hist = tmp / "bh.csv"
    hist.write_text("user_id,item_id\nn1,100\nn1,102\n")
    stems = sorted(p.stem for p in good.glob("*.npy"))
    tampers: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {}
    item = next((s for s in stems if s.endswith("item_factors")), None)
    if item:
        tampers["NaN item factors of a member"] = (item, lambda a: np.full_like(a, np.nan))
    for s in stems:
        if "scale" in s:
            tampers[f"NaN {s}"] = (s, lambda a: np.full_like(a, np.nan))
            tampers[f"negative {s}"] = (s, lambda a: -np.abs(a) - 1)
    for name, (stem, change) in tampers.items():
        d = Path(tempfile.mkdtemp(dir=tmp)) / "b"
        subprocess.run(["cp", "-r", str(good), str(d)], check=True)
        retamper(d, stem, change)
        for how, extra in (("similar", ["similar", "--model", str(d), "--item", "100"]),
                           ("history", ["recommend", "--model", str(d), "--history", str(hist)])):  # fmt: skip
            rows.append(row(cat, f"{name} ({how})", cli_run([*extra, "--out", str(d.parent / "o.csv")]), 3))  # fmt: skip
    return rows


def manifest_types(tmp: Path, als: Path) -> list[Row]:
    cat = "manifest type edits"
    hist = tmp / "mh.csv"
    hist.write_text("user_id,item_id\nn1,100\nn1,102\n")
    rows = []
    for kind in ("popularity", "ease", "random", "bpr", "lightfm"):
        d = Path(tempfile.mkdtemp(dir=tmp)) / "m"
        subprocess.run(["cp", "-r", str(als), str(d)], check=True)
        doc = json.loads((d / "manifest.json").read_text())
        doc["type"], doc["params"] = kind, {}  # the claimed type's defaults
        (d / "manifest.json").write_text(json.dumps(doc))
        plain = cli_run(["recommend", "--model", str(d), "--out", str(d.parent / "r.csv")])
        fold = cli_run(["recommend", "--model", str(d), "--history", str(hist), "--out",
                        str(d.parent / "h.csv")])  # fmt: skip
        rows.append(row(cat, f"ALS claimed {kind} (recommend)", plain, (0, 3)))  # same vectors
        rows.append(row(cat, f"ALS claimed {kind} (--history)", fold, 3))
    return rows


TUNE_MODEL = '[models.als]\ntype = "als"\nweighting = "binary"\n[tune.space.als]\nfactors = [2, 8]\niterations = [2, 4]\n'


def tune_folder(tmp: Path, log: Path) -> list[Row]:
    cat = "tune --out folder"
    cfg = config(tmp / "tune.toml", log, TUNE_MODEL)
    base = ["tune", "--config", str(cfg), "--model", "als"]
    rows = []
    held = tmp / "held"
    held.mkdir()
    with folder_lock(held):
        rows.append(row(cat, "a second tune while one holds the folder",
                        cli_run([*base, "--out", str(held)]), 2))  # fmt: skip
    (tmp / "afile").write_text("x")
    rows.append(row(cat, "--out a file", cli_run([*base, "--out", str(tmp / "afile")]), 2))
    foreign = tmp / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    rows.append(row(cat, "--out a foreign folder", cli_run([*base, "--out", str(foreign)]), 2))
    stale = tmp / "stale"
    stale.mkdir()
    (stale / "tune.lock").write_text("999999999\n")
    rows.append(row(cat, "a lock left by a dead run", cli_run([*base, "--out", str(stale),
                                                               "--trials", "2"]), 0))  # fmt: skip
    twice = tmp / "twice"
    first = cli_run([*base, "--out", str(twice), "--trials", "3"])
    lines = (twice / "trials.jsonl").read_text().splitlines() if first[0] == 0 else []
    (twice / "trials.jsonl").write_text("\n".join(lines + lines) + "\n")  # two runs' rows
    got = cli_run([*base, "--out", str(twice), "--trials", "5"])
    numbers = [json.loads(x)["number"] for x in (twice / "trials.jsonl").read_text().splitlines()]
    rows.append(row(cat, "resume over repeated rows adds trials", got, 0,
                    sorted(set(numbers)) != list(range(5))))  # fmt: skip
    return rows


def no_test_user(tmp: Path) -> list[Row]:
    log = tmp / "two.csv"
    log.write_text("user,item,rating\n" + "".join(f"{u},{u % 9},1\n{u},{u % 9 + 1},1\n"
                                                  for u in range(40)))  # fmt: skip
    cfg = config(tmp / "nt.toml", log)
    text = cfg.read_text().replace("seed = 1\n", "seed = 1\ntest_fraction = 0.1\n")
    cfg.write_text(text)
    out = tmp / "nt-out"
    got = cli_run(["evaluate", "--config", str(cfg), "--out", str(out)])
    wrong = got[0] == 0 and "NaN" in (out / "metrics.json").read_text()
    return [row("evaluate with no test user", "random split, 2 per user, 10%", got, 3, wrong)]


def race(tmp: Path, log: Path, rounds: int = 3) -> list[Row]:
    """Loads of a model folder while ``train --out`` rewrites it ``rounds`` times."""
    cfg = config(tmp / "r.toml", log)
    out = tmp / "raced"
    argv = ["train", "--config", str(cfg), "--model", "als", "--out", str(out)]
    assert run_sub(*argv).returncode == 0
    rows = []
    for r in range(rounds):
        stop, counts = threading.Event(), [0, 0]  # loads, failures
        t = threading.Thread(target=_reader, args=(out, stop, counts))
        t.start()
        run_sub(*argv)
        stop.set()
        t.join()
        got = (3 if counts[1] else 0, 1 if counts[1] else 0)
        rows.append(row("load while train --out rewrites", f"round {r} ({counts[1]}/{counts[0]} "
                        "loads failed)", got, 0))  # fmt: skip
    return rows


def _reader(out: Path, stop: threading.Event, counts: list[int]) -> None:
    while not stop.is_set():
        code, _ = call(lambda: models.load(out))
        counts[0] += 1
        counts[1] += code != 0


def surfaces(tmp: Path) -> list[Row]:
    """Every category of this module, on a fresh planted log and ALS model under ``tmp``."""
    log = small_log(tmp / "log.csv", n_users=120, n_items=60)
    als = tmp / "als"
    assert run_sub("train", "--config", str(config(tmp / "a.toml", log)), "--model", "als",
                   "--out", str(als)).returncode == 0  # fmt: skip
    rows: list[Row] = []
    for part in (lambda: add_items(tmp), lambda: histories(tmp, als), lambda: similar(tmp, als),
                 lambda: blends(tmp, log, als), lambda: manifest_types(tmp, als),
                 lambda: tune_folder(tmp, log), lambda: no_test_user(tmp),
                 lambda: race(tmp, log)):  # fmt: skip
        started = time.monotonic()
        try:
            rows += part()
        except Exception as exc:  # a category that could not run is a row, not a lost probe
            rows.append(dict(category="probe errors", case=f"{type(exc).__name__}: {exc}"[:120],
                             code=None, want=None, lines=None))  # fmt: skip
        print(f"{rows[-1]['category'] if rows else '-'}: {time.monotonic() - started:.0f}s",
              file=sys.stderr)  # fmt: skip
    return rows
