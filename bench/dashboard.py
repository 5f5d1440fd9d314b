"""The operations dashboard's queries on a million messages (issue 21 item 3).

Seeds a scratch PostgreSQL database (created beside ``--database-url`` and dropped after, as the
other benchmarks do; the schema by the gateway's own migrations) with ``--messages`` (1,000,000)
push messages of one tenant over ``--days`` (30) Shanghai days ending yesterday, and
``--other-messages`` (100,000) of a second tenant, so every query has to pick its tenant's rows
among others. Rows go in day by day in the order of their acceptance (as a live database fills,
so one day's rows sit together), with ``COPY`` (asyncpg ``copy_records_to_table``), in batches of
``--batch`` messages with everything that hangs on them:

- messages: six templates (claim location 25%, branch ticket 18%, statement 17%, marketing 15%,
  call 13%, verification code 12%), operators cmcc 55%, cucc 25%, ctcc 20% (the recipient's
  block), busier by day than by night; numbers from a pool of 200,000 per tenant, encrypted and
  blind-indexed (also by their last four digits) with the bench's keys as the gateway does;
- their history: ``queued``; 0.5% ``expired`` unsent; 1% ``failed`` after refused submissions
  (``submit_failed`` events); 3% submitted after one refusal; of those submitted, 93.5% delivered
  after a log-normal delay (median 2.5 s cmcc, 4 s cucc, 6 s ctcc), 3% failed by report (five
  status words), the rest ``unknown`` after 72 h, or still ``submitted`` when that is in the future;
  one or two parts per submission; short links; link opened by 5-60% of the delivered (by
  template), with a flow state; 70% of opened claim links share their location; 85% of tickets are
  called (3% of those no-shows), 5% cancelled, at one of 20 branches;
- the usage ledger (30% as many rows as messages: one-tap login and number check, CAMARA, the
  verification workflow's network and SMS steps, billed as the gateway bills them), verification
  requests (5%), webhook deliveries for ``link.opened``, ``claim.location_shared``,
  ``queue.ticket_called`` and ``message.failed`` (0.7% dead letters, 0.5% retrying).

Then ``VACUUM ANALYZE`` (what autovacuum does on a live database), then:

- the daily rollups' backfill (:class:`gateway.dashboard.rollups.Rollups`), one (tenant, day) at a
  time, each computation of the big tenant's days timed (what the background refresh pays for
  "today" every two minutes), with the server's default planner costs, then again for every day
  with ``random_page_cost`` 1.1 (the usual setting for SSDs, set on the scratch database);
- each dashboard query, through :class:`gateway.dashboard.DashboardService` as the console calls
  it, for the last 7 and the whole 30 days, and the search: one warm-up, then ``--runs`` (7) timed
  runs, p50 and p95 (linear interpolation) and the size of the answer.

Results go to ``bench/results/dashboard-postgresql.json``; exit status 0, or 2 when set-up failed.

Run: ``python -m bench.dashboard --database-url postgresql://127.0.0.1:5432/postgres`` (a few
minutes: seeding is most of it); ``--messages 100000`` for a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import math
import random
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import uuid_utils

from bench._harness import format_facts, machine_facts, percentile, scratch_database, write_results
from gateway.clock import SystemClock
from gateway.crypto import BlindIndex, FieldCipher, Keyring, generate_keyring_spec
from gateway.dashboard import DashboardService, Period, identity_csv
from gateway.dashboard.period import SHANGHAI
from gateway.dashboard.rollups import Rollups
from gateway.db import create_engine, migrate, session_factory
from gateway.logs import configure_logging
from gateway.one_tap.service import phone_scope
from gateway.push.models import recipient_aad, recipient_last4_scope
from gateway.tenants.service import TenantService
from gateway.webhooks import WebhookService

__all__ = ["Options", "Timing", "main", "parse", "seed", "time_queries"]

RESULTS = "dashboard"
OPERATOR_SHARES = (("cmcc", 0.55), ("cucc", 0.25), ("ctcc", 0.20))
PREFIXES = {
    "cmcc": ("138", "139", "135", "150"),
    "cucc": ("186", "156", "131"),
    "ctcc": ("189", "133", "153"),
}
LATENCY_MEDIAN_MS = {"cmcc": 2500.0, "cucc": 4000.0, "ctcc": 6000.0}
LATENCY_SIGMA = {"cmcc": 0.6, "cucc": 0.7, "ctcc": 0.8}
HOUR_WEIGHTS = (0.2,) * 7 + (0.6,) + (1.5,) * 4 + (1.0,) * 2 + (1.5,) * 4 + (1.0,) * 3 + (0.5,) * 3
REPORT_FAILURES = ("UNDELIV", "EXPIRED", "MK:0001", "DB:0140", "REJECTD")
SUBMIT_FAILURES = ("OPERATOR_TIMEOUT", "OPERATOR_UNAVAILABLE", "OPERATOR_REJECTED")
REPORT_TIMEOUT = timedelta(hours=72)
BRANCHES = 20


@dataclass(frozen=True, slots=True)
class TemplateMix:
    """One template of the seeded traffic: its share of messages and how its links are used."""

    key: str
    name: str
    category: str
    flow: str | None
    share: float
    opens: float
    completes: float


TEMPLATES = (
    TemplateMix("claim", "理赔定位 claim location", "notification", "claim_location", 0.25, 0.45, 0.70),
    TemplateMix("ticket", "排队取号 ticket", "notification", "branch_queue", 0.18, 0.60, 0.0),
    TemplateMix("statement", "账单提醒 statement", "notification", "claim_location", 0.17, 0.20, 0.0),
    TemplateMix("marketing", "信用卡活动 card offer", "marketing", "claim_location", 0.15, 0.05, 0.0),
    TemplateMix("call", "叫号通知 call", "notification", "branch_queue", 0.13, 0.30, 0.0),
    TemplateMix("code", "验证码 verification code", "verification", None, 0.12, 0.0, 0.0),
)
CAPABILITIES = (
    ("one_tap_login", 0.45),
    ("one_tap_verify", 0.15),
    ("camara_number_verification_verify", 0.05),
    ("camara_sim_swap_check", 0.08),
    ("camara_kyc_match", 0.02),
    ("verify_network", 0.10),
    ("verify_sms", 0.15),
)

MESSAGE_COLUMNS = (
    "id",
    "tenant_id",
    "template_id",
    "category",
    "signature",
    "recipient_index",
    "recipient_last4_index",
    "recipient_cipher",
    "text_cipher",
    "params_cipher",
    "segments",
    "encoding",
    "operator",
    "status",
    "attempts",
    "provider_message_id",
    "failure_reason",
    "created_at",
    "scheduled_at",
    "next_attempt_at",
    "expires_at",
    "updated_at",
)
EVENT_COLUMNS = ("message_id", "type", "at", "state", "detail", "dedupe_key")
PART_COLUMNS = ("message_id", "seq", "operator", "provider_id", "state", "detail", "reported_at")
LINK_COLUMNS = ("code", "tenant_id", "message_id", "template_id", "created_at", "expires_at")
STATE_COLUMNS = (
    "id",
    "tenant_id",
    "message_id",
    "link_code",
    "flow",
    "status",
    "holder_index",
    "channel",
    "opened_at",
    "updated_at",
    "consented_at",
    "completed_at",
)
TICKET_COLUMNS = (
    "id",
    "tenant_id",
    "branch_id",
    "service_day",
    "seq",
    "label",
    "phone_index",
    "phone_cipher",
    "status",
    "counter",
    "message_id",
    "issued_at",
    "called_at",
    "cancelled_at",
)
USAGE_COLUMNS = (
    "id",
    "tenant_id",
    "capability",
    "operator",
    "billed",
    "result",
    "provider_ref",
    "phone_index",
    "phone_cipher",
    "created_at",
)
VERIFY_COLUMNS = (
    "id",
    "tenant_id",
    "phone_index",
    "prefix_index",
    "phone_cipher",
    "status",
    "workflow",
    "outcomes",
    "current",
    "code_length",
    "locale",
    "channel_timeout",
    "sends",
    "wrong_codes",
    "verified_by_code",
    "operator",
    "created_at",
    "updated_at",
)
DELIVERY_COLUMNS = (
    "id",
    "tenant_id",
    "event_type",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "first_attempt_at",
    "last_attempt_at",
    "last_error",
    "created_at",
    "finished_at",
)
TABLES = {
    "push_messages": MESSAGE_COLUMNS,
    "push_message_events": EVENT_COLUMNS,
    "push_message_parts": PART_COLUMNS,
    "push_links": LINK_COLUMNS,
    "flow_states": STATE_COLUMNS,
    "branch_tickets": TICKET_COLUMNS,
    "usage_records": USAGE_COLUMNS,
    "verify_requests": VERIFY_COLUMNS,
    "webhook_deliveries": DELIVERY_COLUMNS,
}


@dataclass(frozen=True, slots=True)
class Options:
    """The command line."""

    database_url: str
    messages: int
    other_messages: int
    days: int
    runs: int
    batch: int
    seed: int


def parse(argv: Sequence[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://127.0.0.1:5432/postgres")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--other-messages", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a postgresql:// URL")
    if min(args.messages, args.days, args.runs, args.batch) < 1 or args.other_messages < 0:
        parser.error("counts must be positive")
    return Options(**vars(args))


@dataclass
class Batch:
    """Rows of every seeded table, flushed together."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {name: [] for name in TABLES})

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        """Queue one row of ``table`` (in that table's column order)."""
        self.rows[table].append(row)

    async def flush(self, conn: asyncpg.Connection) -> dict[str, int]:
        """COPY every queued row; how many per table."""
        counts = {}
        for table, rows in self.rows.items():
            if rows:
                await conn.copy_records_to_table(table, records=rows, columns=TABLES[table])
            counts[table] = len(rows)
            self.rows[table] = []
        return counts


