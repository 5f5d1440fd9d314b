"""Identity APIs throughput: SIM Swap, Number Verification and Login Check against a bare pass-through.

Measured at ``--concurrency`` (32) closed-loop clients for ``--duration`` (10) seconds after a
warm-up, in one run on one machine, five targets on the same sandbox China Mobile operator, every
process on the event loop ``--loop`` names (uvloop by default; baseline and gateway always alike):

- ``baseline``: :mod:`bench.passthrough` ``POST /sim-swap/v2/check``, a bare aiohttp app that only
  signs and forwards cmcc's ``simChangeQuery`` and compares the date (no auth, no database): the
  least any gateway must do to answer from the operator's SIM history;
- ``baseline-login-check``: :mod:`bench.passthrough` ``POST /login-check/v1/evaluate``
  ``{"phoneNumber", "deviceId"}``: ``simChangeQuery`` and ``deviceChangeQuery`` concurrently, the
  two dates compared with 240 h, answered as ``{"simSwapped", "deviceSwapped"}`` (no registry, no
  limits, no decision): the least any gateway must do for the login check's operator calls;
- ``sim-swap``: the gateway's ``POST /sim-swap/v2/check`` ``{"phoneNumber", "maxAge": 240}`` with a
  2-legged token;
- ``number-verification``: the gateway's ``POST /number-verification/v2/verify`` ``{"phoneNumber"}``
  with single-use 3-legged tokens minted right before its timed phase through the JWT-bearer grant
  (``sub=operatortoken:<fresh cmcc SDK login token>``, assertion signed with the key registered in
  the tenant's JWKS). Number Verification calls no operator, so its ratio compares an answer without
  an operator call with the same pass-through that makes one: it bounds the gateway's own cost;
- ``login-check``: the gateway's ``POST /login-check/v1/evaluate`` ``{"phoneNumber", "deviceId"}``
  without a one-tap token: SIM and device histories (two operator calls), the device registry and
  the velocity limits, which ``PUT /login-check/v1/policy`` sets to their maximum so that every
  attempt is evaluated and none is throttled.

The ``--subscribers`` (200) cmcc lines are seeded with an ``activatedAt`` 30 days ago and an IMEI;
every third had its SIM changed 2 days ago (swapped at ``maxAge`` 240), every second has its device
bound in the registry. Every answer must be 200 with exactly the members expected for its line
(``swapped``; ``devicePhoneNumberVerified``, false for every fourth token, asked about another line;
``decision``, ``reasons`` and ``checks``); anything else is an error and flags the run.

Each round measures the five targets, alternating their order; the round with the median req/s is
reported per target. Printed: req/s (successful requests only), p50, p99, errors, CPU ms per request
of each process, and per gateway target its ratio to its baseline of the same run (:data:`BASELINE_OF`:
``login-check`` against ``baseline-login-check``, ``sim-swap`` and ``number-verification`` against
``baseline``) with issue 5's targets (ratio >= 0.60 and p99 below twice the baseline's p99): MET or
NOT MET. Also written to ``bench/results/identity.json`` (``identity-postgresql.json`` on PostgreSQL;
medians, verdicts and every round); server logs go to ``bench/results/logs/identity/``. Exit status:
0 clean and every target met, 1 otherwise, 2 set-up failed.

NV tokens live 300 s and SDK tokens 120 s, so Number Verification's pool is minted right before its
timed phase, sized as :mod:`bench.one_tap` sizes its pools: a warm-up on ``--warmup-tokens``
estimates the rate, then ``(settle + duration) x rate x 1.5`` tokens (capped by ``--max-tokens``).

Run: ``python -m bench.identity`` (``make bench``); ``--database-url postgresql://127.0.0.1:5432/<db>``
measures the gateway on a scratch PostgreSQL database instead of a fresh SQLite file;
``--workers N`` runs N gateway processes with the shared stores in Redis (``--redis-url``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import math
import secrets
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from bench._harness import (
    RESULTS_DIR,
    CpuProbe,
    HarnessError,
    LoadResult,
    Server,
    call_json,
    format_facts,
    format_table,
    machine_facts,
    results_name,
    scratch_database,
    write_results,
)
from bench.load import Request, run_load
from bench.one_tap import (
    TARGET_P99_FACTOR,
    TARGET_RATIO,
    Options,
    Verdict,
    median_result,
    ratio,
    shown,
    verdict,
)
from bench.servers import Credentials, Stack, add_run_arguments, open_stack
from gateway.loop import run as run_on_loop

__all__ = [
    "BASELINE_OF",
    "Line",
    "RequestPool",
    "Verdict",
    "expected_assessment",
    "imei",
    "main",
    "plan_lines",
    "pool_size",
    "verdict",
    "verdicts",
]

OPERATOR = "cmcc"
BASELINE = "baseline"
BASELINE_LOGIN_CHECK = "baseline-login-check"
SIM_SWAP = "sim-swap"
NUMBER_VERIFICATION = "number-verification"
LOGIN_CHECK = "login-check"
SIM_SWAP_PATH = "/sim-swap/v2/check"
NV_PATH = "/number-verification/v2/verify"
EVALUATE_PATH = "/login-check/v1/evaluate"
TWO_LEGGED_SCOPES = ("sim-swap:check", "login-check")
NV_SCOPE = "number-verification:verify"
PURPOSE = "dpv:FraudPreventionAndDetection"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_KID = "bench-1"
MAX_AGE_H = 240
ACTIVATED_AGO = dt.timedelta(days=30)
SIM_CHANGED_AGO = dt.timedelta(days=2)
POLICY = {
    "simSwapMaxAgeHours": MAX_AGE_H,
    "deviceSwapMaxAgeHours": MAX_AGE_H,
    "attemptsPerNumber": 100_000,
    "attemptsPerDevice": 100_000,
    "attemptsPerIp": 100_000,
    "windowSeconds": 60,
}
SETTLE_S = 0.5  # unmeasured re-warm after the minting pause, counted into the pool size
POOL_MARGIN = 1.5
MIN_TOKENS = 500
MINT_CONCURRENCY = 64
NV_TOKEN_LIFETIME_S = 300.0
ASSERTION_LIFETIME_S = 120
LOG_DIR = RESULTS_DIR / "logs" / "identity"
BASELINE_OF = {SIM_SWAP: BASELINE, NUMBER_VERIFICATION: BASELINE, LOGIN_CHECK: BASELINE_LOGIN_CHECK}
"""Each gateway target's baseline: the pass-through route doing the same operator calls (Number
Verification calls none, so it keeps the SIM-history one, which bounds the gateway's own cost)."""
BASELINES = {
    BASELINE: f"bench.passthrough POST {SIM_SWAP_PATH}: signed cmcc simChangeQuery only",
    BASELINE_LOGIN_CHECK: (
        f"bench.passthrough POST {EVALUATE_PATH}: signed cmcc simChangeQuery and deviceChangeQuery "
        "concurrently, no registry, no limits"
    ),
}
_TAC = "35209900"  # type allocation code of the seeded IMEIs


