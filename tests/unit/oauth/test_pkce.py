"""PKCE S256 (RFC 7636)."""

from __future__ import annotations

from gateway.oauth import pkce

RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_matches_the_rfc_7636_appendix_b_vector() -> None:
    """The S256 challenge of the RFC's example verifier is the RFC's example challenge."""
    assert pkce.s256(RFC_VERIFIER) == RFC_CHALLENGE
    assert pkce.verifies(RFC_VERIFIER, RFC_CHALLENGE)


def test_wrong_or_malformed_verifiers_do_not_verify() -> None:
    """A different verifier, a too-short one, or the challenge itself (a 'plain' downgrade) fails."""
    assert not pkce.verifies(RFC_VERIFIER[:-1] + "l", RFC_CHALLENGE)
    assert not pkce.verifies("short", pkce.s256("short"))
    assert not pkce.verifies(RFC_CHALLENGE, RFC_CHALLENGE)


def test_shapes() -> None:
    """Challenges are 43 base64url characters; verifiers 43-128 unreserved characters."""
    assert pkce.is_challenge(RFC_CHALLENGE) and not pkce.is_challenge(RFC_CHALLENGE + "A")
    assert (
        pkce.is_verifier("a" * 128) and not pkce.is_verifier("a" * 129) and not pkce.is_verifier("a b" * 20)
    )
