"""Verification requests: network authentication first where it works, else a code by SMS.

:meth:`VerifyService.create` checks the number (a mobile number, ``422 INVALID_PHONE_NUMBER``), one
pending request per number and tenant (``409 VERIFICATION_IN_PROGRESS``) and each SMS step's
template (the given one, which must be the tenant's approved verification template, else the
tenant's approved install of the built-in for ``locale``: ``422 TEMPLATE_NOT_APPROVED`` names it;
a partial unique index keeps concurrent creates to one),
stores the request and starts its first step. Every change of state runs in one unit of work that
locks the request's row (:mod:`gateway.verify.workflow` decides), stages the webhook of the
request's end (``verify.completed`` / ``verify.failed``) in the same transaction, and only then
sends a code:

- **network**: the phone opens the request's check URL (:meth:`open_check`). A device the telco
  finder places on no operator's mobile network fails the step (``off_network``); on a network
  the browser goes to that operator's authorization endpoint and comes back to
  ``/verify/v1/callback/{operator}`` (:meth:`finish_network`); while that operator's circuit is
  open (it is failing) the step fails at once (``operator_unavailable``). The step completes when the operator
  identified the requested number by its network; a refusal, another number, an SMS-OTP answer
  or an operator that fails the exchange fail it (the next step starts by itself).
- **sms**: a new code of ``codeLength`` digits goes through
  :meth:`~gateway.push.service.PushService.send` (verification template, the SMS-fraud controls,
  idempotency key ``verify:<id>:<send>``) unless the pumping guard blocked the prefix
  (``prefix_blocked``); a refused send fails the step (``sms_refused``). :meth:`check` compares the
  code in constant time; a wrong one answers ``400 INVALID_CODE`` with the attempts left. A code
  lives while its SMS step is active and before its deadline: a new code, the step's end or its
  deadline (even before the sweeper has run) retire it.

:meth:`sweep` (the background sweeper) expires steps whose deadline passed. Each code sent and
each network authentication answered is a row of the usage ledger (``verify_sms``,
``verify_network``). Log lines carry request ids and reasons, never the number or the code.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from carrier_adapters import AuthMethod, CarrierError, NetworkAuthenticator, operator_for_number
from gateway.camara.usage import UsageRecorder
from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.db import as_utc, run_unit
from gateway.errors import (
    ApiError,
    InvalidArgument,
    InvalidCode,
    NotFound,
    TemplateNotApproved,
    TooManyRequests,
    VerificationConflict,
    VerificationInProgress,
)
from gateway.logs import mask_phone
from gateway.oauth.telco_finder import TelcoFinder
from gateway.one_tap.service import phone_scope
from gateway.push.guard import refuse_non_mobile
from gateway.push.service import Accepted, SendRequest
from gateway.templates import Category, Template, render
from gateway.templates.builtin import DEFAULT_VERIFICATION_LOCALE, verification_builtin
from gateway.verify.codes import check_token, code_index, code_matches, new_code, request_of_token
from gateway.verify.models import VerifyRequest, phone_aad
from gateway.verify.pumping import Prefix, PumpingGuard
from gateway.verify.workflow import (
    Channel,
    Effects,
    Status,
    Step,
    StepOutcome,
    Verification,
    WorkflowConflict,
)
from gateway.webhooks import Publisher

__all__ = [
    "CheckPage",
    "CodeSender",
    "CodeTry",
    "NewRequest",
    "RequestView",
    "VerificationTemplates",
    "VerifyService",
]

log = structlog.get_logger(__name__)
_TABLE = VerifyRequest.__table__  # type: ignore[attr-defined]
_T = TypeVar("_T")


class CodeSender(Protocol):
    """The push feature, as far as sending a code needs it."""

    async def send(self, *, tenant_id: str, request: SendRequest, idempotency_key: str | None) -> Accepted:
        """Accept one SMS; raises the push feature's errors."""
        ...


class VerificationTemplates(Protocol):
    """The templates feature, as far as verification needs it."""

    async def get_approved(self, tenant_id: str, template_id: str) -> Template:
        """The tenant's approved template; raises NotFound or TemplateNotApproved."""
        ...

    async def approved_builtin(self, tenant_id: str, name: str) -> Template | None:
        """The tenant's newest approved template installed from the built-in ``name``."""
        ...


