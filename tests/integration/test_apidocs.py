"""``GET /docs``: the API reference page and the Swagger UI files it loads, all served by the
gateway itself under a Content-Security-Policy that names no other origin."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from gateway.apidocs import ASSETS, PAGE_HEADERS, SWAGGER_UI_VERSION
from tests.stack import Stack

STATIC = Path(__file__).resolve().parents[2] / "gateway" / "apidocs" / "static"


def test_the_notice_records_the_shipped_files() -> None:
    """static/README.md names the shipped Swagger UI version and the SHA-256 of each vendored file,
    and the license files are there: an upgrade that forgets the notice fails here."""
    notice = (STATIC / "README.md").read_text()
    assert f"`swagger-ui-dist` **{SWAGGER_UI_VERSION}**" in notice
    recorded = dict(re.findall(r"^\| `([\w.-]+)` \| `([0-9a-f]{64})` \|$", notice, re.M))
    assert set(recorded) == {"swagger-ui-bundle.js", "swagger-ui.css"}
    for name, digest in recorded.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    for name in ("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"):
        assert (STATIC / name).stat().st_size > 0


def test_the_policy_names_no_other_origin() -> None:
    """Every source in the page's CSP is the gateway itself ('self'), 'none' or data: images."""
    csp = PAGE_HEADERS["Content-Security-Policy"]
    sources = {token for directive in csp.split(";") for token in directive.split()[1:]}
    assert sources <= {"'self'", "'none'", "data:"}
    assert "default-src 'none'" in csp and "script-src 'self';" in csp


@pytest.mark.integration
async def test_the_page_and_its_files_are_served(sqlite_stack: Stack) -> None:
    """``/docs`` answers the page with its CSP and loads only the three files of ``ASSETS`` and
    ``/openapi.json``; each file is served with its media type, gzip-compressed on request, and
    byte-identical to the shipped one."""
    http, base = sqlite_stack.http, sqlite_stack.gateway_url
    page = await http.get(f"{base}/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    for name, value in PAGE_HEADERS.items():
        assert page.headers[name] == value
    loaded = set(re.findall(r'(?:src|href)="(/[^"]*)"', page.text))
    assert loaded == set(ASSETS)
    assert '"/openapi.json"' in (STATIC / "reference.js").read_text()
    for path, media_type in ASSETS.items():
        raw = await http.get(f"{base}{path}", headers={"Accept-Encoding": "gzip"})
        assert raw.status_code == 200, path
        assert raw.headers["Content-Type"] == f"{media_type}; charset=utf-8"
        assert raw.headers["Content-Encoding"] == "gzip"
        assert raw.content == (STATIC / path.removeprefix("/docs/")).read_bytes()
    missing = await http.get(f"{base}/docs/nothing.js")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
