"""One-off studies, each naming the default it justified: ``python -m evaluation.studies.NAME``."""
