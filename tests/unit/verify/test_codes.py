"""One-time codes and check-URL tokens (gateway.verify.codes): codes are random digits, stored as a
keyed hash scoped to their request and still matched after a key rotation; a check token names its
request and nothing else opens it."""

from __future__ import annotations

import uuid

import pytest

from gateway.crypto import BlindIndex, Keyring, generate_keyring_spec
from gateway.verify.codes import check_token, code_index, code_matches, new_code, request_of_token

V1 = generate_keyring_spec("v1")
V2 = generate_keyring_spec("v2")
REQUEST = str(uuid.uuid4())


def _index(spec: str) -> BlindIndex:
    return BlindIndex(Keyring.parse(spec))


@pytest.mark.parametrize("length", range(4, 11))
def test_a_code_has_the_requested_number_of_decimal_digits(length: int) -> None:
    """new_code(n) is n ASCII digits, every time."""
    codes = [new_code(length) for _ in range(50)]

    assert all(len(code) == length and code.isascii() and code.isdigit() for code in codes)


def test_codes_use_every_digit_and_keep_leading_zeros() -> None:
    """Over 300 six-digit codes every digit appears and some start with 0 (kept as text); repeats
    are rare (the chance of either check failing by luck is below 1e-9)."""
    codes = [new_code(6) for _ in range(300)]

    assert set("".join(codes)) == set("0123456789")
    assert any(code.startswith("0") for code in codes)
    assert len(set(codes)) > 280


def test_the_right_code_matches_and_a_wrong_one_does_not() -> None:
    """The stored index matches its code only, and only for the request it was made for; it is a
    versioned keyed hash, not the code."""
    index = _index(V1)
    stored = code_index(index, REQUEST, "048213")

    assert stored.startswith("v1:") and len(stored) == 43
    assert code_matches(index, REQUEST, "048213", stored)
    assert not code_matches(index, REQUEST, "048214", stored)
    assert not code_matches(index, REQUEST, "48213", stored)
    assert not code_matches(index, str(uuid.uuid4()), "048213", stored)


def test_a_code_stored_before_a_key_rotation_still_matches_after_it() -> None:
    """Stored under v1, a code matches with keyring "v2,v1" (new codes then use v2), and no longer
    once v1 is dropped; another key entirely never matches."""
    stored = code_index(_index(V1), REQUEST, "731905")
    rotated = _index(f"{V2},{V1}")

    assert code_matches(rotated, REQUEST, "731905", stored)
    assert not code_matches(rotated, REQUEST, "731906", stored)
    assert code_index(rotated, REQUEST, "731905").startswith("v2:")
    assert code_matches(rotated, REQUEST, "731905", code_index(rotated, REQUEST, "731905"))
    assert not code_matches(_index(V2), REQUEST, "731905", stored)
    assert not code_matches(_index(generate_keyring_spec("v1")), REQUEST, "731905", stored)


def test_a_check_token_names_its_request() -> None:
    """check_token is <id>.vck_<MAC>; request_of_token gives the id back, also after a rotation."""
    token = check_token(_index(V1), REQUEST)

    assert token.startswith(f"{REQUEST}.vck_")
    assert request_of_token(_index(V1), token) == REQUEST
    assert request_of_token(_index(f"{V2},{V1}"), token) == REQUEST
    assert request_of_token(_index(f"{V2},{V1}"), check_token(_index(f"{V2},{V1}"), REQUEST)) == REQUEST


def _tampered(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("0" if last != "0" else "1")


def test_tampered_foreign_and_swapped_tokens_open_nothing() -> None:
    """A changed MAC, a token from another keyring, a key no longer configured, or another
    request's id in front of a valid MAC: None."""
    index = _index(V1)
    token = check_token(index, REQUEST)
    other = str(uuid.uuid4())

    assert request_of_token(index, _tampered(token)) is None
    assert request_of_token(index, check_token(_index(generate_keyring_spec("v1")), REQUEST)) is None
    assert request_of_token(_index(V2), token) is None
    assert request_of_token(index, other + token[len(REQUEST) :]) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        REQUEST,
        f"{REQUEST}.",
        f"{REQUEST}.vck_",
        ".vck_abcdef",
        "x" * 41 + ".vck_abcdef",
        "not-a-token-at-all",
    ],
    ids=["empty", "no MAC", "empty tail", "empty MAC", "no id", "long id", "garbage"],
)
def test_malformed_tokens_open_nothing(token: str) -> None:
    """Tokens missing a part are None."""
    assert request_of_token(_index(V1), token) is None


def test_a_valid_mac_without_its_prefix_or_on_a_too_long_id_opens_nothing() -> None:
    """The MAC must carry vck_, and ids over 40 characters are refused even with a correct MAC."""
    index = _index(V1)
    bare = check_token(index, REQUEST).replace(".vck_", ".", 1)
    long_id = "a" * 41

    assert request_of_token(index, bare) is None
    assert request_of_token(index, check_token(index, long_id)) is None
    assert request_of_token(index, check_token(index, "a" * 40)) == "a" * 40
