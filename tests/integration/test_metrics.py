"""`GET /metrics`: request and operator-call histograms as Prometheus scrapes them, admin only."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.stack import Stack

pytestmark = pytest.mark.integration


def _count(text: str, name: str, **labels: str) -> float:
    """The value of ``<name>_count`` summed over series whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{name}_count" and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def _scrape(stack: Stack) -> str:
    resp = await stack.http.get(
        f"{stack.gateway_url}/metrics", headers={"Authorization": f"Bearer {stack.admin_token}"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    return resp.text


async def test_metrics_count_requests_and_operator_calls_by_outcome(sqlite_stack: Stack) -> None:
    """A login shows up under its route template and as an `ok` cmcc call; a refused operator as
    `refused`; label values never hold a phone number or a token."""
    stack = sqlite_stack
    creds = await stack.tenant(["one-tap:login"])
    bearer = await stack.access_token(creds)
    before = await _scrape(stack)
    phone = await stack.subscriber("cmcc")
    token = await stack.sdk_token(phone)
    assert (await stack.call("/one-tap/v1/login", bearer, {"token": token})).status_code == 200
    await stack.faults("cmcc", errorRate=1.0)
    failed = await stack.call("/one-tap/v1/login", bearer, {"token": await stack.sdk_token(phone)})
    assert failed.status_code == 503

    after = await _scrape(stack)
    route = {"route": "/one-tap/v1/login", "method": "POST"}
    assert _count(after, "gateway_request_seconds", **route, status="200") == (
        _count(before, "gateway_request_seconds", **route, status="200") + 1
    )
    assert _count(after, "gateway_request_seconds", **route, status="503") >= 1
    assert _count(after, "gateway_operator_call_seconds", operator="cmcc", outcome="ok") >= 1
    assert _count(after, "gateway_operator_call_seconds", operator="cmcc", outcome="http_5xx") >= 1
    assert phone not in after and phone[3:] not in after and token not in after
    assert not re.search(r'route="/[^"]*\d{11}', after)


async def test_metrics_need_the_admin_token(sqlite_stack: Stack) -> None:
    """Without the admin bearer the scrape is the generic 401, with a tenant's token too."""
    creds = await sqlite_stack.tenant(["one-tap:login"])
    bearer = await sqlite_stack.access_token(creds)
    for headers in ({}, {"Authorization": f"Bearer {bearer}"}):
        resp = await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/metrics", headers=headers)
        assert resp.status_code == 401
        assert resp.json()["code"] == "UNAUTHENTICATED"
