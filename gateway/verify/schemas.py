"""Wire models of the verification API and the JSON of a request."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.push.service import timestamp
from gateway.templates.builtin import DEFAULT_VERIFICATION_LOCALE
from gateway.templates.rendering import CODE_DIGITS
from gateway.verify.service import NewRequest, RequestView
from gateway.verify.workflow import MAX_STEPS, Channel, Step
from gateway.wire import E164

__all__ = ["CodeBody", "RequestCreate", "request_json"]

_LOCALE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"
_REFERENCE = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"


class StepBody(BaseModel):
    """One workflow step: ``network``, or ``sms`` with an optional verification ``templateId``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Literal["network", "sms"]
    templateId: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("templateId")
    @classmethod
    def _sms_only(cls, value: str | None, info: Any) -> str | None:
        if value is not None and info.data.get("channel") != "sms":
            raise ValueError("only an sms step takes a templateId")
        return value


class RequestCreate(BaseModel):
    """``POST /verify/v1/requests``: 1-3 steps, ``network`` at most once; ``channelTimeout`` is each
    step's time (and a code's life) in seconds, 60-900, default 300; ``codeLength`` 4-10, default 6."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phoneNumber: str = Field(pattern=E164)
    workflow: list[StepBody] = Field(min_length=1, max_length=MAX_STEPS)
    codeLength: int = Field(default=6, ge=CODE_DIGITS[0], le=CODE_DIGITS[1], strict=True)
    locale: str = Field(default=DEFAULT_VERIFICATION_LOCALE, max_length=35, pattern=_LOCALE)
    channelTimeout: int = Field(default=300, ge=60, le=900, strict=True)
    clientReference: str | None = Field(default=None, min_length=1, max_length=64, pattern=_REFERENCE)

    @field_validator("workflow")
    @classmethod
    def _one_network_step(cls, steps: list[StepBody]) -> list[StepBody]:
        if sum(step.channel == "network" for step in steps) > 1:
            raise ValueError("at most one network step")
        return steps

    def to_domain(self) -> NewRequest:
        """The service's request."""
        return NewRequest(
            phone_number=self.phoneNumber,
            steps=tuple(Step(Channel(s.channel), s.templateId) for s in self.workflow),
            code_length=self.codeLength,
            locale=self.locale,
            channel_timeout=self.channelTimeout,
            client_reference=self.clientReference,
        )


class CodeBody(BaseModel):
    """``POST /verify/v1/requests/{id}/check``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=rf"^[0-9]{{{CODE_DIGITS[0]},{CODE_DIGITS[1]}}}$")


def request_json(view: RequestView) -> dict[str, Any]:
    """``GET /verify/v1/requests/{id}`` (and the other answers): the number masked."""
    body: dict[str, Any] = {
        "requestId": view.id,
        "status": view.status.value,
        "phoneNumber": view.phone_masked,
    }
    if view.client_reference is not None:
        body["clientReference"] = view.client_reference
    if view.check_url is not None:
        body["checkUrl"] = view.check_url
    body["currentStep"] = view.current
    body["attemptsLeft"] = view.attempts_left
    body["codesSent"] = view.codes_sent
    body["createdAt"] = timestamp(view.created_at)
    body["steps"] = [
        {
            "channel": step.channel.value,
            **({"templateId": step.template_id} if step.template_id else {}),
            "status": outcome.status.value,
            **({"startedAt": timestamp(outcome.started_at)} if outcome.started_at else {}),
            **({"endedAt": timestamp(outcome.ended_at)} if outcome.ended_at else {}),
            **({"reason": outcome.reason} if outcome.reason else {}),
        }
        for step, outcome in zip(view.steps, view.outcomes, strict=True)
    ]
    return body
