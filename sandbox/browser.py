"""The sandbox phone's browser: opens a URL and walks the redirects of an authorization flow.

``docs/operator-dialects.md``, "The sandbox phone". It is a real HTTP client (aiohttp, redirects
followed by hand, cookies kept for the walk) that stops once a ``Location`` starts with the
``redirect_uri`` of the URL it was given. On cellular data every request comes from the phone's
cellular address and the phone's operator enriches requests for its authorization endpoint; on
Wi-Fi the phone fills the operators' SMS-OTP forms from its own inbox.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Final, Literal
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict

from sandbox.cellular import cellular_ip, wifi_ip
from sandbox.errors import BadGateway, InvalidArgument
from sandbox.numbers import to_national
from sandbox.operators import HEADER_ENRICHMENT
from sandbox.state import Inboxes, Subscriber

__all__ = ["MAX_REQUESTS", "Bearer", "walk"]

Bearer = Literal["network", "sms_otp"]
MAX_REQUESTS: Final = 10
_REQUEST_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
_WALK_TIMEOUT: Final = 30.0
_OTP_WAIT: Final = 10.0
_MAX_BODY: Final = 1 << 20
_USER_AGENT: Final = "Mozilla/5.0 (Linux; Android 14; SandboxPhone) AppleWebKit/537.36 Mobile Safari/537.36"
_OTP: Final = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")
_LONG_DIGITS: Final = re.compile(r"[0-9]{7,}")
_SUMMARY_LENGTH: Final = 160
_STOPPED: Final = "The phone's browser stopped at"


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: str
    form: dict[str, str] | None = None


@dataclass(slots=True)
class _Form:
    action: str
    method: str
    inputs: list[dict[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    """Collects the page's forms, their inputs, and its title."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.title = ""
        self._in_form = False
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(_Form(values.get("action", ""), values.get("method", "get").upper()))
            self._in_form = True
        elif tag == "input" and self._in_form:
            self.forms[-1].inputs.append(values)
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _where(request: _Request, count: int) -> str:
    url = urlsplit(request.url)._replace(query="", fragment="").geturl()
    return f"{request.method} {url} (request {count})"


def _summary(body: bytes, content_type: str) -> str:
    """What an answer says, in a line: a JSON error's code and message, or an HTML page's title."""
    text = body[:_MAX_BODY].decode("utf-8", "replace")
    summary = ""
    if "json" in content_type:
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict):
            summary = " ".join(str(document[key]) for key in ("code", "error", "message") if key in document)
    elif "html" in content_type:
        parser = _FormParser()
        parser.feed(text)
        summary = parser.title.strip()
    summary = _LONG_DIGITS.sub("…", " ".join(summary.split()))
    return summary[:_SUMMARY_LENGTH] or "no readable body"


