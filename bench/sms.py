"""SMS over the operators' binary protocols: the bare windowed client beside the gateway.

Everything runs on 127.0.0.1, each server in its own subprocess. The sandbox (``gateway sandbox``)
serves the operators' SMS gateways on free TCP ports with SP accounts this benchmark generates and
gives it as ``GATEWAY_<OP>_SMS_URL`` (the sandbox reads the login, secret and access number from
them), so both sides share credentials; the operators and protocols are those
:data:`gateway.sandbox_link.SANDBOX_PROTOCOLS` names and ``GET /sandbox/smsc`` lists (a protocol the
sandbox does not serve is left out and named). Messages go round-robin to ``--subscribers``
(1,000) seeded lines of the served operators (:data:`NUMBER_BLOCKS`), from a transaction template
of ``--parts`` (1) parts; the sandbox reports each part ``DELIVRD`` 0.5 s after accepting it.

1. **The ceiling**: the protocol's bare windowed client, no database, in this process:
   :func:`carrier_adapters.sms_gateways.operator_sms` (the gateway's own :class:`SmscChannel` with
   the protocol's dialect, ``--window`` 16, ``--connections`` 2, ``--tps`` 10,000 so the rate is
   not the limit) sends ``--messages`` (10,000) texts like the gateway's, ``--concurrency`` (128) in
   flight, once per served protocol alone and once over all of them together (the gateway's mix).
   Timed from the moment every session is logged in: messages per second to the last submit
   answer, and to the last status report received (each report answered at once); CPU ms per
   message of the client (this process) and the sandbox.
2. **The gateway** (``gateway serve``, ``--workers-list`` e.g. ``1,2`` processes): ``--messages``
   are accepted first through ``POST /push/v1/messages`` by a gateway without dispatch worker (not
   timed), for a tenant whose webhook endpoint is subscribed to ``message.delivered`` (the endpoint
   is never called: the webhook delivery worker is off, so what is measured is the staging in the
   message's transaction). A gateway with the dispatch worker on and ``GATEWAY_<OP>_SMS_URL``
   pointing at the sandbox's gateways (same ``--window``, ``--connections`` and ``--tps`` per
   process; ``--batch`` 200 and ``--concurrency`` 128 as ``PUSH_DISPATCH_BATCH`` and
   ``PUSH_DISPATCH_CONCURRENCY``) then replaces it on the same port. Timed from its readiness (or
   its first ``submitted`` event, if that came first) to the last ``submitted`` event and to the
   last ``delivered`` event or staged webhook (the gateway's timestamps), polling the database
   (SELECTs only) until every message is ``delivered`` or ``--timeout`` passes. CPU ms per message
   over the same span of the gateway's process tree, the sandbox and PostgreSQL (see
   :func:`postgres_cpu_seconds`).

Checks (any failure flags the run): every bare submit answered and every part reported exactly
once ``DELIVRD``; every gateway message ``delivered`` with exactly one ``submitted`` and one
``delivered`` event, ``--parts`` parts per message all delivered, no report left waiting for its
submission, and exactly one staged ``message.delivered`` webhook per message. Targets (issue 19,
on PostgreSQL only): the best process count at least 1,500 messages/s end to end, and at least
half the bare client's rate over the same protocols.

Each of ``--rounds`` (3) rounds runs the ceiling targets, then per process count one gateway batch,
each on a fresh sandbox (and a fresh scratch database); the round with the median rate to the
reports is reported. Results go to ``bench/results/sms.json`` (``sms-postgresql.json`` on
PostgreSQL), server logs to ``bench/results/logs/sms/``. Exit status: 0 clean and targets met, 1
otherwise, 2 set-up failed.

Run: ``python -m bench.sms --database-url postgresql://127.0.0.1:5432/postgres --workers-list 1,2``
(``make bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import logging
import os
import secrets
import string
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._harness import (
    LOCALHOST,
    RESULTS_DIR,
    CpuProbe,
    HarnessError,
    Server,
    bulk_sms_bearer,
    call_json,
    format_facts,
    free_port,
    machine_facts,
    own_cpu_seconds,
    results_name,
    scratch_database,
    server_probe,
    write_results,
)
from bench.push import Line, Sender, cpu_per_message, enqueue, read_only, seed_lines, state_errors
from bench.servers import OPERATORS as SANDBOX_OPERATORS
from bench.servers import Credentials, RunOptions, add_scaling_argument, start_gateway, start_sandbox
from carrier_adapters import CarrierError, DeliveryState
from carrier_adapters.sms_gateways import OperatorSms, operator_sms
from carrier_adapters.smsc import Inbound, PartReport
from carrier_adapters.smsc.url import DEFAULT_PORTS
from gateway.loop import LoopKind
from gateway.loop import run as run_on_loop
from gateway.push.models import EarlyReport, MessageEvent, MessagePart, PushMessage
from gateway.sandbox_link import SANDBOX_PROTOCOLS, sms_url
from gateway.webhooks.models import WebhookDelivery
from sandbox import SmscAccount

__all__ = [
    "NUMBER_BLOCKS",
    "CeilingResult",
    "Completion",
    "GatewayResult",
    "ReportTally",
    "Route",
    "channel_options",
    "completion_errors",
    "format_results",
    "gateway_span",
    "main",
    "message_text",
    "own_options",
    "plan_lines",
    "postgres_member",
    "sandbox_env",
    "seeded_operator",
    "served_routes",
    "targets_met",
]

LOG_DIR = RESULTS_DIR / "logs" / "sms"
MESSAGES_PATH = "/push/v1/messages"
TEMPLATES_PATH = "/push/v1/templates"
WEBHOOK_PATH = "/push/v1/webhook"
SCOPES = ("push:send", "push:read", "templates:write", "webhooks:manage")
WEBHOOK_EVENT = "message.delivered"
SIGNATURE = "平安银行"
BODIES = {
    1: "您的案件{{claimNo}}请点击 {{link}}",
    2: "您的案件{{claimNo}}已受理,请点击 {{link}} 共享您的位置,以便我们尽快安排查勘员上门处理。",
}
"""Template bodies by the part count they render to (with the claim numbers and links of a run)."""
LINK_CODE_LENGTH = 22
ACTIVATED_AGO = dt.timedelta(days=30)
POLL_INTERVAL_S = 0.1
LOGIN_TIMEOUT_S = 15.0
TARGET_RATE = 1500.0
TARGET_RATIO = 0.5
DELIVERED = "delivered"
ALL = "all"
_POSTGRES_AUXILIARY = ("walwriter", "background writer", "checkpointer")


# --- the protocols ---------------------------------------------------------------------------------


NUMBER_BLOCKS: Mapping[str, str] = {"cmcc": "+86138", "cucc": "+86186", "ctcc": "+86189", "intl": "+447"}
"""Operator -> the prefix of its bench lines (``intl``: outside +86, the SMPP route)."""


@dataclass(frozen=True)
class Route:
    """An operator served by the sandbox over a binary protocol, where it listens."""

    operator: str
    protocol: str
    host: str
    port: int

    def number(self, serial: int) -> str:
        """The ``serial``-th bench line of this operator (E.164)."""
        return f"{NUMBER_BLOCKS[self.operator]}{serial:08d}"


def channel_options(window: int, connections: int, tps: float) -> dict[str, str]:
    """The SMS URL options every protocol shares (docs/sms-protocols.md)."""
    return {"window": str(window), "connections": str(connections), "tps": f"{tps:g}"}


def own_options(protocols: Mapping[str, str], port: Callable[[], int]) -> dict[str, dict[str, str]]:
    """Per operator, the URL options that are the bench's to choose: SGIP's ``listen``, the address
    (a free ``port()``) of the SP listener the gateway binds and the sandbox's SMG dials."""
    return {
        operator: {"listen": f"{LOCALHOST}:{port()}"} if protocol == "sgip" else {}
        for operator, protocol in protocols.items()
    }


