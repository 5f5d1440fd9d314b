"""The sandbox phone page (GET /sandbox/phone/{phoneNumber}): inbox newest first, tappable links,
the cellular-session cookie, and escaping of attacker-influenced SMS text."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from sandbox.appkeys import STATE
from sandbox.phone_page import linkify
from tests.sandbox.conftest import SandboxClient, Subscribe

PHONE = "+8613800138000"
AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


@pytest.fixture
def deliver(client: SandboxClient) -> Callable[..., None]:
    """Put an SMS into a phone's inbox directly."""

    def deliver(text: str, sender: str = "1065750001", phone: str = PHONE) -> None:
        client.app[STATE].inboxes.deliver(phone, sender, text, AT)

    return deliver


async def test_page_lists_the_inbox_newest_first(
    client: SandboxClient, subscribe: Subscribe, deliver: Callable[..., None]
) -> None:
    """The page shows every SMS, newest first, in UTF-8 with its sender."""
    await subscribe(PHONE, "cmcc")
    deliver("【中国移动】第一条")
    deliver("【平安银行】第二条", sender="1065750002")

    response = await client.get(f"/sandbox/phone/{PHONE}")

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = await response.text()
    assert html.index("第二条") < html.index("第一条")
    page = _parse(html)
    assert "1065750002" in page.text and "中国移动" in page.text
    assert (
        "ol",
        {"id": "inbox", "data-source": "/sandbox/devices/%2B8613800138000/messages", "data-state": ""},
    ) in (page.tags)


async def test_page_sets_the_cellular_session_cookie(client: SandboxClient, subscribe: Subscribe) -> None:
    """The page sets sandbox_phone=<E.164> for every path, SameSite=Lax."""
    await subscribe(PHONE, "cucc")

    response = await client.get(f"/sandbox/phone/{PHONE}")

    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"sandbox_phone={PHONE};")
    assert "Path=/" in cookie and "SameSite=Lax" in cookie


async def test_links_in_sms_are_tappable(
    client: SandboxClient, subscribe: Subscribe, deliver: Callable[..., None]
) -> None:
    """An http(s) link becomes an anchor opening a new tab; punctuation after it stays text."""
    await subscribe(PHONE, "cmcc")
    deliver("请点击 https://gw.example/l/aB3dE9。回T退订，或见 http://x.example/a?b=1&c=2.")  # noqa: RUF001

    page = _parse(await (await client.get(f"/sandbox/phone/{PHONE}")).text())

    anchors = [attrs for tag, attrs in page.tags if tag == "a"]
    assert [a["href"] for a in anchors] == ["https://gw.example/l/aB3dE9", "http://x.example/a?b=1&c=2"]
    assert all(a["target"] == "_blank" and a["rel"] == "noopener" for a in anchors)


async def test_message_text_is_escaped(
    client: SandboxClient, subscribe: Subscribe, deliver: Callable[..., None]
) -> None:
    """Markup in an SMS is shown as text: no foreign element, attribute or script reaches the page."""
    await subscribe(PHONE, "cmcc")
    deliver(
        '<script>alert(1)</script><img src=x onerror=alert(2)> https://gw.example/l/a"onmouseover="alert(3)'
    )
    deliver("javascript:alert(4) <a href=javascript:alert(5)>tap</a>", sender="<b>10086</b>")

    response = await client.get(f"/sandbox/phone/{PHONE}")
    html = await response.text()
    page = _parse(html)

    assert "<script>alert" not in html and "<img" not in html
    assert [tag for tag, _ in page.tags if tag in ("script", "img", "b")] == ["script"]
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert [attrs["href"] for tag, attrs in page.tags if tag == "a"] == ["https://gw.example/l/a"]
    assert "<script>alert(1)</script>" in page.text and "<b>10086</b>" in page.text


async def test_scripts_and_styles_need_the_page_nonce(client: SandboxClient, subscribe: Subscribe) -> None:
    """The CSP allows only the page's own nonce-bearing script and style, and same-origin fetches."""
    await subscribe(PHONE, "ctcc")

    response = await client.get(f"/sandbox/phone/{PHONE}")

    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", policy)
    assert nonce is not None
    assert f"style-src 'nonce-{nonce.group(1)}'" in policy and "connect-src 'self'" in policy
    page = _parse(await response.text())
    assert [attrs.get("nonce") for tag, attrs in page.tags if tag in ("script", "style")] == [
        nonce.group(1)
    ] * 2
    assert response.headers["Cache-Control"] == "no-store"


async def test_page_has_the_reply_form(client: SandboxClient, subscribe: Subscribe) -> None:
    """The reply box posts to the phone's reply endpoint; an empty inbox says so."""
    await subscribe(PHONE, "cmcc")

    page = _parse(await (await client.get(f"/sandbox/phone/{PHONE}")).text())

    forms = [attrs for tag, attrs in page.tags if tag == "form"]
    assert forms == [{"id": "reply", "method": "post", "action": "/sandbox/devices/%2B8613800138000/reply"}]
    assert ("p", {"id": "empty"}) in page.tags


async def test_page_of_unknown_or_malformed_numbers(client: SandboxClient) -> None:
    """An unregistered phone is 404, a malformed number 400."""
    assert (await client.get("/sandbox/phone/+8613700137000")).status == 404
    assert (await client.get("/sandbox/phone/13800138000")).status == 400


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "a https://x.example/p, b",
            'a <a href="https://x.example/p" target="_blank" rel="noopener">https://x.example/p</a>, b',
        ),
        (
            "见https://x.example/p。",
            '见<a href="https://x.example/p" target="_blank" rel="noopener">https://x.example/p</a>。',
        ),
        ("ftp://x.example <i>", "ftp://x.example &lt;i&gt;"),
        (
            "(https://x.example/a?q=1&r=2)",
            '(<a href="https://x.example/a?q=1&amp;r=2" target="_blank" rel="noopener">'
            "https://x.example/a?q=1&amp;r=2</a>)",
        ),
    ],
)
def test_linkify(text: str, html: str) -> None:
    """Only http(s) URLs become links; trailing punctuation and CJK text stay outside; the rest is escaped."""
    assert linkify(text) == html
