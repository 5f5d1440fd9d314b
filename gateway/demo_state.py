"""What ``gateway up`` keeps between starts under ``var/``, and ``gateway up --reset``.

``var/`` holds the embedded SQLite database (``gateway.db`` by default), the data and index keys
(``keys.json``), the demo tenant's credentials (``demo-tenant.json``) and the demo console
admin's username and password (``demo-staff.json``); the JSON files are written with mode 0600.
A stored secret or password is only reused while the database accepts it, so a database dropped
or changed behind the file's back costs a new one, never a wrong one.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.engine import make_url

from gateway.crypto import generate_keyring_spec
from gateway.errors import UsernameTaken
from gateway.staff import Role, SignInFailed, StaffAccounts, TotpRequired
from gateway.staff.passwords import password_problem
from gateway.staff.service import StaffDirectory
from gateway.tenants.service import TenantCredentials, TenantService

__all__ = [
    "DemoStaff",
    "DemoTenant",
    "embedded_keys",
    "ensure_demo_staff",
    "ensure_demo_tenant",
    "reset_embedded_state",
]

KEYS_FILE: Final = "keys.json"
DEMO_FILE: Final = "demo-tenant.json"
DEMO_STAFF_FILE: Final = "demo-staff.json"
_SQLITE_COMPANIONS: Final = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class DemoTenant:
    """The demo tenant's credentials and how this start obtained them (for the banner)."""

    credentials: TenantCredentials
    origin: str


@dataclass(frozen=True, slots=True)
class DemoStaff:
    """The demo console admin as the banner shows it: the username and the file holding the
    password (None: no account, ``origin`` says why), never the password itself."""

    username: str
    password_file: Path | None
    origin: str


def embedded_keys(var_dir: Path) -> dict[str, str]:
    """Data and index keys for ``up``: generated once, kept in ``var_dir/keys.json``."""
    path = var_dir / KEYS_FILE
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    keys = {"data_keys": generate_keyring_spec(), "index_keys": generate_keyring_spec()}
    _write_private(path, keys)
    return keys


async def ensure_demo_tenant(
    tenants: TenantService, var_dir: Path, *, name: str, scopes: list[str], redirect_uri: str
) -> DemoTenant:
    """The demo tenant, created on first use; its secret is the stored one while the database still
    accepts it, else a new one (stored). Its redirect URIs become ``[redirect_uri]`` when the
    gateway's address changed since the last start."""
    path = var_dir / DEMO_FILE
    existing = await tenants.by_name(name)
    if existing is None:
        created = await tenants.create(name=name, scopes=scopes, redirect_uris=[redirect_uri], sandbox=True)
        _write_private(path, created.as_dict())
        return DemoTenant(created, "created")
    if redirect_uri not in json.loads(existing.redirect_uris):
        await tenants.set_redirect_uris(existing.id, [redirect_uri])
    stored = _stored_credentials(path)
    if (
        stored is not None
        and stored.client_id == existing.client_id
        and await tenants.check_secret(stored.client_id, stored.client_secret) is not None
    ):
        return DemoTenant(stored, f"kept from the last start ({path})")
    rotated = await tenants.rotate_secret(existing.id)
    if rotated is None:
        raise SystemExit("the demo tenant disappeared while seeding")
    _write_private(path, rotated.as_dict())
    return DemoTenant(rotated, f"new secret: {path} was missing or no longer matched the database")


async def ensure_demo_staff(
    directory: StaffDirectory, accounts: StaffAccounts, var_dir: Path, *, tenant_id: str, username: str
) -> DemoStaff:
    """An ``admin`` of the demo tenant for the console, created on first use with a generated
    password kept in ``var_dir/demo-staff.json``. The stored password is kept while ``accounts``
    accepts it (a TOTP enrolled meanwhile stays as it is); otherwise the member gets a new one
    through ``directory`` (audited like ``reset-password``), stored in its place. A username held by
    another tenant's member leaves the demo without a console account."""
    path = var_dir / DEMO_STAFF_FILE
    existing = next((m for m in await directory.list(tenant_id) if m.username == username), None)
    if existing is None:
        password = _demo_password(username)
        try:
            await directory.create(tenant_id, username=username, password=password, role=Role.ADMIN)
        except UsernameTaken:
            return DemoStaff(
                username, None, "the username is another tenant's: add one with `gateway staff create`"
            )
        _write_private(path, {"username": username, "password": password})
        return DemoStaff(username, path, "created")
    stored = _stored_password(path, username)
    if stored is not None and await _accepted(accounts, username, stored):
        return DemoStaff(username, path, "kept from the last start")
    password = _demo_password(username)
    await directory.reset_password(tenant_id, existing.id, password)
    _write_private(path, {"username": username, "password": password})
    return DemoStaff(username, path, f"new password: {path} was missing or no longer matched the database")


def reset_embedded_state(var_dir: Path, database_url: str) -> list[Path]:
    """Delete the SQLite database, the keys and the demo credentials that ``up`` keeps; the paths
    deleted. Only a SQLite database inside ``var_dir`` is deleted: any other database makes this a
    :class:`SystemExit` that names it, before anything is deleted."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise SystemExit(
            f"--reset deletes only a SQLite database under {var_dir}/, not {url.render_as_string()}: "
            "drop that database yourself, or unset GATEWAY_DATABASE_URL"
        )
    files = [var_dir / KEYS_FILE, var_dir / DEMO_FILE, var_dir / DEMO_STAFF_FILE]
    if url.database and url.database != ":memory:":
        database = Path(url.database)
        if not database.resolve().is_relative_to(var_dir.resolve()):
            raise SystemExit(f"--reset deletes only a SQLite database under {var_dir}/, not {database}")
        files += [database.with_name(database.name + suffix) for suffix in _SQLITE_COMPANIONS]
    deleted = []
    for file in files:
        with contextlib.suppress(FileNotFoundError):
            file.unlink()
            deleted.append(file)
    return deleted


def _stored_credentials(path: Path) -> TenantCredentials | None:
    try:
        stored = json.loads(path.read_text())
        return TenantCredentials(
            tenant_id=str(stored["tenant_id"]),
            client_id=str(stored["client_id"]),
            client_secret=str(stored["client_secret"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _demo_password(username: str) -> str:
    while True:
        password = secrets.token_urlsafe(18)
        if password_problem(password, username) is None:
            return password


def _stored_password(path: Path, username: str) -> str | None:
    try:
        stored = json.loads(path.read_text())
        return str(stored["password"]) if stored["username"] == username else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


async def _accepted(accounts: StaffAccounts, username: str, password: str) -> bool:
    try:
        await accounts.authenticate(username, password, None)
    except TotpRequired:
        return True
    except SignInFailed:
        return False
    return True


def _write_private(path: Path, document: dict[str, str]) -> None:
    """Write ``document`` as JSON readable by the owner only, replacing ``path`` atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
