"""The pure parts of bench/sms.py: routes and lines, the bench texts, the bare client's report tally,
the gateway's completion checks and span, PostgreSQL process selection, the table and the targets."""

from __future__ import annotations

import asyncio
import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest

from bench._harness import HarnessError
from bench.sms import (
    CeilingResult,
    Completion,
    GatewayResult,
    ReportTally,
    Route,
    channel_options,
    completion_errors,
    format_results,
    gateway_span,
    message_text,
    own_options,
    plan_lines,
    postgres_member,
    reference_ceiling,
    sandbox_env,
    seeded_operator,
    served_routes,
    targets_met,
)
from carrier_adapters import DeliveryState, MobileOriginated, operator_for_number
from carrier_adapters.segments import split
from carrier_adapters.smsc import PartReport
from gateway.sandbox_link import sms_url
from sandbox import SmscAccount

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
CMCC = SmscAccount("901234", "s3cret", "10690001")
CTCC = SmscAccount("c1234567", "t0psecret", "10690002")


def _view(**entries: tuple[str, str]) -> dict[str, dict[str, object]]:
    return {
        op: {"protocol": protocol, "host": "127.0.0.1", "port": 7000 + i, "login": login}
        for i, (op, (protocol, login)) in enumerate(entries.items())
    }


def test_served_routes_are_the_listed_protocols_and_the_others_are_named() -> None:
    """An operator the sandbox lists with the expected protocol is served at its host and port; one it
    does not list, or lists with another protocol, is named as not served."""
    view = _view(cmcc=("cmpp", CMCC.login), ctcc=("smpp", CTCC.login))
    served, missing = served_routes(
        view, {"cmcc": "cmpp", "ctcc": "smgp", "cucc": "sgip"}, {"cmcc": CMCC, "ctcc": CTCC}
    )
    assert served == [Route("cmcc", "cmpp", "127.0.0.1", 7000)]
    assert missing == ["smgp", "sgip"]


def test_a_sandbox_gateway_with_another_login_fails_the_set_up() -> None:
    """A served gateway that did not take the bench's account cannot be logged into: set-up fails,
    naming the setting, never the secret."""
    view = _view(cmcc=("cmpp", "000000"))
    with pytest.raises(HarnessError, match="GATEWAY_CMCC_SMS_URL") as raised:
        served_routes(view, {"cmcc": "cmpp"}, {"cmcc": CMCC})
    assert CMCC.secret not in str(raised.value)


def test_channel_options_ride_on_the_sandbox_url() -> None:
    """The shared channel options join the sandbox account's URL as window, connections and tps."""
    url = sms_url("cmcc", CMCC, "127.0.0.1", 7890, **channel_options(16, 2, 10_000.0))
    parts = urlsplit(url)
    assert (parts.scheme, parts.username, parts.port) == ("cmpp", "901234", 7890)
    assert dict(parse_qsl(parts.query)) == {
        "src_id": "10690001",
        "window": "16",
        "connections": "2",
        "tps": "10000",
    }


def test_only_sgip_gets_a_listener_address_of_the_benchs_choosing() -> None:
    """SGIP's URL names the SP listener (a free port on 127.0.0.1); the other protocols need nothing."""
    ports = iter([40001, 40002])
    own = own_options({"cmcc": "cmpp", "cucc": "sgip", "intl": "smpp"}, lambda: next(ports))
    assert own == {"cmcc": {}, "cucc": {"listen": "127.0.0.1:40001"}, "intl": {}}


def test_the_sandbox_gets_free_ports_and_the_benchs_accounts() -> None:
    """Each protocol's gateway listens on a port of its choosing (0), and each operator's account
    reaches the sandbox as its SMS URL, with the bench's login, secret and access number."""
    env = sandbox_env(
        {"cmcc": "cmpp", "ctcc": "smgp"}, {"cmcc": CMCC, "ctcc": CTCC}, {"cmcc": {}, "ctcc": {}}
    )
    assert env["GATEWAY_SANDBOX_CMPP_PORT"] == env["GATEWAY_SANDBOX_SMGP_PORT"] == "0"
    cmcc = urlsplit(env["GATEWAY_CMCC_SMS_URL"])
    assert (cmcc.scheme, cmcc.username, cmcc.password) == ("cmpp", CMCC.login, CMCC.secret)
    assert dict(parse_qsl(cmcc.query))["src_id"] == CMCC.access_number
    assert urlsplit(env["GATEWAY_CTCC_SMS_URL"]).username == CTCC.login


