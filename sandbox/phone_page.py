"""The sandbox phone page (``GET /sandbox/phone/{phoneNumber}``, CONTRACT §8): a phone's SMS inbox in a
browser, its links tappable as on that phone's cellular data, and a reply box.

The page is rendered once on the server and then refreshed every 2 s from
``GET /sandbox/devices/{phone}/messages`` by a small script. SMS text is attacker-influenced:
the server escapes it and the script only ever creates text nodes and ``http(s)`` links; a
per-response nonce confines scripts and styles (Content-Security-Policy).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from html import escape
from typing import Final
from urllib.parse import quote

from aiohttp import web

from sandbox.config import Operator
from sandbox.h5 import PHONE_COOKIE
from sandbox.schemas import rfc3339
from sandbox.state import Message

__all__ = ["LINK", "linkify", "phone_page"]

LINK: Final = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
"""A link in an SMS: ``http(s)://`` and URL characters, less trailing punctuation (see :func:`linkify`)."""
_TRAILING: Final = ".,;:!?)]'"
_BRANDS: Final[Mapping[Operator, str]] = {"cmcc": "中国移动", "cucc": "中国联通", "ctcc": "中国电信"}

_STYLE: Final = """
body { font-family: system-ui, "PingFang SC", "Noto Sans CJK SC", sans-serif; margin: 0 auto;
       max-width: 32rem; padding: 1rem; background: #f4f4f5; color: #18181b; }
header p { color: #52525b; margin-top: 0; }
ol { list-style: none; padding: 0; }
li { background: #fff; border-radius: .75rem; padding: .75rem 1rem; margin: .5rem 0; }
.meta { color: #71717a; font-size: .8rem; margin: 0 0 .25rem; }
.text { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
form { display: flex; gap: .5rem; }
form input { flex: 1; padding: .5rem; }
"""

_SCRIPT: Final = r"""
(() => {
  const inbox = document.getElementById("inbox");
  const empty = document.getElementById("empty");
  const form = document.getElementById("reply");
  const status = document.getElementById("reply-status");
  const link = /https?:\/\/[A-Za-z0-9\-._~:\/?#\[\]@!$&'()*+,;=%]+/g;
  const trailing = ".,;:!?)]'";
  let shown = inbox.dataset.state;

  function appendText(parent, text) {
    let last = 0;
    for (const match of text.matchAll(link)) {
      let url = match[0];
      while (url.length && trailing.includes(url[url.length - 1])) url = url.slice(0, -1);
      parent.append(document.createTextNode(text.slice(last, match.index)));
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.target = "_blank";
      anchor.rel = "noopener";
      anchor.textContent = url;
      parent.append(anchor);
      last = match.index + url.length;
    }
    parent.append(document.createTextNode(text.slice(last)));
  }

  function render(messages) {
    const items = messages.slice().reverse().map((message) => {
      const item = document.createElement("li");
      const meta = document.createElement("p");
      meta.className = "meta";
      const from = document.createElement("span");
      from.className = "from";
      from.textContent = message.from;
      const time = document.createElement("time");
      time.dateTime = message.receivedAt;
      time.textContent = new Date(message.receivedAt).toLocaleString();
      meta.append(from, " · ", time);
      const text = document.createElement("p");
      text.className = "text";
      appendText(text, message.text);
      item.append(meta, text);
      return item;
    });
    inbox.replaceChildren(...items);
    empty.hidden = items.length > 0;
  }

  async function refresh() {
    try {
      const response = await fetch(inbox.dataset.source, { cache: "no-store" });
      if (!response.ok) return;
      const messages = await response.json();
      const state = JSON.stringify(messages);
      if (state !== shown) {
        shown = state;
        render(messages);
      }
    } catch (error) {
      /* the sandbox is restarting: try again at the next tick */
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = form.elements.namedItem("text");
    const response = await fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: input.value }),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      status.textContent = "已回复 " + answer.to;
      input.value = "";
    } else {
      status.textContent = answer.message || "回复失败";
    }
  });

  for (const time of inbox.querySelectorAll("time")) {
    time.textContent = new Date(time.dateTime).toLocaleString();
  }
  setInterval(refresh, 2000);
})();
"""

_PAGE: Final = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{phone} · 短信</title>
<style nonce="{nonce}">{style}</style>
</head>
<body>
<header>
<h1>{phone}</h1>
<p>{brand} · 蜂窝数据 (sandbox)</p>
</header>
<main>
<p id="empty"{empty_hidden}>收件箱为空。</p>
<ol id="inbox" data-source="{source}" data-state="">
{items}
</ol>
<form id="reply" method="post" action="{reply}">
<input name="text" aria-label="回复短信" placeholder="回复短信, 如 TD 退订" maxlength="700" required>
<button type="submit">回复</button>
</form>
<p id="reply-status" role="status"></p>
</main>
<script nonce="{nonce}">{script}</script>
</body>
</html>
"""


def linkify(text: str) -> str:
    """``text`` as escaped HTML in which every ``http(s)`` link is an anchor opening a new tab."""
    parts: list[str] = []
    last = 0
    for match in LINK.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        parts.append(escape(text[last : match.start()]))
        parts.append(f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(url)}</a>')
        last = match.start() + len(url)
    parts.append(escape(text[last:]))
    return "".join(parts)


def _item(message: Message) -> str:
    at = rfc3339(message.received_at)
    return (
        f'<li><p class="meta"><span class="from">{escape(message.sender)}</span> · '
        f'<time datetime="{at}">{at}</time></p><p class="text">{linkify(message.text)}</p></li>'
    )


def phone_page(phone: str, operator: Operator, messages: Sequence[Message]) -> web.Response:
    """The page of ``phone`` (E.164) with ``messages`` (oldest first); it sets the cellular-session cookie."""
    nonce = secrets.token_urlsafe(16)
    device = f"/sandbox/devices/{quote(phone)}"
    html = _PAGE.format(
        phone=escape(phone),
        brand=_BRANDS[operator],
        nonce=nonce,
        style=_STYLE,
        script=_SCRIPT,
        source=escape(f"{device}/messages"),
        reply=escape(f"{device}/reply"),
        items="\n".join(_item(message) for message in reversed(messages)),
        empty_hidden=" hidden" if messages else "",
    )
    response = web.Response(text=html, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_cookie(PHONE_COOKIE, phone, path="/", samesite="Lax")
    return response
