"""A gateway runtime (no HTTP) with fake operators, for the authorization server's service tests."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.oauth.pkce import s256
from gateway.runtime import Runtime, open_runtime
from gateway.settings import OPERATORS, Settings
from gateway.tenants.models import Tenant
from tests.leaks import SENSITIVE
from tests.stack import PREFIXES, SESSION_DATA_KEYS, SESSION_INDEX_KEYS, SettableClock
from tests.unit.oauth.fakes import FakeNetworkOperator, cellular_ip

ISSUER = "https://gw.test"
REDIRECT = "https://bank.test/cb"
PURPOSE = "dpv:FraudPreventionAndDetection"
"""The purpose every 3-legged request for a personal-data scope must carry (gateway.scopes)."""


def query(location: str) -> dict[str, str]:
    """The query parameters of a redirect location."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Client:
    """A registered tenant: its row, secret and (optional) signing key."""

    tenant: Tenant
    secret: str
    key: ec.EllipticCurvePrivateKey | None = None
    kid: str = "k1"

    @property
    def basic(self) -> str:
        """``Authorization: Basic`` for client_secret_basic."""
        raw = f"{self.tenant.client_id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def assertion(self, claims: dict[str, Any], *, now: float | None = None, **header: Any) -> str:
        """An ES256 JWT signed with this client's key; ``iss``/``iat``/``exp``/``jti`` defaulted, and
        dropped when given as None."""
        assert self.key is not None
        issued = int(now if now is not None else time.time())
        body = {
            "iss": self.tenant.client_id,
            "aud": f"{ISSUER}/oauth2/token",
            "iat": issued,
            "exp": issued + 60,
            "jti": secrets.token_urlsafe(12),
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": self.kid, **header})


@dataclass
class Harness:
    """Runtime, clock and the fake operators."""

    runtime: Runtime
    clock: SettableClock
    operators: dict[str, FakeNetworkOperator]
    devices: int = 0

    async def client(
        self, scopes: list[str], *, redirect_uris: list[str] | None = None, signing: bool = False
    ) -> Client:
        """Register a tenant (with an EC key in its JWKS when ``signing``)."""
        key = ec.generate_private_key(ec.SECP256R1()) if signing else None
        jwks = None
        if key is not None:
            public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            jwks = {"keys": [{**public, "kid": "k1", "alg": "ES256", "use": "sig"}]}
        creds = await self.runtime.tenants.create(
            name=f"t-{secrets.token_hex(3)}",
            scopes=scopes,
            redirect_uris=[REDIRECT] if redirect_uris is None else redirect_uris,
            jwks=jwks,
        )
        SENSITIVE.add(creds.client_secret)
        tenant = await self.runtime.tenants.by_client_id(creds.client_id)
        assert tenant is not None
        return Client(tenant, creds.client_secret, key)

    def subscriber(self, operator: str = "cmcc") -> tuple[str, str]:
        """A fresh number on ``operator``'s data network; returns (number, device IP)."""
        phone = f"+86{PREFIXES[operator]}{secrets.randbelow(10**8):08d}"
        SENSITIVE.update({phone, phone[3:]})
        self.devices += 1
        ip = cellular_ip(operator, self.devices)
        self.operators[operator].cellular[ip] = phone
        return phone, ip

    def settings(self) -> Settings:
        """The runtime's settings."""
        return self.runtime.settings


def authorize_params(client: Client, **overrides: str | None) -> dict[str, list[str]]:
    """A valid authorization request of ``client`` (S256 challenge of ``"v" * 43``), as parsed params."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client.tenant.client_id,
        "redirect_uri": REDIRECT,
        "scope": f"openid {PURPOSE} number-verification:verify",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": s256("v" * 43),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {k: [v] for k, v in params.items() if v is not None}


@pytest.fixture
async def harness(sqlite_url: str) -> AsyncIterator[Harness]:
    """A runtime on a fresh SQLite database with three fake operators."""
    async with _open(sqlite_url) as h:
        yield h


@pytest.fixture
async def any_db_harness(database_url: str) -> AsyncIterator[Harness]:
    """The same, once on SQLite and once on PostgreSQL."""
    async with _open(database_url) as h:
        yield h


@asynccontextmanager
async def _open(database_url: str) -> AsyncIterator[Harness]:
    clock = SettableClock()
    operators = {op: FakeNetworkOperator(op) for op in OPERATORS}
    settings = Settings(
        database_url=database_url,
        data_keys=SESSION_DATA_KEYS,
        index_keys=SESSION_INDEX_KEYS,
        public_url=ISSUER,
    )
    async with open_runtime(settings, clock=clock, exchangers=operators) as runtime:
        yield Harness(runtime, clock, operators)