# --- configuration ---------------------------------------------------------------------------------


# --- the seeded lines and what the gateway must answer about them -----------------------------------


def imei(serial: int) -> str:
    """A Luhn-valid 15-digit IMEI, distinct per ``serial`` (0 to 999999)."""
    body = f"{_TAC}{serial:06d}"
    total = 0
    for index, char in enumerate(body):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return body + str(-total % 10)


def expected_assessment(*, sim_swapped: bool, device_known: bool) -> dict[str, Any]:
    """The evaluate answer for a line without one-tap token, device swap or throttling."""
    reasons = [*(["SIM_SWAPPED_RECENTLY"] if sim_swapped else []), *([] if device_known else ["NEW_DEVICE"])]
    decision = "deny" if sim_swapped and not device_known else "challenge" if reasons else "allow"
    return {
        "decision": decision,
        "reasons": reasons,
        "checks": {
            "numberVerified": None,
            "simSwapped": sim_swapped,
            "deviceSwapped": False,
            "deviceKnown": device_known,
        },
    }


@dataclass(frozen=True)
class Line:
    """One seeded cmcc subscriber: its number, handset, and the two facts the answers depend on."""

    number: str
    device_id: str
    imei: str
    sim_swapped: bool
    """The SIM changed within ``maxAge`` (2 days ago); otherwise the activation 30 days ago is the latest."""
    device_known: bool
    """``device_id`` is bound to the number in the gateway's device registry."""

    def sandbox_record(self, now: dt.datetime) -> dict[str, Any]:
        """The ``POST /sandbox/subscribers`` body."""
        record: dict[str, Any] = {
            "phoneNumber": self.number,
            "operator": OPERATOR,
            "imei": self.imei,
            "activatedAt": _rfc3339(now - ACTIVATED_AGO),
        }
        if self.sim_swapped:
            record["simChangedAt"] = _rfc3339(now - SIM_CHANGED_AGO)
        return record

    def sim_check(self) -> Request:
        """A SIM Swap check of this line (gateway and baseline alike)."""
        return Request(
            json={"phoneNumber": self.number, "maxAge": MAX_AGE_H}, expect_json={"swapped": self.sim_swapped}
        )

    def evaluate(self) -> Request:
        """A login evaluation of this line on its own handset."""
        return Request(
            json={"phoneNumber": self.number, "deviceId": self.device_id},
            expect_json=expected_assessment(sim_swapped=self.sim_swapped, device_known=self.device_known),
        )

    def baseline_evaluate(self) -> Request:
        """The same evaluation on the pass-through: the two history verdicts only."""
        return Request(
            json={"phoneNumber": self.number, "deviceId": self.device_id},
            expect_json={"simSwapped": self.sim_swapped, "deviceSwapped": False},
        )


