"""Shared benchmark plumbing: where things live, the machine's description, timing helpers
(every case runs in its own process, timed R times (median), with that process's peak resident
memory, so cases cannot disturb each other) and the report written to ``--out``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

EVALUATION = Path(__file__).resolve().parent
REPO = EVALUATION.parent
RESULTS = EVALUATION / "results"
CACHE = EVALUATION / ".cache"  # generated data, ignored by git


def shared_datasets() -> Path:
    """MovieLens 100K's folder: $RECSYS_EMBED_DATA, else ../shared/datasets beside the repo."""
    return Path(os.environ.get("RECSYS_EMBED_DATA", REPO.parent / "shared" / "datasets"))


@contextlib.contextmanager
def cache_dir(chosen: Path | None, smoke: bool) -> Iterator[Path]:
    """The folder for generated data and outputs: ``chosen`` if given, else a temporary folder
    removed afterwards for a smoke run, else evaluation/.cache (kept between runs)."""
    if chosen is not None:
        chosen.mkdir(parents=True, exist_ok=True)
        yield chosen
    elif smoke:
        with tempfile.TemporaryDirectory(prefix="recsys-embed-smoke-") as tmp:
            yield Path(tmp)
    else:
        CACHE.mkdir(exist_ok=True)
        yield CACHE


def add_smoke_arguments(parser: argparse.ArgumentParser, cache: bool = True) -> None:
    """``--smoke`` (tiny generated data, seconds), ``--out`` (also write the report there) and,
    with ``cache``, ``--cache`` (where generated data goes)."""
    parser.add_argument("--smoke", action="store_true", help="tiny generated data (seconds)")
    parser.add_argument("--out", type=Path, help="also write the printed report to this file")
    if cache:
        parser.add_argument(
            "--cache", type=Path, help="folder for generated data (default evaluation/.cache)"
        )


class Report:
    """Prints each line as it comes (long runs show progress) and, on leaving the ``with``
    block, writes all of them to ``out`` when one is given."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.out is not None and exc[0] is None:
            self.out.write_text("\n".join(self.lines) + "\n")


def run_case(fn: Callable[[], object], repeats: int) -> dict:
    """Time ``fn`` ``repeats`` times in this process; report the median, the process's peak RSS,
    and the peak of memory allocated during one more (untimed) call, traced by tracemalloc
    (numpy reports its buffers to it): the working memory of the step itself."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    fn()
    work_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "median_s": statistics.median(times),
        "times_s": times,
        "peak_rss_mb": peak_mb,
        "work_peak_mb": work_mb,
    }


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, run in turn (a, b, a, b, ...) after one warm-up each,
    so that drifts of the machine hit every contender alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def spawn(module: str, case: str, repeats: int, extra: list[str] | None = None) -> dict:
    """Run ``python -m MODULE --case CASE`` in a fresh interpreter (from the repository root)
    and return its JSON result."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    out = subprocess.run(
        [sys.executable, "-m", module, "--case", case, "--repeats", str(repeats), *(extra or [])],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"


def report_main(
    doc: str, validation: Callable[[], list[str]], seeds: Callable[[], list[str]]
) -> None:
    """The command line of a validation study with a ``--seeds`` test-spread mode: print the
    chosen report's markdown lines and write them to ``--out``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seeds", action="store_true", help="test spread of the chosen setting")
    args = parser.parse_args()
    text = "\n".join(seeds() if args.seeds else validation()) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
