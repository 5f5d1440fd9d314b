"""SgipDialect and SgipListeningDialect: URL options, sequences, PDUs sent and PDUs read (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import Encoding
from carrier_adapters.sgip import (
    Bind,
    BindResp,
    Deliver,
    DeliverResp,
    Report,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
)
from carrier_adapters.sgip.dialect import (
    SequenceCounter,
    SgipDialect,
    SgipOptions,
    channel_settings,
    dialect_factory,
    listening_dialect_factory,
)
from carrier_adapters.smsc import OutboundPart, PartReport, PduKind
from carrier_adapters.smsc.url import SmscUrl, parse_smsc_url

QUERY = "node_id=3010012345&corp_id=12345&sp_number=10655001&service_type=NOTICE"
NOW = datetime(2024, 11, 20, 12, 32, 25, tzinfo=UTC)  # 20:32:25 in Beijing


def _url(query: str = QUERY, secret: str = "pw-1234") -> SmscUrl:  # noqa: S107
    return parse_smsc_url(f"sgip://sp900001:{secret}@smg.example?{query}")


def _dialect(counter: int = 7) -> SgipDialect:
    return dialect_factory(_url(), counter=SequenceCounter(counter), now=lambda: NOW)()


def _part(
    phone: str = "+8613012345678", *, udhi: bool = False, encoding: Encoding = Encoding.UCS2
) -> OutboundPart:
    return OutboundPart(phone, "Hi".encode("utf-16-be"), encoding, udhi, 1, 1, "m-1")


def test_sequences_are_the_node_the_beijing_time_and_the_shared_counter() -> None:
    """The doc's example sequence: node 3010012345, 1120203225, counters counting across connections."""
    factory = dialect_factory(_url(), counter=SequenceCounter(7), now=lambda: NOW)
    first, second = factory(), factory()
    assert first.next_sequence() == SgipSequence(3010012345, 1120203225, 7)
    assert second.next_sequence().counter == 8
    assert first.next_sequence().hex() == "B36924B942C4F1D900000009"


def test_a_fresh_counter_starts_at_a_random_value_and_wraps_at_32_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A restarted gateway draws a new start (secrets.randbelow over 2^32) instead of repeating 0, 1, ..."""
    drawn: list[int] = []

    def randbelow(bound: int) -> int:
        drawn.append(bound)
        return 0xFFFFFFFF

    monkeypatch.setattr("secrets.randbelow", randbelow)
    counter = SequenceCounter()
    assert drawn == [1 << 32]
    assert [counter.take(), counter.take()] == [0xFFFFFFFF, 0]


def test_bind_is_login_type_1_with_the_urls_credentials() -> None:
    """BIND carries the login and password of the URL; the SMG's answer 0 is a session."""
    dialect = _dialect()
    request = dialect.login(NOW)
    assert request == Bind(login_type=1, login_name="sp900001", login_password="pw-1234")
    dialect.check_login(request, BindResp(result=0))


@pytest.mark.parametrize(
    ("result", "error"), [(1, CarrierRejected), (4, CarrierRejected), (3, CarrierUnavailable)]
)
def test_a_refused_bind_is_a_carrier_error_with_its_result(result: int, error: type[Exception]) -> None:
    """Wrong credentials or login type are our configuration; too many connections the SMG's state."""
    dialect = _dialect()
    with pytest.raises(error) as refused:
        dialect.check_login(dialect.login(NOW), BindResp(result=result))
    assert getattr(refused.value, "code", None) == str(result)
    assert "pw-1234" not in str(refused.value)


def test_a_submit_is_one_86_prefixed_number_with_the_accounts_fields_and_a_report() -> None:
    """UserNumber 86+national, SPNumber/CorpId/ServiceType from the URL, ReportFlag 1, UCS-2."""
    pdu = _dialect().submit(_part(udhi=True))
    assert pdu == Submit(
        sp_number="10655001",
        user_numbers=("8613012345678",),
        corp_id="12345",
        service_type="NOTICE",
        report_flag=1,
        tp_udhi=1,
        message_coding=8,
        message_content="Hi".encode("utf-16-be"),
    )


def test_an_ascii_text_goes_with_message_coding_0() -> None:
    """GSM-7-class texts travel as ASCII octets (MessageCoding 0) without a header."""
    pdu = _dialect().submit(_part(encoding=Encoding.GSM7))
    assert isinstance(pdu, Submit) and (pdu.message_coding, pdu.tp_udhi) == (0, 0)


def test_a_number_outside_mainland_mobiles_is_not_served() -> None:
    """SGIP reaches +86 mobiles only."""
    with pytest.raises(NumberNotServed):
        _dialect().submit(_part("+447700900123"))


def test_the_answer_names_the_part_by_the_sequence_its_submit_was_sent_with() -> None:
    """SUBMIT_RESP carries no id: the part's id is the SUBMIT's sequence in 24 uppercase hex."""
    dialect = _dialect()
    sequence = SgipSequence(3010012345, 1120203225, 7)
    answer = dialect.answer(SubmitResp(result=0), sequence)
    assert (answer.outcome, answer.provider_id, answer.code) == (
        SubmitOutcome.ACCEPTED,
        "B36924B942C4F1D900000007",
        0,
    )
    assert dialect.answer(SubmitResp(result=11), sequence).outcome is SubmitOutcome.THROTTLED
    assert dialect.answer(SubmitResp(result=6), sequence).outcome is SubmitOutcome.NOT_SERVED
    with pytest.raises(CarrierProtocolError):
        dialect.answer(BindResp(result=0), sequence)


def test_sgip_has_no_heartbeat_and_unbind_is_the_goodbye() -> None:
    """heartbeat() is None (the session closes idle connections); logout is UNBIND."""
    dialect = _dialect()
    assert (dialect.heartbeat(), dialect.logout()) == (None, Unbind())


