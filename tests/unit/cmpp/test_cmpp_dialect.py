"""CmppDialect: the URL's options, the PDUs it makes and how it reads the ISMG's (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.cmpp import (
    ActiveTest,
    ActiveTestResp,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    MsgFmt,
    Pdu,
    StatusReport,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
    encode_report,
)
from carrier_adapters.cmpp.dialect import CmppDialect, CmppSettings, dialect_factory
from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.inbound_sms import BEIJING
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import Encoding, split
from carrier_adapters.smsc import Dialect, OutboundPart, PartReport, PduKind
from carrier_adapters.smsc.url import parse_smsc_url

MSG_ID = bytes.fromhex("113c4142a5f3beef")
DOC_MOMENT = datetime(2026, 1, 2, 7, 4, 5, tzinfo=UTC)  # 2 Jan 15:04:05 in Beijing
NOW = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)


def _dialect(version: str = "3.0", **options: str) -> CmppDialect:
    query = "&".join(f"{key}={value}" for key, value in {"src_id": "106900001", **options}.items())
    url = parse_smsc_url(f"cmpp://901234:s3cret@127.0.0.1:7890?version={version}&{query}")
    return dialect_factory(url)()


def test_the_dialect_satisfies_the_session_layers_protocol() -> None:
    """A CmppDialect is a Dialect of CMPP PDUs numbered by uint32 sequences (checked by mypy too)."""
    dialect: Dialect[Pdu, int] = _dialect()
    assert dialect.protocol == "cmpp"


def test_the_url_options_become_settings() -> None:
    """version, src_id, service_id and msg_src come from the URL; msg_src defaults to the SP id."""
    url = parse_smsc_url("cmpp://901234:s3cret@h?version=2.0&src_id=1069000012&service_id=MBK")
    settings = CmppSettings.from_url(url)
    assert (settings.sp_id, settings.version, settings.src_id, settings.service_id) == (
        "901234",
        0x20,
        "1069000012",
        "MBK",
    )
    submit = CmppDialect(settings).submit(_part("hi"))
    assert submit.msg_src == "901234"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("src_id=1069&fee_user_type=2", "unknown option 'fee_user_type'"),
        ("service_id=MBK", "needs the option src_id"),
        ("src_id=1069&version=2.5", "version is 2.0 or 3.0"),
        ("src_id=1069x", "src_id"),
        ("src_id=1069&service_id=ABCDEFGHIJK", "service_id"),
    ],
)
def test_a_wrong_option_is_named_without_the_url(query: str, message: str) -> None:
    """ValueError names the option at fault and never repeats the URL (it holds the secret)."""
    with pytest.raises(ValueError, match=message) as wrong:
        dialect_factory(parse_smsc_url(f"cmpp://901234:topsecret@h?{query}"))
    assert "topsecret" not in str(wrong.value)


def test_another_protocols_url_is_refused() -> None:
    """An smgp:// URL cannot configure a CMPP dialect."""
    with pytest.raises(ValueError, match="cmpp://"):
        dialect_factory(parse_smsc_url("smgp://client:secret@h?src_id=1069"))


@pytest.mark.parametrize("version", ["2.0", "3.0"])
def test_connect_carries_the_docs_authenticator_for_beijing_time(version: str) -> None:
    """The doc's example: SP 901234, secret s3cret, 2 Jan 15:04:05 Beijing (07:04:05 UTC)."""
    connect = _dialect(version).login(DOC_MOMENT)
    assert connect == Connect(
        source_addr="901234",
        authenticator_source=bytes.fromhex("46094330b5b7827493084f3698fd0bb2"),
        version=0x20 if version == "2.0" else 0x30,
        timestamp=102150405,
    )


