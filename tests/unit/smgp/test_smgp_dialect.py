"""SmgpDialect: the URL's options, the PDUs it makes and how it reads the SMGW's (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.inbound_sms import BEIJING
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.segments import split
from carrier_adapters.smgp import (
    ActiveTest,
    ActiveTestResp,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    LoginResp,
    MsgFormat,
    Options,
    Pdu,
    Report,
    Submit,
    SubmitResp,
    encode_report,
)
from carrier_adapters.smgp.dialect import SmgpDialect, SmgpSettings, dialect_factory
from carrier_adapters.smsc import Dialect, OutboundPart, PartReport, PduKind
from carrier_adapters.smsc.url import parse_smsc_url

MSG_ID = bytes.fromhex("01234503011230000042")
DOC_MOMENT = datetime(2026, 2, 28, 16, 0, 0, tzinfo=UTC)  # 1 March 00:00:00 in Beijing
NOW = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)


def _dialect(**options: str) -> SmgpDialect:
    query = "&".join(f"{key}={value}" for key, value in {"src_id": "10690001", **options}.items())
    return dialect_factory(parse_smsc_url(f"smgp://10690001:secret@127.0.0.1?{query}"))()


def test_the_dialect_satisfies_the_session_layers_protocol() -> None:
    dialect: Dialect[Pdu, int] = _dialect()
    assert dialect.protocol == "smgp"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("src_id=1069&version=3.0", "unknown option 'version'"),
        ("service_id=X", "needs the option src_id"),
        ("src_id=abc", "src_id"),
        ("src_id=1069&service_id=ABCDEFGHIJK", "service_id"),
    ],
)
def test_a_wrong_option_is_named_without_the_url(query: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as wrong:
        dialect_factory(parse_smsc_url(f"smgp://client:topsecret@h?{query}"))
    assert "topsecret" not in str(wrong.value)


def test_a_client_id_longer_than_8_is_refused() -> None:
    with pytest.raises(ValueError, match="ClientID"):
        dialect_factory(parse_smsc_url("smgp://123456789:s@h?src_id=1069"))


def test_login_is_the_docs_example_in_mode_2() -> None:
    """ClientID 10690001, secret 'secret', 1 March 00:00:00 Beijing: the doc's bytes, sequence 1."""
    dialect = _dialect()
    login = dialect.login(DOC_MOMENT)
    assert dialect.encode(login, dialect.next_sequence()) == bytes.fromhex(
        "0000002a 00000001 00000001 3130363930303031 03a527434681556524840aeb8c42fbe9 02 11f0e540 30"
    )


def test_the_docs_server_authenticator_is_accepted() -> None:
    dialect = _dialect()
    good = bytes.fromhex("bfe79cb06a51e29af5d8c5a094b77b19")
    dialect.check_login(dialect.login(DOC_MOMENT), LoginResp(status=0, authenticator_server=good))


def test_a_server_that_cannot_prove_the_secret_is_refused() -> None:
    dialect = _dialect()
    with pytest.raises(CarrierRejected, match="did not prove it knows the secret"):
        dialect.check_login(dialect.login(NOW), LoginResp(status=0, authenticator_server=bytes(16)))


@pytest.mark.parametrize(
    ("status", "error"),
    [(21, CarrierRejected), (22, CarrierRejected), (2, CarrierUnavailable), (1, CarrierUnavailable)],
)
def test_a_refused_login_keeps_the_status(status: int, error: type[Exception]) -> None:
    """21/22 are our configuration; 1 (busy) and 2 (too many connections) the gateway's side."""
    dialect = _dialect()
    with pytest.raises(error) as refused:
        dialect.check_login(dialect.login(NOW), LoginResp(status=status, authenticator_server=bytes(16)))
    assert refused.value.code == str(status)  # type: ignore[attr-defined]


def test_a_login_answered_with_another_command_is_a_protocol_error() -> None:
    dialect = _dialect()
    with pytest.raises(CarrierProtocolError):
        dialect.check_login(dialect.login(NOW), ActiveTestResp())


def _part(text: str, number: int = 1, phone: str = "+8618900001111") -> OutboundPart:
    parts = split(text, ref=0x42)
    return OutboundPart(
        phone, parts.parts[number - 1], parts.encoding, parts.udhi, parts.total, number, "msg-1"
    )


def test_a_long_ucs2_part_carries_the_udhi_and_part_tlvs() -> None:
    text = "短信" * 80
    submit = _dialect(service_id="MBK").submit(_part(text, number=3))
    assert submit == Submit(
        need_report=1,
        priority=0,
        service_id="MBK",
        fee_type="00",
        fee_code="",
        fixed_fee="",
        msg_format=MsgFormat.UCS2,
        valid_time="",
        at_time="",
        src_term_id="10690001",
        charge_term_id="",
        dest_term_ids=("18900001111",),
        msg_content=split(text, ref=0x42).parts[2],
        options=Options(tp_udhi=1, pk_total=3, pk_number=3),
    )


def test_a_single_ascii_sms_has_no_tlvs() -> None:
    submit = _dialect().submit(_part("Your code is 123456"))
    assert (submit.msg_format, submit.options, submit.msg_content) == (
        MsgFormat.ASCII,
        Options(),
        b"Your code is 123456",
    )


def test_a_number_outside_mainland_china_is_not_served() -> None:
    with pytest.raises(NumberNotServed):
        _dialect().submit(_part("hi", phone="+14155550100"))


