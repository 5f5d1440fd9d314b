"""In-memory stand-ins for the push feature's collaborators: an operator SMS channel, a webhook
publisher that records, a template source and a settable clock."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from carrier_adapters import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    DeliveryReport,
    DeliveryState,
    MobileOriginated,
    NumberNotServed,
    SmsSubmission,
)
from gateway.errors import NotFound, TemplateNotApproved
from gateway.templates import Category, Flow, ParamSpec, ParamType, QuickApp, Status, Template, TemplateSpec
from gateway.webhooks import Staged

SIGNATURE_HEADER = "x-fake-signature"


@dataclass
class Sent:
    """One SMS the fake operator accepted (once per reference)."""

    phone: str
    text: str
    provider_message_id: str


class FakeSmsChannel:
    """An operator's SMS channel in memory, deduplicating by reference as the real ones promise.

    ``calls`` lists the reference of every ``submit_sms`` call, ``accepted`` what reached a handset.
    ``parts`` (when set) makes it answer like a binary-protocol operator: that many part ids,
    ``<operator>-<reference>-<n>``, which reports then name.
    ``down`` makes submissions fail (with ``retry_after`` when set, as an open circuit does),
    ``not_served`` holds numbers this operator refuses, ``gate``
    (when set) holds a submission after the operator accepted it until the test opens the gate.
    Callbacks are JSON signed with HMAC-SHA256 in ``x-fake-signature``.
    """

    def __init__(self, operator: str) -> None:
        self.operator = operator
        self.secret = secrets.token_bytes(32)
        self.calls: list[str] = []
        self.accepted: dict[str, Sent] = {}
        self.down = False
        self.retry_after: float | None = None
        self.not_served: set[str] = set()
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.parts: int | None = None

    async def submit_sms(self, phone_number: str, text: str, *, reference: str) -> SmsSubmission:
        """Accept once per reference; a repeat answers the first submission."""
        self.calls.append(reference)
        if self.down:
            raise CarrierUnavailable(self.operator, "operator down", retry_after=self.retry_after)
        if phone_number in self.not_served:
            raise NumberNotServed(self.operator, "not our subscriber")
        sent = self.accepted.get(reference)
        if sent is None:
            sent = Sent(phone_number, text, f"{self.operator}-{secrets.token_hex(6)}")
            self.accepted[reference] = sent
        if self.gate is not None:
            self.entered.set()
            await self.gate.wait()
        if self.parts is not None:
            ids = tuple(self.part_id(reference, n) for n in range(1, self.parts + 1))
            return SmsSubmission(self.operator, ids[0], parts=ids)
        return SmsSubmission(self.operator, sent.provider_message_id)

    def part_id(self, reference: str, n: int) -> str:
        """The id this operator gives part ``n`` of the message ``reference`` (with ``parts`` set)."""
        return f"{self.operator}-{reference}-{n}"

    def inbox(self, phone: str) -> list[str]:
        """Texts delivered to ``phone``, in order."""
        return [s.text for s in self.accepted.values() if s.phone == phone]

    def sign(self, items: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
        """A callback body and its headers, as this operator would POST them."""
        body = json.dumps({"items": items}).encode()
        signature = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        return body, {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}

    def report(
        self, reference: str, state: DeliveryState, *, status: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """One delivery report item for a message this operator accepted."""
        sent = self.accepted.get(reference)
        return {
            "kind": "report",
            "providerMessageId": sent.provider_message_id if sent else "unknown",
            "reference": reference,
            "state": state.value,
            "status": status or ("DELIVRD" if state is DeliveryState.DELIVERED else "UNDELIV"),
            "at": (at or datetime.now(UTC)).isoformat(),
        }

    @staticmethod
    def reply(phone: str, text: str, *, reference: str | None = None) -> dict[str, Any]:
        """One MO reply item."""
        return {
            "kind": "mo",
            "phone": phone,
            "text": text,
            "reference": reference,
            "at": datetime.now(UTC).isoformat(),
        }

    def parse_callback(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[DeliveryReport | MobileOriginated]:
        """Verify the HMAC, then decode the items."""
        expected = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, "")):
            raise CarrierRejected(self.operator, "bad callback signature")
        try:
            items = json.loads(body)["items"]
            return [self._item(item) for item in items]
        except (ValueError, KeyError, TypeError) as exc:
            raise CarrierProtocolError(self.operator, "not a callback") from exc

    def _item(self, item: dict[str, Any]) -> DeliveryReport | MobileOriginated:
        at = datetime.fromisoformat(item["at"])
        if item["kind"] == "report":
            return DeliveryReport(
                operator=self.operator,
                provider_message_id=item["providerMessageId"],
                reference=item["reference"],
                state=DeliveryState(item["state"]),
                status=item["status"],
                at=at,
            )
        if item["kind"] == "mo":
            return MobileOriginated(
                operator=self.operator,
                phone_number=item["phone"],
                text=item["text"],
                reference=item["reference"],
                at=at,
            )
        raise ValueError("unknown item kind")


@dataclass
class RecordingPublisher:
    """A webhook publisher that remembers what was published (and whether inside a transaction)."""

    published: list[tuple[str, str, dict[str, Any], bool]] = field(default_factory=list)

    wakes: int = 0

    async def publish(
        self, tenant_id: str, event_type: str, data: Mapping[str, Any], *, session: Any = None
    ) -> str | None:
        """Record the event."""
        self.published.append((tenant_id, event_type, dict(data), session is not None))
        return "msg_fake"

    def stage(self, conn: Any, *, tenant_id: str, event_type: str, data: Mapping[str, Any]) -> str | None:
        """Record the event as published inside a transaction (the unit's connection)."""
        self.published.append((tenant_id, event_type, dict(data), conn is not None))
        return "msg_fake"

    def stage_many(self, conn: Any, events: Sequence[Staged]) -> list[str | None]:
        """Record each event as :meth:`stage` does."""
        return [self.stage(conn, tenant_id=e.tenant_id, event_type=e.event_type, data=e.data) for e in events]

    def on_publish(self) -> None:
        """Count the wake-ups the caller sent after committing."""
        self.wakes += 1

    def types(self, message_id: str) -> list[str]:
        """Event types published for one message, in order."""
        return [t for _, t, data, _ in self.published if data.get("messageId") == message_id]


class StaticTemplates:
    """A template source holding fixed templates per tenant."""

    def __init__(self) -> None:
        self.templates: dict[str, Template] = {}

    def add(
        self,
        tenant_id: str,
        *,
        category: Category = Category.NOTIFICATION,
        signature: str = "平安银行",
        status: Status = Status.APPROVED,
        text: str = "尊敬的{{name}}，请点击 {{link}} 确认。",  # noqa: RUF001
    ) -> Template:
        """Register a template and return it."""
        template = Template(
            id=secrets.token_hex(16),
            tenant_id=tenant_id,
            spec=TemplateSpec(
                name="t",
                category=category,
                signature=signature,
                text=text,
                flow=Flow.CLAIM_LOCATION,
                quick_app=QuickApp("com.example.claims", "Location"),
                params={"name": ParamSpec(ParamType.STRING)} if "{{name}}" in text else {},
            ),
            status=status,
            created_at=datetime.now(UTC),
        )
        self.templates[template.id] = template
        return template

    async def get_approved(self, tenant_id: str, template_id: str) -> Template:
        """The tenant's approved template."""
        template = self.templates.get(template_id)
        if template is None or template.tenant_id != tenant_id:
            raise NotFound()
        if template.status is not Status.APPROVED:
            raise TemplateNotApproved()
        return template