def sandbox_env(
    protocols: Mapping[str, str], accounts: Mapping[str, SmscAccount], own: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """The sandbox's settings: every protocol's gateway on a free port (``GATEWAY_SANDBOX_<PROTO>_PORT``
    0) and the accounts as ``GATEWAY_<OP>_SMS_URL`` (the sandbox reads their login, secret, sender
    number and SGIP listener; the port in them is not its own)."""
    env = {}
    for operator, protocol in protocols.items():
        env[f"GATEWAY_SANDBOX_{protocol.upper()}_PORT"] = "0"
        env[f"GATEWAY_{operator.upper()}_SMS_URL"] = sms_url(
            operator, accounts[operator], LOCALHOST, DEFAULT_PORTS[protocol], **own[operator]
        )
    return env


def seeded_operator(operator: str) -> str:
    """The sandbox operator a bench line is registered with: its own, or China Mobile for the
    international route (the SMPP SMSC looks a number up among every operator's phones)."""
    return operator if operator in SANDBOX_OPERATORS else SANDBOX_OPERATORS[0]


def served_routes(
    view: Mapping[str, Mapping[str, Any]], protocols: Mapping[str, str], accounts: Mapping[str, SmscAccount]
) -> tuple[list[Route], list[str]]:
    """The operators of ``protocols`` (operator -> protocol) that ``GET /sandbox/smsc`` lists with
    that protocol, and the protocols it does not serve.

    :raises HarnessError: a served gateway knows another login than the bench gave it (the sandbox
        did not take the account from ``GATEWAY_<OP>_SMS_URL``).
    """
    served, missing = [], []
    for operator, protocol in protocols.items():
        entry = view.get(operator)
        if entry is None or entry.get("protocol") != protocol:
            missing.append(protocol)
            continue
        if entry.get("login") != accounts[operator].login:
            raise HarnessError(
                f"the sandbox's {protocol} gateway knows another SP login than the bench gave it in "
                f"GATEWAY_{operator.upper()}_SMS_URL"
            )
        served.append(Route(operator, protocol, str(entry["host"]), int(entry["port"])))
    return served, missing


def plan_lines(routes: Sequence[Route], count: int) -> list[Line]:
    """``count`` distinct lines, round-robin over ``routes``."""
    return [
        Line(number=routes[i % len(routes)].number(i), operator=routes[i % len(routes)].operator)
        for i in range(count)
    ]


def message_text(parts: int, claim: str, public_url: str, code: str) -> str:
    """The SMS the gateway renders from the bench template of ``parts`` parts: signature, claim
    number and the message's link (``{public_url}/l/{code}``)."""
    body = BODIES[parts].replace("{{claimNo}}", claim).replace("{{link}}", f"{public_url}/l/{code}")
    return f"【{SIGNATURE}】{body}"


def _link_code() -> str:
    alphabet = string.digits + string.ascii_letters
    return "".join(secrets.choice(alphabet) for _ in range(LINK_CODE_LENGTH))


# --- the ceiling: the bare client ------------------------------------------------------------------


class ReportTally:
    """What the bare client's sessions received: final reports by (operator, operator's id)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.reports: Counter[tuple[str, str]] = Counter()
        self.not_delivered: Counter[str] = Counter()
        self.other = 0
        self.last_at: float | None = None
        self._goal: int | None = None
        self._reached = asyncio.Event()

    async def __call__(self, inbound: list[Inbound]) -> None:
        """The sessions' inbound sink: counts at once (the ``DELIVER`` is answered after)."""
        self.add(inbound)

    def add(self, inbound: Iterable[Inbound]) -> None:
        """Count final reports; intermediate ones are ignored, anything else counted as ``other``."""
        for item in inbound:
            if not isinstance(item, PartReport):
                self.other += 1
            elif item.state is not None:
                self.reports[item.operator, item.provider_id] += 1
                if item.state is not DeliveryState.DELIVERED:
                    self.not_delivered[item.status] += 1
                self.last_at = self._clock()
        if self._goal is not None and self.distinct >= self._goal:
            self._reached.set()

    async def reach(self, goal: int) -> None:
        """Return once ``goal`` distinct parts have been reported."""
        self._goal = goal
        if self.distinct < goal:
            await self._reached.wait()

    @property
    def distinct(self) -> int:
        """Parts reported at least once."""
        return len(self.reports)

    def errors(self, submitted: Collection[tuple[str, str]]) -> dict[str, int]:
        """Parts never reported, reported twice or not submitted by us, reports other than delivered."""
        expected = set(submitted)
        errors = {
            "parts not reported": len(expected - self.reports.keys()),
            "parts reported twice": sum(n - 1 for n in self.reports.values() if n > 1),
            "reports of unknown parts": len(self.reports.keys() - expected),
            "parts submitted twice": len(submitted) - len(expected),
            "other inbound": self.other,
            **{f"report {status}": n for status, n in self.not_delivered.items()},
        }
        return {kind: n for kind, n in errors.items() if n}


@dataclass
class CeilingResult:
    """One bare-client batch: rates from the end of the logins to the last answer and last report."""

    target: str
    messages: int
    parts: int
    answered_s: float
    reported_s: float | None
    errors: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def answered_rps(self) -> float | None:
        return self.messages / self.answered_s if self.answered_s > 0 else None

    @property
    def reported_rps(self) -> float | None:
        return self.messages / self.reported_s if self.reported_s else None

    @property
    def flagged(self) -> bool:
        return self.errors > 0


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _backoff(failures: int) -> float:
    return min(5.0, 0.2 * failures)


async def _logged_in(gateways: Sequence[OperatorSms], connections: int) -> None:
    deadline = time.monotonic() + LOGIN_TIMEOUT_S
    while any(gateway.channel.ready < connections for gateway in gateways):
        if time.monotonic() > deadline:
            raise HarnessError(f"the bare client's sessions did not log in within {LOGIN_TIMEOUT_S:g} s")
        await asyncio.sleep(0.02)


async def run_ceiling(
    target: str, urls: Mapping[str, str], lines: Sequence[Line], sandbox: Server, args: Options
) -> CeilingResult:
    """``--messages`` through the bare clients of ``urls``' operators to ``lines`` (in turn)."""
    tally = ReportTally()
    gateways = [
        operator_sms(operator, url, on_inbound=tally, now=_utcnow, backoff=_backoff)
        for operator, url in urls.items()
    ]
    channels = {gateway.operator: gateway.channel for gateway in gateways}
    public_url = f"http://{LOCALHOST}:{free_port()}"
    texts = [message_text(args.parts, f"C-{i}", public_url, _link_code()) for i in range(args.messages)]
    async with contextlib.AsyncExitStack() as stack:
        for gateway in gateways:
            await gateway.start()
            stack.push_async_callback(gateway.close)
        await _logged_in(gateways, args.connections)
        submitted: list[tuple[str, str]] = []
        failures: Counter[str] = Counter()
        pending = iter(range(args.messages))
        probe = server_probe(sandbox)
        before = {"client": own_cpu_seconds(), "sandbox": probe()}
        started = last_answer = time.perf_counter()

        async def worker() -> None:
            nonlocal last_answer
            for i in pending:
                line = lines[i % len(lines)]
                try:
                    answer = await channels[line.operator].submit_sms(
                        line.number, texts[i], reference=f"bench-{i}"
                    )
                except CarrierError as exc:
                    failures[f"submit {type(exc).__name__}"] += 1
                    continue
                submitted.extend(
                    (answer.operator, part) for part in answer.parts or (answer.provider_message_id,)
                )
                last_answer = time.perf_counter()

        await asyncio.gather(*(worker() for _ in range(min(args.concurrency, args.messages))))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.reach(len(set(submitted))), args.timeout)
        after = {"client": own_cpu_seconds(), "sandbox": probe()}
    accepted = args.messages - sum(failures.values())
    failures.update(tally.errors(submitted))
    complete = tally.distinct >= len(set(submitted)) and tally.last_at is not None
    return CeilingResult(
        target=target,
        messages=args.messages,
        parts=len(submitted) // max(accepted, 1),
        answered_s=last_answer - started,
        reported_s=(tally.last_at - started) if complete and tally.last_at is not None else None,
        errors=sum(failures.values()),
        error_kinds=dict(failures),
        cpu_ms=cpu_per_message(before, after, args.messages),
    )


