"""The staff console (issue 21): sign-in with server-side sessions, CSRF and roles, and the teller
desk that drives a branch queue without any bearer token in the page.

- :mod:`~gateway.console.sessions` — sessions (cookie value hashed at rest, idle and absolute ends).
- :mod:`~gateway.console.throttle` — failed sign-ins per username, per address and per both.
- :mod:`~gateway.console.signin` — sign-in and sign-out, with audit entries.
- :mod:`~gateway.console.auth` — the ``staff_session`` route policy, cookie, CSRF and origin rules.
- :mod:`~gateway.console.desk` — the desk's queue actions, for branches the member serves.
- :mod:`~gateway.console.schemas` and :mod:`~gateway.console.views` — the wire and the routes.

The accounts and the audit log are the staff feature's (:mod:`gateway.staff`); the console takes
them as :class:`~gateway.staff.StaffAccounts`, :class:`~gateway.staff.TotpEnrolments` (a member's
own TOTP enrolment, at ``/console/security``) and :class:`~gateway.staff.AuditLog`.
"""

from __future__ import annotations

from gateway.console.feature import Console, build_console

__all__ = ["Console", "build_console"]
