"""The adapters' body encoders produce exactly the bytes httpx's own ``json=`` and ``data=`` would."""

from __future__ import annotations

import httpx
from pydantic import BaseModel

from carrier_adapters._http import form_body, json_body

URL = "https://operator.example:8443/api/v2/login?x=1"


class _Payload(BaseModel):
    appid: str
    name: str
    count: int
    strict: bool
    note: str | None = None


PAYLOAD = _Payload(appid="300011862498", name="张三 & O'Brien", count=3, strict=False)


def test_json_body_equals_httpx_json_encoding() -> None:
    """Compact UTF-8 JSON, not ASCII-escaped, byte for byte."""
    reference = httpx.Request("POST", URL, json=PAYLOAD.model_dump())

    assert json_body(PAYLOAD) == reference.content


def test_form_body_equals_httpx_form_encoding() -> None:
    """Flat string and integer fields are form-encoded as ``data=`` would encode them."""

    class Form(BaseModel):
        msgFormat: int
        content: str

    form = Form(msgFormat=8, content="您的验证码 123 & more")
    reference = httpx.Request("POST", URL, data=form.model_dump())

    assert form_body(form) == reference.content