# --- the gateway -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    """What the gateway's database says of one batch's messages (one template's)."""

    states: dict[str, int]
    submitted_events: int = 0
    submitted_messages: int = 0
    delivered_events: int = 0
    delivered_messages: int = 0
    parts: int = 0
    parts_delivered: int = 0
    early_reports: int = 0
    webhooks: int = 0
    webhook_messages: int = 0
    first_submitted: dt.datetime | None = None
    last_submitted: dt.datetime | None = None
    last_delivered: dt.datetime | None = None
    last_webhook: dt.datetime | None = None


def completion_errors(done: Completion, messages: int, parts_per_message: int) -> dict[str, int]:
    """Everything that is not "each message delivered once, its parts reported, its webhook staged"."""
    errors = state_errors(done.states, messages)
    checks = {
        "messages without one submitted event": abs(messages - done.submitted_messages),
        "repeated submitted events": done.submitted_events - done.submitted_messages,
        "messages without one delivered event": abs(messages - done.delivered_messages),
        "repeated delivered events": done.delivered_events - done.delivered_messages,
        "parts other than expected": abs(messages * parts_per_message - done.parts),
        "parts not delivered": done.parts - done.parts_delivered,
        "reports left waiting for their submission": done.early_reports,
        "messages without a staged webhook": abs(messages - done.webhook_messages),
        "repeated webhooks": done.webhooks - done.webhook_messages,
    }
    errors.update({kind: n for kind, n in checks.items() if n})
    return errors


