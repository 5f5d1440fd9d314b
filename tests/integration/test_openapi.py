"""The OpenAPI document (``gateway.openapi``): it covers exactly the router's routes, is valid
OpenAPI 3.1, states each route's auth and errors, describes request bodies as the views decode
them, and is what ``GET /openapi.json`` serves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
from pydantic import ValidationError
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from gateway.app import create_app
from gateway.auth import policy_of
from gateway.openapi import OPENAPI_JSON, UndocumentedRoute, build_document, router_routes
from gateway.openapi.document import CORRELATOR_PATTERN, request_models
from gateway.openapi.operations import OPERATIONS
from gateway.settings import Settings
from tests.stack import Stack

PUBLIC_URL = "https://gateway.bank.example"
METHODS = {"get", "put", "post", "delete", "patch"}
SCHEMA_KEYWORDS = {
    "$ref", "$defs", "type", "enum", "const", "properties", "required", "additionalProperties",
    "items", "prefixItems", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
    "anyOf", "allOf", "oneOf", "not", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minLength", "maxLength", "pattern", "format", "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly",
}  # fmt: skip


@pytest.fixture(scope="module")
def app_and_document() -> tuple[Any, dict[str, Any]]:
    """An application (not started) and the document it serves."""
    app = create_app(Settings(database_url="sqlite://", public_url=PUBLIC_URL))
    return app, json.loads(app[OPENAPI_JSON])


@pytest.fixture(scope="module")
def document(app_and_document: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
    """The document of the production route table."""
    return app_and_document[1]


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside ``schema`` (itself included)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for key in ("properties", "$defs"):
        for sub in schema.get(key, {}).values():
            yield from _subschemas(sub)
    for key in ("items", "additionalProperties", "not"):
        yield from _subschemas(schema.get(key))
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        for sub in schema.get(key, []):
            yield from _subschemas(sub)


def test_document_covers_exactly_the_routers_routes(app_and_document: tuple[Any, dict[str, Any]]) -> None:
    """The router's (method, path) pairs, HEAD excluded, are the document's operations and the
    metadata table's keys, one for one; operation ids are unique."""
    app, document = app_and_document
    routed = {
        (route.method, route.resource.canonical) for route in app.router.routes() if route.method != "HEAD"
    }
    documented = {(method, path) for method, path, _ in _operations(document)}
    assert documented == routed
    assert set(OPERATIONS) == routed
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))


