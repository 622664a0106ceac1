"""Reliability probe: bad inputs, tampered models and killed runs, counted per category.

Random-time kills land between half and 1.1 times the duration of a whole run (measured on the
first run of each case), where the outputs are written. For each case it records the exit code, whether the error was one line, and, for outputs, whether
``--out`` afterwards held the whole old output, the whole new one, or was lost / mixed; then
whether the next run left any temporary litter. Prints a markdown table (the one in
evaluation/README.md) and writes evaluation/results/reliability_probe.json.

    python -m evaluation.probes.reliability [--kills 5] [--seed 0] [--only surfaces]

``--only surfaces`` runs only the newer surfaces' categories (:mod:`.surfaces`, issue 27:
add-items, history files, similar, blends, manifest edits, tune's folder, no test user, the
load-vs-writer race), ``--only classic`` only the others.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evaluation.common import REPO, RESULTS
from evaluation.probes.surfaces import surfaces
from recsys_embed import cli, models
from tests.reliability_support import config, litter, run_sub, small_log, snapshot
from tests.test_reliability_inputs import BAD_CONFIGS
from tests.test_reliability_models import CASES as MODEL_CASES

NEW_MODELS = (
    '[models.pop]\ntype = "popularity"\n\n[models.als]\ntype = "als"\nfactors = 6\niterations = 3\n'
)
Row = dict


def _cli(argv: list[str]) -> tuple[int, int]:
    """Exit code and number of error lines of the CLI run in this process."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main([*argv, "--quiet"])
    return code, sum(
        line.startswith("recsys-embed: error:") for line in err.getvalue().splitlines()
    )


def inputs(tmp: Path, log: Path, model: Path) -> list[Row]:
    rows = []
    for name, (body, _) in BAD_CONFIGS.items():
        cfg = tmp / "c.toml"
        cfg.write_text(
            f'[data]\ninteractions = "{log}"\nuser_col = "user"\nitem_col = "item"\n' + body
        )
        code, lines = _cli(["evaluate", "--config", str(cfg), "--out", str(tmp / "o")])
        rows.append(dict(category="config values", case=name, code=code, want=2, lines=lines))
    data_cases = {
        "weight 1e39": "user,item,rating\n1,2,1e39\n",
        "weight 1e-46": "user,item,rating\n1,2,1e-46\n",
        "duplicates 2 x 3e38": "user,item,rating\n1,2,3e38\n1,2,3e38\n",
        "duplicate header": "user,item,user\n1,2,3\n",
        "unbalanced quote": 'user,item,rating\n1,2,1\n"3,4,1\n',
        "extra field": "user,item,rating\n1,2,1\n3,4,1,9\n",
        "empty file": "",
        "binary": "\x00\x01\x02",
    }
    for name, text in data_cases.items():
        f = tmp / "bad.csv"
        f.write_text(text)
        cfg = config(tmp / "d.toml", f)
        code, lines = _cli(
            ["train", "--config", str(cfg), "--model", "als", "--out", str(tmp / "m")]
        )
        rows.append(dict(category="data files", case=name, code=code, want=3, lines=lines))
    users = tmp / "u.txt"
    args = {
        "--k 1000000000": (["--k", "1000000000"], 2, None),
        "--k -1": (["--k", "-1"], 2, None),
        "--chunk-size -1": (["--chunk-size", "-1"], 2, None),
        "--threads -1": (["--threads", "-1"], 2, None),
        "--users id above 2^64": (["--users", str(users)], 3, "1\n99999999999999999999999\n"),
        "--users all unknown": (["--users", str(users)], 3, "900\n901\n"),
        "--users unknown with --strict": (["--users", str(users), "--strict"], 3, "1\n900\n"),
        "--out is a directory": (["--out", str(tmp)], 2, None),
        "--out in a missing folder": (["--out", str(tmp / "no" / "r.csv")], 2, None),
    }
    for name, (extra, want, text) in args.items():
        if text is not None:
            users.write_text(text)
        out = [] if "--out" in extra else ["--out", str(tmp / "r.csv")]
        code, lines = _cli(["recommend", "--model", str(model), *out, *extra])
        rows.append(
            dict(category="recommend arguments", case=name, code=code, want=want, lines=lines)
        )
    return rows


def tampered(tmp: Path) -> list[Row]:
    rows = []
    for name, (tamper, _) in MODEL_CASES.items():
        m = models.ALS(factors=3)
        rng = np.random.default_rng(0)
        import scipy.sparse as sp

        from recsys_embed import IdMap

        seen = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
        m.set_factors(
            IdMap(np.array([1, 2, 3])),
            IdMap(np.array([10, 20, 30, 40])),
            seen,
            rng.random((3, 3)),
            rng.random((4, 3)),
        )
        d = Path(tempfile.mkdtemp(dir=tmp))
        path = m.save(d / "model")
        tamper(path)
        code, lines = _cli(["recommend", "--model", str(path), "--out", str(d / "r.csv")])
        rows.append(
            dict(
                category="tampered or unsafe model folders",
                case=name,
                code=code,
                want=3,
                lines=lines,
            )
        )
    return rows


def _state_train(out: Path, old: dict) -> str:
    if snapshot(out) == old:
        return "old"
    try:
        return "new" if models.load(out).get_params()["factors"] == 6 else "mixed"
    except Exception:
        return "lost" if not out.exists() else "mixed"


