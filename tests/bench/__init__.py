"""`make bench`: the production-size benchmark of issue 13 (see __main__.py and docs/benchmarks.md)."""
