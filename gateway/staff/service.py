"""Staff accounts: created and managed by the admin API and the CLI, used by the console to sign in.

:class:`StaffDirectory` manages accounts (create, list, disable/enable, reset a password or the
TOTP, change the role or branches), each change and its audit entry in one transaction;
:class:`StaffService` adds what needs the data keys: :meth:`~StaffService.authenticate` (the
:class:`~gateway.staff.StaffAccounts` contract) and the TOTP enrolment. The CLI uses the directory
alone, so it runs without the keys.

Rules:

- A username is stored lower-case: 3 to 64 characters of ``a-z 0-9 . _ @ -``, unique across the
  gateway (``409 USERNAME_TAKEN``); sign-in folds the typed name to lower case too.
- A password meets :func:`~gateway.staff.passwords.password_problem` (``400 INVALID_ARGUMENT``
  naming the rule, never the password), and is stored as an argon2id hash only.
- ``branches`` are ids of the tenant's own branches (``400 INVALID_ARGUMENT`` otherwise), kept in
  the order given without repeats.
- Another tenant's staff id, an unknown one and an unknown tenant answer ``404 NOT_FOUND``.
- A disabled account keeps its data and cannot sign in; enabling it again restores it as it was.
  The console looks the member up (:meth:`StaffDirectory.get`) on every request, so a disabled or
  changed account takes effect at once.
- Sign-in failures are one :class:`~gateway.staff.SignInFailed` whatever failed; an unknown username
  costs the same argon2 verification as a known one; a hash with outdated parameters is replaced
  after a successful sign-in.
- Audit entries (actor None for the admin API and the CLI, ``detail.via`` says which):
  ``staff.created``, ``staff.updated`` (role and branches, from and to), ``staff.disabled``,
  ``staff.enabled``, ``staff.password_reset``, ``staff.totp_reset``, ``staff.totp_enrolment_begun``
  and ``staff.totp_enabled`` (the member as actor), ``staff.sso_linked`` and ``staff.sso_unlinked``
  (the member's subject at the tenant's identity provider); the target is ``staff:<id>``.
"""

from __future__ import annotations

import builtins
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import FieldCipher
from gateway.db import as_utc, bound_engine, run_unit
from gateway.errors import InvalidArgument, NotFound, TotpEnrolmentConflict, UsernameTaken
from gateway.flows.models import Branch
from gateway.staff import Role, SignInFailed, StaffMember, TotpRequired
from gateway.staff.audit import StaffAudit, audit_record
from gateway.staff.models import AuditRecord, StaffAccount, totp_secret_aad
from gateway.staff.passwords import Passwords, password_problem
from gateway.staff.totp import TotpEnrolment, accepted_step, enrolment, new_secret
from gateway.tenants.models import Tenant

__all__ = ["MAX_BRANCHES", "SSO_SUBJECT", "USERNAME", "StaffDirectory", "StaffService", "normal_username"]

log = structlog.get_logger(__name__)
USERNAME = re.compile(r"^[a-z0-9._@-]{3,64}$")
SSO_SUBJECT = re.compile(r"[\x21-\x7e]{1,255}")
MAX_BRANCHES = 200
_ACCOUNTS: sa.Table = StaffAccount.__table__  # type: ignore[attr-defined]
_AUDIT: sa.Table = AuditRecord.__table__  # type: ignore[attr-defined]
_USERNAME_RULE = "username: 3 to 64 characters of a-z, 0-9, '.', '_', '@' and '-'."


def normal_username(raw: str) -> str:
    """The stored form of a typed username (trimmed, lower case)."""
    return raw.strip().lower()


def _member(row: StaffAccount) -> StaffMember:
    return StaffMember(
        id=row.id,
        tenant_id=row.tenant_id,
        username=row.username,
        role=Role(row.role),
        branches=tuple(json.loads(row.branches)),
        totp_enabled=row.totp_enabled,
        disabled=row.disabled,
        created_at=as_utc(row.created_at),
        sso_subject=row.sso_subject,
    )


def _target(staff_id: str) -> str:
    return f"staff:{staff_id}"


