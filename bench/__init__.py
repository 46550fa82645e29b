"""Benchmarks, run with `make bench`; each prints a ratio against a same-run baseline."""