def gateway_span(ready: dt.datetime, first: dt.datetime | None, end: dt.datetime | None) -> float | None:
    """Seconds from the dispatching gateway's start (its readiness, or its first ``submitted``
    event when that came earlier) to ``end``; None without ``end``."""
    if end is None:
        return None
    start = min(ready, first) if first is not None else ready
    return (end - start).total_seconds()


@dataclass
class GatewayResult:
    """One gateway batch: rates to the last ``submitted`` event and to the last ``delivered`` one
    with its webhook staged, from the gateway's start (see :func:`gateway_span`)."""

    workers: int
    messages: int
    parts: int
    submitted_s: float | None
    delivered_s: float | None
    enqueue_rps: float
    states: dict[str, int]
    errors: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"gateway, {self.workers} process{'es' if self.workers > 1 else ''}"

    @property
    def submitted_rps(self) -> float | None:
        return self.messages / self.submitted_s if self.submitted_s else None

    @property
    def delivered_rps(self) -> float | None:
        return self.messages / self.delivered_s if self.delivered_s else None

    @property
    def flagged(self) -> bool:
        return self.errors > 0


async def provision(
    session: aiohttp.ClientSession, gateway: Server, admin_token: str, name: str, parts: int
) -> Sender:
    """A sandbox tenant with the push scopes, a transaction template of ``parts`` parts and a webhook
    endpoint (where nothing listens) subscribed to ``message.delivered``."""
    bearer = await bulk_sms_bearer(session, gateway.base_url, admin_token, name, SCOPES)
    headers = {"Authorization": f"Bearer {bearer}"}
    template = await call_json(
        session,
        "POST",
        gateway.base_url + TEMPLATES_PATH,
        json={
            "name": name,
            "category": "transaction",
            "signature": SIGNATURE,
            "text": BODIES[parts],
            "flow": "claim_location",
            "quickApp": {"package": "com.example.claims", "page": "Location"},
            "params": {"claimNo": {"type": "string", "required": True}},
        },
        headers=headers,
        expect=(201,),
    )
    if template.get("status") != "approved":
        raise HarnessError(f"the sandbox tenant's template is {template.get('status')!r}, not approved")
    endpoint = f"http://{LOCALHOST}:{free_port()}/bench-webhook"
    await call_json(
        session,
        "PUT",
        gateway.base_url + WEBHOOK_PATH,
        json={"url": endpoint, "events": [WEBHOOK_EVENT]},
        headers=headers,
    )
    return Sender(bearer, template["id"])


