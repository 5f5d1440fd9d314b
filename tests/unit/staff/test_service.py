"""The staff accounts and their audit log on SQLite and PostgreSQL: creation rules, tenant
isolation, sign-in (password, disabled accounts, TOTP with replay refusal, rehash) and the entries
every change leaves."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pyotp
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.crypto import DecryptionError, FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.errors import InvalidArgument, NotFound, TotpEnrolmentConflict, UsernameTaken
from gateway.flows.models import Branch
from gateway.staff import AuditLog, Role, SignInFailed, StaffAccounts, StaffMember, TotpRequired
from gateway.staff.audit import StaffAudit
from gateway.staff.models import StaffAccount
from gateway.staff.passwords import Passwords
from gateway.staff.service import StaffDirectory, StaffService
from gateway.tenants.service import TenantService
from tests.stack import SettableClock

PASSWORD = "correct horse battery staple"
OTHER_PASSWORD = "another horse battery staple"


@dataclass
class World:
    """Staff services on one migrated database, with a frozen clock."""

    staff: StaffService
    audit: StaffAudit
    tenants: TenantService
    clock: SettableClock
    sessions: async_sessionmaker[AsyncSession]

    async def tenant(self, name: str = "平安银行") -> str:
        creds = await self.tenants.create(name=name, scopes=["push:send"], redirect_uris=[])
        return creds.tenant_id

    async def branch(self, tenant_id: str) -> str:
        branch_id = str(uuid.uuid4())
        async with self.sessions() as session, session.begin():
            session.add(
                Branch(
                    id=branch_id,
                    tenant_id=tenant_id,
                    name="陆家嘴支行",
                    template_id=str(uuid.uuid4()),
                    call_template_id=str(uuid.uuid4()),
                    created_at=self.clock.now(),
                )
            )
        return branch_id

    async def member(self, tenant_id: str, branches: Sequence[str] = ()) -> StaffMember:
        username = f"user.{secrets.token_hex(4)}@bank"
        return await self.staff.create(
            tenant_id, username=username, password=PASSWORD, role=Role.TELLER, branches=branches
        )

    def code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.clock.now())


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    """A migrated database with the staff services on it."""
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = session_factory(engine)
    clock = SettableClock(frozen=True)
    audit = StaffAudit(sessions, clock=clock)
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    try:
        yield World(
            StaffService(sessions, audit=audit, cipher=cipher, clock=clock),
            audit,
            TenantService(sessions, clock),
            clock,
            sessions,
        )
    finally:
        await engine.dispose()


async def test_create_stores_a_lower_case_username_and_an_argon2id_hash(world: World) -> None:
    """A new account is enabled, without TOTP, its username lower-cased; the stored password is an
    argon2id hash, never the password; it is listed and found by id."""
    tenant = await world.tenant()
    branch = await world.branch(tenant)
    suffix = secrets.token_hex(3)
    member = await world.staff.create(
        tenant,
        username=f" Li.Na.{suffix}@PingAn ",
        password=PASSWORD,
        role=Role.TELLER,
        branches=[branch, branch],
    )

    assert (member.username, member.role, member.branches) == (
        f"li.na.{suffix}@pingan",
        Role.TELLER,
        (branch,),
    )
    assert not member.totp_enabled and not member.disabled and member.tenant_id == tenant
    assert await world.staff.list(tenant) == [member]
    assert await world.staff.get(member.id) == member
    assert await world.staff.member(tenant, member.id) == member
    async with world.sessions() as session:
        row = await session.get(StaffAccount, member.id)
    assert (
        row is not None and row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    )


async def test_usernames_are_unique_across_tenants_whatever_their_case(world: World) -> None:
    """The same username in another case, or in another tenant, is 409 USERNAME_TAKEN."""
    first, second = await world.tenant(), await world.tenant("招商银行")
    await world.staff.create(first, username="wang.fang", password=PASSWORD, role=Role.ADMIN)
    for tenant, name in ((first, "WANG.FANG"), (second, "wang.fang")):
        with pytest.raises(UsernameTaken) as taken:
            await world.staff.create(tenant, username=name, password=OTHER_PASSWORD, role=Role.TELLER)
        assert (taken.value.status, taken.value.code) == (409, "USERNAME_TAKEN")
    assert await world.staff.list(second) == []


@pytest.mark.parametrize("username", ["ab", "x" * 65, "li na", "li/na", "李娜", "li.na\x00"])
async def test_malformed_usernames_are_refused(world: World, username: str) -> None:
    """Fewer than 3 or more than 64 characters, or characters outside a-z 0-9 . _ @ -: 400."""
    tenant = await world.tenant()
    with pytest.raises(InvalidArgument, match="username"):
        await world.staff.create(tenant, username=username, password=PASSWORD, role=Role.TELLER)


async def test_weak_passwords_are_refused_naming_the_rule_not_the_password(world: World) -> None:
    """A password breaking a rule is 400 with the rule in the message, and nothing is created."""
    tenant = await world.tenant()
    for password, rule in (
        ("short", "at least 12"),
        ("li.na@bank-2025", "username"),
        ("Password2025!", "common"),
    ):
        with pytest.raises(InvalidArgument, match=rule) as refused:
            await world.staff.create(tenant, username="li.na@bank", password=password, role=Role.TELLER)
        assert password not in refused.value.message
    assert await world.staff.list(tenant) == []


async def test_branches_must_be_the_tenants_own(world: World) -> None:
    """An unknown id, or another tenant's branch, is 400 naming how many are wrong; the tenant's
    branches are accepted on create and update."""
    tenant, other = await world.tenant(), await world.tenant("招商银行")
    own, foreign = await world.branch(tenant), await world.branch(other)
    for branches in ([own, foreign], [str(uuid.uuid4())]):
        with pytest.raises(InvalidArgument, match="1 of the ids"):
            await world.staff.create(
                tenant, username="li.na@bank", password=PASSWORD, role=Role.TELLER, branches=branches
            )
    member = await world.member(tenant, branches=[own])
    with pytest.raises(InvalidArgument):
        await world.staff.update(tenant, member.id, branches=[foreign])
    assert (await world.staff.update(tenant, member.id, branches=[])).branches == ()


async def test_unknown_tenant_is_not_found(world: World) -> None:
    """Creating or listing staff of a tenant that does not exist is 404."""
    with pytest.raises(NotFound):
        await world.staff.create(str(uuid.uuid4()), username="li.na", password=PASSWORD, role=Role.TELLER)
    with pytest.raises(NotFound):
        await world.staff.list("no-such-tenant")


async def test_another_tenants_staff_id_is_not_found_and_nothing_changes(world: World) -> None:
    """Every tenant-scoped call with another tenant's staff id answers 404, as an unknown id does,
    and the member is left as it was."""
    owner, intruder = await world.tenant(), await world.tenant("招商银行")
    member = await world.member(owner)
    for staff_id in (member.id, str(uuid.uuid4()), "not-an-id"):
        with pytest.raises(NotFound):
            await world.staff.member(intruder, staff_id)
        with pytest.raises(NotFound):
            await world.staff.disable(intruder, staff_id)
        with pytest.raises(NotFound):
            await world.staff.enable(intruder, staff_id)
        with pytest.raises(NotFound):
            await world.staff.reset_password(intruder, staff_id, OTHER_PASSWORD)
        with pytest.raises(NotFound):
            await world.staff.reset_totp(intruder, staff_id)
        with pytest.raises(NotFound):
            await world.staff.update(intruder, staff_id, role=Role.ADMIN)
    assert await world.staff.get(member.id) == member
    assert await world.staff.authenticate(member.username, PASSWORD, None) == member
    assert await world.audit.entries(intruder) == []


async def test_sign_in_fails_alike_for_a_wrong_password_an_unknown_name_and_a_disabled_account(
    world: World,
) -> None:
    """The right password signs in (the username in any case); a wrong one, an unknown or
    malformed username and a disabled account are all SignInFailed; enabling restores sign-in."""
    tenant = await world.tenant()
    member = await world.member(tenant)

    assert await world.staff.authenticate(member.username.upper(), PASSWORD, None) == member
    for username, password in ((member.username, OTHER_PASSWORD), ("nobody@bank", PASSWORD), ("x", PASSWORD)):
        with pytest.raises(SignInFailed):
            await world.staff.authenticate(username, password, None)
    disabled = await world.staff.disable(tenant, member.id)
    assert disabled.disabled
    with pytest.raises(SignInFailed):
        await world.staff.authenticate(member.username, PASSWORD, None)
    assert not (await world.staff.enable(tenant, member.id)).disabled
    assert (await world.staff.authenticate(member.username, PASSWORD, None)).id == member.id


async def test_a_password_reset_replaces_the_old_password_and_keeps_totp(world: World) -> None:
    """After a reset only the new password works; an enabled TOTP stays enabled."""
    tenant = await world.tenant()
    member = await world.member(tenant)
    enrolment = await world.staff.begin_totp(member.id)
    await world.staff.confirm_totp(member.id, world.code(enrolment.secret))
    world.clock.advance(30)

    reset = await world.staff.reset_password(tenant, member.id, OTHER_PASSWORD)
    assert reset.totp_enabled
    with pytest.raises(SignInFailed):
        await world.staff.authenticate(member.username, PASSWORD, world.code(enrolment.secret))
    signed_in = await world.staff.authenticate(member.username, OTHER_PASSWORD, world.code(enrolment.secret))
    assert signed_in.id == member.id
    with pytest.raises(InvalidArgument, match="at least 12"):
        await world.staff.reset_password(tenant, member.id, "short")


async def test_totp_enrolment_sign_in_and_replay(world: World) -> None:
    """Enrolment: a wrong code is 400 and leaves TOTP off; the right one turns it on. Sign-in then
    needs a code (TotpRequired without one); a wrong code fails; the same code again in its window
    fails (replay); the next step's code works."""
    tenant = await world.tenant()
    member = await world.member(tenant)
    enrolment = await world.staff.begin_totp(member.id)
    assert f"secret={enrolment.secret}" in enrolment.uri and "issuer=" in enrolment.uri
    assert enrolment.svg.startswith("<svg")
    assert not (await world.staff.get(member.id) or member).totp_enabled

    wrong = f"{(int(world.code(enrolment.secret)) + 1) % 1_000_000:06d}"
    with pytest.raises(InvalidArgument, match="code"):
        await world.staff.confirm_totp(member.id, wrong)
    assert (await world.staff.authenticate(member.username, PASSWORD, None)).id == member.id
    confirmed = await world.staff.confirm_totp(member.id, world.code(enrolment.secret))
    assert confirmed.totp_enabled

    with pytest.raises(TotpRequired):
        await world.staff.authenticate(member.username, PASSWORD, None)
    with pytest.raises(SignInFailed):
        await world.staff.authenticate(member.username, OTHER_PASSWORD, world.code(enrolment.secret))
    world.clock.advance(30)
    code = world.code(enrolment.secret)
    with pytest.raises(SignInFailed):
        await world.staff.authenticate(member.username, PASSWORD, f"{(int(code) + 1) % 1_000_000:06d}")
    assert (await world.staff.authenticate(member.username, PASSWORD, code)).id == member.id
    with pytest.raises(SignInFailed):
        await world.staff.authenticate(member.username, PASSWORD, code)
    world.clock.advance(30)
    assert (
        await world.staff.authenticate(member.username, PASSWORD, world.code(enrolment.secret))
    ).totp_enabled


