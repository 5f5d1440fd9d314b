"""Prometheus metrics of one gateway (``GET /metrics``, admin bearer).

- ``gateway_request_seconds{method, route, status}``: every request, labelled by route template
  (never a raw path, so ids and numbers stay out of label values).
- ``gateway_operator_call_seconds{operator, endpoint, outcome}``: every southbound call, from the
  operator transport (:mod:`gateway.outbound`); ``outcome`` is ``ok`` (HTTP 2xx), ``http_4xx``,
  ``http_5xx``, ``timeout``, ``refused``, ``error`` or ``circuit_open`` (refused by the circuit
  breaker without calling: :mod:`gateway.circuit`).
- ``gateway_operator_circuit_open{operator}``: 1 while this process's circuit of the operator is
  not closed (open or half-open), else 0; under ``--workers`` the highest of the live workers.
- ``gateway_delivery_report_lag_seconds{operator}``: from a push message's submission to the
  arrival of the delivery report that settles it (:mod:`gateway.push.lifecycle`).
- Outbox and backlog gauges (push outbox depth and oldest due age, webhook backlog): global
  database state, read at scrape time by :mod:`gateway.backlog` and appended to the exposition.

Under ``gateway serve --workers N`` the supervisor points ``PROMETHEUS_MULTIPROC_DIR`` at a
fresh directory before the workers start; every worker then writes its samples there and
whichever worker answers a scrape reports the sum over all of them (prometheus-client's
multiprocess mode).
"""

from __future__ import annotations

import os

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from gateway.appkeys import RUNTIME
from gateway.auth import admin

__all__ = ["OPERATOR_CALL_SECONDS", "OPERATOR_CIRCUIT_OPEN", "REQUEST_SECONDS", "routes"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "gateway_request_seconds",
    "Gateway request latency by route template and status.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
OPERATOR_CALL_SECONDS = Histogram(
    "gateway_operator_call_seconds",
    "Southbound operator call latency by operator, endpoint path and outcome.",
    ["operator", "endpoint", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
OPERATOR_CIRCUIT_OPEN = Gauge(
    "gateway_operator_circuit_open",
    "1 while the operator's circuit breaker is open or half-open, else 0.",
    ["operator"],
    multiprocess_mode="livemax",
)

routes = web.RouteTableDef()


def _registry() -> CollectorRegistry | None:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


@routes.get("/metrics")
@admin
async def metrics(request: web.Request) -> web.Response:
    """The Prometheus text exposition of this gateway (all workers' samples under ``--workers``),
    followed by the database backlog gauges."""
    registry = _registry()
    body = generate_latest(registry) if registry is not None else generate_latest()
    body += await request.app[RUNTIME].backlog.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
