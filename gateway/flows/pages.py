"""HTML pages of the flows: jinja2 templates (autoescaped) from ``gateway/flows/pages/`` and the
security headers every page carries.

Pages load their script and style from ``/flows/static/`` only; there is no inline script or
style, so the CSP is ``script-src 'self'`` without ``unsafe-inline``. Every page also sends
``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` (link
paths carry codes), ``Cache-Control: no-store``, ``X-Content-Type-Options: nosniff`` and a
``Permissions-Policy`` that allows geolocation only to the landing page of a claim-location link.
Data for scripts travels in ``data-*`` attributes, written by jinja2's escaping.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any, Final
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

__all__ = ["STATIC_FILES", "origin_of", "render_page", "security_headers", "static_file"]

STATIC_FILES: Final[Mapping[str, str]] = {
    "landing.js": "text/javascript",
    "console-session.js": "text/javascript",
    "console.js": "text/javascript",
    "flows.css": "text/css",
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
    "chart.umd.min.js": "text/javascript",
}


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("gateway.flows", "pages"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(
    *,
    connect: Iterable[str] = (),
    frames: Iterable[str] = (),
    geolocation: bool = False,
    form_action: bool = False,
    images: Iterable[str] = (),
) -> dict[str, str]:
    """The headers of a page; ``connect``, ``frames`` and ``images`` add sources beyond ``'self'``
    / none / ``'self'``; ``form_action`` lets the page's forms post to the gateway itself."""
    connect_src = " ".join(["'self'", *connect])
    img_src = " ".join(["'self'", *images])
    frame_src = " ".join(frames) or "'none'"
    forms = "'self'" if form_action else "'none'"
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {img_src}; connect-src {connect_src}; frame-src {frame_src}; base-uri 'none'; "
        f"form-action {forms}; "
        "frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": f"geolocation=({'self' if geolocation else ''}), camera=(), microphone=()",
    }


def render_page(
    name: str, *, status: int = 200, headers: Mapping[str, str] | None = None, **context: Any
) -> web.Response:
    """Render ``pages/<name>`` into an HTML response with :func:`security_headers` (or ``headers``)."""
    html = _environment().get_template(name).render(**context)
    response = web.Response(status=status, text=html, content_type="text/html", charset="utf-8")
    response.headers.update(headers if headers is not None else security_headers())
    return response


@functools.cache
def _static(name: str) -> bytes:
    return (resources.files("gateway.flows") / "pages" / "static" / name).read_bytes()


def static_file(name: str) -> web.Response:
    """A file of ``pages/static/`` by its allow-listed name.

    :raises web.HTTPNotFound: not an allow-listed name.
    """
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    response = web.Response(body=_static(name), content_type=content_type, charset="utf-8")
    response.headers.update(
        {
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "same-origin",
        }
    )
    return response
