"""TOTP: the code of the current 30-second step and of one step either side is accepted, nothing
further; a step at or before the last accepted one is refused (no replay); the enrolment's key URI
names the issuer and the account, and its SVG (inline and as a data: image) is the QR symbol of
that URI."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import segno

from gateway.staff.totp import INTERVAL, accepted_step, enrolment, new_secret

AT = datetime(2026, 5, 1, 8, 0, 10, tzinfo=UTC)
STEP = int(AT.timestamp()) // INTERVAL


def _code(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def test_the_current_code_is_accepted_and_names_its_step() -> None:
    """The authenticator's code for now is accepted as the current step; spaces around or inside
    (as apps show ``123 456``) do not matter."""
    secret = new_secret()
    code = pyotp.TOTP(secret).at(AT)
    assert accepted_step(secret, code, at=AT, after=None) == STEP
    assert accepted_step(secret, f" {code[:3]} {code[3:]} ", at=AT, after=None) == STEP


def test_one_step_of_drift_either_way_is_accepted_two_are_not() -> None:
    """Codes of the previous and next step pass (phone and server clocks drift); two steps away fail."""
    secret = new_secret()
    assert accepted_step(secret, _code(secret, STEP - 1), at=AT, after=None) == STEP - 1
    assert accepted_step(secret, _code(secret, STEP + 1), at=AT, after=None) == STEP + 1
    for far in (STEP - 2, STEP + 2):
        code = _code(secret, far)
        if code not in {_code(secret, s) for s in (STEP - 1, STEP, STEP + 1)}:
            assert accepted_step(secret, code, at=AT, after=None) is None


def test_wrong_and_malformed_codes_are_refused() -> None:
    """Another secret's code, 5 or 7 digits, letters and full-width digits never match."""
    secret, other = new_secret(), new_secret()
    current = pyotp.TOTP(secret).at(AT)
    wrong = pyotp.TOTP(other).at(AT)
    if wrong != current:
        assert accepted_step(secret, wrong, at=AT, after=None) is None
    for code in (
        current[:5],
        current + "0",
        "abcdef",
        "",
        "".join(chr(0xFF10 + int(d)) for d in current),
    ):
        assert accepted_step(secret, code, at=AT, after=None) is None


def test_a_code_is_not_accepted_twice() -> None:
    """Once a step was accepted, its code (and any earlier step's) is refused within its window;
    the next step's code is accepted."""
    secret = new_secret()
    code = pyotp.TOTP(secret).at(AT)
    assert accepted_step(secret, code, at=AT, after=STEP) is None
    assert accepted_step(secret, code, at=AT + timedelta(seconds=INTERVAL), after=STEP) is None
    assert accepted_step(secret, _code(secret, STEP - 1), at=AT, after=STEP) is None
    later = AT + timedelta(seconds=INTERVAL)
    assert accepted_step(secret, pyotp.TOTP(secret).at(later), at=later, after=STEP) == STEP + 1


def test_secrets_are_160_bit_base32_and_differ() -> None:
    """A secret is 32 base32 characters (160 bits), new each time."""
    first, second = new_secret(), new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", first) and first != second


def _svg_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules (row, column) drawn by segno's path (``M x y``, ``h n``, ``m dx dy``)."""
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path.group(1)):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark.update((int(y), int(x) + i) for i in range(int(a)))
            x += float(a)
    return dark


def _matrix_modules(uri: str, border: int = 4) -> set[tuple[int, int]]:
    matrix = segno.make_qr(uri, error="m").matrix
    return {(r + border, c + border) for r, row in enumerate(matrix) for c, v in enumerate(row) if v}


def test_enrolment_uri_and_qr_code() -> None:
    """The key URI is ``otpauth://totp/<issuer>:<username>`` with the secret and the issuer; the
    SVG (an inline ``<svg>`` without script) draws exactly the QR symbol of that URI, and not the
    symbol of a URI with another secret."""
    secret = new_secret()
    made = enrolment(secret, username="li.na@pingan", issuer="平安银行")

    parts = urlsplit(made.uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/%E5%B9%B3%E5%AE%89%E9%93%B6%E8%A1%8C:li.na%40pingan"
    assert parse_qs(parts.query) == {"secret": [secret], "issuer": ["平安银行"]}
    assert made.secret == secret
    assert made.svg.startswith("<svg") and made.svg.endswith("</svg>")
    assert "<script" not in made.svg and "http" not in made.svg
    assert _svg_modules(made.svg) == _matrix_modules(made.uri)
    other = made.uri.replace(secret, new_secret())
    assert _svg_modules(made.svg) != _matrix_modules(other)


def test_the_image_is_a_standalone_svg_of_the_same_symbol() -> None:
    """``image`` is a ``data:image/svg+xml;base64`` URL of an SVG document an ``<img>`` renders:
    the SVG namespace, a white ground (readable in a dark page), no script or link, and exactly the
    modules of the enrolment's URI."""
    made = enrolment(new_secret(), username="li.na@pingan", issuer="平安银行")
    prefix = "data:image/svg+xml;base64,"
    assert made.image.startswith(prefix)
    svg = base64.b64decode(made.image.removeprefix(prefix), validate=True).decode("utf-8")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" ') and svg.endswith("</svg>")
    assert '<path fill="#fff"' in svg
    assert "<script" not in svg and "href" not in svg and svg.count("http") == 1
    lines = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg)
    assert lines is not None
    assert _svg_modules(f' d="{lines.group(1)}"') == _matrix_modules(made.uri)


def test_a_colon_in_the_issuer_does_not_split_the_label() -> None:
    """The label's only colon separates issuer and account, whatever the tenant's name holds."""
    made = enrolment(new_secret(), username="li.na", issuer="Bank: Shanghai")
    label = urlsplit(made.uri).path.removeprefix("/")
    assert label.count(":") == 1 and label.endswith(":li.na")


@pytest.mark.parametrize("offset", [0, 29])
def test_the_step_follows_the_clock(offset: int) -> None:
    """Within one 30-second step the step number is the same."""
    start = datetime.fromtimestamp(STEP * INTERVAL, UTC)
    secret = new_secret()
    at = start + timedelta(seconds=offset)
    assert accepted_step(secret, pyotp.TOTP(secret).at(at), at=at, after=None) == STEP
