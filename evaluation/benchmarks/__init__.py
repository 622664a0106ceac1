"""Speed and memory benchmarks: ``python -m evaluation.benchmarks.NAME [--smoke]``."""
