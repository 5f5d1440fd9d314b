"""The HTML pages of the operators' authorization endpoints: error page, number form, code form.

Forms are plain HTML with the autofill hints a phone's browser uses (``autocomplete="tel-national"``
for the number, ``"one-time-code"`` for the SMS code), so the sandbox phone fills them as a
person's phone would. Nothing on a page echoes a secret; the number form echoes what was typed.
"""

from __future__ import annotations

from html import escape
from typing import Final

from aiohttp import web

__all__ = ["code_form", "error_page", "number_form"]

_PAGE: Final = """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body>
<main>
<h1>{brand}</h1>
{body}
</main>
</body>
</html>
"""


def _page(status: int, brand: str, title: str, body: str) -> web.Response:
    html = _PAGE.format(title=escape(title), brand=escape(brand), body=body)
    return web.Response(status=status, text=html, content_type="text/html", charset="utf-8")


def _notice(message: str | None) -> str:
    return "" if message is None else f'<p role="alert">{escape(message)}</p>\n'


def error_page(status: int, brand: str, message: str) -> web.Response:
    """A page that ends the flow: nothing to submit, no redirect."""
    return _page(status, brand, f"{status} {message}", f"<p>{escape(message)}</p>")


def number_form(
    brand: str, *, action: str, txn: str, field: str, value: str, error: str | None = None
) -> web.Response:
    """The SMS-OTP fallback's first step: the subscriber's number (HTTP 400 when ``error`` is given)."""
    body = (
        "<p>未能通过移动网络识别本机号码，请输入手机号码获取短信验证码。</p>\n"  # noqa: RUF001
        f"{_notice(error)}"
        f'<form method="post" action="{escape(action)}">\n'
        f'<input type="hidden" name="txn" value="{escape(txn)}">\n'
        f'<label>手机号码 <input type="tel" name="{escape(field)}" autocomplete="tel-national" '
        f'inputmode="tel" maxlength="20" value="{escape(value)}" required></label>\n'
        '<button type="submit">获取验证码</button>\n'
        "</form>"
    )
    return _page(400 if error else 200, brand, "本机号码认证", body)


def code_form(brand: str, *, action: str, txn: str, field: str, error: str | None = None) -> web.Response:
    """The SMS-OTP fallback's second step: the 6-digit code (HTTP 400 when ``error`` is given)."""
    body = (
        "<p>短信验证码已发送，5分钟内有效。</p>\n"  # noqa: RUF001
        f"{_notice(error)}"
        f'<form method="post" action="{escape(action)}">\n'
        f'<input type="hidden" name="txn" value="{escape(txn)}">\n'
        f'<label>验证码 <input type="text" name="{escape(field)}" autocomplete="one-time-code" '
        'inputmode="numeric" pattern="[0-9]{6}" maxlength="6" required></label>\n'
        '<button type="submit">登录</button>\n'
        "</form>"
    )
    return _page(400 if error else 200, brand, "短信验证码", body)