def _state_eval(out: Path, old: dict) -> str:
    now = snapshot(out) if out.is_dir() else {}
    if now == old:
        return "old"
    if not now:
        return "lost"
    whole = set(now) == set(old) and "factors = 6" in (out / "config.toml").read_text()
    return "new" if whole else "mixed"


def kills(tmp: Path, log: Path, n_random: int, rng: random.Random) -> list[Row]:
    rows = []
    old_cfg, new_cfg = config(tmp / "old.toml", log), config(tmp / "new.toml", log, NEW_MODELS)
    jobs = {
        "train": (
            lambda cfg, out: ["train", "--config", str(cfg), "--model", "als", "--out", str(out)],
            _state_train,
        ),
        "evaluate": (
            lambda cfg, out: ["evaluate", "--config", str(cfg), "--out", str(out)],
            _state_eval,
        ),
    }
    for job, (argv, state) in jobs.items():
        faults = ["dir-before-swap", "dir-after-swap"] + (
            ["file-before-rename"] if job == "evaluate" else []
        )
        for moment in faults + ["random"] * n_random:
            d = Path(tempfile.mkdtemp(dir=tmp))
            out = d / "out"
            began = time.monotonic()
            assert run_sub(*argv(old_cfg, out)).returncode == 0
            full = time.monotonic() - began  # a kill in its later half meets the writing
            old = snapshot(out)
            if moment == "random":
                start = time.monotonic()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "recsys_embed", *argv(new_cfg, out), "--quiet"],
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(rng.uniform(0.5, 1.1) * full)
                proc.send_signal(signal.SIGKILL)
                code = proc.wait()
                moment = f"random ({(time.monotonic() - start) / full:.2f} of a run)"
            else:
                code = run_sub(*argv(new_cfg, out), fault=moment).returncode
            found = state(out, old)
            assert run_sub(*argv(new_cfg, out)).returncode == 0
            rows.append(
                dict(
                    category=f"{job} --out killed",
                    case=moment,
                    code=code,
                    want=None,
                    lines=None,
                    output=found,
                    litter=len(litter(d)),
                )
            )
    d = Path(tempfile.mkdtemp(dir=tmp))
    run_sub("train", "--config", str(old_cfg), "--model", "als", "--out", str(d / "m"))
    out = d / "recs.csv"
    out.write_text("previous\n")
    for _ in range(3):
        code = run_sub(
            "recommend", "--model", str(d / "m"), "--out", str(out), fault="batch-before-rename"
        ).returncode
        found = "old" if out.read_text() == "previous\n" else "mixed"
        rows.append(
            dict(
                category="recommend --out killed",
                case="before rename",
                code=code,
                want=None,
                lines=None,
                output=found,
                litter=None,
            )
        )
    assert run_sub("recommend", "--model", str(d / "m"), "--out", str(out)).returncode == 0
    rows[-1]["litter"] = len(litter(d))
    return rows


def table(rows: list[Row]) -> str:
    groups: dict[str, list[Row]] = collections.defaultdict(list)
    for r in rows:
        groups[r["category"]].append(r)
    out = [
        "| category | cases | exit codes | as expected | one-line errors | silently wrong | outputs lost or mixed | litter after next run |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for cat, rs in groups.items():
        codes = collections.Counter(r["code"] for r in rs)
        code_s = ", ".join(f"{c}: {n}" for c, n in sorted(codes.items()))
        expected = [r for r in rs if r["want"] is not None]
        ok = f"{sum(_as_wanted(r) for r in expected)}/{len(expected)}" if expected else "-"
        errors = [r for r in expected if r["code"] != 0]
        lines = f"{sum(r['lines'] == 1 for r in errors)}/{len(errors)}" if errors else "-"
        checked = [r for r in rs if "silent" in r]
        silent = f"{sum(r['silent'] for r in checked)}/{len(checked)}" if checked else "-"
        outs = [r for r in rs if "output" in r]
        bad = f"{sum(r['output'] in ('lost', 'mixed') for r in outs)}/{len(outs)}" if outs else "-"
        states = collections.Counter(r["output"] for r in outs)
        if outs:
            bad += " (" + ", ".join(f"{k} {v}" for k, v in sorted(states.items())) + ")"
        lit = [r["litter"] for r in outs if r.get("litter") is not None]
        out.append(
            f"| {cat} | {len(rs)} | {code_s} | {ok} | {lines} | {silent} | {bad} | "
            f"{sum(lit) if lit else '-'} |"
        )
    return "\n".join(out)


def _as_wanted(r: Row) -> bool:
    """The exit code is the wanted one (or one of them), and an exit-0 output passed its check."""
    wants = r["want"] if isinstance(r["want"], list) else [r["want"]]
    return r["code"] in wants and not r.get("silent", False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=5, help="random-time kills per job")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["all", "classic", "surfaces"], default="all")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.only == "surfaces":
            rows = surfaces(tmp)
            print(table(rows))
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / "reliability_surfaces.json").write_text(json.dumps(rows, indent=1) + "\n")
            return
        log = small_log(tmp / "log.csv", n_users=400, n_items=300)
        assert (
            run_sub(
                "train",
                "--config",
                str(config(tmp / "t.toml", log)),
                "--model",
                "als",
                "--out",
                str(tmp / "model"),
            ).returncode
            == 0
        )
        rows = (
            inputs(tmp, log, tmp / "model")
            + tampered(tmp)
            + kills(tmp, log, args.kills, random.Random(args.seed))
        )
        if args.only == "all":
            rows += surfaces(Path(tempfile.mkdtemp(dir=tmp)))
    print(table(rows))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reliability_probe.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