async def test_the_enrolment_code_cannot_sign_in_again(world: World) -> None:
    """The code that confirmed the enrolment is spent: it cannot also sign in within its window."""
    tenant = await world.tenant()
    member = await world.member(tenant)
    enrolment = await world.staff.begin_totp(member.id)
    code = world.code(enrolment.secret)
    await world.staff.confirm_totp(member.id, code)
    with pytest.raises(SignInFailed):
        await world.staff.authenticate(member.username, PASSWORD, code)


async def test_totp_enrolment_conflicts_and_reset(world: World) -> None:
    """Confirming without a begun enrolment, or beginning one while TOTP is on, is 409 (and the
    refused beginning is not in the audit log); an admin's reset turns TOTP off (password alone
    signs in) and the member may enrol again with a new secret."""
    tenant = await world.tenant()
    member = await world.member(tenant)
    with pytest.raises(TotpEnrolmentConflict):
        await world.staff.confirm_totp(member.id, "123456")
    first = await world.staff.begin_totp(member.id)
    await world.staff.confirm_totp(member.id, world.code(first.secret))
    with pytest.raises(TotpEnrolmentConflict):
        await world.staff.begin_totp(member.id)
    with pytest.raises(TotpEnrolmentConflict):
        await world.staff.confirm_totp(member.id, world.code(first.secret))

    assert not (await world.staff.reset_totp(tenant, member.id)).totp_enabled
    assert (await world.staff.authenticate(member.username, PASSWORD, None)).id == member.id
    second = await world.staff.begin_totp(member.id)
    assert second.secret != first.secret
    with pytest.raises(NotFound):
        await world.staff.begin_totp(str(uuid.uuid4()))
    begun = [e for e in await world.audit.entries(tenant) if e.action == "staff.totp_enrolment_begun"]
    assert len(begun) == 2


