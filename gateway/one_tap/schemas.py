"""Wire models of the one-tap API (contract §4)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["E164", "LoginRequest", "Operator", "VerifyRequest"]

Operator = Literal["cmcc", "cucc", "ctcc"]
E164 = r"^\+[1-9][0-9]{4,14}$"


class LoginRequest(BaseModel):
    """``POST /one-tap/v1/login``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field(min_length=1, max_length=2048)
    operator: Operator | None = None


class VerifyRequest(LoginRequest):
    """``POST /one-tap/v1/verify``."""

    phoneNumber: str = Field(pattern=E164)
