"""Single sign-on through the sandbox's bank identity provider (``/bank-idp``), shared by the SSO
integration and browser tests: register the gateway as a client there, give a tenant that provider,
link a member, and walk one browser (its own cookie jar) through the flow without a browser."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx

from tests.leaks import SENSITIVE
from tests.stack import Stack
from tests.unit.console.support import admin_call

__all__ = ["BankClient", "bank_client", "bank_employee", "configure_sso", "link", "walk_sso"]

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


class BankClient:
    """The gateway's client registration at the sandbox's bank identity provider."""

    def __init__(self, issuer: str, client_id: str, client_secret: str) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret


async def bank_client(stack: Stack) -> BankClient:
    """Register the gateway's callback at the bank provider: its client id and secret."""
    resp = await stack.http.post(
        f"{stack.sandbox_url}/bank-idp/sandbox/clients",
        json={"redirect_uris": [f"{stack.settings.issuer.rstrip('/')}/console/sso/callback"]},
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    SENSITIVE.add(body["client_secret"])
    return BankClient(f"{stack.sandbox_url}/bank-idp", body["client_id"], body["client_secret"])


async def bank_employee(stack: Stack, sub: str, name: str | None = None) -> None:
    """An employee of the bank provider with subject ``sub``."""
    resp = await stack.http.post(
        f"{stack.sandbox_url}/bank-idp/sandbox/users", json={"sub": sub, "name": name or sub}
    )
    assert resp.status_code == 201, resp.text


async def configure_sso(stack: Stack, tenant_id: str, client: BankClient) -> dict[str, Any]:
    """``PUT /admin/tenants/{tenant_id}/sso`` with the bank provider; the answer."""
    resp = await admin_call(
        stack,
        "PUT",
        f"/admin/tenants/{tenant_id}/sso",
        {"issuer": client.issuer, "clientId": client.client_id, "clientSecret": client.client_secret},
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def link(stack: Stack, tenant_id: str, staff_id: str, subject: str) -> dict[str, Any]:
    """Link a member to ``subject`` at the provider; the member."""
    resp = await admin_call(
        stack, "PUT", f"/admin/tenants/{tenant_id}/staff/{staff_id}/sso-subject", {"subject": subject}
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def walk_sso(
    http: httpx.AsyncClient, stack: Stack, tenant_id: str, sub: str | None, *, cancel: bool = False
) -> httpx.Response:
    """One browser's sign-in: start at the gateway, press the employee ``sub``'s button (or cancel)
    at the provider, follow the redirect back; the gateway's answer to the callback."""
    start = await http.get(f"{stack.gateway_url}/console/sso/{tenant_id}/start")
    assert start.status_code == 303, start.text
    authorize = start.headers["Location"]
    if not authorize.startswith(stack.sandbox_url):
        return start
    page = await http.get(authorize)
    assert page.status_code == 200, page.text
    form = {name: unescape(value) for name, value in _HIDDEN.findall(page.text)}
    form |= {"cancel": "1"} if cancel else {"sub": sub or ""}
    submitted = await http.post(f"{stack.sandbox_url}/bank-idp/authorize", data=form)
    assert submitted.status_code == 302, submitted.text
    back = submitted.headers["Location"]
    assert back.startswith(f"{stack.settings.issuer.rstrip('/')}/console/sso/callback?"), back
    return await http.get(back)
