"""`gateway up` gives the demo tenant the sandbox's bank identity provider: the banner names the
bank's sign-in link, and the demo admin signs in through the provider as employee-0001, again after
a restart (the sandbox forgets its clients; the issuer, and so the link, stays)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_cli import _gateway_up

pytestmark = pytest.mark.e2e
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _sso_sign_in(sign_in_url: str, sandbox: str) -> str:
    """Press the bank-account button, then employee-0001's at the provider; the console username."""
    with httpx.Client(timeout=10) as http:
        page = http.get(sign_in_url)
        found = re.search(r'href="(/console/sso/[^"]+/start)"', page.text)
        assert found is not None, page.text
        gateway = sign_in_url.split("/console/", 1)[0]
        start = http.get(gateway + found.group(1))
        assert start.status_code == 303 and start.headers["Location"].startswith(sandbox + "/bank-idp/")
        authorize = http.get(start.headers["Location"])
        form = {name: unescape(value) for name, value in _HIDDEN.findall(authorize.text)}
        pressed = http.post(f"{sandbox}/bank-idp/authorize", data={**form, "sub": "employee-0001"})
        back = http.get(pressed.headers["Location"])
        assert back.status_code == 303 and back.headers["Location"] == "/console/", back.text
        session = http.get(gateway + "/console/api/session")
        assert session.status_code == 200, session.text
        return str(session.json()["staff"]["username"])


def test_up_demo_admin_signs_in_through_the_sandbox_bank_provider(tmp_path: Path) -> None:
    """The banner's ``bank SSO`` line is the demo tenant's sign-in link; through it the demo admin
    signs in at the sandbox's provider as employee-0001, on the first start and after a restart."""
    line = re.compile(r"^  bank SSO\s+(http://\S+/console/\?tenant=\S+) ", re.M)
    for _ in range(2):
        with _gateway_up(tmp_path) as info:
            found = line.search(info["BANNER"])
            assert found is not None, info["BANNER"]
            assert found.group(1).startswith(info["GW"] + "/console/?tenant=")
            assert _sso_sign_in(found.group(1), info["SB"]) == "admin@demo"
