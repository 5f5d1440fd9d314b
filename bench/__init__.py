"""Benchmarks of the gateway, run by hand or with ``make bench``; not part of the test suite.

- :mod:`bench.one_tap`: ``POST /one-tap/v1/login`` on the gateway against a bare pass-through baseline
  (:mod:`bench.passthrough`) to the same sandbox operator.
- :mod:`bench.identity`: SIM Swap, Number Verification and Login Check against the pass-through's
  SIM-history and two-history routes.
- :mod:`bench.push`: push message acceptance and dispatch, optionally per gateway process count.
- :mod:`bench.verify`: the verification workflow, from the bank's request to ``completed``, per path
  (cellular, Wi-Fi, SMS only, the code flow's SMS fallback).
- :mod:`bench.transports`: the operator HTTP client candidates (aiohttp, httpx, the gateway's transport)
  against a trivial echo server (:mod:`bench.echo`).

:mod:`bench.load` is the closed-loop load generator both use; :mod:`bench._harness` holds the shared
plumbing (subprocesses, health polling, free ports, statistics, output); :mod:`bench.servers` starts
the servers of a run, all on the event loop ``--loop`` names. Results are written to
``bench/results/`` (gitignored).
"""