@dataclass(frozen=True, slots=True)
class Phone:
    """A recipient of the pool with its precomputed indexes."""

    number: str
    operator: str
    index: str
    last4: str


def _filler(rng: random.Random, size: int) -> str:
    return "v1." + base64.urlsafe_b64encode(rng.randbytes(size)).decode().rstrip("=")


class Tenant:
    """Generates one tenant's rows (see the module docstring); deterministic for one ``rng``."""

    def __init__(
        self,
        rng: random.Random,
        *,
        tenant_id: str,
        templates: dict[str, str],
        branches: list[str],
        cipher: FieldCipher,
        index: BlindIndex,
        now: datetime,
        pool: int,
    ) -> None:
        self.rng = rng
        self.tenant_id = tenant_id
        self.templates = templates
        self.branches = branches
        self.cipher = cipher
        self.index = index
        self.now = now
        self.phones = self._pool(pool)
        self.text = _filler(rng, 140)
        self.params = _filler(rng, 70)
        self.ticket_seq: dict[tuple[str, str], int] = {}
        self.mix = [t for t in TEMPLATES if t.key in templates]
        self.mix_weights = list(itertools.accumulate(t.share for t in self.mix))
        self.hours = list(itertools.accumulate(HOUR_WEIGHTS))

    def _pool(self, size: int) -> list[Phone]:
        last4: dict[str, str] = {}
        operators = [op for op, _ in OPERATOR_SHARES]
        weights = list(itertools.accumulate(share for _, share in OPERATOR_SHARES))
        phones = []
        for _ in range(size):
            operator = self.rng.choices(operators, cum_weights=weights)[0]
            number = f"+86{self.rng.choice(PREFIXES[operator])}{self.rng.randrange(10**8):08d}"
            digits = number[-4:]
            if digits not in last4:
                last4[digits] = self.index.compute(digits, scope=recipient_last4_scope(self.tenant_id))
            phones.append(
                Phone(
                    number,
                    operator,
                    self.index.compute(number, scope=phone_scope(self.tenant_id)),
                    last4[digits],
                )
            )
        return phones

    def moment(self, day: date) -> datetime:
        """A random instant of ``day``, busier by day than by night (Shanghai hours)."""
        hour = self.rng.choices(range(24), cum_weights=self.hours)[0]
        local = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
        return (local + timedelta(seconds=self.rng.random() * 3600)).astimezone(UTC)

    def message(self, batch: Batch, created: datetime) -> None:
        """One message accepted at ``created``, with its history, parts, link, flow state, ticket and
        webhooks."""
        rng = self.rng
        template = rng.choices(self.mix, cum_weights=self.mix_weights)[0]
        phone = rng.choice(self.phones)
        message_id = str(uuid.uuid4())
        expires = created + timedelta(minutes=10 if template.flow is None else 24 * 60)
        segments = 2 if rng.random() < 0.15 else 1
        events: list[tuple[Any, ...]] = [(message_id, "queued", created, None, None, None)]
        status, attempts, provider, reason, updated = "queued", 0, None, None, created
        fate = rng.random()
        if fate < 0.005:
            status, updated = "expired", expires
            events.append((message_id, "expired", expires, None, None, None))
        elif fate < 0.015:
            reason = rng.choice(SUBMIT_FAILURES)
            at = created
            for _ in range(2):
                at += timedelta(seconds=2 + rng.random() * 20)
                events.append((message_id, "submit_failed", at, None, reason, None))
            status, attempts, updated = "failed", 3, at + timedelta(seconds=30)
            events.append((message_id, "failed", updated, None, reason, None))
        else:
            at = created + timedelta(milliseconds=300 + rng.random() * 1700)
            attempts = 1
            if rng.random() < 0.03:
                events.append((message_id, "submit_failed", at, None, rng.choice(SUBMIT_FAILURES), None))
                at += timedelta(seconds=2 + rng.random() * 4)
                attempts = 2
            status, updated, provider = "submitted", at, f"{phone.operator}-{secrets.token_hex(8)}"
            events.append((message_id, "submitted", at, None, phone.operator, None))
            status, updated = self._after_submission(batch, message_id, template, phone, events, at, expires)
            if status == "failed":
                reason = events[-1][4]
            elif status == "unknown":
                reason = "NO_REPORT"
            final = (
                None
                if status in ("submitted", "unknown")
                else "failed"
                if status == "failed"
                else "delivered"
            )
            for seq in range(1, segments + 1):
                batch.add(
                    "push_message_parts",
                    (
                        message_id,
                        seq,
                        phone.operator,
                        f"{provider}-{seq}",
                        final,
                        None,
                        updated if final else None,
                    ),
                )
        if template.flow is not None:
            link = (
                secrets.token_urlsafe(16),
                self.tenant_id,
                message_id,
                self.templates[template.key],
                created,
                expires,
            )
            batch.add("push_links", link)
        batch.add(
            "push_messages",
            (
                message_id,
                self.tenant_id,
                self.templates[template.key],
                template.category,
                "平安银行",
                phone.index,
                phone.last4,
                self.cipher.encrypt(phone.number, aad=recipient_aad(self.tenant_id, message_id)),
                self.text,
                self.params if template.flow is not None else None,
                segments,
                "ucs2",
                phone.operator,
                status,
                attempts,
                provider,
                reason,
                created,
                created,
                created,
                expires,
                updated,
            ),
        )
        for event in events:
            batch.add("push_message_events", event)
        if status == "failed":
            self._webhook(batch, "message.failed", updated)

    def _after_submission(
        self,
        batch: Batch,
        message_id: str,
        template: TemplateMix,
        phone: Phone,
        events: list[tuple[Any, ...]],
        submitted: datetime,
        expires: datetime,
    ) -> tuple[str, datetime]:
        rng = self.rng
        fate = rng.random()
        if fate < 0.935:
            median = LATENCY_MEDIAN_MS[phone.operator]
            delay = rng.lognormvariate(math.log(median), LATENCY_SIGMA[phone.operator])
            at = submitted + timedelta(milliseconds=delay)
            if at > self.now:
                return "submitted", submitted
            events.append((message_id, "delivered", at, None, "DELIVRD", None))
            status, updated = "delivered", at
        elif fate < 0.965:
            at = submitted + timedelta(seconds=5 + rng.random() * 600)
            if at > self.now:
                return "submitted", submitted
            events.append((message_id, "failed", at, None, rng.choice(REPORT_FAILURES), None))
            return "failed", at
        else:
            at = submitted + REPORT_TIMEOUT
            if at > self.now:
                return "submitted", submitted
            events.append((message_id, "unknown", at, None, "NO_REPORT", None))
            return "unknown", at
        if template.key == "ticket":
            status, updated = self._ticket(batch, message_id, phone, submitted, status, updated, events)
        if template.flow is not None and rng.random() < template.opens:
            opened = updated + timedelta(seconds=rng.expovariate(1 / 1200))
            if opened < min(self.now, expires):
                status, updated = self._open(batch, message_id, template, phone, events, opened, status)
        return status, updated

    def _open(
        self,
        batch: Batch,
        message_id: str,
        template: TemplateMix,
        phone: Phone,
        events: list[tuple[Any, ...]],
        opened: datetime,
        status: str,
    ) -> tuple[str, datetime]:
        channel = "quick_app" if self.rng.random() < 0.3 else "h5"
        if status == "delivered":
            status = "opened"
            events.append((message_id, "opened", opened, None, channel, None))
        completed = None
        flow_status = "active" if template.flow == "branch_queue" else "consent_pending"
        if template.flow == "claim_location" and self.rng.random() < template.completes:
            completed = opened + timedelta(seconds=30 + self.rng.random() * 240)
            flow_status = "shared"
            if status in ("opened", "delivered"):
                status = "completed"
                events.append((message_id, "completed", completed, None, "claim_location", None))
            self._webhook(batch, "claim.location_shared", completed)
        batch.add(
            "flow_states",
            (
                str(uuid.uuid4()),
                self.tenant_id,
                message_id,
                secrets.token_urlsafe(16),
                template.flow,
                flow_status,
                phone.index,
                channel,
                opened,
                completed or opened,
                completed,
                completed,
            ),
        )
        self._webhook(batch, "link.opened", opened)
        return status, completed or opened

    def _ticket(
        self,
        batch: Batch,
        message_id: str,
        phone: Phone,
        issued: datetime,
        status: str,
        updated: datetime,
        events: list[tuple[Any, ...]],
    ) -> tuple[str, datetime]:
        rng = self.rng
        branch = rng.choice(self.branches)
        day = issued.astimezone(SHANGHAI).date().isoformat()
        seq = self.ticket_seq[branch, day] = self.ticket_seq.get((branch, day), 0) + 1
        fate = rng.random()
        called = cancelled = None
        counter = None
        if fate < 0.85:
            called = issued + timedelta(seconds=rng.expovariate(1 / 900))
            ticket_status = "no_show" if rng.random() < 0.03 else "called"
            counter = str(rng.randrange(1, 9))
            events.append((message_id, "called", called, None, "branch_queue", None))
            status, updated = "completed", called
            self._webhook(batch, "queue.ticket_called", called)
        elif fate < 0.90:
            cancelled = issued + timedelta(seconds=rng.expovariate(1 / 600))
            ticket_status = "cancelled"
            events.append((message_id, "cancelled", cancelled, None, "branch_queue", None))
            status, updated = "completed", cancelled
        else:
            ticket_status = "waiting"
        batch.add(
            "branch_tickets",
            (
                str(uuid.uuid4()),
                self.tenant_id,
                branch,
                day,
                seq,
                f"A{seq:03d}",
                phone.index,
                self.text,
                ticket_status,
                counter,
                message_id,
                issued,
                called,
                cancelled,
            ),
        )
        return status, updated

    def _webhook(self, batch: Batch, event_type: str, at: datetime) -> None:
        rng = self.rng
        fate = rng.random()
        payload = json.dumps(
            {"type": event_type, "timestamp": at.isoformat(), "data": {"id": str(uuid.uuid4())}}
        )
        first = at + timedelta(milliseconds=50)
        if fate < 0.007:
            status, attempts, error, last = (
                "failed",
                18,
                "gave up 1 day, 0:00:00 after the first attempt; last: status 503",
                first + timedelta(days=1),
            )
            finished: datetime | None = last
        elif fate < 0.012:
            status, attempts, error, last, finished = (
                "pending",
                3,
                "status 500",
                first + timedelta(minutes=3),
                None,
            )
        else:
            status, attempts, error, last, finished = "delivered", 1, None, first, first
        batch.add(
            "webhook_deliveries",
            (
                "msg_" + secrets.token_hex(13),
                self.tenant_id,
                event_type,
                payload,
                status,
                attempts,
                last,
                first,
                last,
                error,
                at,
                finished,
            ),
        )

    def usage(self, batch: Batch, day: date) -> None:
        """One usage-ledger row of ``day``."""
        rng = self.rng
        capability = rng.choices([c for c, _ in CAPABILITIES], weights=[w for _, w in CAPABILITIES])[0]
        phone = rng.choice(self.phones)
        billed = True
        result = "OK"
        if capability == "one_tap_login":
            billed = rng.random() < 0.97
            result = "NUMBER" if billed else "NONE"
        elif capability == "one_tap_verify":
            result = rng.choices(("PASS", "REJECT", "UNKNOWN"), weights=(90, 6, 4))[0]
            billed = result != "UNKNOWN"
        elif capability == "verify_network":
            result = "MATCH" if rng.random() < 0.9 else "NO_MATCH"
        elif capability == "verify_sms":
            result = "SENT"
        record_id = str(uuid_utils.uuid7())
        batch.add(
            "usage_records",
            (
                record_id,
                self.tenant_id,
                capability,
                phone.operator,
                billed,
                result,
                "",
                phone.index,
                self.text,
                self.moment(day),
            ),
        )

    def verification(self, batch: Batch, day: date) -> None:
        """One finished verification request of ``day``."""
        rng = self.rng
        phone = rng.choice(self.phones)
        status = rng.choices(("completed", "failed", "expired", "cancelled"), weights=(85, 6, 7, 2))[0]
        created = self.moment(day)
        batch.add(
            "verify_requests",
            (
                str(uuid.uuid4()),
                self.tenant_id,
                phone.index,
                phone.index,
                self.text,
                status,
                '[{"channel": "network"}, {"channel": "sms"}]',
                "[]",
                1,
                6,
                "zh-CN",
                300,
                1,
                0,
                status == "completed" and rng.random() < 0.35,
                phone.operator,
                created,
                created + timedelta(seconds=20),
            ),
        )