@pytest.mark.parametrize(
    ("version", "ismg"),
    [("3.0", "6872d88e4b3b7ec88d59d63046b199cd"), ("2.0", "eaaf3f4c9a1287790bcd6db16966a544")],
)
def test_the_docs_ismg_authenticator_is_accepted(version: str, ismg: str) -> None:
    """AuthenticatorISMG hashes Status in the version's width (the doc's two vectors)."""
    dialect = _dialect(version)
    connect = dialect.login(DOC_MOMENT)
    dialect.check_login(
        connect, ConnectResp(status=0, authenticator_ismg=bytes.fromhex(ismg), version=dialect.version)
    )


def test_an_ismg_that_cannot_prove_the_secret_is_refused() -> None:
    """A Status 0 answer with another AuthenticatorISMG ends the login."""
    dialect = _dialect()
    with pytest.raises(CarrierRejected, match="did not prove it knows the secret"):
        dialect.check_login(
            dialect.login(NOW), ConnectResp(status=0, authenticator_ismg=bytes(16), version=0x30)
        )


@pytest.mark.parametrize(
    ("status", "error"), [(3, CarrierRejected), (2, CarrierRejected), (5, CarrierUnavailable)]
)
def test_a_refused_login_keeps_the_status(status: int, error: type[Exception]) -> None:
    """Status 1-4 are our configuration (rejected); 5 and above the ISMG's own error (unavailable)."""
    dialect = _dialect()
    with pytest.raises(error) as refused:
        dialect.check_login(
            dialect.login(NOW), ConnectResp(status=status, authenticator_ismg=bytes(16), version=0x30)
        )
    assert refused.value.code == str(status)  # type: ignore[attr-defined]
    assert "s3cret" not in str(refused.value)


def test_an_ismg_answering_another_version_is_refused() -> None:
    """Status 0 in version 2.0 to a 3.0 login: the session could not read its answers."""
    dialect = _dialect("3.0")
    connect = dialect.login(DOC_MOMENT)
    good = bytes.fromhex("6872d88e4b3b7ec88d59d63046b199cd")
    with pytest.raises(CarrierRejected, match="version 0x20"):
        dialect.check_login(connect, ConnectResp(status=0, authenticator_ismg=good, version=0x20))


def test_a_login_answered_with_another_command_is_a_protocol_error() -> None:
    dialect = _dialect()
    with pytest.raises(CarrierProtocolError):
        dialect.check_login(dialect.login(NOW), ActiveTestResp())


def _part(text: str, number: int = 1, phone: str = "+8613800138000") -> OutboundPart:
    parts = split(text, ref=0x42)
    return OutboundPart(
        phone_number=phone,
        content=parts.parts[number - 1],
        encoding=parts.encoding,
        udhi=parts.udhi,
        total=parts.total,
        number=number,
        reference="msg-1",
    )


def test_a_long_ucs2_part_is_one_submit_with_its_position() -> None:
    """Part 2 of 3: Pk_total 3, Pk_number 2, TP_udhi 1, Msg_Fmt 8, the UDH first, a report asked."""
    text = "短信" * 80
    submit = _dialect(service_id="MBK").submit(_part(text, number=2))
    assert submit == Submit(
        pk_total=3,
        pk_number=2,
        registered_delivery=1,
        service_id="MBK",
        fee_type="01",
        tp_udhi=1,
        msg_fmt=MsgFmt.UCS2,
        msg_src="901234",
        src_id="106900001",
        dest_terminal_ids=("13800138000",),
        content=split(text, ref=0x42).parts[1],
    )
    assert submit.content[:6] == bytes([5, 0, 3, 0x42, 3, 2])


def test_a_single_ascii_sms_has_no_header() -> None:
    submit = _dialect().submit(_part("Your code is 123456"))
    assert (submit.pk_total, submit.pk_number, submit.tp_udhi, submit.msg_fmt) == (1, 1, 0, MsgFmt.ASCII)
    assert submit.content == b"Your code is 123456"
    assert _part("x").encoding is Encoding.GSM7


