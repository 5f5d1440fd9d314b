"""A bank's own identity provider: the OIDC provider the console's single sign-on signs staff in at
(docs/sandbox.md, "The bank's identity provider").

Mounted at ``/bank-idp``; its issuer is ``<sandbox base URL>/bank-idp`` as the request reaches it.
An RS256 key pair is made when the app is created; the JWKS publishes its public half with a
``kid``. The authorization code flow with PKCE (``S256`` only), ``scope`` containing ``openid``,
exact redirect URIs, single-use codes living 60 s, client authentication ``client_secret_basic``
or ``client_secret_post``; ID tokens carry ``iss``, ``sub``, ``aud``, ``iat``, ``exp`` (+5 min),
``auth_time``, ``nonce``, ``name`` and ``email``. The authorize page lists the bank's employees as
buttons (the employee signs in by pressing one: the provider's own factors are out of scope) and a
cancel button (``error=access_denied``).

Control routes (JSON): ``POST /bank-idp/sandbox/clients {"redirect_uris": [...]}`` answers ``201
{"client_id", "client_secret"}``; ``POST /bank-idp/sandbox/users {"sub", "name"?, "email"?}``
adds an employee (``201``); ``GET /bank-idp/sandbox/users`` lists them. Employee ``employee-0001``
(王芳 Wang Fang) exists from the start.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any, Final
from urllib.parse import unquote, urlencode, urlsplit

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

from sandbox.clock import Clock
from sandbox.errors import InvalidArgument

__all__ = ["BANK_IDP", "BankIdp", "add_bank_idp_routes"]

PREFIX: Final = "/bank-idp"
CODE_LIFETIME: Final = timedelta(seconds=60)
ID_TOKEN_LIFETIME: Final = timedelta(minutes=5)
_SUB: Final = re.compile(r"[\x21-\x7e]{1,255}")
_MAX_REDIRECTS: Final = 10


@dataclass(frozen=True, slots=True)
class Employee:
    """A person the bank's provider knows."""

    sub: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class _Client:
    secret: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Grant:
    client_id: str
    redirect_uri: str
    sub: str
    nonce: str | None
    challenge: str
    expires_at: datetime


@dataclass
class BankIdp:
    """The provider's state: its key, registered clients, employees and outstanding codes."""

    clock: Clock
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"use": "sig"}))
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    clients: dict[str, _Client] = field(default_factory=dict)
    employees: dict[str, Employee] = field(
        default_factory=lambda: {
            "employee-0001": Employee("employee-0001", "王芳 Wang Fang", "wang.fang@bank.example")
        }
    )
    codes: dict[str, _Grant] = field(default_factory=dict)

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def id_token(self, issuer: str, grant: _Grant) -> str:
        """A signed ID token for the grant's employee."""
        now = self.clock.now()
        employee = self.employees[grant.sub]
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": grant.sub,
            "aud": grant.client_id,
            "iat": int(now.timestamp()),
            "exp": int((now + ID_TOKEN_LIFETIME).timestamp()),
            "auth_time": int(now.timestamp()),
            "name": employee.name,
            "email": employee.email,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        return jwt.encode({"alg": "RS256", "kid": self.kid, "typ": "JWT"}, claims, self.key)


BANK_IDP: Final = web.AppKey("bank_idp", BankIdp)


def _issuer(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{PREFIX}"


def _page(status: int, body: str) -> web.Response:
    html = (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>银行统一身份认证 · Bank sign-in</title></head>\n<body>\n<main>\n"
        '<h1>示例银行统一身份认证 <span lang="en">Example Bank sign-in</span></h1>\n'
        f"{body}\n</main>\n</body>\n</html>\n"
    )
    return web.Response(status=status, text=html, content_type="text/html", charset="utf-8")


def _error_page(message: str) -> web.Response:
    return _page(400, f'<p role="alert">{escape(message)}</p>')


def _redirect(uri: str, params: dict[str, str]) -> web.Response:
    separator = "&" if urlsplit(uri).query else "?"
    return web.Response(status=302, headers={"Location": uri + separator + urlencode(params)})


async def discovery(request: web.Request) -> web.Response:
    """``GET /bank-idp/.well-known/openid-configuration``."""
    issuer = _issuer(request)
    return web.json_response(
        {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code"],
            "authorization_response_iss_parameter_supported": True,
        }
    )


async def jwks(request: web.Request) -> web.Response:
    """``GET /bank-idp/jwks``."""
    return web.json_response(request.app[BANK_IDP].jwks())


def _checked_request(idp: BankIdp, params: dict[str, str]) -> str | web.Response:
    """The redirect URI of a well-formed authorization request, or the page/redirect saying what's wrong."""
    client = idp.clients.get(params.get("client_id", ""))
    redirect_uri = params.get("redirect_uri", "")
    if client is None:
        return _error_page("未知的应用 (client_id)。 Unknown client_id.")
    if redirect_uri not in client.redirect_uris:
        return _error_page("回调地址未登记。 The redirect_uri is not registered for this client.")
    problem = None
    if params.get("response_type") != "code":
        problem = "unsupported_response_type"
    elif "openid" not in params.get("scope", "").split():
        problem = "invalid_scope"
    elif params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        problem = "invalid_request"
    if problem is not None:
        return _redirect(redirect_uri, {"error": problem, "state": params.get("state", "")})
    return redirect_uri


_FORWARDED: Final = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


async def authorize_page(request: web.Request) -> web.Response:
    """``GET /bank-idp/authorize``: the employees as buttons, and cancel."""
    idp = request.app[BANK_IDP]
    params = {k: request.query[k] for k in _FORWARDED if k in request.query}
    checked = _checked_request(idp, params)
    if isinstance(checked, web.Response):
        return checked
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">\n' for k, v in params.items()
    )
    buttons = "".join(
        f'<button type="submit" name="sub" value="{escape(e.sub)}">以 {escape(e.name)} 登录 · '
        f"Sign in as {escape(e.name)}</button>\n"
        for e in idp.employees.values()
    )
    body = (
        '<p>选择员工账号登录。 <span lang="en">Choose the employee to sign in as.</span></p>\n'
        f'<form method="post" action="{PREFIX}/authorize">\n{hidden}{buttons}'
        '<button type="submit" name="cancel" value="1">取消 · Cancel</button>\n</form>'
    )
    return _page(200, body)