async def test_the_totp_secret_is_stored_encrypted_for_its_row(world: World) -> None:
    """The stored secret is not the base32 secret, and a copy moved to another member's row does
    not decrypt there (the AAD names tenant and member)."""
    tenant = await world.tenant()
    first, second = await world.member(tenant), await world.member(tenant)
    enrolment = await world.staff.begin_totp(first.id)
    await world.staff.confirm_totp(first.id, world.code(enrolment.secret))
    async with world.sessions() as session, session.begin():
        row = await session.get(StaffAccount, first.id)
        other = await session.get(StaffAccount, second.id)
        assert row is not None and other is not None and row.totp_secret_cipher is not None
        assert enrolment.secret not in row.totp_secret_cipher
        other.totp_secret_cipher, other.totp_enabled = row.totp_secret_cipher, True
        session.add(other)
    world.clock.advance(30)
    with pytest.raises(DecryptionError):
        await world.staff.authenticate(second.username, PASSWORD, world.code(enrolment.secret))


async def test_an_outdated_hash_is_replaced_at_sign_in(world: World) -> None:
    """A password stored with weaker argon2 parameters signs in and is rehashed with the current
    ones; the password still works afterwards."""
    tenant = await world.tenant()
    member = await world.member(tenant)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with world.sessions() as session, session.begin():
        await session.exec(
            sa.update(StaffAccount).where(StaffAccount.id == member.id).values(password_hash=weak)  # type: ignore[arg-type]
        )

    await world.staff.authenticate(member.username, PASSWORD, None)
    async with world.sessions() as session:
        row = await session.get(StaffAccount, member.id)
    assert row is not None and row.password_hash != weak
    assert not Passwords().needs_rehash(row.password_hash)
    assert (await world.staff.authenticate(member.username, PASSWORD, None)).id == member.id