class StaffDirectory:
    """Staff accounts without their TOTP secrets (see the module docstring).

    ``via`` names the unattended caller in audit entries without an actor: ``admin-api`` or ``cli``.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        audit: StaffAudit,
        clock: Clock,
        passwords: Passwords | None = None,
        via: str = "admin-api",
    ) -> None:
        self._sessions = sessions
        self._engine = bound_engine(sessions)
        self._audit = audit
        self._clock = clock
        self._passwords = passwords or Passwords()
        self._via = via

    async def tenant_name(self, tenant_id: str) -> str:
        """The tenant's name. :raises NotFound: no such tenant."""
        async with self._sessions() as session:
            tenant = await session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound()
        return tenant.name

    async def create(
        self,
        tenant_id: str,
        *,
        username: str,
        password: str,
        role: Role,
        branches: Sequence[str] = (),
        actor: StaffMember | None = None,
    ) -> StaffMember:
        """A new, enabled account without TOTP.

        :raises NotFound: no such tenant.
        :raises InvalidArgument: a malformed username, a password that breaks a rule, a branch that
            is not the tenant's.
        :raises UsernameTaken: the username is taken (by any tenant).
        """
        name = normal_username(username)
        if not USERNAME.fullmatch(name):
            raise InvalidArgument(_USERNAME_RULE)
        _check_password(password, name)
        await self.tenant_name(tenant_id)
        wanted = await self._branches(tenant_id, branches)
        password_hash = await self._passwords.hash(password)
        now = self._clock.now()
        row = StaffAccount(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            username=name,
            password_hash=password_hash,
            role=role.value,
            branches=json.dumps(list(wanted)),
            created_at=now,
            updated_at=now,
            password_changed_at=now,
        )
        detail = {"username": name, "role": role.value, "branches": list(wanted)}
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
                session.add(self._entry(tenant_id, actor, "staff.created", row.id, detail))
        except IntegrityError:
            raise UsernameTaken() from None
        log.info("staff_created", staff_id=row.id, role=role.value)
        return _member(row)

    async def list(self, tenant_id: str) -> builtins.list[StaffMember]:
        """The tenant's accounts, disabled ones included, by username. :raises NotFound: no such tenant."""
        await self.tenant_name(tenant_id)
        query = (
            select(StaffAccount)
            .where(StaffAccount.tenant_id == tenant_id)
            .order_by(col(StaffAccount.username))
        )
        async with self._sessions() as session:
            return [_member(row) for row in (await session.exec(query)).all()]

    async def get(self, staff_id: str) -> StaffMember | None:
        """The member with this id (disabled ones included), or None."""
        row = await self._row(staff_id)
        return _member(row) if row is not None else None

    async def member(self, tenant_id: str, staff_id: str) -> StaffMember:
        """The tenant's member. :raises NotFound: unknown, or another tenant's."""
        row = await self._row(staff_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound()
        return _member(row)

    async def disable(
        self, tenant_id: str, staff_id: str, *, actor: StaffMember | None = None
    ) -> StaffMember:
        """Refuse the member's sign-in from now on (again: no change).

        :raises NotFound: see :meth:`member`.
        """
        return await self._change(tenant_id, staff_id, "staff.disabled", actor, _set_disabled(True))

    async def enable(self, tenant_id: str, staff_id: str, *, actor: StaffMember | None = None) -> StaffMember:
        """Let a disabled member sign in again (again: no change). :raises NotFound: see :meth:`member`."""
        return await self._change(tenant_id, staff_id, "staff.enabled", actor, _set_disabled(False))

    async def reset_password(
        self, tenant_id: str, staff_id: str, password: str, *, actor: StaffMember | None = None
    ) -> StaffMember:
        """Give the member a new password (the TOTP stays as it is).

        :raises NotFound: see :meth:`member`.
        :raises InvalidArgument: the password breaks a rule.
        """
        current = await self.member(tenant_id, staff_id)
        _check_password(password, current.username)
        password_hash = await self._passwords.hash(password)
        now = self._clock.now()

        def reset(row: StaffAccount) -> dict[str, Any]:
            row.password_hash = password_hash
            row.password_changed_at = now
            return {}

        return await self._change(tenant_id, staff_id, "staff.password_reset", actor, reset)

    async def reset_totp(
        self, tenant_id: str, staff_id: str, *, actor: StaffMember | None = None
    ) -> StaffMember:
        """Remove the member's TOTP (enabled or half-enrolled): the next sign-in needs the password
        only, and the member may enrol again. :raises NotFound: see :meth:`member`."""

        def reset(row: StaffAccount) -> dict[str, Any] | None:
            if row.totp_secret_cipher is None and not row.totp_enabled:
                return None
            had = row.totp_enabled
            row.totp_secret_cipher = None
            row.totp_enabled = False
            row.totp_last_step = None
            return {"wasEnabled": had}

        return await self._change(tenant_id, staff_id, "staff.totp_reset", actor, reset)

    async def update(
        self,
        tenant_id: str,
        staff_id: str,
        *,
        role: Role | None = None,
        branches: Sequence[str] | None = None,
        actor: StaffMember | None = None,
    ) -> StaffMember:
        """Change the role and/or the branches (None: unchanged); the entry names what changed.

        :raises NotFound: see :meth:`member`.
        :raises InvalidArgument: a branch that is not the tenant's.
        """
        await self.member(tenant_id, staff_id)
        wanted = await self._branches(tenant_id, branches) if branches is not None else None

        def update(row: StaffAccount) -> dict[str, Any] | None:
            changes: dict[str, Any] = {}
            if role is not None and role.value != row.role:
                changes["role"] = {"from": row.role, "to": role.value}
                row.role = role.value
            if wanted is not None and list(wanted) != json.loads(row.branches):
                changes["branches"] = {"from": json.loads(row.branches), "to": list(wanted)}
                row.branches = json.dumps(list(wanted))
            return changes or None

        return await self._change(tenant_id, staff_id, "staff.updated", actor, update)

    async def link_sso(
        self, tenant_id: str, staff_id: str, subject: str | None, *, actor: StaffMember | None = None
    ) -> StaffMember:
        """Link the member to ``subject`` at the tenant's identity provider (None: unlink); recorded
        as ``staff.sso_linked`` / ``staff.sso_unlinked`` (again: no change).

        :raises NotFound: see :meth:`member`.
        :raises InvalidArgument: ``subject`` is not 1 to 255 printable ASCII characters, or another
            member of the tenant is linked to it.
        """
        if subject is not None and not SSO_SUBJECT.fullmatch(subject):
            raise InvalidArgument("subject: 1 to 255 printable ASCII characters (the provider's sub).")
        action = "staff.sso_linked" if subject is not None else "staff.sso_unlinked"

        def link(row: StaffAccount) -> dict[str, Any] | None:
            if row.sso_subject == subject:
                return None
            was = row.sso_subject
            row.sso_subject = subject
            return {"subject": subject} if subject is not None else {"subject": was}

        try:
            return await self._change(tenant_id, staff_id, action, actor, link)
        except IntegrityError:
            raise InvalidArgument("subject: another member of the tenant is linked to it.") from None

    async def sso_member(self, tenant_id: str, subject: str) -> StaffMember | None:
        """The tenant's member linked to ``subject`` (disabled ones included), or None."""
        query = select(StaffAccount).where(
            StaffAccount.tenant_id == tenant_id, StaffAccount.sso_subject == subject
        )
        async with self._sessions() as session:
            row = (await session.exec(query)).first()
        return _member(row) if row is not None else None

    async def _row(self, staff_id: str) -> StaffAccount | None:
        async with self._sessions() as session:
            return await session.get(StaffAccount, staff_id)

    async def _branches(self, tenant_id: str, branches: Iterable[str]) -> tuple[str, ...]:
        wanted = tuple(dict.fromkeys(branches))
        if len(wanted) > MAX_BRANCHES:
            raise InvalidArgument(f"branches: at most {MAX_BRANCHES}.")
        if not wanted:
            return wanted
        query = select(Branch.id).where(Branch.tenant_id == tenant_id, col(Branch.id).in_(wanted))
        async with self._sessions() as session:
            found = set((await session.exec(query)).all())
        unknown = sum(1 for branch in wanted if branch not in found)
        if unknown:
            raise InvalidArgument(f"branches: {unknown} of the ids are not branches of this tenant.")
        return wanted

    async def _change(
        self,
        tenant_id: str,
        staff_id: str,
        action: str,
        actor: StaffMember | None,
        change: Callable[[StaffAccount], dict[str, Any] | None],
    ) -> StaffMember:
        """Apply ``change`` to the tenant's row and record ``action`` with the detail it returns, in
        one transaction; a change that returns None changed nothing and records nothing."""
        async with self._sessions() as session, session.begin():
            row = await session.get(StaffAccount, staff_id)
            if row is None or row.tenant_id != tenant_id:
                raise NotFound()
            detail = change(row)
            if detail is not None:
                row.updated_at = self._clock.now()
                session.add(row)
                entry = {"username": row.username, **detail}
                session.add(self._entry(tenant_id, actor, action, staff_id, entry))
        if detail is not None:
            log.info("staff_changed", staff_id=staff_id, action=action)
        return _member(row)

    def _entry(
        self, tenant_id: str, actor: StaffMember | None, action: str, staff_id: str, detail: dict[str, Any]
    ) -> AuditRecord:
        return audit_record(
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            target=_target(staff_id),
            detail=detail if actor is not None else {**detail, "via": self._via},
            clock=self._clock,
        )


class StaffService(StaffDirectory):
    """The accounts with sign-in and TOTP (:class:`~gateway.staff.StaffAccounts`); TOTP secrets are
    encrypted with ``cipher``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        audit: StaffAudit,
        cipher: FieldCipher,
        clock: Clock,
        passwords: Passwords | None = None,
    ) -> None:
        super().__init__(sessions, audit=audit, clock=clock, passwords=passwords)
        self._cipher = cipher

    async def authenticate(self, username: str, password: str, totp_code: str | None) -> StaffMember:
        """The member whose credentials these are.

        :raises SignInFailed: any wrong credential or a disabled account (the answer never says which).
        :raises TotpRequired: right password, TOTP enabled, ``totp_code`` None.
        """
        name = normal_username(username)
        row = await self._by_username(name) if USERNAME.fullmatch(name) else None
        matches = await self._passwords.verify(row.password_hash if row is not None else None, password)
        if row is None or not matches or row.disabled:
            raise SignInFailed()
        if row.totp_enabled:
            if totp_code is None:
                raise TotpRequired()
            secret = self._secret(row)
            step = accepted_step(secret, totp_code, at=self._clock.now(), after=row.totp_last_step)
            if step is None or not await self._claim_step(row.id, step):
                raise SignInFailed()
        if self._passwords.needs_rehash(row.password_hash):
            await self._rehash(row, password)
        return _member(row)

    async def begin_totp(self, staff_id: str) -> TotpEnrolment:
        """Start (or restart) the member's TOTP enrolment: a new secret, stored encrypted but not in
        force until :meth:`confirm_totp`, recorded as ``staff.totp_enrolment_begun`` by the member.
        The issuer in the key URI is the tenant's name.

        :raises NotFound: no such member.
        :raises TotpEnrolmentConflict: TOTP is already enabled (an admin resets it first).
        """
        row = await self._row(staff_id)
        if row is None:
            raise NotFound()
        secret = new_secret()
        cipher = self._cipher.encrypt(secret, aad=totp_secret_aad(row.tenant_id, row.id))
        entry = self._entry(
            row.tenant_id, _member(row), "staff.totp_enrolment_begun", row.id, {"username": row.username}
        )

        def store(conn: Connection) -> bool:
            moved = conn.execute(
                sa.update(_ACCOUNTS)
                .where(_ACCOUNTS.c.id == staff_id, _ACCOUNTS.c.totp_enabled.is_(False))
                .values(totp_secret_cipher=cipher, totp_last_step=None, updated_at=self._clock.now())
            )
            if not moved.rowcount:
                return False
            conn.execute(sa.insert(_AUDIT).values(entry.model_dump(exclude={"id"})))
            return True

        if not await run_unit(self._engine, store):
            raise TotpEnrolmentConflict("TOTP is already enabled; an admin resets it before a new enrolment.")
        return enrolment(secret, username=row.username, issuer=await self.tenant_name(row.tenant_id))

    async def confirm_totp(self, staff_id: str, code: str) -> StaffMember:
        """Put the begun enrolment in force with a current code of the authenticator app; recorded
        as ``staff.totp_enabled`` by the member.

        :raises NotFound: no such member.
        :raises TotpEnrolmentConflict: TOTP is already enabled, or no enrolment was begun.
        :raises InvalidArgument: the code is not a current one.
        """
        row = await self._row(staff_id)
        if row is None:
            raise NotFound()
        if row.totp_enabled:
            raise TotpEnrolmentConflict("TOTP is already enabled.")
        stored = row.totp_secret_cipher
        if stored is None:
            raise TotpEnrolmentConflict("No TOTP enrolment was begun.")
        step = accepted_step(self._secret(row), code, at=self._clock.now(), after=row.totp_last_step)
        if step is None:
            raise InvalidArgument("code: not the authenticator's current code.")
        member = _member(row)
        entry = self._entry(row.tenant_id, member, "staff.totp_enabled", row.id, {"username": row.username})
        now = self._clock.now()

        def enable(conn: Connection) -> bool:
            moved = conn.execute(
                sa.update(_ACCOUNTS)
                .where(
                    _ACCOUNTS.c.id == staff_id,
                    _ACCOUNTS.c.totp_enabled.is_(False),
                    _ACCOUNTS.c.totp_secret_cipher == stored,
                )
                .values(totp_enabled=True, totp_last_step=step, updated_at=now)
            )
            if not moved.rowcount:
                return False
            conn.execute(sa.insert(_AUDIT).values(entry.model_dump(exclude={"id"})))
            return True

        if not await run_unit(self._engine, enable):
            raise TotpEnrolmentConflict("The enrolment changed meanwhile; begin it again.")
        log.info("staff_totp_enabled", staff_id=staff_id)
        updated = await self.get(staff_id)
        if updated is None:
            raise NotFound()
        return updated

    async def _by_username(self, username: str) -> StaffAccount | None:
        async with self._sessions() as session:
            query = select(StaffAccount).where(StaffAccount.username == username)
            return (await session.exec(query)).first()

    def _secret(self, row: StaffAccount) -> str:
        if row.totp_secret_cipher is None:
            raise SignInFailed()
        return self._cipher.decrypt(row.totp_secret_cipher, aad=totp_secret_aad(row.tenant_id, row.id))

    async def _claim_step(self, staff_id: str, step: int) -> bool:
        """Store ``step`` as the last accepted one unless that step (or a later) was accepted first."""
        last = _ACCOUNTS.c.totp_last_step

        def claim(conn: Connection) -> bool:
            moved = conn.execute(
                sa.update(_ACCOUNTS)
                .where(_ACCOUNTS.c.id == staff_id, sa.or_(last.is_(None), last < step))
                .values(totp_last_step=step)
            )
            return bool(moved.rowcount)

        return await run_unit(self._engine, claim)

    async def _rehash(self, row: StaffAccount, password: str) -> None:
        fresh = await self._passwords.hash(password)

        def store(conn: Connection) -> None:
            conn.execute(
                sa.update(_ACCOUNTS)
                .where(_ACCOUNTS.c.id == row.id, _ACCOUNTS.c.password_hash == row.password_hash)
                .values(password_hash=fresh)
            )

        await run_unit(self._engine, store)
        log.info("staff_password_rehashed", staff_id=row.id)


def _check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem is not None:
        raise InvalidArgument(f"password: {problem}.")


def _set_disabled(value: bool) -> Callable[[StaffAccount], dict[str, Any] | None]:
    def change(row: StaffAccount) -> dict[str, Any] | None:
        if row.disabled == value:
            return None
        row.disabled = value
        return {}

    return change