async def authorize_submit(request: web.Request) -> web.Response:
    """``POST /bank-idp/authorize``: the employee pressed a button (or cancel)."""
    idp = request.app[BANK_IDP]
    form = await request.post()
    params = {k: str(form[k]) for k in _FORWARDED if k in form}
    checked = _checked_request(idp, params)
    if isinstance(checked, web.Response):
        return checked
    state = {"state": params["state"]} if "state" in params else {}
    if "cancel" in form:
        return _redirect(checked, {"error": "access_denied", **state, "iss": _issuer(request)})
    sub = str(form.get("sub", ""))
    if sub not in idp.employees:
        return _error_page("未知的员工。 Unknown employee.")
    code = secrets.token_urlsafe(24)
    idp.codes[code] = _Grant(
        client_id=params["client_id"],
        redirect_uri=checked,
        sub=sub,
        nonce=params.get("nonce"),
        challenge=params["code_challenge"],
        expires_at=idp.clock.now() + CODE_LIFETIME,
    )
    return _redirect(checked, {"code": code, **state, "iss": _issuer(request)})


def _token_error(error: str, status: int = 400) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="bank-idp"'
    return web.json_response({"error": error}, status=status, headers=headers)


def _client_credentials(request: web.Request, form: Any) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except ValueError:
            return None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    if "client_id" in form and "client_secret" in form:
        return str(form["client_id"]), str(form["client_secret"])
    return None


async def token(request: web.Request) -> web.Response:
    """``POST /bank-idp/token``: the authorization code grant with PKCE."""
    idp = request.app[BANK_IDP]
    form = await request.post()
    credentials = _client_credentials(request, form)
    client = idp.clients.get(credentials[0]) if credentials is not None else None
    if credentials is None or client is None or not secrets.compare_digest(client.secret, credentials[1]):
        return _token_error("invalid_client", 401)
    if form.get("grant_type") != "authorization_code":
        return _token_error("unsupported_grant_type")
    grant = idp.codes.pop(str(form.get("code", "")), None)
    if grant is None or grant.client_id != credentials[0] or idp.clock.now() >= grant.expires_at:
        return _token_error("invalid_grant")
    if form.get("redirect_uri") != grant.redirect_uri:
        return _token_error("invalid_grant")
    verifier = str(form.get("code_verifier", ""))
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not secrets.compare_digest(digest, grant.challenge):
        return _token_error("invalid_grant")
    return web.json_response(
        {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",  # nosec B105
            "expires_in": 300,
            "id_token": idp.id_token(_issuer(request), grant),
        },
        headers={"Cache-Control": "no-store"},
    )


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise InvalidArgument("The body is not JSON.") from exc
    if not isinstance(body, dict):
        raise InvalidArgument("The body is not a JSON object.")
    return body


def _http_url(value: object) -> bool:
    try:
        return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")
    except ValueError:
        return False


async def add_client(request: web.Request) -> web.Response:
    """``POST /bank-idp/sandbox/clients``: register a client of the provider."""
    uris = (await _json_object(request)).get("redirect_uris")
    if not isinstance(uris, list) or not 0 < len(uris) <= _MAX_REDIRECTS or not all(map(_http_url, uris)):
        raise InvalidArgument("redirect_uris: 1 to 10 http(s) URLs.")
    client_id = "bank-client-" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    request.app[BANK_IDP].clients[client_id] = _Client(secret, tuple(uris))
    return web.json_response({"client_id": client_id, "client_secret": secret}, status=201)


async def add_user(request: web.Request) -> web.Response:
    """``POST /bank-idp/sandbox/users``: add an employee."""
    body = await _json_object(request)
    sub = body.get("sub")
    if not isinstance(sub, str) or not _SUB.fullmatch(sub):
        raise InvalidArgument("sub: 1 to 255 printable ASCII characters.")
    name = str(body.get("name") or sub)
    email = str(body.get("email") or f"{sub}@bank.example")
    request.app[BANK_IDP].employees[sub] = Employee(sub, name, email)
    return web.json_response({"sub": sub, "name": name, "email": email}, status=201)


async def list_users(request: web.Request) -> web.Response:
    """``GET /bank-idp/sandbox/users``."""
    employees = request.app[BANK_IDP].employees.values()
    return web.json_response({"users": [{"sub": e.sub, "name": e.name, "email": e.email} for e in employees]})


def add_bank_idp_routes(app: web.Application, *, clock: Clock) -> None:
    """Mount the provider on ``app`` under ``/bank-idp`` with a fresh key."""
    app[BANK_IDP] = BankIdp(clock)
    app.router.add_routes(
        [
            web.get(PREFIX + "/.well-known/openid-configuration", discovery),
            web.get(PREFIX + "/jwks", jwks),
            web.get(PREFIX + "/authorize", authorize_page),
            web.post(PREFIX + "/authorize", authorize_submit),
            web.post(PREFIX + "/token", token),
            web.post(PREFIX + "/sandbox/clients", add_client),
            web.post(PREFIX + "/sandbox/users", add_user),
            web.get(PREFIX + "/sandbox/users", list_users),
        ]
    )