async def test_every_change_leaves_one_audit_entry_newest_first(world: World) -> None:
    """Create, update, disable, enable, password reset, TOTP enrolment begun and enabled (by the
    member) and TOTP reset each leave one entry naming the account; a call that changes nothing
    leaves none; the admin API's entries have no actor and say so; pages follow ``before``."""
    tenant, other = await world.tenant(), await world.tenant("招商银行")
    member = await world.member(tenant)
    await world.staff.update(tenant, member.id, role=Role.SUPERVISOR)
    await world.staff.update(tenant, member.id, role=Role.SUPERVISOR)
    await world.staff.disable(tenant, member.id)
    await world.staff.disable(tenant, member.id)
    await world.staff.enable(tenant, member.id)
    await world.staff.reset_password(tenant, member.id, OTHER_PASSWORD)
    enrolment = await world.staff.begin_totp(member.id)
    await world.staff.confirm_totp(member.id, world.code(enrolment.secret))
    await world.staff.reset_totp(tenant, member.id)

    entries = await world.audit.entries(tenant)
    assert [e.action for e in entries] == [
        "staff.totp_reset",
        "staff.totp_enabled",
        "staff.totp_enrolment_begun",
        "staff.password_reset",
        "staff.enabled",
        "staff.disabled",
        "staff.updated",
        "staff.created",
    ]
    assert all(e.target == f"staff:{member.id}" and e.detail["username"] == member.username for e in entries)
    by_action = {e.action: e for e in entries}
    assert by_action["staff.updated"].detail["role"] == {"from": "teller", "to": "supervisor"}
    for action in ("staff.totp_enrolment_begun", "staff.totp_enabled"):
        assert (by_action[action].staff_id, by_action[action].username) == (member.id, member.username)
    assert (
        by_action["staff.created"].staff_id is None
        and by_action["staff.created"].detail["via"] == "admin-api"
    )
    assert PASSWORD not in json.dumps([e.detail for e in entries]) and OTHER_PASSWORD not in str(entries)
    page = await world.audit.entries(tenant, limit=3)
    rest = await world.audit.entries(tenant, limit=10, before=page[-1].id)
    assert [e.id for e in page + rest] == [e.id for e in entries]
    assert await world.audit.entries(other) == []


