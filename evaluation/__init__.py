"""The project's measurements, run as modules from the repository root.

- ``evaluation.benchmarks``: speed and memory, side by side with the peer or the floor;
- ``evaluation.protocols``: the published protocols that write RESULTS.md and results/coldstart.md;
- ``evaluation.studies``: one-off studies, each naming the default it justified;
- ``evaluation.probes``: the reliability probe.

Shared plumbing lives in ``evaluation.common``; results are kept in ``evaluation/results/``.
"""
