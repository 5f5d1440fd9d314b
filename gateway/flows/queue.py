"""Branch queue rules, as pure functions: ticket labels, service days, wait estimates, templates.

- A ticket's label is ``A`` + its 3-digit sequence number within the branch's service day
  (Asia/Shanghai date): ``A001`` is the day's first ticket.
- Position = waiting tickets issued before it + 1. The estimated wait is ``position`` times the
  minutes per customer: the mean interval between the branch's last calls (at most 6, within the
  last 2 hours, at least 3 of them; clamped to 1..60 min), else ``QUEUE_MINUTES_PER_CUSTOMER``.
- The ticket SMS uses the branch's template, the call SMS the branch's call template (given at
  creation, else created from :func:`call_template_spec`). Both must be ``branch_queue`` templates
  whose parameters the gateway can fill: ``ticket``, ``branchName``, ``service`` (strings) and
  ``position`` (number) for tickets; ``ticket``, ``branchName``, ``service`` and ``counter``
  (strings) for calls. Declared optional parameters outside those stay empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.errors import InvalidArgument
from gateway.templates import Category, Flow, ParamSpec, ParamType, TemplateSpec

__all__ = [
    "CALL_PARAMS",
    "TICKET_PARAMS",
    "call_template_spec",
    "check_queue_template",
    "estimated_wait_minutes",
    "fill_params",
    "minutes_per_customer",
    "service_day",
    "ticket_label",
]

BRANCH_ZONE = ZoneInfo("Asia/Shanghai")
TICKET_PARAMS: Mapping[str, ParamType] = {
    "ticket": ParamType.STRING,
    "branchName": ParamType.STRING,
    "service": ParamType.STRING,
    "position": ParamType.NUMBER,
}
CALL_PARAMS: Mapping[str, ParamType] = {
    "ticket": ParamType.STRING,
    "branchName": ParamType.STRING,
    "service": ParamType.STRING,
    "counter": ParamType.STRING,
}
_RECENT_CALLS = 6
_MIN_CALLS = 3
_HISTORY = timedelta(hours=2)
CALL_TEXT = "{{branchName}}叫号：请{{ticket}}号到{{counter}}号窗口办理业务，查看详情 {{link}}"  # noqa: RUF001


def service_day(now: datetime) -> str:
    """The branch's business day of ``now`` (Asia/Shanghai), ``YYYY-MM-DD``."""
    return now.astimezone(BRANCH_ZONE).date().isoformat()


def ticket_label(seq: int) -> str:
    """The label printed on the ``seq``-th ticket of a day."""
    return f"A{seq:03d}"


def minutes_per_customer(recent_calls: Sequence[datetime], now: datetime, default: float) -> float:
    """Mean minutes between the latest calls (see the module docstring), else ``default``."""
    calls = sorted((t for t in recent_calls if now - t <= _HISTORY), reverse=True)[:_RECENT_CALLS]
    if len(calls) < _MIN_CALLS:
        return default
    mean = (calls[0] - calls[-1]).total_seconds() / 60 / (len(calls) - 1)
    return min(60.0, max(1.0, mean))


def estimated_wait_minutes(position: int, per_customer: float) -> int:
    """Whole minutes until a customer at ``position`` is called (0 for nobody ahead of the counter)."""
    return max(0, math.ceil(position * per_customer))


def check_queue_template(spec: TemplateSpec, fillable: Mapping[str, ParamType], *, role: str) -> None:
    """Refuse a template the queue cannot send.

    :raises InvalidArgument: not a ``branch_queue`` template, or a required parameter the gateway
        cannot fill, or a fillable parameter declared with another type.
    """
    if spec.flow is not Flow.BRANCH_QUEUE:
        raise InvalidArgument(f"{role}: the template's flow must be branch_queue.")
    for name, param in spec.params.items():
        kind = fillable.get(name)
        if kind is None and param.required:
            known = ", ".join(fillable)
            raise InvalidArgument(
                f"{role}: required parameter '{name}' is not one the queue fills ({known})."
            )
        if kind is not None and param.type is not kind:
            raise InvalidArgument(f"{role}: parameter '{name}' must be of type {kind.value}.")


def fill_params(spec: TemplateSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``values`` the template declares (absent and None values left out)."""
    return {name: values[name] for name in spec.params if values.get(name) is not None}


def call_template_spec(ticket_template: TemplateSpec) -> TemplateSpec:
    """The call SMS template created for a branch given without one: the ticket template's
    signature and quick app, a fixed notification text."""
    return TemplateSpec(
        name="网点叫号",
        category=Category.NOTIFICATION,
        signature=ticket_template.signature,
        text=CALL_TEXT,
        flow=Flow.BRANCH_QUEUE,
        quick_app=ticket_template.quick_app,
        params={
            "ticket": ParamSpec(ParamType.STRING),
            "branchName": ParamSpec(ParamType.STRING),
            "counter": ParamSpec(ParamType.STRING),
        },
    )
