"""Pages of the flows (gateway.flows.pages, views): headers, escaping, static allow-list, wire models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp import web
from pydantic import ValidationError

from gateway.flows.pages import origin_of, render_page, security_headers, static_file
from gateway.flows.redemption import Landing
from gateway.flows.schemas import CallNext, LocationShare
from gateway.flows.views import deep_link
from gateway.templates import Flow, QuickApp

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def _landing(signature: str = "平安保险", flow: Flow = Flow.CLAIM_LOCATION) -> Landing:
    return Landing(
        code="A" * 22,
        flow=flow,
        quick_app=QuickApp("com.example.claims", "pages/Location"),
        signature=signature,
        operator="cmcc",
        h5_url="http://127.0.0.1:8090/cmcc/h5/token",
        app_id="300011123456",
        number_tail="8000",
        expires_at=datetime(2026, 11, 25, tzinfo=UTC),
    )


def test_page_headers_lock_the_page_down() -> None:
    """CSP without inline script, no framing, no referrer, no caching, geolocation only when asked."""
    headers = security_headers(connect=["http://op.example"], geolocation=True)
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "connect-src 'self' http://op.example;" in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "frame-src 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "geolocation=(self)" in headers["Permissions-Policy"]
    assert "geolocation=()" in security_headers()["Permissions-Policy"]


def test_origins_of_h5_urls() -> None:
    """Only absolute http(s) URLs have an origin for the CSP."""
    assert origin_of("https://h5.op.example:8443/h5/token?x=1") == "https://h5.op.example:8443"
    assert origin_of("javascript:alert(1)") is None
    assert origin_of("/relative") is None
    assert origin_of(None) is None


@pytest.mark.parametrize("flow", list(Flow))
def test_landing_output_is_escaped(flow: Flow) -> None:
    """A hostile signature is rendered as text, never as markup; no inline script exists."""
    page = _landing(HOSTILE, flow)
    response = render_page("landing.html", page=page, deep_link=deep_link(page), expires_at="x")
    assert response.text is not None
    assert "<script>alert" not in response.text and "<img src=x" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert response.text.count("<script") == 1 and 'src="/flows/static/landing.js"' in response.text
    assert ("claim-consent" in response.text) is (flow is Flow.CLAIM_LOCATION)


def test_deep_link_carries_only_the_code() -> None:
    """hap://app/{package}/{page}?ticket={code}: no session, no number."""
    assert deep_link(_landing()) == "hap://app/com.example.claims/pages/Location?ticket=" + "A" * 22


def test_static_files_are_an_allow_list() -> None:
    """Only the page assets are served, with their content types; anything else is 404."""
    assert static_file("landing.js").content_type == "text/javascript"
    assert static_file("flows.css").content_type == "text/css"
    for name in ("../pages.py", "landing.html", "x.js", ""):
        with pytest.raises(web.HTTPNotFound):
            static_file(name)


@pytest.mark.parametrize(
    "body",
    [
        {"latitude": 91, "longitude": 0, "accuracyMeters": 1},
        {"latitude": 0, "longitude": 181, "accuracyMeters": 1},
        {"latitude": 0, "longitude": 0, "accuracyMeters": -1},
        {"latitude": "1", "longitude": 0, "accuracyMeters": 1},
        {"latitude": float("nan"), "longitude": 0, "accuracyMeters": 1},
        {"latitude": 0, "longitude": float("inf"), "accuracyMeters": 1},
    ],
)
def test_positions_are_range_checked(body: dict[str, object]) -> None:
    """Out of range, non-finite or string coordinates are refused."""
    with pytest.raises(ValidationError):
        LocationShare.model_validate(body)


def test_positions_accept_integers_and_floats() -> None:
    """JSON integers are numbers too."""
    position = LocationShare.model_validate(
        {"latitude": -90, "longitude": 180.0, "accuracyMeters": 3}
    ).to_domain()
    assert (position.latitude, position.longitude, position.accuracy_meters) == (-90.0, 180.0, 3.0)


@pytest.mark.parametrize(
    ("value", "expected"), [(1, "1"), (999, "999"), ("A3", "A3"), ("12345678", "12345678")]
)
def test_counters(value: object, expected: str) -> None:
    """Counters are 1..999 or 1-8 letters and digits, kept as text."""
    assert CallNext.model_validate({"counter": value}).counter == expected


@pytest.mark.parametrize("value", [0, 1000, -1, "", "A 3", "A3\n", "123456789", True, 2.0, None, "三"])
def test_bad_counters(value: object) -> None:
    """Anything else is refused."""
    with pytest.raises(ValidationError):
        CallNext.model_validate({"counter": value})
