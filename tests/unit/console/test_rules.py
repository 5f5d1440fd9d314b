"""The console's pure rules: the same-origin check, the cookie's Secure flag, the numbers a teller may
type, the wire models and the desk's branch check."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from pydantic import ValidationError

from gateway.console.auth import same_origin, secure_cookie
from gateway.console.desk import Desk
from gateway.console.schemas import ConsoleTicket, CounterBody, SignInBody, console_phone
from gateway.errors import NotFound
from gateway.settings import Settings
from gateway.staff import Role
from tests.unit.console.fakes import FakeAccounts, FakeAudit

PUBLIC = "https://gw.bank.example"


def _request(**headers: str) -> Any:
    return make_mocked_request("POST", "/console/api/session", headers={"Host": "gw.bank.example", **headers})


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),
        ({"Origin": PUBLIC}, True),
        ({"Sec-Fetch-Site": "same-origin", "Origin": PUBLIC}, True),
        ({"Origin": "http://gw.bank.example"}, True),
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
        ({"Origin": PUBLIC + ":8443"}, False),
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site", "Origin": PUBLIC}, False),
        ({"Sec-Fetch-Site": "none"}, False),
    ],
)
def test_state_changes_come_from_our_own_origin(headers: dict[str, str], allowed: bool) -> None:
    """Sec-Fetch-Site, when sent, is same-origin; Origin, when sent, is the public origin or the
    request's own (``http://`` + Host for the mocked plain-http request); neither sent passes (the
    CSRF token still decides)."""
    assert same_origin(_request(**headers), PUBLIC) is allowed


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [
        (None, False),
        ("http://127.0.0.1:8080", False),
        ("http://localhost:8080", False),
        ("http://[::1]:8080", False),
        ("https://127.0.0.1:8443", True),
        ("http://10.0.0.5:8080", True),
        ("http://gw.bank.example", True),
        ("https://gw.bank.example", True),
    ],
)
def test_the_cookie_is_secure_outside_loopback_http(public_url: str | None, secure: bool) -> None:
    """Only a plain-http public URL on a loopback host (the default http://127.0.0.1:8080) drops Secure."""
    assert secure_cookie(Settings(database_url="sqlite://", public_url=public_url)) is secure


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("+85291234567", "+85291234567"),
    ],
)
def test_tellers_type_national_numbers(typed: str, e164: str) -> None:
    """National 11-digit mainland numbers (spaces and dashes allowed) become +86; E.164 stays."""
    assert console_phone(typed) == e164
    assert ConsoleTicket(phoneNumber=typed).phoneNumber == e164


@pytest.mark.parametrize("typed", ["1380013800", "23800138000", "138001380001", "+0123", "phone", ""])
def test_other_numbers_are_refused_in_words(typed: str) -> None:
    """Wrong lengths, a non-mobile prefix and letters are refused with what is expected, never the value."""
    with pytest.raises(ValidationError) as refused:
        ConsoleTicket(phoneNumber=typed)
    text = str(refused.value.errors(include_input=False, include_url=False))
    assert "11-digit mainland mobile number" in text or "at least 1 character" in text


def test_wire_models_refuse_unknown_properties() -> None:
    """Sign-in and counter bodies forbid extra properties; a counter is 1-999 or 1-8 letters and digits."""
    with pytest.raises(ValidationError):
        SignInBody.model_validate({"username": "a", "password": "b", "remember": True})
    assert SignInBody.model_validate({"username": "a", "password": "b"}).totp is None
    assert CounterBody.model_validate({"counter": 5}).counter == "5"
    for bad in (0, 1000, "A-1", "toolongcounter"):
        with pytest.raises(ValidationError):
            CounterBody.model_validate({"counter": bad})


async def test_the_desk_refuses_branches_the_member_does_not_serve() -> None:
    """A teller's desk call for a branch not assigned is NOT_FOUND before the branches are asked."""
    accounts = FakeAccounts()
    teller = accounts.add("t1", "li.na", "pw", role=Role.TELLER, branches=("b-1",))
    desk = Desk(branches=None, audit=FakeAudit())  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await desk.queue(teller, "b-2")
    with pytest.raises(NotFound):
        await desk.issue(teller, "b-2", phone="+8613800138000", service=None)
