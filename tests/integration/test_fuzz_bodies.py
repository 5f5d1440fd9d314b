"""A bounded fuzz of every POST, PUT and PATCH route with malformed bodies: no 5xx, every error in
the body the OpenAPI document gives for its status: the contract's, or RFC 6749's where the
document says so (the token and backchannel endpoints).

The routes come from the application's router, their properties from the OpenAPI document it
renders. Each route gets the same fixed set of bodies (no randomness): invalid UTF-8, every JSON
type where an object belongs, 10,000 levels of nesting, 1e999 and 10**400, an empty body, the wrong
content type, nulls, NUL characters and lone surrogates in every property, and broken forms, each
with the credentials the route's policy asks for, so the body is what gets judged.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.auth import policy_of
from gateway.openapi import OPENAPI_JSON
from gateway.scopes import KNOWN_SCOPES
from gateway.settings import Settings
from tests.leaks import SENSITIVE
from tests.stack import Stack, TenantCreds
from tests.unit.console.support import console_client, create_staff
from tests.unit.flows.support import code_of, flows_stack, h5_token, redeem

pytestmark = pytest.mark.integration

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
CLIENT_AUTH = {"/oauth2/token", "/oauth2/bc-authorize"}
REDIRECT_URI = "https://bank.example/callback"
PURPOSE = "dpv:FraudPreventionAndDetection"
CODE = re.compile(r"^[A-Z][A-Z0-9_.]*$")
PATH_VALUES = {
    "name": "claim-location",
    "operator": "cmcc",
    "id": "fuzz-0",
    "code": "fuzz0fuzz0fuzz0fuzz0fu",
    "token": "fuzz-0.vck_0",
    "handle": "vck_fuzz0",
    "tenant_id": "fuzz-0",
    "staff_id": "fuzz-0",
    "vendor": "huawei",
}
DEEP = 10_000
AS_JSON = {"Content-Type": JSON}
AS_FORM = {"Content-Type": FORM}

_APP = create_app(Settings(database_url="sqlite://"))
DOCUMENT: dict[str, Any] = json.loads(_APP[OPENAPI_JSON])
ROUTES = sorted(
    (route.method, route.resource.canonical, str(policy_of(route.handler)))
    for route in _APP.router.routes()
    if route.method in {"POST", "PUT", "PATCH"} and route.resource is not None
)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _properties(method: str, path: str) -> dict[str, dict[str, Any]]:
    """The request body's top-level properties as the document states them (none for a form)."""
    content = DOCUMENT["paths"][path][method.lower()].get("requestBody", {}).get("content", {})
    if JSON not in content:
        return {"grant_type": {"type": "string"}, "scope": {"type": "string"}} if FORM in content else {}
    props: dict[str, dict[str, Any]] = _resolve(content[JSON]["schema"]).get("properties", {})
    return {name: _resolve(schema) for name, schema in props.items()}