def plan_lines(count: int) -> list[Line]:
    """``count`` lines +86138xxxxxxxx: every third SIM-swapped, every second with its device bound."""
    return [
        Line(
            number=f"+86138{i:08d}",
            device_id=f"bench-device-{i:06d}",
            imei=imei(i),
            sim_swapped=i % 3 == 0,
            device_known=i % 2 == 0,
        )
        for i in range(count)
    ]


def _rfc3339(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- set-up through the public APIs ----------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """The benchmark's tenant: its client credentials and the private half of its registered key."""

    client_id: str
    client_secret: str
    key: ec.EllipticCurvePrivateKey
    token_endpoint: str


async def provision_tenant(session: aiohttp.ClientSession, gateway: Server, admin_token: str) -> Tenant:
    """A tenant with the measured scopes and an ES256 key in its JWKS; the policy set to measure work."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = {
        **json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())),
        "kid": CLIENT_KID,
        "use": "sig",
    }
    created = await call_json(
        session,
        "POST",
        f"{gateway.base_url}/admin/tenants",
        json={
            "name": "bench-identity",
            "scopes": [*TWO_LEGGED_SCOPES, NV_SCOPE, PURPOSE],
            "redirect_uris": [],
            "jwks": {"keys": [public]},
        },
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    discovery = await call_json(session, "GET", f"{gateway.base_url}/.well-known/openid-configuration")
    tenant = Tenant(created["client_id"], created["client_secret"], key, discovery["token_endpoint"])
    bearer = {"Authorization": f"Bearer {await two_legged_token(session, tenant)}"}
    await call_json(session, "PUT", f"{gateway.base_url}/login-check/v1/policy", json=POLICY, headers=bearer)
    return tenant


async def two_legged_token(session: aiohttp.ClientSession, tenant: Tenant) -> str:
    """A fresh client-credentials access token for the 2-legged scopes."""
    answer = await call_json(
        session,
        "POST",
        tenant.token_endpoint,
        data={"grant_type": "client_credentials", "scope": " ".join(TWO_LEGGED_SCOPES)},
        headers={"Authorization": aiohttp.encode_basic_auth(tenant.client_id, tenant.client_secret)},
    )
    token: str = answer["access_token"]
    return token


async def seed_lines(
    session: aiohttp.ClientSession, stack: Stack, tenant: Tenant, lines: Sequence[Line]
) -> None:
    """Register the lines with the sandbox and bind the known devices in the gateway's registry."""
    now = dt.datetime.now(dt.UTC)
    url = f"{stack.sandbox.base_url}/sandbox/subscribers"
    await asyncio.gather(*(call_json(session, "POST", url, json=line.sandbox_record(now)) for line in lines))
    bearer = {"Authorization": f"Bearer {await two_legged_token(session, tenant)}"}
    devices = f"{stack.gateway.base_url}/login-check/v1/devices"
    await asyncio.gather(
        *(
            call_json(
                session,
                "POST",
                devices,
                json={"phoneNumber": line.number, "deviceId": line.device_id},
                headers=bearer,
                expect=(201,),
            )
            for line in lines
            if line.device_known
        )
    )


# --- request sources -------------------------------------------------------------------------------


class RequestPool:
    """Single-use requests, oldest first; None once they are all taken."""

    def __init__(self, requests: Iterable[Request]) -> None:
        self._requests: deque[Request] = deque(requests)

    def __len__(self) -> int:
        return len(self._requests)

    def next_request(self) -> Request | None:
        return self._requests.popleft() if self._requests else None


@dataclass
class NvMinter:
    """Mints Number Verification requests, each with its own 3-legged token, round-robin over the lines.

    One token: a fresh cmcc SDK login token from the sandbox phone, then the JWT-bearer grant with
    ``sub=operatortoken:<it>``. Every fourth request asks about the next line's number (expects false).
    """

    session: aiohttp.ClientSession
    sandbox: Server
    tenant: Tenant
    lines: Sequence[Line]
    seconds: list[float] = field(default_factory=list)
    minted: list[int] = field(default_factory=list)

    async def pool(self, count: int) -> RequestPool:
        started = time.perf_counter()
        indices = iter(range(count))
        requests: list[Request] = []

        async def worker() -> None:
            for i in indices:  # shared iterator: each index goes to exactly one worker
                line = self.lines[i % len(self.lines)]
                asked = self.lines[(i + 1) % len(self.lines)] if i % 4 == 3 else line
                token = await self._mint(line)
                requests.append(
                    Request(
                        json={"phoneNumber": asked.number},
                        expect_json={"devicePhoneNumberVerified": asked.number == line.number},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                )

        await asyncio.gather(*(worker() for _ in range(min(MINT_CONCURRENCY, count))))
        self.seconds.append(time.perf_counter() - started)
        self.minted.append(count)
        return RequestPool(requests)

    async def _mint(self, line: Line) -> str:
        url = f"{self.sandbox.base_url}/sandbox/devices/{line.number}/one-tap-token"
        sdk = await call_json(self.session, "POST", url, json={"purpose": "login"})
        now = int(time.time())
        claims = {
            "iss": self.tenant.client_id,
            "sub": f"operatortoken:{sdk['token']}",
            "aud": self.tenant.token_endpoint,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
            "jti": secrets.token_hex(16),
            "scope": f"{PURPOSE} {NV_SCOPE}",
        }
        assertion = jwt.encode(claims, self.tenant.key, algorithm="ES256", headers={"kid": CLIENT_KID})
        answer = await call_json(
            self.session,
            "POST",
            self.tenant.token_endpoint,
            data={"grant_type": JWT_BEARER, "assertion": assertion},
        )
        token: str = answer["access_token"]
        return token


# --- measurement -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One thing to measure: its URL, how to get its headers, and its requests.

    ``requests`` are cycled forever; a target with a ``minter`` spends a freshly minted pool instead.
    """

    name: str
    url: str
    headers: Callable[[], Awaitable[Mapping[str, str]]]
    requests: Sequence[Request] = ()
    minter: NvMinter | None = None
    cpu: Mapping[str, CpuProbe] = field(default_factory=dict)
    """Processes whose CPU per request the timed phase reports (the target's server, the sandbox)."""


def pool_size(rate: float, *, duration: float, concurrency: int, max_tokens: int) -> int:
    """Tokens for a timed phase at ``rate`` req/s: settle and duration with a 1.5 margin, within bounds."""
    wanted = math.ceil((SETTLE_S + duration) * rate * POOL_MARGIN) + concurrency
    return max(MIN_TOKENS, min(max_tokens, wanted))


async def measure(target: Target, args: Options, label: str) -> LoadResult:
    """Warm ``target`` up, then measure it (minting its pool in between when it spends tokens)."""
    headers = await target.headers()
    if target.minter is None:
        feed = itertools.cycle(target.requests)
        print(f"{label}: {args.warmup:g} s warm-up, measuring {args.duration:g} s ...")
        return await run_load(
            target.url,
            lambda: next(feed),
            args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            target=target.name,
            headers=headers,
            cpu=target.cpu,
        )
    minter = target.minter
    warm_pool = await minter.pool(args.warmup_tokens)
    warm = await run_load(
        target.url,
        warm_pool.next_request,
        args.concurrency,
        duration=args.warmup,
        warmup=0.0,
        target=target.name,
        headers=headers,
    )
    _report_errors(f"{label} warm-up", warm)
    rate = warm.count / warm.elapsed if warm.elapsed > 0 else 0.0
    size = pool_size(rate, duration=args.duration, concurrency=args.concurrency, max_tokens=args.max_tokens)
    pool = await minter.pool(size)
    mint_s = minter.seconds[-1]
    print(
        f"{label}: warm-up {warm.count} requests in {warm.elapsed:.1f} s"
        f"{' (pool ran out)' if warm.exhausted else ''}; "
        f"minted {size} tokens in {mint_s:.1f} s; measuring {args.duration:g} s ..."
    )
    if mint_s + SETTLE_S + args.duration > NV_TOKEN_LIFETIME_S * 0.8:
        print(f"{label}: WARNING minting took {mint_s:.0f} s: the oldest tokens may expire before use")
    return await run_load(
        target.url,
        pool.next_request,
        args.concurrency,
        duration=args.duration,
        warmup=SETTLE_S,
        target=target.name,
        headers=headers,
        cpu=target.cpu,
    )


def _report_errors(label: str, result: LoadResult) -> None:
    if not result.errors:
        return
    kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(result.error_kinds.items()))
    print(f"{label}: {result.errors} of {result.count} requests failed ({kinds})")
    for sample in result.error_samples:
        print(f"    e.g. {sample}")


Rounds = dict[str, list[LoadResult]]
"""Target name -> its result in each round."""


async def measure_rounds(targets: Sequence[Target], args: Options) -> Rounds:
    """Measure every target once per round, alternating the order to even out drift."""
    rounds: Rounds = {target.name: [] for target in targets}
    for i in range(args.rounds):
        for target in targets if i % 2 == 0 else list(reversed(targets)):
            label = target.name if args.rounds == 1 else f"{target.name} (round {i + 1}/{args.rounds})"
            rounds[target.name].append(await measure(target, args, label))
    return rounds


async def _run(args: Options, database_url: str) -> tuple[Rounds, dict[str, Any]]:
    creds = Credentials.generate()
    async with (
        open_stack(creds, database_url, args, operator=OPERATOR, log_dir=LOG_DIR) as stack,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MINT_CONCURRENCY),
            timeout=aiohttp.ClientTimeout(total=30.0),
        ) as control,
    ):
        tenant = await provision_tenant(control, stack.gateway, creds.admin_token)
        lines = plan_lines(args.subscribers)
        await seed_lines(control, stack, tenant, lines)
        minter = NvMinter(control, stack.sandbox, tenant, lines)

        async def no_headers() -> Mapping[str, str]:
            return {}

        async def two_legged() -> Mapping[str, str]:
            return {"Authorization": f"Bearer {await two_legged_token(control, tenant)}"}

        sim_checks = [line.sim_check() for line in lines]
        base, gateway = stack.baseline.base_url, stack.gateway.base_url
        baseline_cpu, gateway_cpu = stack.cpu_probes("baseline"), stack.cpu_probes("gateway")
        targets = [
            Target(BASELINE, base + SIM_SWAP_PATH, no_headers, sim_checks, cpu=baseline_cpu),
            Target(SIM_SWAP, gateway + SIM_SWAP_PATH, two_legged, sim_checks, cpu=gateway_cpu),
            Target(NUMBER_VERIFICATION, gateway + NV_PATH, no_headers, minter=minter, cpu=gateway_cpu),
            Target(
                BASELINE_LOGIN_CHECK,
                base + EVALUATE_PATH,
                no_headers,
                [x.baseline_evaluate() for x in lines],
                cpu=baseline_cpu,
            ),
            Target(
                LOGIN_CHECK,
                gateway + EVALUATE_PATH,
                two_legged,
                [x.evaluate() for x in lines],
                cpu=gateway_cpu,
            ),
        ]
        rounds = await measure_rounds(targets, args)
        minting = {"pools": minter.minted, "seconds": [round(s, 2) for s in minter.seconds]}
        return rounds, minting