@dataclass
class Seeded:
    """What the timing needs to know about the seeded data."""

    tenant_id: str
    other_tenant_id: str
    branches: list[str]
    last_day: date
    last4: str
    message_id: str
    rows: dict[str, int]
    seconds: float


async def _tenant(
    conn: asyncpg.Connection, tenants: TenantService, name: str, template_keys: Sequence[str], now: datetime
) -> tuple[str, dict[str, str], list[str]]:
    created = await tenants.create(name=name, scopes=["push:send"], redirect_uris=[])
    tenant_id = created.tenant_id
    ids = {key: str(uuid.uuid4()) for key in template_keys}
    by_key = {t.key: t for t in TEMPLATES}
    await conn.copy_records_to_table(
        "sms_templates",
        records=[
            (
                template_id,
                tenant_id,
                by_key[key].name,
                by_key[key].category,
                "平安银行",
                "text",
                by_key[key].flow,
                "{}",
                "approved",
                now,
            )
            for key, template_id in ids.items()
        ],
        columns=(
            "id",
            "tenant_id",
            "name",
            "category",
            "signature",
            "text",
            "flow",
            "params",
            "status",
            "created_at",
        ),
    )
    branches = [str(uuid.uuid4()) for _ in range(BRANCHES)]
    await conn.copy_records_to_table(
        "branches",
        records=[
            (branch, tenant_id, f"支行 branch {n:02d}", ids.get("ticket", ""), ids.get("call", ""), now)
            for n, branch in enumerate(branches, start=1)
        ],
        columns=("id", "tenant_id", "name", "template_id", "call_template_id", "created_at"),
    )
    return tenant_id, ids, branches