_MESSAGES = PushMessage.__table__  # type: ignore[attr-defined]
_EVENTS = MessageEvent.__table__  # type: ignore[attr-defined]
_PARTS = MessagePart.__table__  # type: ignore[attr-defined]
_EARLY = EarlyReport.__table__  # type: ignore[attr-defined]
_WEBHOOKS = WebhookDelivery.__table__  # type: ignore[attr-defined]


async def _states(engine: AsyncEngine, template_id: str) -> dict[str, int]:
    query = (
        sa.select(_MESSAGES.c.status, sa.func.count())
        .where(_MESSAGES.c.template_id == template_id)
        .group_by(_MESSAGES.c.status)
    )
    async with engine.connect() as conn:
        return {status: count for status, count in (await conn.execute(query)).all()}


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


async def read_completion(engine: AsyncEngine, template_id: str) -> Completion:
    """The batch's end as the database holds it (see :class:`Completion`)."""
    ours = _MESSAGES.c.template_id == template_id
    joined = _EVENTS.join(_MESSAGES, _MESSAGES.c.id == _EVENTS.c.message_id)
    events = (
        sa.select(
            _EVENTS.c.type,
            sa.func.count(),
            sa.func.count(sa.distinct(_EVENTS.c.message_id)),
            sa.func.min(_EVENTS.c.at),
            sa.func.max(_EVENTS.c.at),
        )
        .select_from(joined)
        .where(ours, _EVENTS.c.type.in_(("submitted", DELIVERED)))
        .group_by(_EVENTS.c.type)
    )
    parts = (
        sa.select(sa.func.count(), sa.func.count().filter(_PARTS.c.state == DELIVERED))
        .select_from(_PARTS.join(_MESSAGES, _MESSAGES.c.id == _PARTS.c.message_id))
        .where(ours)
    )
    tenants = sa.select(_MESSAGES.c.tenant_id).where(ours).distinct()
    async with engine.connect() as conn:
        by_type = {row[0]: row[1:] for row in (await conn.execute(events)).all()}
        part_count, parts_delivered = (await conn.execute(parts)).one()
        early = (await conn.execute(sa.select(sa.func.count()).select_from(_EARLY))).scalar_one()
        ids = {row[0] for row in (await conn.execute(sa.select(_MESSAGES.c.id).where(ours))).all()}
        webhooks = (
            await conn.execute(
                sa.select(_WEBHOOKS.c.payload, _WEBHOOKS.c.created_at).where(
                    _WEBHOOKS.c.tenant_id.in_(tenants), _WEBHOOKS.c.event_type == WEBHOOK_EVENT
                )
            )
        ).all()
    staged = Counter(json.loads(payload)["data"]["messageId"] for payload, _ in webhooks)
    submitted = by_type.get("submitted", (0, 0, None, None))
    delivered = by_type.get(DELIVERED, (0, 0, None, None))
    return Completion(
        states=await _states(engine, template_id),
        submitted_events=submitted[0],
        submitted_messages=submitted[1],
        delivered_events=delivered[0],
        delivered_messages=delivered[1],
        parts=part_count,
        parts_delivered=parts_delivered,
        early_reports=early,
        webhooks=sum(n for message, n in staged.items() if message in ids),
        webhook_messages=len(staged.keys() & ids),
        first_submitted=_aware(submitted[2]),
        last_submitted=_aware(submitted[3]),
        last_delivered=_aware(delivered[3]),
        last_webhook=max(
            (instant for _, at in webhooks if (instant := _aware(at)) is not None), default=None
        ),
    )


def postgres_member(cmdline: str, database: str) -> bool:
    """Whether a PostgreSQL process (its ``/proc`` command line) works for ``database``: a backend
    (or autovacuum worker) of it, or the WAL writer, background writer or checkpointer."""
    if any(name in cmdline for name in _POSTGRES_AUXILIARY):
        return True
    return database in cmdline.split()


def _postgres_ticks(database: str) -> int | None:
    ticks, found = 0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        found = True
        if postgres_member(cmdline, database):
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks if found else None


def postgres_cpu_seconds(database: str) -> float | None:
    """User + system CPU seconds of the local PostgreSQL processes of ``database`` (its backends,
    read from ``/proc`` by their command line, plus the WAL writer, background writer and
    checkpointer, which serve every database); None when no PostgreSQL process is visible. A backend
    that exits between two readings drops out of the second; the gateway's pool is fixed, so its
    connections live through a batch."""
    ticks = _postgres_ticks(database)
    return None if ticks is None else ticks / os.sysconf("SC_CLK_TCK")


def _database_name(database_url: str) -> str | None:
    if not database_url.startswith("postgresql"):
        return None
    return database_url.rsplit("/", 1)[1].split("?", 1)[0]


async def _until_delivered(engine: AsyncEngine, template_id: str, count: int, patience: float) -> None:
    deadline = time.perf_counter() + patience
    delivered = 0
    while delivered < count and time.perf_counter() < deadline:
        await asyncio.sleep(POLL_INTERVAL_S)
        delivered = (await _states(engine, template_id)).get(DELIVERED, 0)


