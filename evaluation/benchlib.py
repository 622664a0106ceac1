"""Shared benchmark plumbing: every case runs in its own process, timed R times (median),
with that process's peak resident memory, so cases cannot disturb each other."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

CACHE = Path(__file__).parent / ".cache"


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


def spawn(script: str, case: str, repeats: int, extra: list[str] | None = None) -> dict:
    """Run ``script --case CASE`` in a fresh interpreter and return its JSON result."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    out = subprocess.run(
        [sys.executable, script, "--case", case, "--repeats", str(repeats), *(extra or [])],
        capture_output=True,
        text=True,
        env=env,
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
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seeds", action="store_true", help="test spread of the chosen setting")
    args = parser.parse_args()
    text = "\n".join(seeds() if args.seeds else validation()) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
