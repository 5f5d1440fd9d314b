"""The outbound HTTP of single sign-on: discovery, JWKS and token calls to a tenant's identity provider.

The same SSRF guards as webhook deliveries (:mod:`gateway.webhooks.egress`): every URL passes
:func:`~gateway.webhooks.addresses.check_webhook_url` (``https`` only, no private or local hosts)
and, at connect time, :class:`~gateway.webhooks.egress.GuardedResolver` and
:func:`~gateway.webhooks.egress.guarded_socket` refuse every address that is not globally routable,
unless ``allow_private`` (``GATEWAY_ALLOW_PRIVATE_WEBHOOKS``, true under ``gateway up`` and in the
tests, whose identity provider is the sandbox on 127.0.0.1). Redirects are not followed, proxies
from the environment are ignored, cookies are not kept, answers are read up to 256 KiB, and each
call has one overall timeout. Every failure is :class:`IdpUnreachable`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from gateway.webhooks.addresses import UrlRefused, check_webhook_url
from gateway.webhooks.egress import GuardedResolver, guarded_socket

__all__ = ["IdpHttp", "IdpUnreachable"]

_MAX_BODY = 256 * 1024
_USER_AGENT = "carrier-gateway-sso/1"


class IdpUnreachable(Exception):
    """The identity provider could not be asked, or answered something that is not a JSON object;
    ``str()`` says why (no secret in it)."""


class IdpHttp:
    """GETs and form POSTs to identity providers, answering JSON objects; close with :meth:`aclose`."""

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float = 10.0,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_private = allow_private
        self._timeout = timeout
        self._resolver = resolver
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session: aiohttp.ClientSession | None = None

    def check_url(self, url: str) -> str:
        """The URL if the policy accepts it. :raises IdpUnreachable: it does not."""
        try:
            return check_webhook_url(url, allow_private=self.allow_private)
        except UrlRefused as exc:
            raise IdpUnreachable(f"refused URL: {exc}") from exc

    async def get_json(self, url: str) -> dict[str, Any]:
        """The JSON object a GET of ``url`` answers with 200. :raises IdpUnreachable: anything else."""
        status, body = await self._call("GET", url, None, None)
        if status != 200:
            raise IdpUnreachable(f"GET answered {status}")
        return body

    async def post_form(
        self, url: str, form: Mapping[str, str], *, basic: tuple[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST ``form`` (urlencoded, with HTTP Basic ``basic`` when given): the status and the JSON
        object answered. :raises IdpUnreachable: no answer, or not a JSON object."""
        headers = {}
        if basic is not None:
            credentials = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode("ascii")
            headers["Authorization"] = "Basic " + credentials
        return await self._call("POST", url, dict(form), headers)

    async def _call(
        self, method: str, url: str, form: dict[str, str] | None, extra: Mapping[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        self.check_url(url)
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT, **(extra or {})}
        try:
            async with self._open().request(
                method, url, data=form, headers=headers, allow_redirects=False
            ) as answer:
                raw = await answer.content.read(_MAX_BODY + 1)
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise IdpUnreachable(f"{method} failed: {type(exc).__name__}") from exc
        if len(raw) > _MAX_BODY:
            raise IdpUnreachable(f"{method} answer larger than {_MAX_BODY} bytes")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise IdpUnreachable(f"{method} answered {status} without JSON") from exc
        if not isinstance(body, dict):
            raise IdpUnreachable(f"{method} answered {status} with JSON that is not an object")
        return status, body

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver: AbstractResolver = (
                (self._resolver or DefaultResolver())
                if self.allow_private
                else GuardedResolver(self._resolver)
            )
            connector = aiohttp.TCPConnector(
                resolver=resolver,
                socket_factory=None if self.allow_private else guarded_socket,
                use_dns_cache=False,
                limit_per_host=8,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )
        return self._session

    async def aclose(self) -> None:
        """Close the session and its pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
            await asyncio.sleep(0)
