"""Staff accounts made through the admin API and a browser-less console client (its own cookie jar),
shared by the console's integration and browser tests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.leaks import SENSITIVE
from tests.stack import Stack

__all__ = ["ConsoleClient", "console_client", "create_staff", "new_password"]


def new_password() -> str:
    """A password the account rules accept, registered as a log secret."""
    password = "Bank-" + secrets.token_urlsafe(12)
    SENSITIVE.add(password)
    return password


async def create_staff(
    stack: Stack, tenant_id: str, role: str, branches: Sequence[str] = (), *, password: str | None = None
) -> tuple[dict[str, Any], str]:
    """A new staff account of the tenant (``POST /admin/tenants/{id}/staff``): the member and its password."""
    password = password or new_password()
    username = f"{role}.{secrets.token_hex(3)}@bank"
    resp = await stack.http.post(
        f"{stack.gateway_url}/admin/tenants/{tenant_id}/staff",
        json={"username": username, "password": password, "role": role, "branches": list(branches)},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
    )
    assert resp.status_code == 201, resp.text
    member: dict[str, Any] = resp.json()
    return member, password


async def admin_call(stack: Stack, method: str, path: str, body: Any = None) -> httpx.Response:
    """An admin API call with the bootstrap bearer."""
    return await stack.http.request(
        method,
        f"{stack.gateway_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {stack.admin_token}"},
    )


class ConsoleClient:
    """One browser's worth of console state: the cookie jar and the session's CSRF token."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = http
        self.csrf: str | None = None
        self.session: dict[str, Any] = {}

    async def sign_in(
        self,
        username: str,
        password: str,
        totp: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``POST /console/api/session``; keeps the CSRF token of a success."""
        body = {"username": username, "password": password, **({"totp": totp} if totp else {})}
        resp = await self.http.post("/console/api/session", json=body, headers=headers)
        if resp.status_code == 200:
            self.session = resp.json()
            self.csrf = str(self.session["csrfToken"])
            SENSITIVE.add(self.csrf)
            SENSITIVE.add(str(self.http.cookies.get("gw_console")))
        return resp

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        csrf: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """A console API call (``/console/api`` + ``path``) with the cookie, ``headers`` and, unless
        ``csrf`` is False, the session's CSRF token (``headers`` may replace it)."""
        sent = dict(headers or {})
        if csrf and self.csrf is not None:
            sent.setdefault("X-CSRF-Token", self.csrf)
        return await self.http.request(method, "/console/api" + path, json=body, headers=sent)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        """A call that must succeed; its JSON (None for 204)."""
        resp = await self.call(method, path, body)
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.status_code != 204 else None


@asynccontextmanager
async def console_client(stack: Stack) -> AsyncIterator[ConsoleClient]:
    """A fresh cookie jar against the stack's gateway."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10.0) as http:
        yield ConsoleClient(stack, http)