class _Walk:
    """One walk of a phone's browser from a URL to the redirect URI."""

    def __init__(self, subscriber: Subscriber, bearer: Bearer, inboxes: Inboxes) -> None:
        self._subscriber = subscriber
        self._bearer = bearer
        self._inboxes = inboxes
        self._national = to_national(subscriber.phone_number) or ""
        phone = subscriber.phone_number
        address = cellular_ip(phone, subscriber.operator) if bearer == "network" else wifi_ip(phone)
        self._forwarded_for = str(address)
        self._enrichment = HEADER_ENRICHMENT[subscriber.operator] if bearer == "network" else None
        self._sms_since = inboxes.last_seq()
        self._otp_sent = False

    async def run(self, url: str, redirect_uri: str | None) -> str:
        """Walk from ``url`` until a redirect to ``redirect_uri``; without one, until a page of
        ``url``'s own origin answers 200 (that page's URL)."""
        home = _origin(url)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=_REQUEST_TIMEOUT) as session:
            request = _Request("GET", url)
            for count in range(1, MAX_REQUESTS + 1):
                status, headers, body = await self._send(session, request, count)
                where = _where(request, count)
                if redirect_uri is None and status == 200 and _origin(request.url) == home:
                    return request.url
                if 300 <= status < 400:
                    location = headers.get("Location")
                    if location is None:
                        raise BadGateway(
                            f"The phone's browser stopped at {where}: HTTP {status} without Location."
                        )
                    target = urljoin(request.url, location)
                    if redirect_uri is not None and target.startswith(redirect_uri):
                        return target
                    request = (
                        _Request(request.method, target, request.form)
                        if status in (307, 308)
                        else _Request("GET", target)
                    )
                    continue
                request = await self._submit(status, headers.get("Content-Type", ""), body, request, where)
            raise BadGateway(
                f"The phone's browser gave up after {MAX_REQUESTS} requests without reaching "
                + ("redirect_uri." if redirect_uri is not None else "a page of the url's site.")
            )

    async def _send(
        self, session: aiohttp.ClientSession, request: _Request, count: int
    ) -> tuple[int, CIMultiDict[str], bytes]:
        headers = {"X-Forwarded-For": self._forwarded_for, "User-Agent": _USER_AGENT}
        enrichment = self._enrichment
        if enrichment is not None and urlsplit(request.url).path == enrichment.path:
            headers[enrichment.header] = self._national
        try:
            async with session.request(
                request.method, request.url, data=request.form, headers=headers, allow_redirects=False
            ) as response:
                body = await response.content.read(_MAX_BODY)
                return response.status, CIMultiDict(response.headers), body
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BadGateway(
                f"{_STOPPED} {_where(request, count)}: no answer ({type(exc).__name__})."
            ) from None

    async def _submit(
        self, status: int, content_type: str, body: bytes, request: _Request, where: str
    ) -> _Request:
        """The form submission that continues the walk from a page, or :class:`BadGateway`."""
        stopped = f"{_STOPPED} {where}"
        if status != 200:
            raise BadGateway(f"{stopped}: HTTP {status}: {_summary(body, content_type)}.")
        parser = _FormParser()
        if "html" in content_type:
            parser.feed(body.decode("utf-8", "replace"))
        if not parser.forms:
            raise BadGateway(f"{stopped}: a page without a form ({_summary(body, content_type)}).")
        if self._bearer == "network":
            raise BadGateway(
                f"{stopped}: the operator asked for the number or an SMS code, "
                "so the mobile network did not identify the phone."
            )
        form = parser.forms[0]
        values: dict[str, str] = {}
        for element in form.inputs:
            name = element.get("name")
            if not name:
                continue
            kind, autocomplete = element.get("type", "text").lower(), element.get("autocomplete", "")
            if autocomplete == "one-time-code":
                values[name] = await self._otp(stopped)
            elif kind == "tel" or autocomplete.startswith("tel"):
                self._sms_since = self._inboxes.last_seq()
                values[name] = self._national
            else:
                values[name] = element.get("value", "")
        target = urljoin(request.url, form.action or request.url)
        if form.method == "GET":
            parts = urlsplit(target)
            return _Request("GET", parts._replace(query=urlencode(values)).geturl())
        return _Request("POST", target, values)

    async def _otp(self, stopped: str) -> str:
        """The code of the first SMS that reached the phone after it sent its number (or, on a form
        that did not ask for it, after the walk started), waiting up to :data:`_OTP_WAIT` seconds."""
        if self._otp_sent:
            raise BadGateway(f"{stopped}: the operator asked for the SMS code again.")
        deadline = asyncio.get_running_loop().time() + _OTP_WAIT
        while True:
            for message in self._inboxes.messages(self._subscriber.phone_number):
                found = _OTP.search(message.text) if message.seq > self._sms_since else None
                if found is not None:
                    self._otp_sent = True
                    return found.group(0)
            if asyncio.get_running_loop().time() >= deadline:
                raise BadGateway(f"{stopped}: no SMS code reached the phone.")
            await asyncio.sleep(0.05)


async def walk(url: str, *, subscriber: Subscriber, bearer: Bearer, inboxes: Inboxes) -> str:
    """The absolute ``Location`` that reached the ``redirect_uri`` query parameter of ``url``; for a
    ``url`` without one (a service's own page, e.g. a verification check URL), the URL of the first
    page of ``url``'s origin that answered 200.

    :raises InvalidArgument: ``url`` is not an absolute http(s) URL, or its ``redirect_uri`` is empty.
    :raises BadGateway: the walk stopped elsewhere (the message says where and why).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument("url must be an absolute http(s) URL.")
    redirect_uris = parse_qs(parts.query, keep_blank_values=True).get("redirect_uri")
    if redirect_uris is not None and not redirect_uris[0]:
        raise InvalidArgument("url has an empty redirect_uri query parameter.")
    try:
        async with asyncio.timeout(_WALK_TIMEOUT):
            return await _Walk(subscriber, bearer, inboxes).run(
                url, redirect_uris[0] if redirect_uris else None
            )
    except TimeoutError:
        raise BadGateway(f"The phone's browser gave up after {_WALK_TIMEOUT:.0f} s.") from None
