"""Benchmarks: `python -m bench.day_board`."""