@dataclass(frozen=True, slots=True)
class NewRequest:
    """``POST /verify/v1/requests`` as received."""

    phone_number: str
    steps: tuple[Step, ...]
    code_length: int
    locale: str
    channel_timeout: int
    client_reference: str | None


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request as its tenant may see it (the number masked)."""

    id: str
    status: Status
    phone_masked: str
    client_reference: str | None
    steps: tuple[Step, ...]
    outcomes: tuple[StepOutcome, ...]
    current: int
    attempts_left: int
    codes_sent: int
    created_at: datetime
    check_url: str | None


@dataclass(frozen=True, slots=True)
class CheckPage:
    """What the check URL shows: a redirect to the operator, or the request's state."""

    redirect: str | None
    status: Status
    channel: Channel
    code_length: int
    attempts_left: int
    wrong_code: bool = False


@dataclass(frozen=True, slots=True)
class CodeTry:
    """One code typed: the verified number when it was right; ``ended`` when no attempt is left."""

    phone_number: str | None
    attempts_left: int
    ended: bool


@dataclass(slots=True)
class _Loaded:
    """A locked request row, its workflow state, and the unit's connection."""

    row: dict[str, Any]
    state: Verification
    conn: Connection
    published: bool = False


class VerifyService:
    """See the module docstring."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sender: CodeSender,
        templates: VerificationTemplates,
        authenticators: Mapping[str, NetworkAuthenticator],
        finder: TelcoFinder,
        operator_down: Callable[[str], bool] | None = None,
        pumping: PumpingGuard,
        usage: UsageRecorder,
        events: Publisher,
        cipher: FieldCipher,
        index: BlindIndex,
        clock: Clock,
        public_url: str,
    ) -> None:
        self._engine = engine
        self._sender = sender
        self._templates = templates
        self._authenticators = authenticators
        self._finder = finder
        self._operator_down = operator_down or (lambda _: False)
        self._pumping = pumping
        self._usage = usage
        self._events = events
        self._cipher = cipher
        self._index = index
        self._clock = clock
        self._public_url = public_url.rstrip("/")

    def check_url(self, request_id: str) -> str:
        """The URL the phone's browser opens for the network step (and to type a code)."""
        return f"{self._public_url}/verify/v1/check/{check_token(self._index, request_id)}"

    def callback_url(self, operator: str) -> str:
        """Where ``operator`` returns the browser after a network step."""
        return f"{self._public_url}/verify/v1/callback/{operator}"

    async def create(self, tenant_id: str, new: NewRequest) -> RequestView:
        """Store a request and start its first step; see the module docstring.

        :raises InvalidPhoneNumber: not a mobile number.
        :raises NotFound, TemplateNotApproved, InvalidArgument, MissingParam: an SMS step's template.
        :raises VerificationInProgress: a request for the number is pending.
        :raises TooManyRequests: the first step is SMS and the number's prefix is blocked.
        :raises QuotaExceeded, ServiceNotApplicable: the first code could not be sent (the request
            is stored as failed).
        """
        refuse_non_mobile(new.phone_number)
        steps = tuple([await self._resolve(tenant_id, step, new) for step in new.steps])
        prefix = self._pumping.prefix(tenant_id, new.phone_number)
        if steps[0].channel is Channel.SMS:
            blocked = await self._pumping.blocked_for(prefix)
            if blocked is not None:
                raise TooManyRequests(blocked)
        now = self._clock.now()
        request_id = str(uuid.uuid4())
        state = Verification(steps, timedelta(seconds=new.channel_timeout))
        effects = state.start(now)
        row = {
            "id": request_id,
            "tenant_id": tenant_id,
            "phone_index": self._index.compute(new.phone_number, scope=phone_scope(tenant_id)),
            "prefix_index": prefix.index,
            "phone_cipher": self._cipher.encrypt(new.phone_number, aad=phone_aad(tenant_id, request_id)),
            "workflow": json.dumps([_step_json(step) for step in steps]),
            "code_length": new.code_length,
            "locale": new.locale,
            "channel_timeout": new.channel_timeout,
            "client_reference": new.client_reference,
            "sends": 0,
            "wrong_codes": 0,
            "verified_by_code": False,
            "created_at": now,
            **_state_columns(state, now),
        }
        candidates = self._index.candidates(new.phone_number, scope=phone_scope(tenant_id))
        try:
            await run_unit(self._engine, partial(_insert, row, candidates))
        except IntegrityError as exc:
            raise VerificationInProgress() from exc
        log.info("verify_request_created", request_id=request_id, first=steps[0].channel.value)
        if effects.send_code:
            await self._send_code(request_id, first=True)
        return await self.get(tenant_id, request_id)

    async def get(self, tenant_id: str, request_id: str) -> RequestView:
        """The tenant's request.

        :raises NotFound: unknown, or another tenant's.
        """
        row = await run_unit(self._engine, partial(_read, request_id), writes=False)
        if row is None or row["tenant_id"] != tenant_id:
            raise NotFound()
        return self._view(row)

    async def check(self, tenant_id: str, request_id: str, code: str) -> RequestView:
        """Compare ``code`` with the last one sent.

        :raises NotFound: unknown, or another tenant's.
        :raises VerificationConflict: the request is not pending, or no code was sent yet.
        :raises InvalidCode: a wrong code (the request fails at the fifth).
        """
        matched = await self._change(request_id, tenant_id, partial(self._compare, code))
        if not matched:
            view = await self.get(tenant_id, request_id)
            raise InvalidCode(view.attempts_left)
        return await self.get(tenant_id, request_id)

    async def start_code(self, tenant_id: str, phone: str, *, locale: str | None) -> str | None:
        """Send a code to ``phone`` for another feature (the authorization endpoint's fallback): an
        SMS-only request with the tenant's built-in template for ``locale``; its id, or None when
        the tenant has no approved verification template.

        :raises InvalidPhoneNumber, VerificationInProgress, TooManyRequests, QuotaExceeded,
            ServiceNotApplicable: as :meth:`create`.
        """
        new = NewRequest(phone, (Step(Channel.SMS),), 6, locale or DEFAULT_VERIFICATION_LOCALE, 300, None)
        try:
            return (await self.create(tenant_id, new)).id
        except TemplateNotApproved:
            return None

    async def try_code(self, tenant_id: str, request_id: str, code: str) -> CodeTry:
        """:meth:`check` for another feature: the outcome instead of an error."""
        if not code.isascii() or not code.isdigit() or len(code) > 10:
            return CodeTry(None, (await self.get(tenant_id, request_id)).attempts_left, False)
        try:
            await self.check(tenant_id, request_id, code)
        except InvalidCode as exc:
            return CodeTry(None, exc.attempts_left, exc.attempts_left == 0)
        except VerificationConflict:
            return CodeTry(None, 0, True)
        row = await run_unit(self._engine, partial(_read, request_id), writes=False)
        if row is None:
            raise NotFound()
        return CodeTry(self._phone(row), 0, True)

    async def next(self, tenant_id: str, request_id: str) -> RequestView:
        """Skip to the next step (or a new code on a last SMS step).

        :raises NotFound: unknown, or another tenant's.
        :raises VerificationConflict: not pending, no step left, or no send left.
        """
        effects = await self._change(request_id, tenant_id, lambda loaded, now: loaded.state.skip(now))
        if effects.send_code:
            await self._send_code(request_id)
        return await self.get(tenant_id, request_id)

    async def cancel(self, tenant_id: str, request_id: str) -> None:
        """Cancel a pending request.

        :raises NotFound: unknown, or another tenant's.
        :raises VerificationConflict: the request is not pending.
        """
        await self._change(request_id, tenant_id, lambda loaded, now: loaded.state.cancel(now))
        log.info("verify_request_cancelled", request_id=request_id)

    async def open_check(self, token: str, *, peer: str | None, forwarded_for: str | None) -> CheckPage:
        """The phone opened the check URL: start the network step, or show the request's state.

        :raises NotFound: the token is not one of ours.
        """
        request_id = self._request_id(token)
        row = await run_unit(self._engine, partial(_read, request_id), writes=False)
        if row is None:
            raise NotFound()
        state = _state(row)
        if state.on(Channel.NETWORK):
            address = self._finder.client_ip(peer, forwarded_for)
            operator = self._finder.operator_for_ip(address)
            authenticator = self._authenticators.get(operator) if operator else None
            if operator is None or authenticator is None:
                await self._fail_network(request_id, "off_network")
            elif self._operator_down(operator):
                await self._fail_network(request_id, "operator_unavailable")
            else:
                handle = secrets.token_urlsafe(32)
                url = authenticator.authorization_url(
                    redirect_uri=self.callback_url(operator), state=handle, login_hint=None
                )
                started = await self._change(request_id, None, partial(_await_operator, operator, handle))
                if started:
                    log.info("verify_network_started", request_id=request_id, operator=operator)
                    return CheckPage(url, Status.PENDING, Channel.NETWORK, row["code_length"], 0)
        return await self._page(request_id)

    async def submit_code(self, token: str, code: str) -> CheckPage:
        """The phone's page sent a code typed by its holder.

        :raises NotFound: the token is not one of ours.
        """
        request_id = self._request_id(token)
        try:
            matched = await self._change(request_id, None, partial(self._compare, code))
        except VerificationConflict:
            matched = True
        page = await self._page(request_id)
        return page if matched else CheckPage(**{**_fields(page), "wrong_code": True})

    async def finish_network(self, operator: str, params: Mapping[str, Sequence[str]]) -> str:
        """The operator's callback: judge the network step and answer the check URL to return to.

        :raises NotFound: no network step waits for this ``state`` at this operator.
        """
        handle = _single(params, "state")
        if not handle or len(handle) > 512:
            raise NotFound()
        digest = _sha256(handle)
        row = await run_unit(self._engine, partial(_by_handle, digest), writes=False)
        if row is None or row["operator"] != operator or not _state(row).on(Channel.NETWORK):
            raise NotFound()
        request_id = row["id"]
        reason = await self._judge_network(row, operator, params)
        if reason is None:
            await self._change(request_id, None, partial(_complete_network, digest))
            log.info("verify_completed", request_id=request_id, channel="network")
        else:
            await self._fail_network(request_id, reason, digest)
        return self.check_url(request_id)

    async def sweep(self, *, limit: int = 100) -> int:
        """Expire the active steps whose deadline passed (the next step starts); how many."""
        now = self._clock.now()
        due = await run_unit(self._engine, partial(_due, now, limit), writes=False)
        for request_id in due:
            try:
                effects = await self._change(request_id, None, partial(_expire_if_due, now))
            except VerificationConflict:
                continue
            if effects.send_code:
                await self._send_code(request_id)
        return len(due)

    async def _judge_network(
        self, row: Mapping[str, Any], operator: str, params: Mapping[str, Sequence[str]]
    ) -> str | None:
        """None when the operator identified the requested number by its network, else why not."""
        if _single(params, "error") is not None:
            return "operator_refused"
        code = _single(params, "code")
        authenticator = self._authenticators.get(operator)
        if code is None or authenticator is None:
            return "operator_refused"
        try:
            identity = await authenticator.exchange_code(code, redirect_uri=self.callback_url(operator))
        except CarrierError as exc:
            log.info("verify_network_exchange_failed", operator=operator, error=type(exc).__name__)
            return "operator_unavailable"
        phone = self._phone(row)
        matched = identity.method is AuthMethod.NETWORK and identity.phone_number == phone
        await self._usage.record(
            tenant_id=row["tenant_id"],
            capability="verify_network",
            operator=operator,
            result="MATCH" if matched else "NO_MATCH",
            phone_number=phone,
        )
        if identity.method is not AuthMethod.NETWORK:
            return "not_network"
        return None if matched else "number_mismatch"

    async def _fail_network(self, request_id: str, reason: str, digest: str | None = None) -> None:
        effects = await self._change(request_id, None, partial(_fail_network_step, reason, digest))
        log.info("verify_network_failed", request_id=request_id, reason=reason)
        if effects.send_code:
            await self._send_code(request_id)

    async def _send_code(self, request_id: str, *, first: bool = False) -> None:
        """Send a code for the active SMS step; a refusal fails the step and goes on.

        :raises ApiError: when ``first``, the refusal of the request's first send (the request is
            stored as failed).
        """
        while True:
            row = await run_unit(self._engine, partial(_read, request_id), writes=False)
            if row is None or not _state(row).on(Channel.SMS):
                return
            phone = self._phone(row)
            prefix = Prefix(row["tenant_id"], row["prefix_index"], "")
            if await self._pumping.blocked_for(prefix) is not None:
                effects = await self._change(
                    request_id, None, partial(_fail_sms_step, "prefix_blocked", None)
                )
                log.warning("verify_code_blocked", request_id=request_id)
                if not effects.send_code:
                    return
                continue
            code = new_code(row["code_length"])
            sends = await self._change(request_id, None, partial(self._arm_code, code))
            step = _state(row).step
            request = SendRequest(
                template_id=step.template_id or "",
                to=phone,
                params={"code": code, "minutes": max(1, row["channel_timeout"] // 60)},
                ttl_seconds=row["channel_timeout"],
                canonical={"verify": request_id, "send": sends, "params": {"code": code}},
            )
            try:
                await self._sender.send(
                    tenant_id=row["tenant_id"],
                    request=request,
                    idempotency_key=f"verify:{request_id}:{sends}",
                )
            except ApiError as exc:
                log.info("verify_code_refused", request_id=request_id, code=exc.code)
                refused = partial(_fail_sms_step, "sms_refused", sends, abort=first)
                effects = await self._change(request_id, None, refused)
                if first:
                    raise
                if not effects.send_code:
                    return
                continue
            log.info("verify_code_sent", request_id=request_id, send=sends)
            await self._usage.record(
                tenant_id=row["tenant_id"],
                capability="verify_sms",
                operator=operator_for_number(phone) or "",
                result="SENT",
                phone_number=phone,
            )
            await self._pumping.after_send(self._pumping.prefix(row["tenant_id"], phone))
            return

    def _arm_code(self, code: str, loaded: _Loaded, now: datetime) -> int:
        """Store the new code's index and count the send; the send's number."""
        if not loaded.state.on(Channel.SMS):
            raise VerificationConflict("The request is no longer waiting for a code.")
        loaded.state.sends += 1
        loaded.row["code_index"] = code_index(self._index, loaded.row["id"], code)
        return loaded.state.sends

    def _compare(self, code: str, loaded: _Loaded, now: datetime) -> bool:
        """Whether ``code`` is the code sent; counts a wrong one (see :meth:`check`)."""
        stored, state = loaded.row["code_index"], loaded.state
        if state.status is not Status.PENDING:
            raise VerificationConflict(f"The verification request is {state.status.value}.")
        if stored is None or not state.on(Channel.SMS):
            raise VerificationConflict("No code is awaited: the active step does not send codes.")
        if state.deadline is not None and state.deadline <= now:
            raise VerificationConflict("The code has expired; the next step starts by itself.")
        if code_matches(self._index, loaded.row["id"], code, stored):
            loaded.row["verified_by_code"] = True
            loaded.row["code_index"] = None
            self._effects(loaded, loaded.state.complete(now))
            log.info("verify_completed", request_id=loaded.row["id"], channel="sms")
            return True
        self._effects(loaded, loaded.state.wrong_code(now))
        return False

    def _effects(self, loaded: _Loaded, effects: Effects) -> Effects:
        """Stage the effects' webhook in the unit (sent after commit by :meth:`_change`)."""
        if effects.event is not None:
            self._events.stage(
                loaded.conn,
                tenant_id=loaded.row["tenant_id"],
                event_type=effects.event,
                data=_event_data(loaded.row["id"], loaded.row["client_reference"], loaded.state),
            )
            loaded.published = True
        return effects

    async def _change(
        self, request_id: str, tenant_id: str | None, work: Callable[[_Loaded, datetime], _T]
    ) -> _T:
        """Run ``work`` on the locked request in one unit, then write the state it leaves.

        An :class:`Effects` result's event is staged in the same unit.

        :raises NotFound: no such request (for ``tenant_id``, when given).
        :raises VerificationConflict: ``work`` raised :class:`WorkflowConflict`.
        """
        result, published = await run_unit(
            self._engine, partial(self._locked, request_id, tenant_id, work, self._clock.now())
        )
        if published:
            self._events.on_publish()
        return result

    def _locked(
        self,
        request_id: str,
        tenant_id: str | None,
        work: Callable[[_Loaded, datetime], _T],
        now: datetime,
        conn: Connection,
    ) -> tuple[_T, bool]:
        found = conn.execute(sa.select(_TABLE).where(_TABLE.c.id == request_id).with_for_update())
        mapping = found.mappings().first()
        if mapping is None or (tenant_id is not None and mapping["tenant_id"] != tenant_id):
            raise NotFound()
        row = dict(mapping)
        loaded = _Loaded(row, _state(row), conn)
        try:
            result = work(loaded, now)
        except WorkflowConflict as exc:
            raise VerificationConflict(str(exc)) from exc
        if isinstance(result, Effects):
            self._effects(loaded, result)
        if not loaded.state.on(Channel.SMS):
            row["code_index"] = None
        changes = {key: row[key] for key in ("code_index", "verified_by_code", "operator", "handle_hash")}
        conn.execute(
            sa.update(_TABLE)
            .where(_TABLE.c.id == request_id)
            .values(**changes, **_state_columns(loaded.state, now))
        )
        return result, loaded.published

    async def _page(self, request_id: str) -> CheckPage:
        row = await run_unit(self._engine, partial(_read, request_id), writes=False)
        if row is None:
            raise NotFound()
        state = _state(row)
        return CheckPage(None, state.status, state.step.channel, row["code_length"], state.attempts_left)

    async def _resolve(self, tenant_id: str, step: Step, new: NewRequest) -> Step:
        """The step with the template its codes will use (checked against a sample code)."""
        if step.channel is not Channel.SMS:
            return step
        if step.template_id is not None:
            template = await self._templates.get_approved(tenant_id, step.template_id)
            if template.spec.category is not Category.VERIFICATION:
                raise InvalidArgument("workflow: an sms step's templateId must be a verification template.")
        else:
            name = verification_builtin(new.locale)
            found = await self._templates.approved_builtin(tenant_id, name)
            if found is None:
                raise TemplateNotApproved(
                    f"No approved verification template for this locale: install the built-in {name} "
                    f"(POST /push/v1/templates/builtin/{name}) or name a templateId."
                )
            template = found
        render(template, {"code": "0" * new.code_length, "minutes": 1}, None)
        return Step(Channel.SMS, template.id)

    def _request_id(self, token: str) -> str:
        request_id = request_of_token(self._index, token)
        if request_id is None:
            raise NotFound()
        return request_id

    def _phone(self, row: Mapping[str, Any]) -> str:
        return self._cipher.decrypt(row["phone_cipher"], aad=phone_aad(row["tenant_id"], row["id"]))

    def _view(self, row: Mapping[str, Any]) -> RequestView:
        state = _state(row)
        return RequestView(
            id=row["id"],
            status=state.status,
            phone_masked=mask_phone(self._phone(row)),
            client_reference=row["client_reference"],
            steps=state.steps,
            outcomes=tuple(state.outcomes),
            current=state.current,
            attempts_left=state.attempts_left,
            codes_sent=state.sends,
            created_at=as_utc(row["created_at"]),
            check_url=self.check_url(row["id"])
            if any(s.channel is Channel.NETWORK for s in state.steps)
            else None,
        )


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values and len(values) == 1 else None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _fields(page: CheckPage) -> dict[str, Any]:
    return {name: getattr(page, name) for name in CheckPage.__dataclass_fields__}


def _step_json(step: Step) -> dict[str, str]:
    data = {"channel": step.channel.value}
    if step.template_id is not None:
        data["templateId"] = step.template_id
    return data


def _state(row: Mapping[str, Any]) -> Verification:
    steps = tuple(Step(Channel(s["channel"]), s.get("templateId")) for s in json.loads(row["workflow"]))
    return Verification(
        steps=steps,
        timeout=timedelta(seconds=row["channel_timeout"]),
        status=Status(row["status"]),
        current=row["current"],
        deadline=as_utc(row["deadline"]) if row["deadline"] is not None else None,
        sends=row["sends"],
        wrong_codes=row["wrong_codes"],
        outcomes=[StepOutcome.from_json(o) for o in json.loads(row["outcomes"])],
    )


def _state_columns(state: Verification, now: datetime) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "current": state.current,
        "deadline": state.deadline,
        "sends": state.sends,
        "wrong_codes": state.wrong_codes,
        "outcomes": json.dumps([o.as_json() for o in state.outcomes]),
        "updated_at": now,
    }


def _event_data(request_id: str, client_reference: str | None, state: Verification) -> dict[str, Any]:
    data: dict[str, Any] = {"requestId": request_id, "status": state.status.value}
    if client_reference is not None:
        data["clientReference"] = client_reference
    if state.status is Status.COMPLETED:
        data["channel"] = state.step.channel.value
    else:
        data["reason"] = state.outcomes[state.current].reason
    return data


def _insert(row: Mapping[str, Any], candidates: list[str], conn: Connection) -> None:
    pending = conn.execute(
        sa.select(_TABLE.c.id)
        .where(
            (_TABLE.c.tenant_id == row["tenant_id"])
            & _TABLE.c.phone_index.in_(candidates)
            & (_TABLE.c.status == Status.PENDING.value)
        )
        .limit(1)
    ).first()
    if pending is not None:
        raise VerificationInProgress()
    conn.execute(sa.insert(_TABLE).values(**row))


def _read(request_id: str, conn: Connection) -> dict[str, Any] | None:
    try:
        uuid.UUID(request_id)
    except ValueError:
        return None
    found = conn.execute(sa.select(_TABLE).where(_TABLE.c.id == request_id)).mappings().first()
    return dict(found) if found is not None else None


def _by_handle(digest: str, conn: Connection) -> dict[str, Any] | None:
    found = conn.execute(sa.select(_TABLE).where(_TABLE.c.handle_hash == digest)).mappings().first()
    return dict(found) if found is not None else None


def _due(now: datetime, limit: int, conn: Connection) -> list[str]:
    return list(
        conn.execute(
            sa.select(_TABLE.c.id)
            .where((_TABLE.c.status == Status.PENDING.value) & (_TABLE.c.deadline <= now))
            .order_by(_TABLE.c.deadline)
            .limit(limit)
        ).scalars()
    )


def _await_operator(operator: str, handle: str, loaded: _Loaded, now: datetime) -> bool:
    """Remember the network step's handle; False when the step is no longer active."""
    if not loaded.state.on(Channel.NETWORK):
        return False
    loaded.row["operator"], loaded.row["handle_hash"] = operator, _sha256(handle)
    return True


def _complete_network(digest: str, loaded: _Loaded, now: datetime) -> Effects:
    if loaded.row["handle_hash"] != digest or not loaded.state.on(Channel.NETWORK):
        raise WorkflowConflict("The network step is no longer active.")
    loaded.row["handle_hash"] = None
    return loaded.state.complete(now)


def _fail_network_step(reason: str, digest: str | None, loaded: _Loaded, now: datetime) -> Effects:
    if not loaded.state.on(Channel.NETWORK) or (digest is not None and loaded.row["handle_hash"] != digest):
        return Effects()
    loaded.row["handle_hash"] = None
    return loaded.state.fail_step(reason, now)


def _fail_sms_step(
    reason: str, sends: int | None, loaded: _Loaded, now: datetime, *, abort: bool = False
) -> Effects:
    """The active SMS step failed; ``abort`` ends the request (its creator got the error instead)."""
    if not loaded.state.on(Channel.SMS) or (sends is not None and loaded.state.sends != sends):
        return Effects()
    loaded.row["code_index"] = None
    return loaded.state.abort(reason, now) if abort else loaded.state.fail_step(reason, now)


def _expire_if_due(now: datetime, loaded: _Loaded, _: datetime) -> Effects:
    state = loaded.state
    if state.status is not Status.PENDING or state.deadline is None or state.deadline > now:
        return Effects()
    if state.step.channel is Channel.NETWORK:
        loaded.row["handle_hash"] = None
    return state.expire_step(now)
