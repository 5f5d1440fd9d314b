"""Wire models of the one-tap API (contract §4)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.wire import E164

__all__ = ["LoginRequest", "Operator", "VerifyRequest"]

Operator = Literal["cmcc", "cucc", "ctcc"]


class LoginRequest(BaseModel):
    """``POST /one-tap/v1/login``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field(min_length=1, max_length=2048)
    operator: Operator | None = None


class VerifyRequest(LoginRequest):
    """``POST /one-tap/v1/verify``."""

    phoneNumber: str = Field(pattern=E164)