def test_a_number_outside_mainland_china_is_not_served() -> None:
    with pytest.raises(NumberNotServed):
        _dialect().submit(_part("hi", phone="+14155550100"))


@pytest.mark.parametrize(
    ("result", "outcome", "provider_id"),
    [
        (0, SubmitOutcome.ACCEPTED, "113C4142A5F3BEEF"),
        (8, SubmitOutcome.THROTTLED, ""),
        (13, SubmitOutcome.NOT_SERVED, ""),
        (10, SubmitOutcome.REJECTED, ""),
    ],
)
def test_a_submit_answer_is_classified_and_named_by_its_msg_id(
    result: int, outcome: SubmitOutcome, provider_id: str
) -> None:
    """The provider id is the Msg_Id as 16 uppercase hex, only when accepted."""
    answer = _dialect().answer(SubmitResp(msg_id=MSG_ID if result == 0 else bytes(8), result=result), 7)
    assert (answer.outcome, answer.provider_id, answer.code) == (outcome, provider_id, result)


@pytest.mark.parametrize(
    ("pdu", "kind"),
    [
        (SubmitResp(msg_id=MSG_ID, result=0), PduKind.RESPONSE),
        (ActiveTestResp(), PduKind.RESPONSE),
        (TerminateResp(), PduKind.RESPONSE),
        (ActiveTest(), PduKind.HEARTBEAT),
        (Terminate(), PduKind.LOGOUT),
        (
            Deliver(msg_id=MSG_ID, dest_id="106900001", src_terminal_id="13800138000", content=b"TD"),
            PduKind.INBOUND,
        ),
        (Submit(dest_terminal_ids=("13800138000",)), PduKind.OTHER),
    ],
)
def test_each_pdu_has_its_kind(pdu: Pdu, kind: PduKind) -> None:
    assert _dialect().kind(pdu) is kind


def _report(stat: str, version: int = 0x30) -> Deliver:
    report = StatusReport(
        msg_id=MSG_ID,
        stat=stat,
        submit_time="2605061500",
        done_time="2605061501",
        dest_terminal_id="13800138000",
        smsc_sequence=9,
    )
    return Deliver(
        msg_id=bytes.fromhex("0102030405060708"),
        dest_id="106900001",
        src_terminal_id="13800138000",
        registered_delivery=1,
        content=encode_report(report, version),
    )


def test_a_delivrd_report_names_the_part_by_its_submit_msg_id() -> None:
    """The report's Msg_Id (not the DELIVER's) is the provider id; Done_time is Beijing time."""
    [report] = _dialect().inbound(_report("DELIVRD"), NOW)
    assert report == PartReport(
        "cmcc",
        "113C4142A5F3BEEF",
        DeliveryState.DELIVERED,
        "DELIVRD",
        datetime(2026, 5, 6, 15, 1, tzinfo=BEIJING),
    )


@pytest.mark.parametrize("stat", ["UNDELIV", "EXPIRED", "REJECTD", "MA:0001"])
def test_any_other_stat_is_a_failure_with_the_word_kept(stat: str) -> None:
    [report] = _dialect().inbound(_report(stat), NOW)
    assert isinstance(report, PartReport)
    assert (report.state, report.status) == (DeliveryState.FAILED, stat)


def test_a_20_report_layout_is_read_on_a_30_session() -> None:
    """Some ISMGs send the 60-byte report whatever the version (the doc's tolerance)."""
    [report] = _dialect("3.0").inbound(_report("DELIVRD", version=0x20), NOW)
    assert isinstance(report, PartReport) and report.provider_id == "113C4142A5F3BEEF"


def test_a_report_deliver_is_answered_with_its_own_msg_id_and_result_0() -> None:
    deliver = _report("DELIVRD")
    assert _dialect().reply(deliver) == DeliverResp(msg_id=deliver.msg_id, result=0)


