"""The OpenAPI 3.1 document: the router, the auth policies and :mod:`~gateway.openapi.operations`.

Per operation:

- ``security``: from the handler's policy (:mod:`gateway.auth`): ``scope:a|b`` is the ``oauth2``
  scheme with either scope, ``admin`` the admin bearer, ``flow-session`` the flow session bearer,
  ``public`` nothing (the token endpoints: client authentication, optional for jwt-bearer),
  ``staff-session[:roles]`` the console's session cookie.
- errors, each with the contract's body (``status`` and the possible ``code`` values fixed per
  status) or RFC 6749's on the OAuth endpoints: 400 for a malformed ``x-correlator`` everywhere;
  401/403 from the policy; 400/413/415 for a JSON body (413 for a form); 502/503/504 for an
  operator call; 503 (``Retry-After``) for a busy database; then the route's own.
- ``x-correlator``: an optional request header on every operation, echoed on every answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.errors import (
    ApiError,
    BadGateway,
    GatewayTimeout,
    InvalidArgument,
    PayloadTooLarge,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from gateway.openapi.operations import OPERATIONS
from gateway.openapi.responses import RESPONSE_MODELS
from gateway.openapi.spec import JSON, Body, Header, Operation, Reply
from gateway.scopes import KNOWN_SCOPES

__all__ = ["CORRELATOR_PATTERN", "RouteInfo", "UndocumentedRoute", "build_document", "request_models"]

RouteInfo = tuple[str, str, str]
"""``(METHOD, path template, auth policy)`` of one route."""

CORRELATOR_PATTERN = r"^[a-zA-Z0-9\-_:;./<>{}]{0,256}$"
_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")
_ERROR_REF = {"$ref": "#/components/schemas/ErrorInfo"}
_OAUTH_REF = {"$ref": "#/components/schemas/OAuthErrorBody"}
_JSON_BODY_ERRORS = (InvalidArgument, PayloadTooLarge, UnsupportedMediaType)
_OPERATOR_ERRORS = (BadGateway, Unavailable, GatewayTimeout)
_TAGS = {
    "operations": "Health, readiness, metrics and this document.",
    "oauth": "OAuth 2.0 / OIDC authorization server (contract §2).",
    "admin": "Bootstrap administration with the admin bearer.",
    "one-tap": "One-tap login and local number check with operator SDK tokens (contract §4).",
    "number-verification": "CAMARA Number Verification (contract §3).",
    "sim-swap": "CAMARA SIM Swap.",
    "device-swap": "CAMARA Device Swap.",
    "kyc-match": "CAMARA Know Your Customer Match.",
    "sim-swap-subscriptions": "CAMARA SIM swap subscriptions (CloudEvents to a sink).",
    "login-check": "Device consistency decisions and the device registry (contract §5).",
    "templates": "SMS templates and their review (contract §6).",
    "webhooks": "The tenant's Standard Webhooks endpoint (contract §7).",
    "push": "SMS with a link to a quick app, and the operators' callbacks (contract §6).",
    "campaigns": "Batch sends: up to 100,000 recipients per campaign, sent at a rate, with progress.",
    "flows": "Link redemption and the flows run with a flow session.",
    "branches": "Branch queues for tellers.",
    "verify": "Verification workflows: network authentication, else a code by SMS.",
    "staff": "A tenant's staff accounts (console sign-in) and their audit log, with the admin bearer.",
    "console": "The staff console: sign-in with a session cookie, the teller desk, the audit log.",
    "dashboard": "The operations dashboard of the staff console (admins and supervisors).",
    "pages": "HTML pages and their assets.",
}


class UndocumentedRoute(RuntimeError):
    """A route of the router has no entry in :data:`~gateway.openapi.operations.OPERATIONS`."""


def request_models() -> list[type[BaseModel]]:
    """The models the views decode request bodies and queries with, as the document uses them."""
    models: list[type[BaseModel]] = []
    for op in OPERATIONS.values():
        for model in (op.body.model if op.body else None, op.query):
            if model is not None and model not in models:
                models.append(model)
    return models


def _response_models() -> list[type[BaseModel]]:
    models = list(RESPONSE_MODELS)
    for op in OPERATIONS.values():
        models += [
            reply.model for reply in op.replies if reply.model is not None and reply.model not in models
        ]
    return models


@functools.cache
def _schemas() -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    mode: Literal["validation"] = "validation"
    refs, top = models_json_schema(
        [(model, mode) for model in [*request_models(), *_response_models()]], ref_template=_REF
    )
    definitions: dict[str, Any] = dict(top.get("$defs", {}))
    definitions["ErrorInfo"] = {
        "type": "object",
        "description": "The contract's error body; `message` is for humans.",
        "properties": {
            "status": {"type": "integer", "description": "The HTTP status."},
            "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_.]*$"},
            "message": {"type": "string"},
        },
        "required": ["status", "code", "message"],
        "additionalProperties": False,
    }
    return {model: ref for (model, _), ref in refs.items()}, definitions


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return dict(_schemas()[0][model])


def _security_schemes(server_url: str) -> dict[str, Any]:
    scopes = {scope: f"`{scope}`" for scope in sorted(KNOWN_SCOPES)}
    scopes["dpv:<Purpose>"] = "A data processing purpose (one per token where personal data is processed)."
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "An ES256 JWT access token (`Authorization: Bearer …`) from `/oauth2/token`: "
            "client credentials (2-legged), authorization code with PKCE, CIBA or jwt-bearer (3-legged).",
            "flows": {
                "clientCredentials": {"tokenUrl": f"{server_url}/oauth2/token", "scopes": scopes},
                "authorizationCode": {
                    "authorizationUrl": f"{server_url}/oauth2/authorize",
                    "tokenUrl": f"{server_url}/oauth2/token",
                    "scopes": scopes,
                },
            },
        },
        "adminBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The bootstrap admin token (`GATEWAY_ADMIN_TOKEN`).",
        },
        "flowSession": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "fls_…",
            "description": "The short-lived session a link redemption returns.",
        },
        "consoleSession": {
            "type": "apiKey",
            "in": "cookie",
            "name": "gw_console",
            "description": "The console's session cookie from `POST /console/api/session`; state-changing "
            "calls also send its CSRF token in `X-CSRF-Token` from the console's own origin.",
        },
        "clientSecretBasic": {
            "type": "http",
            "scheme": "basic",
            "description": "`client_secret_basic`; `private_key_jwt` goes in the form instead.",
        },
    }


def _security(op: Operation, policy: str) -> list[dict[str, list[str]]]:
    if op.client_auth:
        return [{"clientSecretBasic": []}, {}]
    if policy == "admin":
        return [{"adminBearer": []}]
    if policy == "flow-session":
        return [{"flowSession": []}]
    if policy.startswith("scope:"):
        return [{"oauth2": [scope]} for scope in policy.removeprefix("scope:").split("|")]
    if policy == "staff-session" or policy.startswith("staff-session:"):
        return [{"consoleSession": []}]
    if policy == "public":
        return []
    raise UndocumentedRoute(f"unknown auth policy {policy!r}")


def _policy_errors(policy: str) -> tuple[type[ApiError], ...]:
    if policy.startswith(("scope:", "staff-session")):
        return Unauthenticated, PermissionDenied
    if policy in ("admin", "flow-session"):
        return (Unauthenticated,)
    return ()


def _headers(headers: Mapping[str, Header]) -> dict[str, Any]:
    out: dict[str, Any] = {"x-correlator": {"$ref": "#/components/headers/XCorrelator"}}
    for name, header in headers.items():
        out[name] = {
            "description": header.description,
            "required": header.required,
            "schema": dict(header.schema),
        }
    return out


def _reply(reply: Reply) -> dict[str, Any]:
    out: dict[str, Any] = {"description": reply.description, "headers": _headers(reply.headers)}
    if reply.model is not None:
        out["content"] = {media: {"schema": _ref(reply.model)} for media in reply.media_types}
    elif reply.schema is not None:
        out["content"] = {media: {"schema": dict(reply.schema)} for media in reply.media_types}
    return out


def _error(status: int, classes: list[type[ApiError]], *, oauth: bool) -> dict[str, Any]:
    codes = sorted({cls.code for cls in classes})
    api_schema: dict[str, Any] = {
        "allOf": [_ERROR_REF],
        "properties": {"status": {"const": status}, "code": {"enum": codes}},
    }
    description = f"{HTTPStatus(status).phrase}: " + ", ".join(f"`{c}`" for c in codes) if codes else ""
    if oauth and status == 401:
        schema: dict[str, Any] = {"allOf": [_OAUTH_REF], "properties": {"error": {"const": "invalid_client"}}}
        description = f"{HTTPStatus(status).phrase}: RFC 6749 `invalid_client`"
    elif oauth and status == 400:
        schema = {"anyOf": [_OAUTH_REF, api_schema]}
        description += " or an RFC 6749 error (`invalid_request`, `invalid_grant`, …)"
    else:
        schema = api_schema
    headers: dict[str, Header] = {}
    if status == 401:
        headers["WWW-Authenticate"] = Header("The authentication scheme to use.")
    if status == 429:
        headers["Retry-After"] = Header("Seconds to wait.", schema={"type": "string", "pattern": "^[0-9]+$"})
    if status == 503:
        headers["Retry-After"] = Header(
            "Seconds to wait (a busy database, an unreachable Redis, or an operator whose circuit is open).",
            required=False,
            schema={"type": "string", "pattern": "^[0-9]+$"},
        )
    return {"description": description, "headers": _headers(headers), "content": {JSON: {"schema": schema}}}


def _errors(op: Operation, policy: str) -> dict[int, list[type[ApiError]]]:
    classes: list[type[ApiError]] = [InvalidArgument, *_policy_errors(policy)]
    if op.body is not None:
        classes += _JSON_BODY_ERRORS if op.body.model is not None else [PayloadTooLarge]
    if op.operator:
        classes += _OPERATOR_ERRORS
    if op.database:
        classes.append(Unavailable)
    classes += op.errors
    by_status: dict[int, list[type[ApiError]]] = {}
    for cls in classes:
        if op.client_auth and cls is Unauthenticated:
            continue
        by_status.setdefault(cls.status, []).append(cls)
    if op.client_auth:
        by_status.setdefault(401, [])
    return by_status


def _body(body: Body) -> dict[str, Any]:
    schema = _ref(body.model) if body.model is not None else dict(body.schema or {})
    media: dict[str, Any] = {"schema": schema}
    if body.examples:
        media["examples"] = {name: {"value": value} for name, value in body.examples.items()}
    out: dict[str, Any] = {
        "required": body.required,
        "content": {media_type: media for media_type in body.media_types},
    }
    if body.description:
        out["description"] = body.description
    return out


def _parameters(op: Operation, path: str) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [{"$ref": "#/components/parameters/XCorrelator"}]
    for name in _PATH_PARAM.findall(path):
        path_schema = dict(op.path_schema.get(name, {"type": "string"}))
        params.append({"name": name, "in": "path", "required": True, "schema": path_schema})
    if op.query is not None:
        model_schema = op.query.model_json_schema(ref_template=_REF)
        required = set(model_schema.get("required", []))
        for name, prop in model_schema["properties"].items():
            params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    for name, query_schema in op.query_schema.items():
        params.append({"name": name, "in": "query", "required": False, "schema": dict(query_schema)})
    for name, header_schema in op.request_headers.items():
        params.append({"name": name, "in": "header", "required": False, "schema": dict(header_schema)})
    return params


def _operation(op: Operation, path: str, policy: str) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    out["security"] = _security(op, policy)
    out["parameters"] = _parameters(op, path)
    if op.body is not None:
        out["requestBody"] = _body(op.body)
    responses: dict[str, Any] = {str(reply.status): _reply(reply) for reply in op.replies}
    for status, classes in sorted(_errors(op, policy).items()):
        if str(status) not in responses:
            responses[str(status)] = _error(status, classes, oauth=op.oauth_errors)
    out["responses"] = dict(sorted(responses.items()))
    out["x-auth-policy"] = policy
    return out


def build_document(routes: Iterable[RouteInfo], server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` served at ``server_url``.

    :raises UndocumentedRoute: a route without metadata, or with an unknown policy.
    """
    paths: dict[str, dict[str, Any]] = {}
    for method, path, policy in routes:
        op = OPERATIONS.get((method, path))
        if op is None:
            raise UndocumentedRoute(f"route {method} {path} is missing from gateway.openapi.operations")
        paths.setdefault(path, {})[method.lower()] = _operation(op, path, policy)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Carrier identity and push-to-quick-app gateway",
            "version": "0.1.0",
            "description": "One-tap login and number checks with China's operators, CAMARA network APIs, "
            "an OAuth 2.0 / OIDC authorization server and SMS push to quick apps. Every error answers "
            '`{"status", "code", "message"}` (RFC 6749 bodies on `/oauth2/*`); unknown JSON properties '
            "are `400 INVALID_ARGUMENT`.",
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": name, "description": text} for name, text in _TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": _schemas()[1],
            "securitySchemes": _security_schemes(server_url),
            "parameters": {
                "XCorrelator": {
                    "name": "x-correlator",
                    "in": "header",
                    "required": False,
                    "description": "A correlation id, echoed on the answer; a malformed one is "
                    "`400 INVALID_ARGUMENT` (a fresh one is echoed then).",
                    "schema": {"type": "string", "pattern": CORRELATOR_PATTERN},
                }
            },
            "headers": {
                "XCorrelator": {
                    "description": "The request's `x-correlator`, or a fresh one.",
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
        },
    }