def test_kinds_and_replies() -> None:
    """DELIVER and REPORT are inbound, answered Result 0; UNBIND ends; a second BIND answers 2."""
    dialect = _dialect()
    report = Report(submit_sequence_number=SgipSequence(1, 2, 3), user_number="8613012345678", state=0)
    deliver = Deliver(user_number="8613012345678", sp_number="10655001", message_content=b"")
    assert [dialect.kind(p) for p in (SubmitResp(result=0), report, deliver, Unbind(), UnbindResp())] == [
        PduKind.RESPONSE,
        PduKind.INBOUND,
        PduKind.INBOUND,
        PduKind.LOGOUT,
        PduKind.RESPONSE,
    ]
    assert dialect.reply(report) == ReportResp(result=0)
    assert dialect.reply(deliver) == DeliverResp(result=0)
    assert dialect.reply(Unbind()) == UnbindResp()
    assert dialect.reply(Bind(login_type=2, login_name="x", login_password="y")) == BindResp(result=2)
    assert dialect.reply(SubmitResp(result=0)) is None


@pytest.mark.parametrize(
    ("state", "error_code", "expected", "status"),
    [
        (0, 0, DeliveryState.DELIVERED, "DELIVRD"),
        (2, 25, DeliveryState.FAILED, "UNDELIV:25"),
        (1, 0, None, "STATE:1"),
    ],
)
def test_a_report_names_the_part_by_its_submit_sequence(
    state: int, error_code: int, expected: DeliveryState | None, status: str
) -> None:
    """State 0 delivered, 2 failed with ErrorCode kept, 1 (waiting) not final."""
    report = Report(
        submit_sequence_number=SgipSequence(3010012345, 1120203225, 7),
        user_number="8613012345678",
        state=state,
        error_code=error_code,
    )
    assert _dialect().inbound(report, NOW) == [
        PartReport("cucc", "B36924B942C4F1D900000007", expected, status, NOW)
    ]


def test_an_mo_text_is_a_reply_in_e164_without_its_header() -> None:
    """UserNumber with or without 86; a UCS-2 part's UDH is removed; GBK decodes."""
    dialect = _dialect()
    part = Deliver(
        user_number="8613012345678",
        sp_number="10655001",
        tp_udhi=1,
        message_content=bytes.fromhex("050003070201") + "退订".encode("utf-16-be"),
    )
    bare = Deliver(
        user_number="13012345678", sp_number="10655001", message_coding=15, message_content="TD".encode("gbk")
    )
    assert dialect.inbound(part, NOW) == [MobileOriginated("cucc", "+8613012345678", "退订", None, NOW)]
    assert dialect.inbound(bare, NOW) == [MobileOriginated("cucc", "+8613012345678", "TD", None, NOW)]


def test_an_mo_from_an_unreadable_number_yields_nothing() -> None:
    """A fixed line or foreign number cannot be mapped to a subscriber: nothing stored, still answered."""
    deliver = Deliver(user_number="85212345678", sp_number="10655001", message_content=b"")
    assert _dialect().inbound(deliver, NOW) == []


def test_the_listener_accepts_only_the_smgs_login_type_2_with_the_accounts_credentials() -> None:
    """Result 0 for type 2 with login and password, 1 for wrong credentials, 4 for type 1; a first
    PDU that is no BIND gets no answer (the doc: the connection is closed)."""
    dialect = listening_dialect_factory(_url())()
    good = Bind(login_type=2, login_name="sp900001", login_password="pw-1234")
    assert dialect.accept_login(good) == (BindResp(result=0), True)
    assert dialect.accept_login(Bind(login_type=2, login_name="sp900001", login_password="x")) == (
        BindResp(result=1),
        False,
    )
    assert dialect.accept_login(Bind(login_type=1, login_name="sp900001", login_password="pw-1234")) == (
        BindResp(result=4),
        False,
    )
    assert dialect.accept_login(Unbind()) == (None, False)


def test_options_are_read_from_the_url() -> None:
    """listen is host:port (IPv6 in brackets too); idle sets the session's idle close."""
    options = SgipOptions.from_url(_url(QUERY + "&listen=[::1]:8802&idle=20"))
    assert (options.node_id, options.corp_id, options.sp_number, options.service_type) == (
        3010012345,
        "12345",
        "10655001",
        "NOTICE",
    )
    assert (options.listen, options.idle) == (("::1", 8802), 20.0)
    assert SgipOptions.from_url(_url()).listen is None
    assert channel_settings(_url(QUERY + "&idle=20")).session.idle_close == 20.0
    assert "pw-1234" not in repr(options)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        (QUERY + "&colour=red", "'colour'"),
        ("node_id=1&corp_id=12345&sp_number=106", "'service_type'"),
        (QUERY.replace("node_id=3010012345", "node_id=99999999999"), "node_id"),
        (QUERY.replace("corp_id=12345", "corp_id=123456"), "corp_id"),
        (QUERY + "&listen=nowhere", "listen"),
        (QUERY + "&idle=90", "idle"),
    ],
)
def test_bad_options_are_value_errors_naming_them(query: str, named: str) -> None:
    """Unknown, missing or malformed options name themselves, never the secret."""
    with pytest.raises(ValueError, match=named) as refused:
        SgipOptions.from_url(_url(query))
    assert "pw-1234" not in str(refused.value)


def test_a_password_longer_than_its_field_is_refused_without_showing_it() -> None:
    """Login_Password holds 16 characters."""
    with pytest.raises(ValueError) as refused:
        SgipOptions.from_url(_url(secret="a-password-of-twenty"))
    assert "a-password-of-twenty" not in str(refused.value)