def test_an_unreadable_report_yields_nothing_and_is_answered_result_1() -> None:
    deliver = Deliver(
        msg_id=MSG_ID, dest_id="1069", src_terminal_id="13800138000", registered_delivery=1, content=b"short"
    )
    dialect = _dialect()
    assert dialect.inbound(deliver, NOW) == []
    assert dialect.reply(deliver) == DeliverResp(msg_id=MSG_ID, result=1)


@pytest.mark.parametrize("number", ["13800138000", "8613800138000", "+8613800138000"])
def test_an_mo_text_comes_with_the_phones_e164_number(number: str) -> None:
    """UCS-2 MO text decoded; the number in any of the operators' forms becomes E.164."""
    deliver = Deliver(
        msg_id=MSG_ID,
        dest_id="106900001",
        msg_fmt=MsgFmt.UCS2,
        src_terminal_id=number,
        content="退订".encode("utf-16-be"),
    )
    assert _dialect().inbound(deliver, NOW) == [
        MobileOriginated("cmcc", "+8613800138000", "退订", "113C4142A5F3BEEF", NOW)
    ]


def test_an_ascii_mo_and_a_long_mo_part_are_read_without_the_header() -> None:
    """A part of a long MO text is passed on alone, its UDH removed (the gateway joins parts)."""
    dialect = _dialect()
    ascii_mo = Deliver(msg_id=MSG_ID, dest_id="1069", src_terminal_id="13800138000", content=b"TD")
    part = Deliver(
        msg_id=MSG_ID,
        dest_id="1069",
        tp_udhi=1,
        msg_fmt=MsgFmt.UCS2,
        src_terminal_id="13800138000",
        content=bytes([5, 0, 3, 9, 2, 1]) + "你好".encode("utf-16-be"),
    )
    texts = [item.text for pdu in (ascii_mo, part) for item in dialect.inbound(pdu, NOW)]  # type: ignore[union-attr]
    assert texts == ["TD", "你好"]


def test_an_mo_from_a_number_that_is_not_a_mobile_is_answered_and_dropped() -> None:
    deliver = Deliver(msg_id=MSG_ID, dest_id="1069", src_terminal_id="10086", content=b"hi")
    dialect = _dialect()
    assert dialect.inbound(deliver, NOW) == []
    assert dialect.reply(deliver) == DeliverResp(msg_id=MSG_ID, result=0)


def test_binary_mo_content_is_not_guessed_as_text() -> None:
    deliver = Deliver(
        msg_id=MSG_ID, dest_id="1069", msg_fmt=MsgFmt.BINARY, src_terminal_id="13800138000", content=b"\x01"
    )
    dialect = _dialect()
    assert dialect.inbound(deliver, NOW) == []
    assert dialect.reply(deliver) == DeliverResp(msg_id=MSG_ID, result=1)


def test_the_session_commands_and_their_answers() -> None:
    dialect = _dialect()
    assert (dialect.heartbeat(), dialect.logout()) == (ActiveTest(), Terminate())
    assert dialect.reply(ActiveTest()) == ActiveTestResp()
    assert dialect.reply(Terminate()) == TerminateResp()
    assert dialect.reply(Submit(dest_terminal_ids=("13800138000",))) is None


def test_sequences_count_up_and_wrap_to_zero() -> None:
    dialect = CmppDialect(CmppSettings(sp_id="901234", secret="s", src_id="1069"), first_sequence=0xFFFFFFFF)
    assert [dialect.next_sequence() for _ in range(3)] == [0xFFFFFFFF, 0, 1]


def test_the_codec_is_the_sessions_version() -> None:
    """A 2.0 dialect frames and encodes 2.0 PDUs (1-byte Result)."""
    dialect = _dialect("2.0")
    frame = dialect.encode(DeliverResp(msg_id=MSG_ID, result=0), 5)
    assert len(frame) == 21 and dialect.frames().feed(frame) == [frame]
    assert dialect.decode(frame) == (5, DeliverResp(msg_id=MSG_ID, result=0))
