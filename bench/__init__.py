"""Benchmarks of the gateway, run by hand or with ``make bench``; not part of the test suite.

- :mod:`bench.one_tap`: ``POST /one-tap/v1/login`` on the gateway against a bare pass-through baseline
  (:mod:`bench.passthrough`) to the same sandbox operator.
- :mod:`bench.transports`: the operator HTTP client candidates (aiohttp, httpx, httpx over aiohttp)
  against a trivial echo server (:mod:`bench.echo`).

:mod:`bench.load` is the closed-loop load generator both use; :mod:`bench._harness` holds the shared
plumbing (subprocesses, health polling, free ports, statistics, output). Results are written to
``bench/results/`` (gitignored).
"""
