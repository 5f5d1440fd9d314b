"""gateway.oauth.jws.decode: pyjwt's decoder with a regex segment check that must accept and
refuse exactly what pyjwt's own byte-by-byte check does."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.oauth import jws

_KEY = ec.generate_private_key(ec.SECP256R1())
_OPTIONS: dict[str, Any] = {"algorithms": ["ES256"], "audience": "https://gw.example", "leeway": 0}


def _token() -> str:
    now = int(time.time())
    claims = {"aud": "https://gw.example", "iat": now, "exp": now + 60, "sub": "s", "phn": "x" * 300}
    return jwt.encode(claims, _KEY, algorithm="ES256", headers={"kid": "k1"})


def _outcome(decoder: Any, token: str) -> tuple[str, Any]:
    try:
        return "ok", decoder(token, _KEY.public_key(), **_OPTIONS)
    except jwt.PyJWTError as exc:
        return type(exc).__name__, str(exc)


def _variants(token: str) -> list[str]:
    """The token with each segment padded, lengthened, truncated, re-alphabeted or made non-canonical."""
    parts = token.split(".")
    edits = [
        lambda s: s + "=",
        lambda s: s + "==",
        lambda s: s + "===",
        lambda s: s + "A=",
        lambda s: s + "A",
        lambda s: s[:-1],
        lambda s: s[:-2] + "==",
        lambda s: "",
        lambda s: s[:5] + "+" + s[6:],
        lambda s: s[:5] + "/" + s[6:],
        lambda s: s[:5] + "!" + s[6:],
        lambda s: s[:5] + "é" + s[6:],
        lambda s: s[:5] + " " + s[6:],
        lambda s: s + "\n",
        lambda s: s[:-1] + chr(ord(s[-1]) ^ 1),
    ]
    return [
        ".".join([*parts[:i], edit(part), *parts[i + 1 :]]) for i, part in enumerate(parts) for edit in edits
    ]


def test_a_valid_token_decodes_to_the_same_claims() -> None:
    """A well-formed, correctly signed token gives pyjwt's claims."""
    token = _token()
    assert _outcome(jws.decode, token) == _outcome(jwt.decode, token)
    assert _outcome(jws.decode, token)[0] == "ok"


def test_malformed_segments_are_refused_exactly_as_pyjwt_refuses_them() -> None:
    """Every variant (padding, lengths, foreign characters, non-canonical last character, in the
    header, the payload and the signature) meets the same error, with the same message."""
    for token in _variants(_token()):
        assert _outcome(jws.decode, token) == _outcome(jwt.decode, token), token


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="AQgw_-=+/!.é \n", max_size=14) | st.binary(max_size=14).map(lambda b: b.hex()))
def test_the_segment_check_agrees_with_pyjwt_on_any_segment(text: str) -> None:
    """For any segment, the override returns the same bytes or raises the same error as pyjwt's."""
    segment = text.encode()

    def run(check: Any) -> tuple[str, Any]:
        try:
            return "ok", check(segment, "payload")
        except jwt.DecodeError as exc:
            return "error", str(exc)

    assert run(jws._JWS._decode_base64url_segment) == run(jwt.PyJWS._decode_base64url_segment)


def test_pyjwt_calls_the_override_once_per_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The override is what pyjwt calls (for header, payload and signature), and pyjwt's own check
    is not: were pyjwt to rename it, this fails instead of the override silently going unused."""
    calls: list[str] = []
    override = jws._JWS._decode_base64url_segment

    def counted(segment: bytes, name: str) -> bytes:
        calls.append(name)
        return override(segment, name)

    def stock(segment: bytes, name: str) -> bytes:
        raise AssertionError("pyjwt's own segment check ran")

    monkeypatch.setattr(jws._JWS, "_decode_base64url_segment", staticmethod(counted))
    monkeypatch.setattr(jwt.PyJWS, "_decode_base64url_segment", staticmethod(stock))
    assert _outcome(jws.decode, _token())[0] == "ok"
    assert sorted(calls) == ["crypto", "header", "payload"]