def test_international_lines_are_registered_with_a_sandbox_operator() -> None:
    """The sandbox's operators keep their lines; the international route's are registered with China
    Mobile, since the SMPP SMSC looks a number up among every operator's phones."""
    assert [seeded_operator(op) for op in ("cmcc", "cucc", "ctcc", "intl")] == [
        "cmcc",
        "cucc",
        "ctcc",
        "cmcc",
    ]


def test_lines_are_distinct_round_robin_and_in_their_operators_blocks() -> None:
    """Lines alternate over the served operators, are distinct, and each mainland number's block
    belongs to its operator; the international route gets numbers outside +86."""
    routes = [
        Route("cmcc", "cmpp", "h", 1),
        Route("ctcc", "smgp", "h", 2),
        Route("intl", "smpp", "h", 3),
    ]
    lines = plan_lines(routes, 300)
    assert len({line.number for line in lines}) == 300
    assert [line.operator for line in lines[:4]] == ["cmcc", "ctcc", "intl", "cmcc"]
    for line in lines:
        if line.operator == "intl":
            assert not line.number.startswith("+86")
        else:
            assert operator_for_number(line.number) == line.operator


@pytest.mark.parametrize("parts", [1, 2])
def test_the_bench_text_has_the_parts_it_is_named_for(parts: int) -> None:
    """The rendered bench text, with the longest claim number of a 10,000-message batch and a link on
    a five-digit port, splits into ``parts`` parts, so bare client and gateway send the same load."""
    text = message_text(parts, "C-9999", "http://127.0.0.1:65000", "A" * 22)
    assert text.startswith("【平安银行】") and "http://127.0.0.1:65000/l/" + "A" * 22 in text
    assert len(split(text, ref=1).parts) == parts


def _report(
    provider_id: str, state: DeliveryState | None = DeliveryState.DELIVERED, status: str = "DELIVRD"
) -> PartReport:
    return PartReport("cmcc", provider_id, state, status, T0)


def test_the_tally_of_a_clean_batch_has_no_errors() -> None:
    """Every submitted part reported once as delivered: nothing to flag; intermediate reports are
    ignored; the time of the last final report is kept."""
    ticks = iter([1.0, 2.0])
    tally = ReportTally(clock=lambda: next(ticks))
    tally.add([_report("A"), _report("A", None, "ENROUTE"), _report("B")])
    assert tally.distinct == 2 and tally.last_at == 2.0
    assert tally.errors([("cmcc", "A"), ("cmcc", "B")]) == {}


def test_the_tally_flags_missing_repeated_unknown_and_failed_reports() -> None:
    """A part never reported, a report twice, a report of a part not submitted, a failed report, a
    part id answered twice and anything that is not a report are each counted."""
    tally = ReportTally(clock=lambda: 0.0)
    mo = MobileOriginated(operator="cmcc", phone_number="+8613800000000", text="TD", reference=None, at=T0)
    tally.add([_report("A"), _report("A"), _report("X"), _report("B", DeliveryState.FAILED, "UNDELIV"), mo])
    assert tally.errors([("cmcc", "A"), ("cmcc", "B"), ("cmcc", "C"), ("cmcc", "C")]) == {
        "parts not reported": 1,
        "parts reported twice": 1,
        "reports of unknown parts": 1,
        "parts submitted twice": 1,
        "other inbound": 1,
        "report UNDELIV": 1,
    }


async def test_reaching_the_goal_wakes_the_waiter() -> None:
    """``reach`` returns once that many distinct parts are reported, and at once if they already are."""
    tally = ReportTally(clock=lambda: 0.0)
    tally.add([_report("A")])
    await asyncio.wait_for(tally.reach(1), 1.0)
    waiting = asyncio.ensure_future(tally.reach(2))
    await asyncio.sleep(0)
    assert not waiting.done()
    await tally([_report("B")])
    await asyncio.wait_for(waiting, 1.0)


def _clean(messages: int = 10, parts: int = 1) -> Completion:
    return Completion(
        states={"delivered": messages},
        submitted_events=messages,
        submitted_messages=messages,
        delivered_events=messages,
        delivered_messages=messages,
        parts=messages * parts,
        parts_delivered=messages * parts,
        webhooks=messages,
        webhook_messages=messages,
    )


def test_a_clean_gateway_batch_has_no_errors() -> None:
    """Each message delivered once with its parts and one staged webhook: nothing to flag."""
    assert completion_errors(_clean(10, 2), 10, 2) == {}


