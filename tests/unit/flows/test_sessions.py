"""Flow session tokens (gateway.flows.sessions): shape, storage digest, lifetime."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from gateway.flows.sessions import new_session_token, session_digest, session_expiry, well_formed

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_tokens_are_opaque_256_bit_and_unique() -> None:
    """``fls_`` + 43 base64url characters (32 random bytes); no two alike."""
    tokens = {new_session_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        assert token.startswith("fls_") and len(token) == 47 and well_formed(token)


def test_only_the_digest_is_stored() -> None:
    """The stored value is the SHA-256 hex of the bearer, not the bearer."""
    token = new_session_token()
    assert session_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in session_digest(token)


@given(st.text(max_size=80))
def test_malformed_bearers_are_refused_before_lookup(text: str) -> None:
    """Exactly ``fls_`` + 43 base64url characters is well formed; anything else fails the check."""
    shaped = len(text) == 43 and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)
    assert well_formed("fls_" + text) is shaped


def test_access_tokens_are_not_sessions() -> None:
    """A JWT or a token without the prefix never looks like a session."""
    assert not well_formed("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    assert not well_formed("fls_" + "a" * 42)
    assert not well_formed("fls_" + "a" * 44)
    assert not well_formed(" fls_" + "a" * 43)
    assert not well_formed("fls_" + "a" * 43 + "\n")


def test_a_session_never_outlives_its_link() -> None:
    """The lifetime is the TTL, capped at the link's expiry."""
    assert session_expiry(NOW, 900, NOW + timedelta(days=1)) == NOW + timedelta(seconds=900)
    assert session_expiry(NOW, 900, NOW + timedelta(seconds=60)) == NOW + timedelta(seconds=60)
