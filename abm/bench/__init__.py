"""Benchmarks: ``python -m abm.bench market [--quick] [--csv FILE]`` and ``... model``.

Scripts, not timed tests: they print a table of median wall-clock times, the baselines they
are compared against and the performance targets. See :mod:`abm.bench.market_bench`.
"""