async def measure_gateway(
    session: aiohttp.ClientSession,
    creds: Credentials,
    sandbox: Server,
    urls: Mapping[str, str],
    lines: Sequence[Line],
    database_url: str,
    args: Options,
    label: str,
    log_dir: Path,
) -> GatewayResult:
    """Accept ``--messages`` with the dispatch worker off, then time a gateway with it on."""
    port = free_port()
    common = {
        "GATEWAY_ALLOW_PRIVATE_WEBHOOKS": "true",
        **{f"GATEWAY_{operator.upper()}_SMS_URL": url for operator, url in urls.items()},
    }
    off = {**common, "GATEWAY_PUSH_DISPATCH_WORKER": "false"}
    on = {
        **common,
        "GATEWAY_PUSH_DISPATCH_WORKER": "true",
        "GATEWAY_PUSH_DISPATCH_BATCH": str(args.batch),
        "GATEWAY_PUSH_DISPATCH_CONCURRENCY": str(args.concurrency),
        "GATEWAY_WEBHOOK_DELIVERY_WORKER": "false",
    }
    async with start_gateway(
        creds, sandbox, database_url, args, log_dir, port=port, env=off, name="gateway-enqueue"
    ) as gateway:
        sender = await provision(session, gateway, creds.admin_token, "bench-sms", args.parts)
        print(f"{label}: accepting {args.messages} messages (dispatch worker off) ...")
        ids, enqueue_rps, failures = await enqueue(session, gateway, sender, lines, args.messages)
    print(f"{label}: {len(ids)} accepted at {enqueue_rps:.0f}/s; dispatching ...")
    database = _database_name(database_url)
    async with (
        read_only(database_url) as engine,
        start_gateway(
            creds, sandbox, database_url, args, log_dir, port=port, env=on, name="gateway-dispatch"
        ) as gateway,
    ):
        probes: dict[str, CpuProbe] = {"gateway": server_probe(gateway), "sandbox": server_probe(sandbox)}
        if database is not None and postgres_cpu_seconds(database) is not None:
            probes["postgres"] = lambda: postgres_cpu_seconds(database) or 0.0
        before = {name: probe() for name, probe in probes.items()}
        ready = _utcnow()
        await _until_delivered(engine, sender.template_id, len(ids), args.timeout)
        after = {name: probe() for name, probe in probes.items()}
        done = await read_completion(engine, sender.template_id)
    failures.update(completion_errors(done, len(ids), args.parts))
    ends = [instant for instant in (done.last_delivered, done.last_webhook) if instant is not None]
    return GatewayResult(
        workers=args.workers,
        messages=len(ids),
        parts=args.parts,
        submitted_s=gateway_span(ready, done.first_submitted, done.last_submitted),
        delivered_s=gateway_span(ready, done.first_submitted, max(ends, default=None)),
        enqueue_rps=enqueue_rps,
        states=done.states,
        errors=sum(failures.values()),
        error_kinds=dict(failures),
        cpu_ms=cpu_per_message(before, after, len(ids)),
    )


# --- a run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options(RunOptions):
    """The command line (see ``--help``)."""

    messages: int
    subscribers: int
    parts: int
    window: int
    connections: int
    tps: float
    batch: int
    concurrency: int
    rounds: int
    timeout: float
    database_url: str | None
    workers: int
    redis_url: str
    gateway_env: list[str]
    startup_timeout: float
    loop: LoopKind
    workers_list: list[int] | None = None


@dataclass(frozen=True)
class Sandbox:
    """A started sandbox, the routes it serves with the bench's accounts and their URLs."""

    server: Server
    urls: dict[str, str]
    """Operator -> its ``GATEWAY_<OP>_SMS_URL``."""
    protocols: dict[str, str]
    """Operator -> protocol."""
    lines: list[Line]
    missing: list[str]
    """Protocols of gateway.sandbox_link the sandbox does not serve."""


@contextlib.asynccontextmanager
async def open_sandbox(
    creds: Credentials, session: aiohttp.ClientSession, args: Options, log_dir: Path
) -> AsyncIterator[Sandbox]:
    """A sandbox whose SMS gateways know accounts the bench chose; its lines seeded."""
    accounts = {operator: SmscAccount.generate(operator) for operator in SANDBOX_PROTOCOLS}
    own = own_options(SANDBOX_PROTOCOLS, free_port)
    env = sandbox_env(SANDBOX_PROTOCOLS, accounts, own)
    shared = channel_options(args.window, args.connections, args.tps)
    async with start_sandbox(creds, args, log_dir, env=env) as server:
        view = await call_json(session, "GET", server.base_url + "/sandbox/smsc")
        served, missing = served_routes(view, SANDBOX_PROTOCOLS, accounts)
        if not served:
            raise HarnessError("the sandbox serves none of the SMS protocols gateway.sandbox_link names")
        urls = {
            route.operator: sms_url(
                route.operator,
                accounts[route.operator],
                route.host,
                route.port,
                **own[route.operator],
                **shared,
            )
            for route in served
        }
        protocols = {route.operator: route.protocol for route in served}
        lines = plan_lines(served, args.subscribers)
        await seed_lines(
            session, server, [Line(line.number, seeded_operator(line.operator)) for line in lines]
        )
        yield Sandbox(server, urls, protocols, lines, missing)


