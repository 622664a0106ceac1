"""Probes of the command line's behaviour under bad inputs and killed runs."""