def _wrong_type(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    return {"string": 12345, "integer": "12", "number": "1.5", "boolean": "yes", "array": {"a": 1}}.get(
        str(kind), [[1]]
    )


def _each(props: dict[str, Any], raw_value: bytes) -> bytes:
    """A JSON object giving every property the literal ``raw_value`` (which may not be valid JSON)."""
    names = props or {"value": {}}
    return b"{" + b", ".join(json.dumps(name).encode() + b": " + raw_value for name in names) + b"}"


def bodies(props: dict[str, dict[str, Any]]) -> dict[str, tuple[dict[str, str], bytes]]:
    """The fixed malformed bodies for a route with these properties: name -> (headers, bytes)."""
    first = json.dumps(next(iter(props), "value")).encode()
    wrong = {name: _wrong_type(schema) for name, schema in props.items()}
    return {
        "invalid UTF-8 in a string": (AS_JSON, b"{" + first + b': "\xff\xfe\xc3("}'),
        "invalid UTF-8, not JSON": (AS_JSON, b"\xff\xfe\x00\x80garbage"),
        "empty": (AS_JSON, b""),
        "null": (AS_JSON, b"null"),
        "array": (AS_JSON, b"[]"),
        "string": (AS_JSON, b'"text"'),
        "number 1e999": (AS_JSON, b"1e999"),
        "truncated": (AS_JSON, b'{"a": '),
        "byte order mark": (AS_JSON, b"\xef\xbb\xbf{}"),
        "duplicate keys": (AS_JSON, b"{" + first + b": 1, " + first + b": 2}"),
        "10,000 nested arrays": (AS_JSON, b"[" * DEEP + b"]" * DEEP),
        "10,000 unclosed arrays": (AS_JSON, b"[" * DEEP),
        "10,000 nested objects": (AS_JSON, b'{"a": ' * DEEP + b"1" + b"}" * DEEP),
        "every property nested 10,000 deep": (
            AS_JSON,
            _each(props, b"[" * DEEP + b"]" * DEEP),
        ),
        "every property null": (AS_JSON, _each(props, b"null")),
        "every property of a wrong type": (
            AS_JSON,
            json.dumps(wrong or {"value": 1}).encode(),
        ),
        "every property 1e999": (AS_JSON, _each(props, b"1e999")),
        "every property -1e999": (AS_JSON, _each(props, b"-1e999")),
        "every property 10**400": (AS_JSON, _each(props, str(10**400).encode())),
        "every property 10**400 as a string": (
            AS_JSON,
            _each(props, b'"' + str(10**400).encode() + b'"'),
        ),
        "every property a NUL character": (AS_JSON, _each(props, b'"\\u0000"')),
        "every property a lone surrogate": (AS_JSON, _each(props, b'"\\ud800"')),
        "every property 100,000 characters": (
            AS_JSON,
            _each(props, b'"' + b"a" * 100_000 + b'"'),
        ),
        "text/plain": ({"Content-Type": "text/plain"}, b"{}"),
        "no content type": ({}, b"{}"),
        "form where JSON belongs": (
            AS_FORM,
            b"grant_type=client_credentials&phoneNumber=%2B8613800138000",
        ),
        "form with invalid UTF-8": (AS_FORM, b"grant_type=\xff\xfe&scope=\xc3("),
        "form with percent-encoded invalid UTF-8": (
            AS_FORM,
            b"grant_type=%ff%fe&scope=%c3%28",
        ),
        "form with a NUL": (AS_FORM, b"grant_type=%00&scope=%00"),
        "form with 1e999": (
            AS_FORM,
            b"grant_type=client_credentials&expires_in=1e999&scope=" + b"9" * 400,
        ),
        "form nested 10,000 deep": (AS_FORM, b"grant_type=" + b"%5B" * DEEP),
        "form with repeated parameters": (
            AS_FORM,
            b"grant_type=client_credentials&grant_type=password",
        ),
        "form without '='": (AS_FORM, b"&&&=&==&grant_type"),
        "empty form": (AS_FORM, b""),
        "gzip that is not gzip": ({"Content-Type": JSON, "Content-Encoding": "gzip"}, b"{}not gzip"),
        "unknown content encoding": ({"Content-Type": JSON, "Content-Encoding": "x-fuzz"}, b"{}"),
        "charset that does not exist": ({"Content-Type": f"{FORM}; charset=x-fuzz"}, b"grant_type=a"),
        "multipart": (
            {"Content-Type": "multipart/form-data; boundary=x"},
            b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff\r\n--x--",
        ),
    }


@dataclass
class Credentials:
    """What each route policy needs."""

    admin: str
    bearer: str
    network: str
    session: str
    client: TenantCreds
    console: dict[str, str]

    def headers(self, path: str, policy: str) -> dict[str, str]:
        """The Authorization header for ``policy`` on ``path``."""
        if policy == "admin":
            return {"Authorization": f"Bearer {self.admin}"}
        if policy == "flow-session":
            return {"Authorization": f"Bearer {self.session}"}
        if policy.startswith("staff-session"):
            return dict(self.console)
        if policy.startswith("scope:"):
            token = self.network if path.startswith("/number-verification/") else self.bearer
            return {"Authorization": f"Bearer {token}"}
        if path in CLIENT_AUTH:
            basic = base64.b64encode(f"{self.client.client_id}:{self.client.client_secret}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        return {}


@pytest.fixture
async def live(database_url: str) -> AsyncIterator[tuple[Stack, Credentials]]:
    """A gateway + sandbox (SQLite, then PostgreSQL) with a tenant holding every scope, a network
    token and a flow session."""
    async with flows_stack(database_url, public=True) as (stack, _):
        creds = await stack.tenant(
            sorted(KNOWN_SCOPES | {PURPOSE}),
            sandbox=True,
            redirect_uris=[REDIRECT_URI],
        )
        bearer = await stack.access_token(creds)
        phone = await stack.subscriber("cmcc")
        network = await stack.code_flow(
            creds, phone, f"openid {PURPOSE} number-verification:verify", REDIRECT_URI
        )
        headers = {"Authorization": f"Bearer {bearer}"}
        template = await stack.http.post(
            f"{stack.gateway_url}/push/v1/templates/builtin/claim-location",
            json={"signature": "平安银行"},
            headers=headers,
        )
        assert template.status_code == 201, template.text
        sent = await stack.http.post(
            f"{stack.gateway_url}/push/v1/messages",
            json={
                "templateId": template.json()["id"],
                "to": phone,
                "params": {"claimNo": "BA1", "insurerName": "平安产险"},
            },
            headers=headers,
        )
        assert sent.status_code == 202, sent.text
        redeemed = await redeem(
            stack, code_of(sent.json()["link"]), await h5_token(stack, phone), operator="cmcc"
        )
        assert redeemed.status_code == 200, redeemed.text
        session = redeemed.json()["session"]
        SENSITIVE.add(session)
        admin, password = await create_staff(stack, creds.tenant_id, "admin")
        async with console_client(stack) as console:
            assert (await console.sign_in(admin["username"], password)).status_code == 200
            cookie = {
                "Cookie": f"gw_console={console.http.cookies['gw_console']}",
                "X-CSRF-Token": str(console.csrf),
            }
        yield stack, Credentials(stack.admin_token, bearer, network["access_token"], session, creds, cookie)


def _shapes(method: str, path: str, status: int) -> set[str]:
    """The error bodies the document gives for ``status`` on the operation: ``oauth`` (RFC 6749)
    and/or ``contract``; the contract's alone for a status it does not list."""
    response = DOCUMENT["paths"][path][method.lower()]["responses"].get(str(status))
    if response is None:
        return {"contract"}
    schema = json.dumps(response["content"][JSON]["schema"])
    return {name for name, ref in (("oauth", "OAuthErrorBody"), ("contract", "ErrorInfo")) if ref in schema}


def _shape_fault(method: str, path: str, resp: httpx.Response) -> str | None:
    """Why ``resp`` is not an answer the route may give to a malformed body, or None."""
    if resp.status_code >= 500:
        return "a server error"
    if resp.status_code < 400:
        return None
    if not resp.headers.get("content-type", "").startswith(JSON):
        return f"content type {resp.headers.get('content-type')!r}"
    try:
        body = resp.json()
    except ValueError:
        return "the body is not JSON"
    if not isinstance(body, dict):
        return "the body is not an object"
    contract = (
        set(body) == {"status", "code", "message"}
        and body["status"] == resp.status_code
        and CODE.match(str(body["code"])) is not None
        and isinstance(body["message"], str)
    )
    oauth = set(body) == {"error", "error_description"} and all(isinstance(v, str) for v in body.values())
    shapes = _shapes(method, path, resp.status_code)
    if ("contract" in shapes and contract) or ("oauth" in shapes and oauth):
        return None
    return f"not the documented error body ({' or '.join(sorted(shapes))})"


async def test_malformed_bodies_never_get_a_5xx_and_errors_keep_their_shape(
    live: tuple[Stack, Credentials],
) -> None:
    """Every POST/PUT/PATCH route, every malformed body: no 5xx; 4xx in the route's error shape."""
    stack, credentials = live
    assert len(ROUTES) >= 25, ROUTES
    faults: list[str] = []
    sent = 0
    started = time.perf_counter()
    for method, template, policy in ROUTES:
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], template)
        for name, (body_headers, raw) in bodies(_properties(method, template)).items():
            headers = {**credentials.headers(template, policy), **body_headers}
            resp = await stack.http.request(
                method, f"{stack.gateway_url}{path}", content=raw, headers=headers
            )
            sent += 1
            fault = _shape_fault(method, template, resp)
            if fault is not None:
                faults.append(f"{method} {template} [{name}]: {resp.status_code} {fault}: {resp.text[:160]}")
    elapsed = time.perf_counter() - started
    print(f"fuzz: {sent} requests on {len(ROUTES)} routes in {elapsed:.1f} s, {len(faults)} faults")
    assert not faults, "\n".join(faults)