# --- report ----------------------------------------------------------------------------------------


def verdicts(chosen: Mapping[str, LoadResult]) -> dict[str, Verdict]:
    """Each gateway target of ``chosen`` against its own baseline (:data:`BASELINE_OF`)."""
    return {
        name: verdict(chosen[BASELINE_OF[name]], result)
        for name, result in chosen.items()
        if name in BASELINE_OF
    }


def _report(rounds: Rounds, chosen: Mapping[str, LoadResult], judged: Mapping[str, Verdict]) -> bool:
    """Print the table and the verdicts; True when every round is clean and every target is met."""
    n = len(rounds[BASELINE])
    print()
    print(f"median of {n} rounds:" if n > 1 else "results:")
    print(format_table(list(chosen.values())))
    print()
    print(
        f"{'vs its baseline':<22}{'baseline':<23}{'ratio':>5}{'p99 factor':>12}   "
        f"target: ratio >= {TARGET_RATIO:.2f}, p99 < {TARGET_P99_FACTOR:g}x baseline"
    )
    for name, v in judged.items():
        note = "  (no operator call, SIM-history baseline)" if name == NUMBER_VERIFICATION else ""
        per_round = ""
        if n > 1:
            pairs = zip(rounds[v.baseline], rounds[name], strict=True)
            per_round = "  rounds " + " ".join(shown(ratio(b, t)) for b, t in pairs)
        print(
            f"  {name:<20}{v.baseline:<23}{shown(v.ratio):>5}{shown(v.p99_factor, 'x'):>12}   "
            f"{'MET' if v.met else 'NOT MET'}{note}{per_round}"
        )
    flagged = [r for results in rounds.values() for r in results if r.flagged]
    for result in flagged:
        _report_errors(f"FLAGGED {result.target}", result)
    return all(v.met for v in judged.values()) and not flagged


