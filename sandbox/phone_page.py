"""The sandbox phone page (``GET /sandbox/phone/{phoneNumber}``, CONTRACT §8): a phone's SMS inbox in a
browser, its links tappable as on that phone's cellular data, and a reply box; above it the phone's 5G
messages and card SMS as cards whose buttons open their links the same way.

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
from sandbox.rich import RichMessage
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
.card { border: 1px solid #d4d4d8; }
.card h2 { font-size: 1rem; margin: .25rem 0; }
.card .media, .card .hap { color: #71717a; font-size: .8rem; overflow-wrap: anywhere; }
.card .buttons { display: flex; gap: .5rem; flex-wrap: wrap; margin-top: .5rem; }
.card .button { display: inline-block; padding: .4rem .8rem; border-radius: .5rem; background: #2563eb;
                color: #fff; text-decoration: none; border: 0; font: inherit; cursor: pointer; }
"""

_SCRIPT: Final = r"""
(() => {
  const inbox = document.getElementById("inbox");
  const empty = document.getElementById("empty");
  const form = document.getElementById("reply");
  const status = document.getElementById("reply-status");
  const link = /https?:\/\/[A-Za-z0-9\-._~:\/?#\[\]@!$&'()*+,;=%]+/g;
  const trailing = ".,;:!?)]'";
  const cards = document.getElementById("cards");
  const shownCards = new Set(Array.from(cards.querySelectorAll("li[data-id]"), (item) => item.dataset.id));
  let shown = inbox.dataset.state;
  let shownCardState = cards.dataset.state;

  function tapped(id, index) {
    fetch(cards.dataset.source + "/" + encodeURIComponent(id) + "/tap", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ button: index }),
      keepalive: true,
    }).catch(() => {});
  }

  function renderCard(message) {
    const item = document.createElement("li");
    item.className = "card";
    item.dataset.id = message.id;
    item.dataset.kind = message.kind;
    const meta = document.createElement("p");
    meta.className = "meta";
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = (message.kind === "5g" ? "5G消息 · " : "卡片短信 · ") + message.from;
    const time = document.createElement("time");
    time.dateTime = message.receivedAt;
    time.textContent = new Date(message.receivedAt).toLocaleString();
    meta.append(from, " · ", time);
    item.append(meta);
    if (message.title) {
      const title = document.createElement("h2");
      title.textContent = message.title;
      item.append(title);
    }
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = message.description;
    item.append(text);
    if (message.mediaUrl) {
      const media = document.createElement("p");
      media.className = "media";
      media.textContent = "[媒体] " + message.mediaUrl;
      item.append(media);
    }
    const buttons = document.createElement("p");
    buttons.className = "buttons";
    message.buttons.forEach((button, index) => {
      let control;
      if (button.url && /^https?:\/\//.test(button.url)) {
        control = document.createElement("a");
        control.href = button.url;
        control.target = "_blank";
        control.rel = "noopener";
      } else {
        control = document.createElement("button");
        control.type = "button";
        if (button.url) control.title = button.url;
      }
      control.className = "button";
      control.dataset.index = String(index);
      control.textContent = button.text;
      buttons.append(control);
      if (button.url && !/^https?:\/\//.test(button.url)) {
        const hap = document.createElement("span");
        hap.className = "hap";
        hap.textContent = "快应用 " + button.url;
        buttons.append(hap);
      }
    });
    item.append(buttons);
    return item;
  }

  cards.addEventListener("click", (event) => {
    const control = event.target.closest(".button");
    const item = control && control.closest("li[data-id]");
    if (item) tapped(item.dataset.id, Number(control.dataset.index));
  });

  async function refreshCards() {
    try {
      const response = await fetch(cards.dataset.source, { cache: "no-store" });
      if (!response.ok) return;
      const messages = await response.json();
      const state = JSON.stringify(messages);
      if (state === shownCardState) return;
      shownCardState = state;
      cards.replaceChildren(...messages.slice().reverse().map(renderCard));
      for (const message of messages) {
        if (shownCards.has(message.id)) continue;
        shownCards.add(message.id);
        fetch(cards.dataset.source + "/" + encodeURIComponent(message.id) + "/display", { method: "POST" })
          .catch(() => {});
      }
    } catch (error) {
      /* the sandbox is restarting: try again at the next tick */
    }
  }

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
  setInterval(refreshCards, 2000);
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
<ol id="cards" data-source="{cards_source}" data-state="">
{cards}
</ol>
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


def _button(index: int, text: str, url: str | None) -> str:
    if url is not None and url.startswith(("http://", "https://")):
        return (
            f'<a class="button" data-index="{index}" href="{escape(url)}" target="_blank" rel="noopener">'
            f"{escape(text)}</a>"
        )
    button = f'<button type="button" class="button" data-index="{index}">{escape(text)}</button>'
    return button if url is None else f'{button}<span class="hap">快应用 {escape(url)}</span>'


def _card(message: RichMessage) -> str:
    at = rfc3339(message.received_at)
    label = "5G消息" if message.kind == "5g" else "卡片短信"
    title = f"<h2>{escape(message.title)}</h2>" if message.title else ""
    media = f'<p class="media">[媒体] {escape(message.media_url)}</p>' if message.media_url else ""
    buttons = "".join(_button(index, b.text, b.url) for index, b in enumerate(message.buttons))
    return (
        f'<li class="card" data-id="{escape(message.id)}" data-kind="{message.kind}"><p class="meta">'
        f'<span class="from">{label} · {escape(message.sender)}</span> · '
        f'<time datetime="{at}">{at}</time></p>{title}<p class="text">{escape(message.description)}</p>'
        f'{media}<p class="buttons">{buttons}</p></li>'
    )


def phone_page(
    phone: str, operator: Operator, messages: Sequence[Message], cards: Sequence[RichMessage] = ()
) -> web.Response:
    """The page of ``phone`` (E.164) with ``messages`` and ``cards`` (5G messages and card SMS, each
    oldest first); it sets the cellular-session cookie."""
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
        cards_source=escape(f"{device}/rich-messages"),
        cards="\n".join(_card(card) for card in reversed(cards)),
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
