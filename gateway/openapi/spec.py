"""What the document says about one route, beyond what the router and the auth policy already say.

An :class:`Operation` names its request (a pydantic model read by :func:`gateway.wire.read_json`,
or a hand-written form / free-form schema), its success answers and the errors its own code
raises. The errors every route of a kind can answer are added by :mod:`gateway.openapi.document`
from flags: the auth policy (401/403), a JSON body (400/413/415), an operator call
(502/503/504), a database (503), the ``x-correlator`` check (400, every route).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from gateway.errors import ApiError

__all__ = ["JSON", "Body", "Header", "Operation", "Reply"]

JSON = "application/json"
Schema = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Header:
    """A response header: its description, whether every such answer carries it, and its schema."""

    description: str
    required: bool = True
    schema: Schema = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True, slots=True)
class Reply:
    """A success (or non-error) answer.

    The body is ``model``'s JSON schema, or ``schema`` for every media type of ``media_types``, or
    nothing when both are None (``204``, ``302``).
    """

    status: int
    description: str
    model: type[BaseModel] | None = None
    schema: Schema | None = None
    media_types: tuple[str, ...] = (JSON,)
    headers: Mapping[str, Header] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Body:
    """A request body: ``model`` (JSON, decoded strictly by ``read_json``) or ``schema`` per media
    type; ``examples`` by name (they use the demo subscribers ``gateway up`` seeds)."""

    model: type[BaseModel] | None = None
    schema: Schema | None = None
    media_types: tuple[str, ...] = (JSON,)
    required: bool = True
    description: str | None = None
    examples: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Operation:
    """The document's view of one ``(method, path)`` of the router.

    ``errors`` are the :class:`~gateway.errors.ApiError` classes the route's own code raises;
    ``oauth_errors`` marks RFC 6749 bodies (400, and ``invalid_client`` 401 when ``client_auth``);
    ``operator`` adds the operator failures, ``database`` the 503 of a busy or unreachable
    database.
    """

    operation_id: str
    summary: str
    tag: str
    replies: tuple[Reply, ...]
    description: str | None = None
    body: Body | None = None
    query: type[BaseModel] | None = None
    query_schema: Mapping[str, Schema] = field(default_factory=dict)
    path_schema: Mapping[str, Schema] = field(default_factory=dict)
    request_headers: Mapping[str, Schema] = field(default_factory=dict)
    errors: tuple[type[ApiError], ...] = ()
    operator: bool = False
    database: bool = True
    oauth_errors: bool = False
    client_auth: bool = False