def _parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.identity",
        description="SIM Swap, Number Verification, Login Check: gateway vs bare pass-through",
    )
    add_run_arguments(parser)
    parser.add_argument(
        "--warmup-tokens", type=int, default=2000, help="Number Verification tokens of the warm-up"
    )
    parser.add_argument(
        "--max-tokens", type=int, default=40000, help="cap on Number Verification's timed pool"
    )
    parser.add_argument("--subscribers", type=int, default=200, help="distinct sandbox lines")
    args = Options(**vars(parser.parse_args(argv)))
    if args.subscribers < 2:
        parser.error("--subscribers must be at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    facts = machine_facts()
    print(format_facts(facts))
    with scratch_database(args.database_url) as database_url:
        database = database_url.split(":", 1)[0]
        print(
            f"{OPERATOR} lines, {args.concurrency} concurrent clients, {args.warmup:g} s warm-up + "
            f"{args.duration:g} s per target, gateway database: {database}, "
            f"gateway processes: {args.workers}, event loop: {args.loop} (every process)\n"
        )
        try:
            rounds, minting = run_on_loop(_run(args, database_url), args.loop)
        except (HarnessError, aiohttp.ClientError) as exc:
            print(f"benchmark set-up failed: {exc}", file=sys.stderr)
            return 2
    chosen = {name: median_result(results) for name, results in rounds.items()}
    judged = verdicts(chosen)
    ok = _report(rounds, chosen, judged)
    payload: dict[str, Any] = {
        "benchmark": "identity",
        "machine": facts,
        "event_loop": args.loop,
        "config": {**args.public(), "database": database, "operator": OPERATOR, "max_age_hours": MAX_AGE_H},
        "baselines": BASELINES,
        "baseline_of": BASELINE_OF,
        "paths": {SIM_SWAP: SIM_SWAP_PATH, NUMBER_VERIFICATION: NV_PATH, LOGIN_CHECK: EVALUATE_PATH},
        "results": chosen,
        "verdicts": {name: asdict(v) for name, v in judged.items()},
        "targets": {"ratio_at_least": TARGET_RATIO, "p99_below_baseline_times": TARGET_P99_FACTOR},
        "nv_minting": minting,
        "rounds": rounds,
        "ok": ok,
    }
    print(f"\nwritten to {write_results(results_name('identity', database), payload)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