async def seed(url: str, options: Options, cipher: FieldCipher, index: BlindIndex) -> Seeded:
    """Create the schema and COPY the rows (see the module docstring)."""
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        await migrate(engine)
        registry = TenantService(session_factory(engine), SystemClock())
        now_local = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
        now = now_local.astimezone(UTC)
        last_day = now_local.date() - timedelta(days=1)
        first = last_day - timedelta(days=options.days - 1)
        rng = random.Random(options.seed)
        conn = await asyncpg.connect(url)
        try:
            main_id, main_templates, branches = await _tenant(
                conn, registry, "bench bank", [t.key for t in TEMPLATES], now
            )
            other_id, other_templates, other_branches = await _tenant(
                conn, registry, "bench insurer", ["claim", "statement", "code"], now
            )
            rows: dict[str, int] = dict.fromkeys(TABLES, 0)
            generators = [
                (
                    Tenant(
                        rng,
                        tenant_id=tenant_id,
                        templates=templates,
                        branches=tenant_branches,
                        cipher=cipher,
                        index=index,
                        now=now,
                        pool=200_000,
                    ),
                    count,
                )
                for tenant_id, templates, tenant_branches, count in (
                    (main_id, main_templates, branches, options.messages),
                    (other_id, other_templates, other_branches, options.other_messages),
                )
            ]
            batch = Batch()
            queued = 0
            for n in range(options.days):
                day = first + timedelta(days=n)
                arrivals = sorted(
                    (tenant.moment(day), k)
                    for k, (tenant, count) in enumerate(generators)
                    for _ in range(count // options.days + (n < count % options.days))
                )
                for seq, (created, k) in enumerate(arrivals):
                    tenant = generators[k][0]
                    tenant.message(batch, created)
                    if seq % 10 < 3:
                        tenant.usage(batch, day)
                    if seq % 20 == 0:
                        tenant.verification(batch, day)
                    queued += 1
                    if queued >= options.batch:
                        for table, added in (await batch.flush(conn)).items():
                            rows[table] += added
                        queued = 0
                print(f"  {day}: {len(arrivals):,} messages", file=sys.stderr, flush=True)
            for table, added in (await batch.flush(conn)).items():
                rows[table] += added
            sample = rng.choice(generators[0][0].phones).number[-4:]
            message_id = await conn.fetchval(
                "SELECT id FROM push_messages WHERE tenant_id = $1 ORDER BY id LIMIT 1", main_id
            )
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
    finally:
        await engine.dispose()
    return Seeded(
        tenant_id=main_id,
        other_tenant_id=other_id,
        branches=branches,
        last_day=last_day,
        last4=sample,
        message_id=str(message_id),
        rows=rows,
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True, slots=True)
class Timing:
    """One query's timed runs (milliseconds) and the size of its answer."""

    name: str
    days: int
    runs_ms: list[float]
    rows: int

    @property
    def p50(self) -> float:
        """Median of the runs."""
        return percentile(sorted(self.runs_ms), 50) or 0.0

    @property
    def p95(self) -> float:
        """95th percentile of the runs."""
        return percentile(sorted(self.runs_ms), 95) or 0.0


async def _timed(runs: int, work: Callable[[], Awaitable[int]]) -> tuple[list[float], int]:
    size = await work()
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        size = await work()
        durations.append((time.perf_counter() - started) * 1000)
    return durations, size


async def time_queries(
    url: str, seeded: Seeded, options: Options, cipher: FieldCipher, index: BlindIndex
) -> tuple[list[Timing], float]:
    """The rollups' backfill (each day timed), then each dashboard query for the last 7 days and the
    whole range (see the module docstring); the timings and the backfill's seconds."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    webhooks = WebhookService(sessions, cipher=cipher, clock=SystemClock(), allow_private=True)
    service = DashboardService(engine, cipher=cipher, index=index, webhooks=webhooks, clock=SystemClock())
    tenant = seeded.tenant_id
    timings = []
    try:
        rollups = Rollups(engine, SystemClock())
        computed: list[float] = []
        started = time.perf_counter()
        while True:
            before = time.perf_counter()
            done = await rollups.refresh(budget=1)
            if not done.days:
                break
            if done.days[0][0] == tenant:
                computed.append((time.perf_counter() - before) * 1000)
        backfill = time.perf_counter() - started
        timings.append(Timing("rollups: compute one day of the tenant", 1, computed, len(computed)))
        print(f"  rollups backfilled in {backfill:.1f} s", file=sys.stderr, flush=True)
        timings.append(await _compute_on_ssd_costs(url, seeded, options))
        for days in sorted({7, options.days}):
            period = Period(seeded.last_day - timedelta(days=days - 1), seeded.last_day)

            async def funnel(p: Period = period) -> int:
                return len((await service.funnel(tenant, p)).rows)

            async def operators(p: Period = period) -> int:
                result = await service.operators(tenant, p)
                return len(result.figures) + len(result.errors)

            async def identity(p: Period = period) -> int:
                return len(await service.identity_calls(tenant, p))

            async def identity_export(p: Period = period) -> int:
                return len(identity_csv(await service.identity_calls(tenant, p)))

            async def verifications(p: Period = period) -> int:
                return len(await service.verifications(tenant, p))

            async def webhook_figures(p: Period = period) -> int:
                return len(await service.webhooks(tenant, p))

            async def all_queues(p: Period = period) -> int:
                return len(await service.queues(tenant, p))

            async def two_queues(p: Period = period) -> int:
                return len(await service.queues(tenant, p, branches=seeded.branches[:2]))

            work: list[tuple[str, Callable[[], Awaitable[int]]]] = [
                ("funnel (per day and template, failures)", funnel),
                ("operators (figures, latency, errors)", operators),
                ("identity calls", identity),
                ("identity calls as CSV (bytes)", identity_export),
                ("verifications", verifications),
                ("webhooks", webhook_figures),
                ("queues, every branch", all_queues),
                ("queues, two branches", two_queues),
            ]
            for name, job in work:
                runs, size = await _timed(options.runs, job)
                timings.append(Timing(name, days, runs, size))
                print(
                    f"  {days:>2} days  {name:<42} p50 {timings[-1].p50:8.1f} ms", file=sys.stderr, flush=True
                )

        async def by_last4() -> int:
            return len(await service.search(tenant, seeded.last4))

        async def by_id() -> int:
            return len(await service.search(tenant, seeded.message_id))

        for name, job in (("search: last 4 digits", by_last4), ("search: message id", by_id)):
            runs, size = await _timed(options.runs, job)
            timings.append(Timing(name, 0, runs, size))
    finally:
        await engine.dispose()
    return timings, backfill


async def _compute_on_ssd_costs(url: str, seeded: Seeded, options: Options) -> Timing:
    """Every day of the big tenant computed again with ``random_page_cost`` 1.1 (new connections)."""
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1')
    finally:
        await conn.close()
    engine = create_engine(url)
    rollups = Rollups(engine, SystemClock())
    runs = []
    try:
        for n in range(options.days):
            started = time.perf_counter()
            await rollups.compute(seeded.tenant_id, seeded.last_day - timedelta(days=n))
            runs.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return Timing("rollups: compute one day, random_page_cost 1.1", 1, runs, len(runs))


def format_timings(timings: Sequence[Timing]) -> str:
    """The timings as a table."""
    lines = [f"{'query':<44}{'days':>5}{'p50 ms':>10}{'p95 ms':>10}{'rows':>10}"]
    for t in timings:
        days = str(t.days) if t.days else "-"
        lines.append(f"{t.name:<44}{days:>5}{t.p50:>10.1f}{t.p95:>10.1f}{t.rows:>10}")
    return "\n".join(lines)


async def _database_facts(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather")
        }
        settings["database_size"] = await conn.fetchval(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        )
        return settings
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Seed, time, write the results; see the module docstring."""
    options = parse(argv)
    configure_logging("warning", "console", sys.stderr)
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    index = BlindIndex(Keyring.parse(generate_keyring_spec()))
    facts = machine_facts()
    print(format_facts(facts), file=sys.stderr)
    with scratch_database(options.database_url) as url:
        try:
            seeded = asyncio.run(seed(url, options, cipher, index))
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"set-up failed: {exc}", file=sys.stderr)
            return 2
        print(f"seeded in {seeded.seconds:.0f} s: {seeded.rows}", file=sys.stderr)
        timings, backfill = asyncio.run(time_queries(url, seeded, options, cipher, index))
        database = asyncio.run(_database_facts(url))
    print(format_timings(timings))
    path = write_results(
        f"{RESULTS}-postgresql",
        {
            "machine": facts,
            "database": database,
            "options": asdict(options),
            "seeded_rows": seeded.rows,
            "seed_seconds": round(seeded.seconds, 1),
            "backfill_seconds": round(backfill, 1),
            "timings": [
                {
                    "query": t.name,
                    "days": t.days,
                    "p50_ms": round(t.p50, 1),
                    "p95_ms": round(t.p95, 1),
                    "rows": t.rows,
                }
                for t in timings
            ],
        },
    )
    print(f"results: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
