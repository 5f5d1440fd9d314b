"""The handset vendors' card-SMS platforms under ``/cards/{vendor}/v1``.

``docs/operator-dialects.md``, "Card SMS: the handset vendors' platforms": signed query per account,
template registration with review, the support query and the send with parameters. Answers are
``HTTP 200 {"code", "message", "data"}``; a down platform answers ``503``
(:func:`sandbox.faults.vendor_faults_middleware`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Final, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.clock import Clock
from sandbox.numbers import from_national
from sandbox.operators._wire import same_text, within_window
from sandbox.rich import IDENTIFIER, VENDORS, Button, CardAccount, CardTemplate, Vendor, request_signature
from sandbox.rich_center import CardSend, RichCenter
from sandbox.state import SandboxState

__all__ = ["CardPlatform", "card_platforms", "settle_review"]

_NONCE: Final = re.compile(r"[0-9a-fA-F]{16,32}")
_PLACEHOLDER: Final = re.compile(r"\$\{([A-Za-z0-9_]{1,32})\}")
_OPEN_QUICK: Final = re.compile(r"hap://app/\S+")
_OPEN_URL: Final = re.compile(r"https?://\S+")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _TemplateButton(_Wire):
    text: Annotated[str, Field(min_length=1, max_length=16)]
    actionType: Literal["OPEN_QUICK", "OPEN_URL"]
    action: Annotated[str, Field(min_length=1, max_length=1000)]


class _TemplateMedia(_Wire):
    url: Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")]


class _TemplateBody(_Wire):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    title: Annotated[str, Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(min_length=1, max_length=500)]
    media: _TemplateMedia | None = None
    buttons: Annotated[list[_TemplateButton], Field(min_length=1, max_length=2)]


class _TemplateQuery(_Wire):
    templateId: Annotated[str, Field(min_length=1, max_length=64)]


class _SupportBody(_Wire):
    mobiles: Annotated[
        list[Annotated[str, Field(pattern=r"^1[0-9]{10}$")]], Field(min_length=1, max_length=100)
    ]


class _SendBody(_Wire):
    templateId: Annotated[str, Field(min_length=1, max_length=64)]
    mobile: Annotated[str, Field(pattern=r"^1[0-9]{10}$")]
    params: dict[str, Annotated[str, Field(max_length=1000)]] = {}
    bizId: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


def _answer(code: str, message: str, data: object = None) -> web.Response:
    return web.json_response({"code": code, "message": message, "data": data})


def _fill(text: str, params: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda match: params[match.group(1)], text)


def _placeholders(template: CardTemplate) -> set[str]:
    texts = [
        template.title,
        template.description,
        *(part for button in template.buttons for part in button[::2]),
    ]
    return {name for text in texts for name in _PLACEHOLDER.findall(text)}


def settle_review(template: CardTemplate, state: SandboxState, clock: Clock) -> None:
    """Let the vendor's reviewer decide a pending template once its review delay has passed."""
    if template.state != "pending":
        return
    faults = state.rich.vendor_faults[template.vendor]
    if faults.review_outcome == "pending":
        return
    if clock.now() - template.submitted_at >= timedelta(milliseconds=faults.review_delay_ms):
        template.state = faults.review_outcome
        template.reason = "内容不符合规范 (sandbox review)" if template.state == "rejected" else None


