"""weft benchmarks: `make bench` runs them all (see __main__.py)."""