def _control() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=30.0)
    )


async def ceiling_round(args: Options, round_no: int, log_dir: Path) -> tuple[list[CeilingResult], list[str]]:
    """Each served protocol's bare client alone, then all of them together."""
    creds = Credentials.generate()
    async with _control() as session, open_sandbox(creds, session, args, log_dir) as sandbox:
        targets = [(sandbox.protocols[operator], {operator: url}) for operator, url in sandbox.urls.items()]
        if len(sandbox.urls) > 1:
            targets.append((ALL, dict(sandbox.urls)))
        results = []
        for name, urls in targets:
            lines = [line for line in sandbox.lines if line.operator in urls]
            print(f"bare client {name} (round {round_no}): {args.messages} messages ...")
            results.append(await run_ceiling(name, urls, lines, sandbox.server, args))
        return results, sandbox.missing


async def gateway_round(args: Options, database_url: str, round_no: int, log_dir: Path) -> GatewayResult:
    """One gateway batch on a fresh sandbox and database."""
    creds = Credentials.generate()
    async with _control() as session, open_sandbox(creds, session, args, log_dir) as sandbox:
        label = f"gateway, {args.workers} process{'es' if args.workers > 1 else ''} (round {round_no})"
        return await measure_gateway(
            session, creds, sandbox.server, sandbox.urls, sandbox.lines, database_url, args, label, log_dir
        )


# --- report ----------------------------------------------------------------------------------------


