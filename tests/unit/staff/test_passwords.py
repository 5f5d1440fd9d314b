"""Staff passwords: argon2id hashes with argon2-cffi's defaults, rehash of outdated hashes, the same
work for an unknown account, and the rules a new password must meet."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from gateway.staff.passwords import MAX_LENGTH, MIN_LENGTH, Passwords, password_problem

ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$")


async def test_hashes_are_argon2id_with_rfc_9106_parameters_and_a_fresh_salt() -> None:
    """A hash is argon2id v1.3 with m=64 MiB, t=3, p=4, a 16-byte salt and a 32-byte tag; the same
    password hashes differently each time, and only the right password verifies."""
    passwords = Passwords()
    first = await passwords.hash("correct horse battery staple")
    second = await passwords.hash("correct horse battery staple")

    assert ARGON2ID.match(first) and ARGON2ID.match(second)
    assert first != second
    assert await passwords.verify(first, "correct horse battery staple")
    assert not await passwords.verify(first, "correct horse battery stapl")
    assert not passwords.needs_rehash(first)


async def test_a_hash_with_weaker_parameters_verifies_and_needs_a_rehash() -> None:
    """A hash made with other parameters still verifies, and is reported as needing a rehash; a
    string that is not an argon2 hash never verifies and needs one too."""
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse battery staple")
    passwords = Passwords()

    assert await passwords.verify(weak, "correct horse battery staple")
    assert passwords.needs_rehash(weak)
    assert not await passwords.verify("sha256$abc", "correct horse battery staple")
    assert passwords.needs_rehash("sha256$abc")


async def test_an_unknown_account_costs_one_verification_against_a_dummy_hash() -> None:
    """``verify(None, …)`` is False after one real argon2 verification (against a hash made once),
    so a sign-in with an unknown username takes as long as one with a known username."""
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # type: ignore[override]
            calls.append(str(hash))
            return super().verify(hash, password)

    passwords = Passwords(Counting())
    assert not await passwords.verify(None, "correct horse battery staple")
    assert not await passwords.verify(None, "another horse battery staple")
    assert len(calls) == 2 and calls[0] == calls[1] and calls[0].startswith("$argon2id$")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass1", f"must have at least {MIN_LENGTH} characters"),
        ("x" * (MAX_LENGTH + 1), f"must have at most {MAX_LENGTH} characters"),
        ("my-Li.Na@PingAn-secret", "must not contain the username"),
        ("Password2025!", "is a common password"),
        ("p@ssw0rd1234", "is a common password"),
        ("woaini1314520", "is a common password"),
        ("!!Qwerty123456", "is a common password"),
        ("aaaaaaaaaaaaaaa", "repeats too few characters"),
        ("abababababab", "repeats too few characters"),
        ("123456789012", "is a keyboard or alphabet sequence"),
        ("abcdefghijklm", "is a keyboard or alphabet sequence"),
        ("qwertyuiopasd", "is a keyboard or alphabet sequence"),
        ("1qaz2wsx3edc", "is a keyboard or alphabet sequence"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule_they_break(password: str, problem: str) -> None:
    """Too short, too long, containing the username (any case), a common word with digits or
    symbols around it, too few distinct characters, a keyboard or alphabet run: each names its rule."""
    assert password_problem(password, "li.na@pingan") == problem


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "Tr0ub4dor&3-zh", "平安银行柜员口令足够长吗", "x7$Kp2!mQ9#v"],
)
def test_reasonable_passwords_are_accepted(password: str) -> None:
    """Passphrases, mixed passwords and Chinese passwords of 12+ characters pass the rules."""
    assert password_problem(password, "li.na@pingan") is None
