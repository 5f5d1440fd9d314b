"""Access-token claim pins hold for any token signed with the gateway's own key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from gateway.crypto import FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.oauth.keys import KeyStore
from gateway.oauth.tokens import AccessTokens, InvalidToken
from tests.stack import SettableClock

_ISSUER = "http://gw"


@pytest.fixture
async def signed(tmp_path: Path) -> AsyncIterator[tuple[AccessTokens, KeyStore, SettableClock]]:
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    await migrate(engine)
    clock = SettableClock()
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    keys = KeyStore(session_factory(engine), cipher, clock, max_token_ttl=300)
    await keys.load()
    yield AccessTokens(keys, clock, cipher, issuer=_ISSUER, ttl=300), keys, clock
    await engine.dispose()


def _sign(keys: KeyStore, claims: dict[str, Any]) -> str:
    key = keys.signing_key
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid, "typ": "at+jwt"})


def _claims(now: int, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": _ISSUER,
        "aud": _ISSUER,
        "sub": "c1",
        "client_id": "c1",
        "tid": "t1",
        "scope": "sim-swap",
        "iat": now,
        "exp": now + 60,
        "jti": "j1",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": [_ISSUER]},
        {"aud": "http://elsewhere"},
        {"iss": "http://elsewhere"},
        {"jti": None},
        {"sub": None},
        {"exp": None},
        {"iat": "yesterday"},
    ],
    ids=["aud-list", "other-aud", "other-iss", "no-jti", "no-sub", "no-exp", "text-iat"],
)
async def test_a_token_breaking_a_claim_pin_is_refused(
    signed: tuple[AccessTokens, KeyStore, SettableClock], changes: dict[str, Any]
) -> None:
    """``aud`` is exactly the issuer (a list is refused), ``iss`` too, and the required claims are
    present and well typed, even on a token our own key signed."""
    tokens, keys, clock = signed
    now = int(clock.now().timestamp())
    assert (await tokens.verify(_sign(keys, _claims(now)))).tenant_id == "t1"
    with pytest.raises(InvalidToken):
        await tokens.verify(_sign(keys, _claims(now, **changes)))


async def test_token_times_follow_the_injected_clock_with_30_s_leeway(
    signed: tuple[AccessTokens, KeyStore, SettableClock],
) -> None:
    """``exp`` and ``iat`` are judged by the gateway's clock: valid until ``exp`` + 30 s, and from
    ``iat`` - 30 s."""
    tokens, keys, clock = signed
    now = int(clock.now().timestamp())
    assert await tokens.verify(_sign(keys, _claims(now, iat=now - 100, exp=now - 29, jti="a")))
    with pytest.raises(InvalidToken):
        await tokens.verify(_sign(keys, _claims(now, iat=now - 100, exp=now - 30, jti="b")))
    assert await tokens.verify(_sign(keys, _claims(now, iat=now + 30, exp=now + 90, jti="c")))
    with pytest.raises(InvalidToken):
        await tokens.verify(_sign(keys, _claims(now, iat=now + 31, exp=now + 90, jti="d")))
