"""Wire models of the admin tenant API (contract §2)."""

from __future__ import annotations

from typing import Any, Literal

import jwt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.scopes import is_known_scope

__all__ = ["TenantCreate"]


class TenantCreate(BaseModel):
    """``POST /admin/tenants`` body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=64)
    redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    jwks: dict[str, Any] | None = None
    sandbox: bool = False
    id_token_signed_response_alg: Literal["ES256", "RS256"] | None = None
    require_signed_request_object: bool = False

    @model_validator(mode="after")
    def _signed_requests_need_keys(self) -> TenantCreate:
        if self.require_signed_request_object and self.jwks is None:
            raise ValueError("require_signed_request_object needs jwks to verify the request objects")
        return self

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str]) -> list[str]:
        unknown = [s for s in scopes if not is_known_scope(s)]
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown)[:5])}")
        return scopes

    @field_validator("redirect_uris")
    @classmethod
    def _absolute_uris(cls, uris: list[str]) -> list[str]:
        for uri in uris:
            if not uri.startswith(("https://", "http://")) or "#" in uri or len(uri) > 2000:
                raise ValueError("redirect URIs must be absolute http(s) URLs without a fragment")
        return uris

    @field_validator("jwks")
    @classmethod
    def _public_jwks(cls, jwks: dict[str, Any] | None) -> dict[str, Any] | None:
        if jwks is None:
            return None
        keys = jwks.get("keys")
        if not isinstance(keys, list) or not keys or len(keys) > 10:
            raise ValueError("jwks must hold 1 to 10 keys")
        for key in keys:
            if not isinstance(key, dict) or not isinstance(key.get("kid"), str):
                raise ValueError("every JWK needs a kid")
            if any(private in key for private in ("d", "p", "q", "k")):
                raise ValueError("jwks must hold public keys only")
        try:
            jwt.PyJWKSet.from_dict(jwks)
        except (jwt.PyJWKSetError, jwt.PyJWKError) as exc:
            raise ValueError("jwks is not a valid JWK Set") from exc
        return jwks
