"""Reading a JWS header before verification (only to choose the key): the same header PyJWT reads,
and malformed input refused with ValueError, never another exception."""

from __future__ import annotations

import base64
import contextlib
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.oauth.assertions import claimed_issuer, unverified_header

_KEY = ec.generate_private_key(ec.SECP256R1())


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_signed_token_s_header_is_the_one_pyjwt_reads() -> None:
    """For a real ES256 token the header equals jwt.get_unverified_header's."""
    token = jwt.encode({"sub": "x"}, _KEY, algorithm="ES256", headers={"typ": "at+jwt", "kid": "k-1"})
    assert unverified_header(token) == jwt.get_unverified_header(token)
    assert unverified_header(token)["kid"] == "k-1"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        _segment(b'{"alg":"ES256"}'),
        _segment(b'{"alg":"ES256"}') + ".e30",
        _segment(b'{"alg":"ES256"}') + ".e30.sig.extra",
        "!!!.e30.sig",
        _segment(b"not json") + ".e30.sig",
        _segment(b'["alg"]') + ".e30.sig",
        _segment(b"[" * 100_000) + ".e30.sig",
        "\u00e9\u00e9.e30.sig",
        _segment(b'{"alg":"ES256"') + ".e30.sig",
    ],
    ids=[
        "empty",
        "one-word",
        "header-only",
        "two-segments",
        "four-segments",
        "not-base64",
        "not-json",
        "json-array",
        "deeply-nested",
        "non-ascii",
        "truncated-json",
    ],
)
def test_malformed_tokens_are_refused_with_value_error(token: str) -> None:
    """Each malformed shape raises ValueError (callers answer 401 / invalid_client, never 500)."""
    with pytest.raises(ValueError):
        unverified_header(token)


_JUNK = st.one_of(st.text(max_size=40), st.lists(st.text(max_size=20), min_size=3, max_size=3).map(".".join))


@settings(max_examples=300, deadline=None)
@given(
    header=st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=12), st.integers()), max_size=4),
    junk=_JUNK,
)
def test_pyjwt_s_reading_is_kept_and_junk_raises_value_error(header: dict[str, object], junk: str) -> None:
    """A well-formed header reads as PyJWT reads it; arbitrary text raises only ValueError."""
    token = _segment(json.dumps(header).encode()) + ".e30.c2ln"
    assert unverified_header(token) == jwt.get_unverified_header(token) == header
    with contextlib.suppress(ValueError):
        unverified_header(junk)


@pytest.mark.parametrize(
    "assertion",
    [
        "e30." + _segment(b"[" * 100_000) + ".sig",
        "e30." + _segment(b'["iss"]') + ".sig",
        "e30." + _segment(b'{"iss": "c"}'),
        "e30.!!!.sig",
    ],
    ids=["deeply-nested", "json-array", "two-segments", "not-base64"],
)
def test_a_malformed_assertion_payload_is_refused_with_value_error(assertion: str) -> None:
    """The claimed issuer of a malformed payload raises ValueError (invalid_client), never another
    exception: a payload nested past the recursion limit was a RecursionError, answered 500."""
    with pytest.raises(ValueError):
        claimed_issuer(assertion)


def test_the_claimed_issuer_is_read_from_the_payload() -> None:
    """A well-formed assertion's ``iss`` is returned unverified (to pick the client's keys)."""
    assertion = jwt.encode({"iss": "client-1"}, _KEY, algorithm="ES256")
    assert claimed_issuer(assertion) == "client-1"
