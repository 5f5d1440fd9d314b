"""The RFC 7523 assertion verifier shared by private_key_jwt and the JWT-bearer grant: malformed
input is refused as invalid (invalid_client, invalid_grant, InvalidToken), never another
exception; keys are chosen by kid with the algorithm their type fixes."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any, cast

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import OAuthError
from gateway.oauth.assertions import AssertionRejected, AssertionVerifier, select_key
from gateway.oauth.client_auth import ASSERTION_TYPE
from gateway.oauth.tokens import InvalidToken
from gateway.replay import InMemoryReplayCache
from gateway.tenants.service import TenantService
from tests.stack import SettableClock
from tests.unit.oauth.conftest import Harness

_KEY = ec.generate_private_key(ec.SECP256R1())
_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_HEADER = _segment(b'{"alg":"ES256","kid":"k1"}')
_MALFORMED = {
    "empty": "",
    "one-word": "abc",
    "header-only": _segment(b'{"alg":"ES256"}'),
    "two-segments": _segment(b'{"alg":"ES256"}') + ".e30",
    "four-segments": _segment(b'{"alg":"ES256"}') + ".e30.sig.extra",
    "not-base64": "!!!.e30.sig",
    "not-json": _segment(b"not json") + ".e30.sig",
    "json-array": _segment(b'["alg"]') + ".e30.sig",
    "header-nested-too-deeply": _segment(b"[" * 2000) + ".e30.c2ln",
    "header-too-long": _segment(b"[" * 100_000) + ".e30.sig",
    "non-ascii": "\u00e9\u00e9.e30.sig",
    "truncated-json": _segment(b'{"alg":"ES256"') + ".e30.sig",
    "payload-nested-too-deeply": f"{_HEADER}.{_segment(b'[' * 2000)}.c2ln",
    "payload-array": f"{_HEADER}.{_segment(b'[1]')}.c2ln",
    "payload-not-base64": f"{_HEADER}.!!!.c2ln",
    "padded-too-much": f"{_HEADER}===.e30.c2ln",
}


@pytest.mark.parametrize("token", list(_MALFORMED.values()), ids=list(_MALFORMED))
async def test_malformed_tokens_are_invalid_everywhere(harness: Harness, token: str) -> None:
    """Each malformed shape is invalid_client as a client assertion, invalid_grant as a JWT-bearer
    assertion and InvalidToken as an access token; never a RecursionError or another crash."""
    runtime = harness.runtime
    with pytest.raises(OAuthError) as client_auth:
        await runtime.client_auth.authenticate(
            None, {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token}
        )
    assert client_auth.value.error == "invalid_client" and client_auth.value.status == 401
    with pytest.raises(OAuthError) as grant:
        await runtime.oauth.token_endpoint.handle(None, {"grant_type": _GRANT, "assertion": token})
    assert grant.value.error == ("invalid_request" if token == "" else "invalid_grant")
    with pytest.raises(InvalidToken):
        await runtime.tokens.verify(token)


class _NoTenants:
    async def by_client_id(self, client_id: str) -> None:
        return None


_JUNK = st.one_of(st.text(max_size=40), st.lists(st.text(max_size=20), min_size=3, max_size=3).map(".".join))


@settings(max_examples=300, deadline=None)
@given(
    header=st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=12), st.integers()), max_size=4),
    payload=st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=12), st.integers()), max_size=4),
    junk=_JUNK,
)
def test_any_input_is_rejected_only_with_assertion_rejected(
    header: dict[str, object], payload: dict[str, object], junk: str
) -> None:
    """Arbitrary text, and well-formed but unsigned JWS shapes, raise AssertionRejected and nothing else."""
    clock = SettableClock()
    verifier = AssertionVerifier(
        cast(TenantService, _NoTenants()),
        InMemoryReplayCache(clock),
        clock,
        audiences={"https://gw.test"},
        replay_scope="test",
        subject_is_client=True,
    )
    shaped = f"{_segment(json.dumps(header).encode())}.{_segment(json.dumps(payload).encode())}.c2ln"
    for candidate in (junk, shaped):
        with pytest.raises(AssertionRejected):
            asyncio.run(verifier.verify(candidate))


def _public_jwk(public_key: Any) -> dict[str, Any]:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return dict(json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key)))
    if isinstance(public_key, rsa.RSAPublicKey):
        return dict(json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key)))
    return dict(json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public_key)))


def test_the_key_type_fixes_the_algorithm() -> None:
    """EC P-256 verifies ES256, RSA RS256 (or its declared PS256), Ed25519 EdDSA; a declared alg that
    contradicts the key type, or an unknown kid, finds no key."""
    ec_public = _KEY.public_key()
    rsa_public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    ed_public = ed25519.Ed25519PrivateKey.generate().public_key()
    jwks = {
        "keys": [
            {**_public_jwk(ec_public), "kid": "ec"},
            {**_public_jwk(rsa_public), "kid": "rsa"},
            {**_public_jwk(rsa_public), "kid": "pss", "alg": "PS256"},
            {**_public_jwk(ed_public), "kid": "ed"},
            {**_public_jwk(ec_public), "kid": "liar", "alg": "RS256"},
        ]
    }
    chosen = {kid: select_key(jwks, kid) for kid in ("ec", "rsa", "pss", "ed", "liar", "absent")}
    algorithms = {kid: key.algorithm_name if key is not None else None for kid, key in chosen.items()}
    assert algorithms == {
        "ec": "ES256",
        "rsa": "RS256",
        "pss": "PS256",
        "ed": "EdDSA",
        "liar": None,
        "absent": None,
    }