def _median(values: Sequence[Any], key: Callable[[Any], float | None]) -> Any:
    ordered = sorted(values, key=lambda value: key(value) or 0.0)
    return ordered[(len(ordered) - 1) // 2]


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _cpu(cpu_ms: Mapping[str, float]) -> str:
    return ", ".join(f"{label} {ms:.2f}" for label, ms in cpu_ms.items()) or "-"


def format_results(ceilings: Sequence[CeilingResult], gateways: Sequence[GatewayResult]) -> str:
    """Bare clients and gateways side by side: msg/s to the answers (gateway: to ``submitted``) and
    to the reports (gateway: to ``delivered`` with the webhook staged), parts, errors, CPU ms/msg."""
    rows = [
        (f"bare client {r.target}", r.answered_rps, r.reported_rps, r.messages, r.parts, r.errors, r.cpu_ms)
        for r in ceilings
    ] + [
        (g.target, g.submitted_rps, g.delivered_rps, g.messages, g.parts, g.errors, g.cpu_ms)
        for g in gateways
    ]
    width = max([len("target"), *(len(row[0]) for row in rows)]) + 2
    lines = [
        f"{'target':<{width}}{'answered/s':>11}{'reported/s':>11}{'messages':>10}{'parts':>6}{'errors':>7}"
        "  CPU ms per message"
    ]
    for name, answered, reported, messages, parts, errors, cpu_ms in rows:
        lines.append(
            f"{name:<{width}}{_num(answered):>11}{_num(reported):>11}{messages:>10}{parts:>6}{errors:>7}"
            f"  {_cpu(cpu_ms)}"
        )
    return "\n".join(lines)


def reference_ceiling(ceilings: Sequence[CeilingResult]) -> CeilingResult | None:
    """The bare client over the same protocols as the gateway: all together, else the only one."""
    together = [c for c in ceilings if c.target == ALL]
    return together[0] if together else (ceilings[0] if len(ceilings) == 1 else None)


def targets_met(
    gateways: Sequence[GatewayResult], ceiling: CeilingResult | None
) -> tuple[float | None, float | None, bool]:
    """(best gateway msg/s to delivered, its fraction of the ceiling's rate to the reports, whether
    both issue 19 targets are met)."""
    best = max((g.delivered_rps for g in gateways if g.delivered_rps is not None), default=None)
    reference = None if ceiling is None else ceiling.reported_rps
    share = best / reference if best is not None and reference else None
    met = best is not None and best >= TARGET_RATE and share is not None and share >= TARGET_RATIO
    return best, share, met


def _parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sms", description="SMS over the operators' protocols: bare client and gateway"
    )
    parser.add_argument("--messages", type=int, default=10_000, help="messages per batch")
    parser.add_argument("--subscribers", type=int, default=1000, help="distinct sandbox lines")
    parser.add_argument("--parts", type=int, choices=sorted(BODIES), default=1, help="parts per message")
    parser.add_argument("--window", type=int, default=16, help="unanswered submits per connection")
    parser.add_argument("--connections", type=int, default=2, help="connections per operator and process")
    parser.add_argument("--tps", type=float, default=10_000.0, help="operator rate per process (URL tps)")
    parser.add_argument("--batch", type=int, default=200, help="GATEWAY_PUSH_DISPATCH_BATCH")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=128,
        help="messages in flight: GATEWAY_PUSH_DISPATCH_CONCURRENCY, and the bare client's",
    )
    parser.add_argument("--rounds", type=int, default=3, help="measure N times; report medians")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a batch's end")
    parser.add_argument(
        "--database-url",
        help="gateway database server (default: fresh SQLite files), e.g. postgresql://127.0.0.1:5432/db",
    )
    parser.add_argument("--workers", type=int, default=1, help="gateway processes (`serve --workers`)")
    add_scaling_argument(parser)
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/14", help="shared stores, used when --workers > 1"
    )
    parser.add_argument(
        "--gateway-env", action="append", default=[], metavar="KEY=VALUE", help="extra gateway setting"
    )
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds to wait for each server")
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="every process's loop"
    )
    args = Options(**vars(parser.parse_args(argv)))
    if min(args.messages, args.subscribers, args.window, args.connections, args.batch, args.concurrency) < 1:
        parser.error("counts must be at least 1")
    if args.rounds < 1 or args.tps <= 0:
        parser.error("--rounds must be at least 1 and --tps positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    facts = machine_facts()
    print(format_facts(facts))
    counts = args.workers_list or [args.workers]
    database = "sqlite" if args.database_url is None else args.database_url.split(":", 1)[0]
    print(
        f"{args.messages} messages of {args.parts} part(s) per batch to {args.subscribers} lines; window "
        f"{args.window}, {args.connections} connections, tps {args.tps:g}, {args.concurrency} in flight, "
        f"dispatch batch {args.batch}; gateway database {database}, processes "
        f"{', '.join(map(str, counts))}; event loop {args.loop}\n"
    )
    ceiling_rounds: list[list[CeilingResult]] = []
    gateway_rounds: dict[int, list[GatewayResult]] = {workers: [] for workers in counts}
    missing: list[str] = []
    try:
        for i in range(1, args.rounds + 1):
            results, missing = run_on_loop(ceiling_round(args, i, LOG_DIR / "ceiling"), args.loop)
            ceiling_rounds.append(results)
            for workers in counts:
                run_args = dataclasses.replace(args, workers=workers)
                with scratch_database(args.database_url) as database_url:
                    gateway_rounds[workers].append(
                        run_on_loop(
                            gateway_round(run_args, database_url, i, LOG_DIR / f"workers-{workers}"),
                            args.loop,
                        )
                    )
    except (HarnessError, aiohttp.ClientError) as exc:
        print(f"benchmark set-up failed: {exc}", file=sys.stderr)
        return 2
    ceilings = [
        _median([results[k] for results in ceiling_rounds], lambda r: r.reported_rps)
        for k in range(len(ceiling_rounds[0]))
    ]
    gateways = [_median(gateway_rounds[workers], lambda g: g.delivered_rps) for workers in counts]
    print()
    print(f"median of {args.rounds} rounds:" if args.rounds > 1 else "results:")
    if missing:
        print(f"(not served by the sandbox, left out: {', '.join(missing)})")
    print(format_results(ceilings, gateways))
    reference = reference_ceiling(ceilings)
    best, share, met = targets_met(gateways, reference)
    judged = database == "postgresql"
    print(
        f"best gateway {_num(best)} msg/s to delivered (target >= {TARGET_RATE:.0f}); "
        f"{_num(share, 2)} of the bare client {reference.target if reference else '-'} "
        f"(target >= {TARGET_RATIO:.2f}): "
        + (("targets met" if met else "TARGETS MISSED") if judged else "targets judged on PostgreSQL only")
    )
    flagged = False
    every: list[CeilingResult | GatewayResult] = [
        *itertools.chain.from_iterable(ceiling_rounds),
        *itertools.chain.from_iterable(gateway_rounds.values()),
    ]
    for result in every:
        if result.flagged:
            flagged = True
            kinds = ", ".join(f"{k}: {v}" for k, v in sorted(result.error_kinds.items()))
            print(f"FLAGGED {result.target}: {kinds}")
    ok = not flagged and (met or not judged)
    payload = {
        "benchmark": "sms",
        "machine": facts,
        "event_loop": args.loop,
        "config": {**args.public(), "database": database},
        "not_served": missing,
        "ceiling": {
            "results": [_record(c) for c in ceilings],
            "rounds": [[_record(c) for c in r] for r in ceiling_rounds],
        },
        "gateway": {
            "results": [_record(g) for g in gateways],
            "rounds": {str(w): [_record(g) for g in rounds] for w, rounds in gateway_rounds.items()},
        },
        "targets": {"best_delivered_rps": best, "share_of_ceiling": share, "met": met, "judged": judged},
        "ok": ok,
    }
    print(f"\nwritten to {write_results(results_name('sms', database), payload)}")
    return 0 if ok else 1


def _record(result: CeilingResult | GatewayResult) -> dict[str, Any]:
    rates = (
        {"answered_rps": result.answered_rps, "reported_rps": result.reported_rps}
        if isinstance(result, CeilingResult)
        else {"submitted_rps": result.submitted_rps, "delivered_rps": result.delivered_rps}
    )
    return {"target": result.target, **asdict(result), **rates}


if __name__ == "__main__":
    sys.exit(main())
