"""The adapters' request builders produce exactly the request httpx's own encoders would."""

from __future__ import annotations

import httpx
from pydantic import BaseModel

from carrier_adapters._http import FORM, JSON, form_body, json_body, post_request

URL = httpx.URL("https://operator.example:8443/api/v2/login?x=1")


class _Payload(BaseModel):
    appid: str
    name: str
    count: int
    strict: bool
    note: str | None = None


PAYLOAD = _Payload(appid="300011862498", name="张三 & O'Brien", count=3, strict=False)


def test_json_post_equals_httpx_json_encoding() -> None:
    """Same method, URL, headers (Host, Content-Length, Content-Type, in httpx's order) and bytes."""
    built = post_request(URL, json_body(PAYLOAD), JSON)
    reference = httpx.Request("POST", URL, json=PAYLOAD.model_dump())

    assert built.method == "POST" and built.url == URL
    assert built.headers.raw == reference.headers.raw
    assert built.content == reference.content


def test_form_post_equals_httpx_form_encoding() -> None:
    """Flat string and integer fields are form-encoded as ``data=`` would encode them."""

    class Form(BaseModel):
        msgFormat: int
        content: str

    form = Form(msgFormat=8, content="您的验证码 123 & more")
    built = post_request(URL, form_body(form), FORM)
    reference = httpx.Request("POST", URL, data=form.model_dump())

    assert built.headers.raw == reference.headers.raw
    assert built.content == reference.content


async def test_built_request_body_is_readable_by_any_transport() -> None:
    """The body is already read: respx and httpx's own transports see it as they would see ``json=``."""
    built = post_request(URL, json_body(PAYLOAD), JSON)

    assert await built.aread() == built.content
    assert b"".join([part async for part in built.stream]) == built.content
