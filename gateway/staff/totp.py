"""TOTP second factor (RFC 6238 with pyotp): SHA-1, 6 digits, 30-second steps, one step of drift
either way, and no replay.

:func:`accepted_step` returns the time step a code belongs to, which the caller stores per member
(``staff_members.totp_last_step``): a code whose step is not later than the stored one is refused,
so a code seen over a shoulder or replayed from a log cannot sign in again within its window.
:func:`enrolment` builds the ``otpauth://`` URI authenticator apps read and its QR code, an SVG made
here with segno (no script, no third-party service sees the secret), also as a ``data:`` image URL
for pages whose CSP forbids inline markup from scripts.
"""

from __future__ import annotations

import base64
import hmac
import io
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno

__all__ = ["DIGITS", "INTERVAL", "VALID_WINDOW", "TotpEnrolment", "accepted_step", "enrolment", "new_secret"]

DIGITS = 6
INTERVAL = 30
VALID_WINDOW = 1
"""Steps accepted before and after the current one (clock drift between phone and server)."""


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What a member needs to add the account to an authenticator app (shown once).

    ``secret`` is base32 (to type by hand), ``uri`` the ``otpauth://totp/…`` key URI, ``svg`` its QR
    code as an inline ``<svg>`` element, ``image`` the same symbol as a standalone SVG (namespaced,
    on a white ground) in a ``data:image/svg+xml;base64,…`` URL for an ``<img src>``.
    """

    secret: str
    uri: str
    svg: str
    image: str


def new_secret() -> str:
    """A fresh 160-bit secret in base32 (RFC 4226 §4 recommends 160 bits)."""
    return pyotp.random_base32(32)


def enrolment(secret: str, *, username: str, issuer: str) -> TotpEnrolment:
    """The key URI (label ``issuer:username``; SHA1, 6 digits and 30 s are the Key URI Format's
    defaults, so the URI leaves them out) and its QR code."""
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=username, issuer_name=issuer.replace(":", " ")
    )
    qr = segno.make_qr(uri, error="m")
    title = f"{issuer} TOTP"
    svg = qr.svg_inline(scale=4, title=title)
    standalone = io.BytesIO()
    qr.save(standalone, kind="svg", xmldecl=False, nl=False, scale=4, light="#fff", title=title)
    image = "data:image/svg+xml;base64," + base64.b64encode(standalone.getvalue()).decode("ascii")
    return TotpEnrolment(secret=secret, uri=uri, svg=svg, image=image)


def accepted_step(secret: str, code: str, *, at: datetime, after: int | None) -> int | None:
    """The time step within :data:`VALID_WINDOW` of ``at`` whose code is ``code`` and which is later
    than ``after`` (the last step accepted), or None. Every step of the window is compared, in
    constant time per comparison."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    now = totp.timecode(at)
    found = None
    for step in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (after is None or step > after):
            found = step
    return found
