"""Staff passwords: argon2id hashes (argon2-cffi) and the rules a new password must meet.

:class:`Passwords` hashes with argon2-cffi's defaults, RFC 9106's second recommended option
(argon2id, t=3, m=64 MiB, p=4, 16-byte salt, 32-byte tag), in a worker thread: one hash takes about
0.1 s of CPU and must not stall the event loop (argon2-cffi releases the GIL meanwhile). A hash made
with other parameters verifies and reports :meth:`Passwords.needs_rehash`, so sign-in upgrades it.
An unknown username still costs one verification, against a dummy hash made on the first
verification of any kind, so the time of a failed sign-in does not tell whether the username exists.

The rules (:func:`password_problem`) follow NIST SP 800-63B §3.1.1.2 rather than composition
rules: 12 to 128 characters, not containing the username, not a common password with some digits or
symbols added, not a run of one character, a keyboard row or a sequence.
"""

from __future__ import annotations

import asyncio
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "Passwords", "password_problem"]

MIN_LENGTH = 12
MAX_LENGTH = 128
_COMMON_WORDS = frozenset(
    {
        "password",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "pass",
        "admin",
        "administrator",
        "root",
        "qwerty",
        "qwertyuiop",
        "asdfghjkl",
        "zxcvbnm",
        "letmein",
        "welcome",
        "changeme",
        "iloveyou",
        "woaini",
        "monkey",
        "dragon",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "superman",
        "trustno",
        "master",
        "shadow",
        "abc",
        "test",
        "teller",
        "supervisor",
        "gateway",
        "bank",
    }
)
"""Words that, with digits and symbols around them, make most leaked passwords of this length."""
_SEQUENCES = (
    "0123456789" * 3,
    "9876543210" * 3,
    "abcdefghijklmnopqrstuvwxyz" * 2,
    "zyxwvutsrqponmlkjihgfedcba" * 2,
    "qwertyuiopasdfghjklzxcvbnm" * 2,
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm",
    "zaq12wsxcde34rfvbgt56yhnmju7",
    "1q2w3e4r5t6y7u8i9o0p",
)
_PADDING = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$")


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` may not be ``username``'s password, in words, or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must have at most {MAX_LENGTH} characters"
    folded = password.casefold()
    if username and username.casefold() in folded:
        return "must not contain the username"
    core = _PADDING.sub(r"\1", folded)
    if core in _COMMON_WORDS:
        return "is a common password"
    if len(set(folded)) < 4:
        return "repeats too few characters"
    if any(folded in sequence for sequence in _SEQUENCES):
        return "is a keyboard or alphabet sequence"
    return None


class Passwords:
    """argon2id hashing and verification; ``hasher`` defaults to argon2-cffi's defaults."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """The encoded argon2id hash (``$argon2id$v=19$m=…,t=…,p=…$salt$tag``) of ``password``."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches the ``stored`` hash (False for a hash that cannot be read).

        ``stored`` None (no such account) is False after the same work as a real verification.
        """
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(24))
        if stored is None:
            await asyncio.to_thread(self._verify, self._dummy, password)
            return False
        return await asyncio.to_thread(self._verify, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with other parameters than this hasher's."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
