"""Wire models of the admin tenant API (contract §2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from gateway.scopes import is_known_scope
from gateway.tenants.validation import check_jwks, check_name, check_redirect_uri

__all__ = ["TenantCreate"]

T = TypeVar("T")


def _plain(check: Callable[..., T], *args: Any) -> T:
    """``check(*args)``, its ValueError reported with its own message (no "Value error," prefix)."""
    try:
        return check(*args)
    except ValueError as exc:
        raise PydanticCustomError("invalid_client_metadata", str(exc)) from exc


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

    @field_validator("name")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        return _plain(check_name, name)

    @field_validator("redirect_uris")
    @classmethod
    def _redirect_uris(cls, uris: list[str]) -> list[str]:
        return [_plain(check_redirect_uri, uri, f"redirect_uris[{index}]") for index, uri in enumerate(uris)]

    @field_validator("jwks")
    @classmethod
    def _public_jwks(cls, jwks: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if jwks is None else _plain(check_jwks, jwks)