@pytest.mark.parametrize(
    ("status", "outcome", "provider_id"),
    [
        (0, SubmitOutcome.ACCEPTED, "01234503011230000042"),
        (1, SubmitOutcome.THROTTLED, ""),
        (58, SubmitOutcome.NOT_SERVED, ""),
        (75, SubmitOutcome.UNAVAILABLE, ""),
        (46, SubmitOutcome.REJECTED, ""),
    ],
)
def test_a_submit_answer_is_classified_and_named_by_its_msg_id(
    status: int, outcome: SubmitOutcome, provider_id: str
) -> None:
    answer = _dialect().answer(SubmitResp(msg_id=MSG_ID if status == 0 else bytes(10), status=status), 3)
    assert (answer.outcome, answer.provider_id, answer.code) == (outcome, provider_id, status)


def _deliver(content: bytes, *, is_report: int = 0, fmt: int = MsgFormat.UCS2, **fields: object) -> Deliver:
    values: dict[str, object] = {
        "msg_id": bytes.fromhex("00000105061508000007"),
        "is_report": is_report,
        "msg_format": fmt,
        "recv_time": "20260506150809",
        "src_term_id": "18900001111",
        "dest_term_id": "10690001",
        "msg_content": content,
        **fields,
    }
    return Deliver(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pdu", "kind"),
    [
        (SubmitResp(msg_id=MSG_ID, status=0), PduKind.RESPONSE),
        (ExitResp(), PduKind.RESPONSE),
        (ActiveTestResp(), PduKind.RESPONSE),
        (ActiveTest(), PduKind.HEARTBEAT),
        (Exit(), PduKind.LOGOUT),
        (_deliver(b"TD", fmt=0), PduKind.INBOUND),
    ],
)
def test_each_pdu_has_its_kind(pdu: Pdu, kind: PduKind) -> None:
    assert _dialect().kind(pdu) is kind


def _report(stat: str) -> Deliver:
    report = Report(msg_id=MSG_ID, stat=stat, submit_date="2605061500", done_date="2605061502")
    return _deliver(encode_report(report), is_report=1, fmt=0)


def test_a_report_names_the_part_by_the_submit_resps_msg_id() -> None:
    [report] = _dialect().inbound(_report("DELIVRD"), NOW)
    assert report == PartReport(
        "ctcc",
        "01234503011230000042",
        DeliveryState.DELIVERED,
        "DELIVRD",
        datetime(2026, 5, 6, 15, 2, tzinfo=BEIJING),
    )


@pytest.mark.parametrize("stat", ["UNDELIV", "EXPIRED", "REJECTD"])
def test_any_other_stat_is_a_failure_with_the_word_kept(stat: str) -> None:
    [report] = _dialect().inbound(_report(stat), NOW)
    assert isinstance(report, PartReport) and (report.state, report.status) == (DeliveryState.FAILED, stat)


def test_a_report_with_a_hex_id_and_underscored_labels_is_read() -> None:
    """The doc's reader tolerances: the id as 20 hex digits, ``submit_date:``, a short Text."""
    content = (
        b"id:01234503011230000042 sub:001 dlvrd:001 submit_date:2605061500 done_date:2605061502"
        b" stat:DELIVRD err:000 text:"
    )
    [report] = _dialect().inbound(_deliver(content, is_report=1, fmt=0), NOW)
    assert isinstance(report, PartReport) and report.provider_id == "01234503011230000042"


def test_deliver_answers_echo_the_msg_id() -> None:
    """0 for what was read; 10 for a report that cannot be read (it yields nothing)."""
    dialect = _dialect()
    good, bad = _report("DELIVRD"), _deliver(b"id:garbage", is_report=1, fmt=0)
    assert dialect.reply(good) == DeliverResp(msg_id=good.msg_id, status=0)
    assert dialect.inbound(bad, NOW) == []
    assert dialect.reply(bad) == DeliverResp(msg_id=bad.msg_id, status=10)


def test_an_mo_text_comes_with_the_phones_e164_number_and_receive_time() -> None:
    [mo] = _dialect().inbound(_deliver("退订".encode("utf-16-be")), NOW)
    assert mo == MobileOriginated(
        "ctcc",
        "+8618900001111",
        "退订",
        "00000105061508000007",
        datetime(2026, 5, 6, 15, 8, 9, tzinfo=BEIJING),
    )


def test_a_long_mo_part_is_read_without_its_header() -> None:
    """TLV TP_udhi 1: the UDH is removed and the part passed on alone (the gateway joins parts)."""
    content = bytes([5, 0, 3, 7, 2, 2]) + "你好".encode("utf-16-be")
    deliver = _deliver(content, options=Options(tp_udhi=1, pk_total=2, pk_number=2))
    [mo] = _dialect().inbound(deliver, NOW)
    assert isinstance(mo, MobileOriginated) and mo.text == "你好"


def test_the_session_commands_and_their_answers() -> None:
    dialect = _dialect()
    assert (dialect.heartbeat(), dialect.logout()) == (ActiveTest(), Exit())
    assert dialect.reply(ActiveTest()) == ActiveTestResp()
    assert dialect.reply(Exit()) == ExitResp()
    assert dialect.reply(SubmitResp(msg_id=MSG_ID, status=0)) is None


def test_sequences_count_up_and_wrap_to_zero() -> None:
    dialect = SmgpDialect(SmgpSettings(client_id="c", secret="s", src_id="1069"), first_sequence=0xFFFFFFFF)
    assert [dialect.next_sequence() for _ in range(3)] == [0xFFFFFFFF, 0, 1]