def test_a_route_without_metadata_is_refused() -> None:
    """Rendering the document for a route the metadata table does not know raises, naming it."""
    with pytest.raises(UndocumentedRoute, match="GET /nowhere"):
        build_document([("GET", "/nowhere", "public")], PUBLIC_URL)


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    """The document validates against the OpenAPI 3.1 schema, every schema in it is a valid JSON
    Schema 2020-12 using only known keywords, every $ref resolves, and servers is the public URL."""
    assert document["openapi"].startswith("3.1.")
    errors = [str(error) for error in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []
    schemas = list(document["components"]["schemas"].values())
    for _, _, operation in _operations(document):
        schemas += [c["schema"] for c in operation.get("requestBody", {}).get("content", {}).values()]
        for response in operation["responses"].values():
            schemas += [c["schema"] for c in response.get("content", {}).values()]
        schemas += [p["schema"] for p in operation["parameters"] if "schema" in p]
    for schema in schemas:
        assert jsonschema_rs.meta.is_valid(schema), schema
        for sub in _subschemas(schema):
            assert set(sub) <= SCHEMA_KEYWORDS, sorted(set(sub) - SCHEMA_KEYWORDS)
            if "$ref" in sub:
                _resolve(document, sub)
    assert document["servers"] == [{"url": PUBLIC_URL}]


def test_every_operation_declares_its_auth_and_its_errors(
    app_and_document: tuple[Any, dict[str, Any]],
) -> None:
    """Security follows the handler's policy (scopes as alternatives); a scoped route documents
    401 UNAUTHENTICATED and 403 PERMISSION_DENIED, as does a console route (the session cookie),
    an admin or flow-session route 401; every operation takes x-correlator and documents its 400;
    every answer echoes x-correlator; every 4xx/5xx has the contract's error body (RFC 6749's on
    the token endpoints)."""
    app, document = app_and_document
    policies = {
        (route.method, route.resource.canonical): policy_of(route.handler)
        for route in app.router.routes()
        if route.method != "HEAD"
    }
    for method, path, operation in _operations(document):
        policy = policies[(method, path)]
        assert policy is not None, (method, path)
        responses = operation["responses"]
        schemes = [name for requirement in operation["security"] for name in requirement]
        codes = {
            status: _resolve(document, response)["content"]["application/json"]["schema"]
            for status, response in responses.items()
            if int(status) >= 400 and "application/json" in response.get("content", {})
        }
        if policy.startswith("scope:"):
            wanted = [{"oauth2": [scope]} for scope in policy.removeprefix("scope:").split("|")]
            assert operation["security"] == wanted, (method, path)
            assert "UNAUTHENTICATED" in codes["401"]["properties"]["code"]["enum"], (method, path)
            assert "PERMISSION_DENIED" in codes["403"]["properties"]["code"]["enum"], (method, path)
        elif policy in ("admin", "flow-session"):
            assert schemes == [{"admin": "adminBearer", "flow-session": "flowSession"}[policy]]
            assert "UNAUTHENTICATED" in codes["401"]["properties"]["code"]["enum"], (method, path)
        elif policy.startswith("staff-session"):
            assert schemes == ["consoleSession"], (method, path)
            assert "UNAUTHENTICATED" in codes["401"]["properties"]["code"]["enum"], (method, path)
            assert "PERMISSION_DENIED" in codes["403"]["properties"]["code"]["enum"], (method, path)
        else:
            assert policy == "public"
            assert set(schemes) <= {"clientSecretBasic"}, (method, path)
        parameters = [_resolve(document, p) for p in operation["parameters"]]
        assert any(p["name"] == "x-correlator" and p["in"] == "header" for p in parameters)
        assert document["components"]["parameters"]["XCorrelator"]["schema"]["pattern"] == CORRELATOR_PATTERN
        assert "INVALID_ARGUMENT" in str(codes["400"]), (method, path)
        for status, response in responses.items():
            assert "x-correlator" in response["headers"], (method, path, status)
            if int(status) >= 400 and status in codes:
                schema = codes[status]
                bodies = schema.get("anyOf", [schema])
                refs = {b.get("$ref") or b["allOf"][0]["$ref"] for b in bodies}
                assert refs <= {"#/components/schemas/ErrorInfo", "#/components/schemas/OAuthErrorBody"}
                for body in bodies:
                    if "status" in body.get("properties", {}):
                        assert body["properties"]["status"] == {"const": int(status)}


def test_request_bodies_are_the_models_the_views_decode(document: dict[str, Any]) -> None:
    """Each JSON request body is its model's own JSON schema (the one ``read_json`` validates
    with); every object in it forbids unknown properties, and the model does refuse one."""
    components = document["components"]["schemas"]
    for model in request_models():
        own = model.model_json_schema(ref_template="#/components/schemas/{model}")
        own_defs = own.pop("$defs", {})
        assert components[model.__name__] == own, model.__name__
        for name, sub in own_defs.items():
            assert components[name] == sub, name
        for schema in [own, *own_defs.values()]:
            for sub in _subschemas(schema):
                if "properties" in sub:
                    assert sub.get("additionalProperties") is False, (model.__name__, sub)
        with pytest.raises(ValidationError) as refused:
            model.model_validate_json(b'{"zzUnknownProperty": 1}')
        assert any(e["type"] == "extra_forbidden" for e in refused.value.errors()), model.__name__
    for (method, path), operation in OPERATIONS.items():
        if operation.body is not None and operation.body.model is not None:
            content = document["paths"][path][method.lower()]["requestBody"]["content"]
            assert list(content) == ["application/json"]
            ref = f"#/components/schemas/{operation.body.model.__name__}"
            assert content["application/json"]["schema"] == {"$ref": ref}


def test_documented_examples_are_accepted(document: dict[str, Any]) -> None:
    """Every request body example in the document validates against its schema and is accepted
    by the model the view decodes it with."""
    validators: dict[str, jsonschema_rs.Validator] = {}
    for (method, path), operation in OPERATIONS.items():
        if operation.body is None:
            continue
        content = document["paths"][path][method.lower()]["requestBody"]["content"]
        for media in content.values():
            schema = {**media["schema"], "components": document["components"]}
            key = json.dumps(media["schema"])
            validator = validators.setdefault(key, jsonschema_rs.validator_for(schema))
            for name, example in media.get("examples", {}).items():
                assert validator.is_valid(example["value"]), (method, path, name)
                if operation.body.model is not None:
                    operation.body.model.model_validate_json(json.dumps(example["value"]))
        assert operation.body.examples or operation.body.model is None, (method, path)


def test_non_nullable_properties_are_refused_as_null(document: dict[str, Any]) -> None:
    """An optional property the document does not allow to be null is refused as null by the model."""
    for model in request_models():
        schema = document["components"]["schemas"][model.__name__]
        for name, prop in schema["properties"].items():
            nullable = prop.get("type") == "null" or {"type": "null"} in prop.get("anyOf", [])
            if name in schema.get("required", []) or nullable:
                continue
            with pytest.raises(ValidationError) as refused:
                model.model_validate_json(json.dumps({name: None}))
            errors = refused.value.errors()
            assert any(e["loc"][:1] == (name,) or name in e["msg"] for e in errors), (model.__name__, name)


@pytest.mark.integration
async def test_openapi_json_is_served(sqlite_stack: Stack) -> None:
    """``GET /openapi.json`` answers the rendered document, cacheable, without credentials, with
    the configured public URL as its server."""
    resp = await sqlite_stack.http.get(f"{sqlite_stack.gateway_url}/openapi.json")

    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    assert "x-correlator" in resp.headers
    served = resp.json()
    assert served["servers"] == [{"url": sqlite_stack.settings.issuer}]
    routes = {(m, p) for m, p, _ in router_routes(create_app(sqlite_stack.settings).router)}
    assert {(m, p) for m, p, _ in _operations(served)} == routes