def test_every_deviation_of_a_gateway_batch_is_counted() -> None:
    """Messages left in other states or missing, repeated or missing events, parts not delivered or
    of another count, reports still waiting and missing or repeated webhooks are each flagged."""
    done = Completion(
        states={"delivered": 8, "submitted": 1},
        submitted_events=11,
        submitted_messages=10,
        delivered_events=8,
        delivered_messages=8,
        parts=9,
        parts_delivered=8,
        early_reports=2,
        webhooks=9,
        webhook_messages=8,
    )
    assert completion_errors(done, 10, 1) == {
        "left submitted": 1,
        "missing": 1,
        "repeated submitted events": 1,
        "messages without one delivered event": 2,
        "parts other than expected": 1,
        "parts not delivered": 1,
        "reports left waiting for their submission": 2,
        "messages without a staged webhook": 2,
        "repeated webhooks": 1,
    }


def test_the_gateway_span_starts_at_readiness_or_the_earlier_first_submission() -> None:
    """The span runs from readiness, or from the first submitted event when the worker began before
    readiness was seen; no end gives no span."""
    ready = T0 + dt.timedelta(seconds=1)
    assert gateway_span(ready, T0 + dt.timedelta(seconds=2), T0 + dt.timedelta(seconds=5)) == 4.0
    assert gateway_span(ready, T0, T0 + dt.timedelta(seconds=5)) == 5.0
    assert gateway_span(ready, None, None) is None


@pytest.mark.parametrize(
    ("cmdline", "member"),
    [
        ("postgres: 15/main: postgres bench_ab12 127.0.0.1(5001) idle", True),
        ("postgres: 15/main: autovacuum worker bench_ab12", True),
        ("postgres: 15/main: walwriter ", True),
        ("postgres: 15/main: background writer ", True),
        ("postgres: 15/main: checkpointer ", True),
        ("postgres: 15/main: postgres bench_ab123 127.0.0.1(5002) idle", False),
        ("postgres: 15/main: postgres other 127.0.0.1(5003) idle", False),
        ("postgres: 15/main: logical replication launcher ", False),
        ("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", False),
    ],
)
def test_postgres_processes_of_the_scratch_database_and_the_writers_are_counted(
    cmdline: str, member: bool
) -> None:
    """Backends and autovacuum workers of the database, and the WAL writer, background writer and
    checkpointer count; other databases' backends, a database whose name merely starts the same, the
    launcher and the postmaster do not."""
    assert postgres_member(cmdline, "bench_ab12") is member


def _ceiling(target: str, reported: float | None, answered: float = 1.0) -> CeilingResult:
    return CeilingResult(target, 10_000, 1, answered, reported, 0, cpu_ms={"client": 0.12, "sandbox": 0.1})


def _gateway(workers: int, delivered: float | None) -> GatewayResult:
    return GatewayResult(
        workers, 10_000, 1, 5.0, delivered, 350.0, {"delivered": 10_000}, 0, cpu_ms={"gateway": 0.7}
    )


def test_the_table_shows_bare_clients_and_gateways_side_by_side() -> None:
    """One row per bare client and per process count, with both rates, the counts and CPU per message."""
    table = format_results([_ceiling("cmpp", 2.0)], [_gateway(1, 8.0), _gateway(2, 6.0)])
    rows = table.splitlines()
    assert len(rows) == 4
    assert rows[1].startswith("bare client cmpp") and "10000.0" in rows[1] and "5000.0" in rows[1]
    assert "client 0.12, sandbox 0.10" in rows[1]
    assert rows[2].startswith("gateway, 1 process ") and "2000.0" in rows[2] and "1250.0" in rows[2]
    assert rows[3].startswith("gateway, 2 processes") and "gateway 0.70" in rows[3]


def test_the_reference_ceiling_is_all_protocols_together_else_the_only_one() -> None:
    """The gateway compares with the bare client over all protocols, or the single one served."""
    together = _ceiling("all", 2.0)
    assert reference_ceiling([_ceiling("cmpp", 1.0), _ceiling("smgp", 1.0), together]) is together
    single = _ceiling("cmpp", 1.0)
    assert reference_ceiling([single]) is single
    assert reference_ceiling([]) is None


def test_targets_need_the_rate_and_the_share_of_the_ceiling() -> None:
    """The best process count must reach 1,500 msg/s and half the bare client's rate to the reports."""
    ceiling = _ceiling("all", 10_000 / 2900)
    assert targets_met([_gateway(1, 10_000 / 1400), _gateway(2, 10_000 / 1600)], ceiling)[2]
    best, share, met = targets_met([_gateway(1, 10_000 / 1400)], ceiling)
    assert best == pytest.approx(1400.0) and share == pytest.approx(1400 / 2900) and not met
    assert not targets_met([_gateway(1, 10_000 / 1600)], _ceiling("all", 10_000 / 3300))[2]
    assert targets_met([_gateway(1, None)], ceiling) == (None, None, False)