async def test_record_keeps_a_staff_members_action(world: World) -> None:
    """``record`` (what the console calls) stores the actor, target and detail as given."""
    tenant = await world.tenant()
    member = await world.member(tenant)
    await world.audit.record(
        tenant_id=tenant, actor=member, action="ticket.called", target="ticket:A007", detail={"counter": "3"}
    )
    entry = (await world.audit.entries(tenant, limit=1))[0]
    assert (entry.staff_id, entry.username, entry.action, entry.target, entry.detail) == (
        member.id,
        member.username,
        "ticket.called",
        "ticket:A007",
        {"counter": "3"},
    )
    assert entry.at == world.clock.now()


async def test_the_cli_directory_records_via_cli(database_url: str) -> None:
    """A directory built without data keys (the CLI's) manages accounts, and its entries say cli."""
    engine = create_engine(database_url)
    await migrate(engine)
    sessions = session_factory(engine)
    clock = SettableClock(frozen=True)
    try:
        tenant = (
            await TenantService(sessions, clock).create(name="t", scopes=[], redirect_uris=[])
        ).tenant_id
        audit = StaffAudit(sessions, clock=clock)
        directory = StaffDirectory(sessions, audit=audit, clock=clock, via="cli")
        member = await directory.create(tenant, username="cli.user", password=PASSWORD, role=Role.ADMIN)
        await directory.disable(tenant, member.id)
        assert [e.detail["via"] for e in await audit.entries(tenant)] == ["cli", "cli"]
    finally:
        await engine.dispose()


async def test_an_unknown_username_costs_one_argon2_verification(world: World) -> None:
    """Sign-in with an unknown or malformed username runs one argon2 verification, as a known
    username with a wrong password does, before failing the same way."""
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # type: ignore[override]
            calls.append(str(hash)[:9])
            return super().verify(hash, password)

    counted = StaffService(
        world.sessions,
        audit=world.audit,
        cipher=FieldCipher(Keyring.parse(generate_keyring_spec())),
        clock=world.clock,
        passwords=Passwords(Counting()),
    )
    tenant = await world.tenant()
    member = await world.member(tenant)
    for username, password in (("nobody@bank", PASSWORD), ("x", PASSWORD), (member.username, OTHER_PASSWORD)):
        calls.clear()
        with pytest.raises(SignInFailed):
            await counted.authenticate(username, password, None)
        assert calls == ["$argon2id"]


def test_the_services_implement_the_contract(world: World) -> None:
    """StaffService is the console's StaffAccounts and StaffAudit its AuditLog (checked by mypy)."""
    accounts: StaffAccounts = world.staff
    log: AuditLog = world.audit
    assert callable(accounts.authenticate) and callable(log.record)
