"""The console assembled for one process (see :mod:`gateway.console`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.console.auth import secure_cookie
from gateway.console.desk import Desk
from gateway.console.idp_http import IdpHttp
from gateway.console.sessions import ConsoleSessions, PasswordChanges, Timeouts
from gateway.console.signin import SignIn
from gateway.console.sso import SingleSignOn, SsoAccounts, SsoConfigs
from gateway.console.throttle import SignInThrottle
from gateway.crypto import FieldCipher
from gateway.failure_backoff import FailureBackoff
from gateway.flows.branches import Branches
from gateway.settings import Settings
from gateway.staff import AuditLog, StaffAccounts, StaffMember, TotpEnrolments
from gateway.staff.models import StaffAccount

__all__ = ["Console", "build_console", "password_changes_of", "timeouts_of"]


@dataclass(frozen=True)
class Console:
    """The console's services; ``totp`` is the signed-in member's own TOTP enrolment; ``sso`` signs
    in through the tenant's identity provider; ``secure_cookie`` says whether its cookie carries
    ``Secure``. :meth:`aclose` closes the connections to identity providers."""

    sessions: ConsoleSessions
    sign_in: SignIn
    desk: Desk
    audit: AuditLog
    totp: TotpEnrolments
    secure_cookie: bool
    sso: SingleSignOn
    idp: IdpHttp

    async def aclose(self) -> None:
        """Close the connections to identity providers."""
        await self.idp.aclose()


def timeouts_of(settings: Settings) -> Timeouts:
    """The session timeouts the settings give."""
    return Timeouts(
        idle=timedelta(seconds=settings.console_idle_timeout_seconds),
        lifetime=timedelta(seconds=settings.console_session_lifetime_seconds),
        warning=timedelta(seconds=settings.console_idle_warning_seconds),
    )


def password_changes_of(sessions: async_sessionmaker[AsyncSession]) -> PasswordChanges:
    """When a member's password last changed, read from the staff accounts' table."""

    async def changed_at(staff_id: str) -> datetime | None:
        query = select(StaffAccount.password_changed_at).where(StaffAccount.id == staff_id)
        async with sessions() as session:
            return (await session.exec(query)).first()

    return changed_at


def build_console(
    settings: Settings,
    *,
    sessions: async_sessionmaker[AsyncSession],
    staff: StaffAccounts,
    totp: TotpEnrolments,
    audit: AuditLog,
    branches: Branches,
    failures: FailureBackoff,
    cipher: FieldCipher,
    clock: Clock,
    password_changes: PasswordChanges | None = None,
    sso_accounts: SsoAccounts | None = None,
) -> Console:
    """Wire the console from the staff accounts (``totp``: their TOTP enrolment; ``sso_accounts``:
    their links to identity providers, none linked when None), their audit log and the branches
    feature; ``failures`` is the store of authentication failures the other credentials count in."""
    console_sessions = ConsoleSessions(
        sessions, staff, cipher, clock, timeouts=timeouts_of(settings), password_changes=password_changes
    )
    idp = IdpHttp(allow_private=settings.allow_private_webhooks)
    sso = SingleSignOn(
        sessions,
        configs=SsoConfigs(sessions, cipher=cipher, idp=idp, clock=clock),
        accounts=sso_accounts or _NoLinks(),
        console_sessions=console_sessions,
        audit=audit,
        idp=idp,
        cipher=cipher,
        clock=clock,
        redirect_uri=settings.issuer.rstrip("/") + "/console/sso/callback",
    )
    return Console(
        sessions=console_sessions,
        sign_in=SignIn(staff, console_sessions, SignInThrottle(failures), audit),
        desk=Desk(branches, audit),
        audit=audit,
        totp=totp,
        secure_cookie=secure_cookie(settings),
        sso=sso,
        idp=idp,
    )


class _NoLinks:
    async def sso_member(self, tenant_id: str, subject: str) -> StaffMember | None:
        return None
