"""Signing in and out of the console: throttled credential checks, sessions, audit entries."""

from __future__ import annotations

import structlog

from gateway.console.sessions import ConsoleSessions, LiveSession, StartedSession
from gateway.console.throttle import SignInThrottle, Throttled
from gateway.errors import InvalidArgument, TooManyRequests, TotpCodeRequired, Unauthenticated
from gateway.staff import AuditLog, SignInFailed, StaffAccounts, StaffMember, TotpRequired

__all__ = ["PasswordRejected", "SignIn", "SignInRefused"]

log = structlog.get_logger(__name__)


class SignInRefused(Unauthenticated):
    """Any wrong credential or a disabled account: the answer never says which."""

    default_message = "The username, password or code is wrong."


class PasswordRejected(InvalidArgument):
    """The password typed to confirm a change is not the signed-in member's."""

    default_message = "password: not your current password."


class SignIn:
    """``sign_in`` checks the throttle, then the credentials, then starts a session; ``sign_out``
    ends one. Both write an audit entry (``console.sign_in``, ``console.sign_out``)."""

    def __init__(
        self, accounts: StaffAccounts, sessions: ConsoleSessions, throttle: SignInThrottle, audit: AuditLog
    ) -> None:
        self._accounts = accounts
        self._sessions = sessions
        self._throttle = throttle
        self._audit = audit

    async def sign_in(
        self, username: str, password: str, totp: str | None, *, address: str | None, replacing: str | None
    ) -> StartedSession:
        """A new session for the member these credentials belong to.

        :raises TooManyRequests: too many failures for this username or address (nothing checked).
        :raises TotpCodeRequired: right password, the account has TOTP, ``totp`` is None.
        :raises SignInRefused: anything else wrong.
        """
        try:
            await self._throttle.check(username, address)
        except Throttled as exc:
            log.info("console_sign_in_throttled", retry_after=exc.retry_after)
            raise TooManyRequests(exc.retry_after) from exc
        try:
            member = await self._accounts.authenticate(username, password, totp)
        except TotpRequired as exc:
            raise TotpCodeRequired() from exc
        except SignInFailed as exc:
            await self._throttle.failed(username, address)
            log.info("console_sign_in_failed")
            raise SignInRefused() from exc
        await self._throttle.succeeded(username, address)
        started = await self._sessions.start(member, replacing=replacing)
        await self._audit.record(tenant_id=member.tenant_id, actor=member, action="console.sign_in")
        log.info("console_signed_in", staff_id=member.id, role=member.role.value)
        return started

    async def confirm_password(self, member: StaffMember, password: str, *, address: str | None) -> None:
        """Check the signed-in ``member``'s password again before a sensitive change; a wrong one
        counts toward the same throttle as a failed sign-in.

        :raises TooManyRequests: too many failures for this username or address (nothing checked).
        :raises PasswordRejected: the password is not the member's (or the account was disabled).
        """
        try:
            await self._throttle.check(member.username, address)
        except Throttled as exc:
            raise TooManyRequests(exc.retry_after) from exc
        try:
            confirmed = await self._accounts.authenticate(member.username, password, None)
        except TotpRequired:
            confirmed = member
        except SignInFailed as exc:
            await self._throttle.failed(member.username, address)
            log.info("console_password_confirmation_failed", staff_id=member.id)
            raise PasswordRejected() from exc
        if confirmed.id != member.id:
            raise PasswordRejected()
        await self._throttle.succeeded(member.username, address)

    async def sign_out(self, live: LiveSession) -> None:
        """End the session (server side) and record it."""
        await self._sessions.end(live)
        member = live.member
        await self._audit.record(tenant_id=member.tenant_id, actor=member, action="console.sign_out")
        log.info("console_signed_out", staff_id=member.id)