class CardPlatform:
    """One vendor's card platform: routes under ``/cards/{vendor}/v1``."""

    def __init__(self, vendor: Vendor, *, state: SandboxState, center: RichCenter, clock: Clock) -> None:
        self._vendor = vendor
        self._state = state
        self._center = center
        self._clock = clock
        self._root = f"/cards/{vendor}"

    def routes(self) -> list[web.RouteDef]:
        """The platform's four endpoints."""
        return [
            web.post(f"{self._root}/v1/templates", self.register),
            web.post(f"{self._root}/v1/templates/query", self.query),
            web.post(f"{self._root}/v1/support", self.support),
            web.post(f"{self._root}/v1/send", self.send),
        ]

    async def _authenticate(self, request: web.Request) -> tuple[CardAccount, bytes] | web.Response:
        body = await request.read()
        query = request.query
        app_id, timestamp, nonce, sign = (
            query.get(name, "") for name in ("appId", "timestamp", "nonce", "sign")
        )
        account = self._state.rich.accounts.get(app_id) if IDENTIFIER.fullmatch(app_id) else None
        if account is None or _NONCE.fullmatch(nonce) is None:
            return _answer("1001", "authentication failed")
        expected = request_signature(account.app_key, request.path[len(self._root) :], timestamp, nonce, body)
        if not same_text(sign, expected):
            return _answer("1001", "authentication failed")
        if not within_window(timestamp, self._clock.now()):
            return _answer("1002", "timestamp outside the window")
        return account, body

    async def register(self, request: web.Request) -> web.Response:
        """Register a template; it starts ``pending``."""
        authenticated = await self._authenticate(request)
        if isinstance(authenticated, web.Response):
            return authenticated
        account, raw = authenticated
        try:
            body = _TemplateBody.model_validate_json(raw)
        except ValidationError:
            return _answer("1004", "bad parameters")
        for button in body.buttons:
            pattern = _OPEN_QUICK if button.actionType == "OPEN_QUICK" else _OPEN_URL
            if pattern.match(button.action) is None and not button.action.startswith("${"):
                return _answer("1004", "bad parameters: the action does not fit its actionType")
        rich = self._state.rich
        rich.template_counter += 1
        template = CardTemplate(
            template_id=f"{self._vendor}-{rich.template_counter:08d}",
            vendor=self._vendor,
            app_id=account.app_id,
            name=body.name,
            title=body.title,
            description=body.description,
            media_url=body.media.url if body.media is not None else None,
            buttons=tuple((b.text, b.actionType, b.action) for b in body.buttons),
            submitted_at=self._clock.now(),
        )
        rich.templates[template.template_id] = template
        return _answer("0", "success", {"templateId": template.template_id, "state": "pending"})

    def _template(self, account: CardAccount, template_id: str) -> CardTemplate | None:
        template = self._state.rich.templates.get(template_id)
        if template is None or template.vendor != self._vendor or template.app_id != account.app_id:
            return None
        settle_review(template, self._state, self._clock)
        return template

    async def query(self, request: web.Request) -> web.Response:
        """A template's review state."""
        authenticated = await self._authenticate(request)
        if isinstance(authenticated, web.Response):
            return authenticated
        account, raw = authenticated
        try:
            body = _TemplateQuery.model_validate_json(raw)
        except ValidationError:
            return _answer("1004", "bad parameters")
        template = self._template(account, body.templateId)
        if template is None:
            return _answer("2001", "template unknown")
        data: dict[str, object] = {"templateId": template.template_id, "state": template.state}
        if template.state == "rejected":
            data["reason"] = template.reason
        return _answer("0", "success", data)

    def _supports(self, national: str) -> bool:
        subscriber = self._state.subscribers.get(from_national(national))
        return subscriber is not None and subscriber.vendor == self._vendor

    async def support(self, request: web.Request) -> web.Response:
        """Which numbers can show this vendor's cards."""
        authenticated = await self._authenticate(request)
        if isinstance(authenticated, web.Response):
            return authenticated
        try:
            body = _SupportBody.model_validate_json(authenticated[1])
        except ValidationError:
            return _answer("1004", "bad parameters")
        results = [{"mobile": mobile, "support": self._supports(mobile)} for mobile in body.mobiles]
        return _answer("0", "success", {"results": results})

    async def send(self, request: web.Request) -> web.Response:
        """Send a card of an approved template to a supporting number."""
        authenticated = await self._authenticate(request)
        if isinstance(authenticated, web.Response):
            return authenticated
        account, raw = authenticated
        try:
            body = _SendBody.model_validate_json(raw)
        except ValidationError:
            return _answer("1004", "bad parameters")
        template = self._template(account, body.templateId)
        if template is None:
            return _answer("2001", "template unknown")
        if template.state != "approved":
            return _answer("2002", f"template not approved ({template.state})")
        if not _placeholders(template) <= set(body.params):
            return _answer("2003", "parameters missing")
        if not self._supports(body.mobile):
            return _answer("3001", "the number cannot show this vendor's cards")
        buttons = tuple(
            Button(_fill(text, body.params), _fill(action, body.params))
            for text, _, action in template.buttons
        )
        card_msg_id = self._center.card_send(
            CardSend(
                vendor=self._vendor,
                account=account,
                template=template,
                biz_id=body.bizId,
                phone_number=from_national(body.mobile),
                title=_fill(template.title, body.params),
                description=_fill(template.description, body.params),
                buttons=buttons,
            )
        )
        return _answer("0", "success", {"cardMsgId": card_msg_id})


def card_platforms(*, state: SandboxState, center: RichCenter, clock: Clock) -> list[CardPlatform]:
    """The five vendors' platforms."""
    return [CardPlatform(vendor, state=state, center=center, clock=clock) for vendor in VENDORS]
