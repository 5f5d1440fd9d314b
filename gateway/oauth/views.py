"""OAuth 2.0 / OIDC endpoints: discovery, JWKS, authorization, operator callbacks, CIBA and token.

Token and backchannel requests are form-encoded, answered with ``Cache-Control: no-store`` (RFC
6749 §5.1) and RFC 6749 error bodies. The authorization endpoint (GET or form POST, OIDC Core
§3.1.2.1) and the operator callbacks answer 302 redirects; their direct errors (unknown client,
unregistered redirect URI, unknown callback state, a POST that is not form-encoded) use the contract's
error body. A form body that does not decode (not UTF-8, or an unknown charset) is 400: ``invalid_request``
on the token and backchannel endpoints, ``INVALID_ARGUMENT`` (a direct error) on the authorization endpoint.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiMapping

from gateway.appkeys import RUNTIME
from gateway.auth import public
from gateway.errors import InvalidArgument, OAuthError, OAuthRedirect, UnsupportedMediaType
from gateway.oauth.metadata import server_metadata
from gateway.verify.views import code_form
from gateway.wire import form_fields, json_response, multi_params

__all__ = ["routes"]

routes = web.RouteTableDef()
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"
_MAX_CODE = 64


@routes.get("/.well-known/openid-configuration")
@public
async def discovery(request: web.Request) -> web.Response:
    """OpenID Provider metadata (OIDC Discovery 1.0)."""
    return json_response(_metadata(request))


@routes.get("/.well-known/oauth-authorization-server")
@public
async def authorization_server_metadata(request: web.Request) -> web.Response:
    """OAuth 2.0 Authorization Server Metadata (RFC 8414): the same document."""
    return json_response(_metadata(request))


def _metadata(request: web.Request) -> dict[str, Any]:
    runtime = request.app[RUNTIME]
    return server_metadata(
        runtime.settings.issuer,
        grant_types=runtime.oauth.token_endpoint.grant_types,
        require_signed_request_object=runtime.settings.require_signed_request_object,
    )


@routes.get("/oauth2/jwks")
@public
async def jwks(request: web.Request) -> web.Response:
    """The public keys that verify this gateway's tokens."""
    return json_response(request.app[RUNTIME].keys.jwks(), headers={"Cache-Control": "max-age=300"})


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, **_NO_STORE})


async def _posted(request: web.Request, *, direct: bool = False) -> MultiMapping[Any]:
    """The form body's fields.

    :raises OAuthError: ``invalid_request``, the body does not decode in its declared charset
        (UTF-8 by default); :class:`InvalidArgument` instead when ``direct`` (the authorization
        endpoint's direct errors).
    """
    try:
        return await form_fields(request)
    except InvalidArgument as exc:
        if direct:
            raise
        raise OAuthError("invalid_request", exc.message) from exc


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type != _FORM:
        raise OAuthError("invalid_request", "The request body must be application/x-www-form-urlencoded.")
    return {k: v for k, v in (await _posted(request)).items() if isinstance(v, str)}


@routes.get("/oauth2/authorize")
@routes.post("/oauth2/authorize")
@public
async def authorize(request: web.Request) -> web.Response:
    """Start network-based authentication: 302 to the device's operator, or an error redirect."""
    service = request.app[RUNTIME].oauth.authorization
    if request.method == "POST" and request.content_type != _FORM:
        raise UnsupportedMediaType("The request body must be application/x-www-form-urlencoded.")
    source = await _posted(request, direct=True) if request.method == "POST" else request.query
    try:
        location = await service.start(
            multi_params(source), peer=request.remote, forwarded_for=request.headers.get("X-Forwarded-For")
        )
    except OAuthRedirect as exc:
        location = service.error_location(exc)
    return _redirect(location)


@routes.get("/oauth2/callback/{operator}")
@public
async def callback(request: web.Request) -> web.Response:
    """The operator's return: 302 to the client with the gateway's code, or an error redirect."""
    service = request.app[RUNTIME].oauth.authorization
    try:
        location = await service.finish(request.match_info["operator"], multi_params(request.query))
    except OAuthRedirect as exc:
        location = service.error_location(exc)
    return _redirect(location)


@routes.get("/oauth2/code-entry/{handle}")
@public
async def code_entry(request: web.Request) -> web.Response:
    """The page where a customer off the mobile network types the code we sent by SMS."""
    await request.app[RUNTIME].oauth.authorization.check_code_entry(request.match_info["handle"])
    return code_form(attempts_left=None)


@routes.post("/oauth2/code-entry/{handle}")
@public
async def enter_code(request: web.Request) -> web.Response:
    """A code typed on the code-entry page: 302 to the client, or the form again."""
    if request.content_type != _FORM:
        raise UnsupportedMediaType("The request body must be application/x-www-form-urlencoded.")
    code = (await _posted(request, direct=True)).get("code")
    if not isinstance(code, str) or len(code) > _MAX_CODE:
        raise InvalidArgument("Send the code as the form field code.")
    entry = await request.app[RUNTIME].oauth.authorization.enter_code(
        request.match_info["handle"], code.strip()
    )
    if entry.location is not None:
        return _redirect(entry.location)
    return code_form(attempts_left=entry.attempts_left)


@routes.post("/oauth2/bc-authorize")
@public
async def backchannel_authorize(request: web.Request) -> web.Response:
    """CIBA backchannel authentication request (poll mode)."""
    runtime = request.app[RUNTIME]
    form = await _form(request)
    tenant = await runtime.client_auth.authenticate(request.headers.get("Authorization"), form)
    return json_response(await runtime.oauth.backchannel.start(tenant, form), headers=_NO_STORE)


@routes.post("/oauth2/token")
@public
async def token(request: web.Request) -> web.Response:
    """The token endpoint; see :mod:`gateway.oauth.token_endpoint`."""
    runtime = request.app[RUNTIME]
    form = await _form(request)
    body = await runtime.oauth.token_endpoint.handle(request.headers.get("Authorization"), form)
    return json_response(body, headers=_NO_STORE)
