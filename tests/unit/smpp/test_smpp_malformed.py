"""Malformed SMPP PDUs raise InvalidPdu with the status an SMSC answers; bad values never encode."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carrier_adapters.pdu import PduError
from carrier_adapters.smpp import (
    BindTransceiver,
    Codec,
    Command,
    CommandStatus,
    DeliverSm,
    EnquireLink,
    GenericNack,
    InvalidPdu,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Tlvs,
)

_S = CommandStatus


def _frame(command: int, body: str, sequence: int = 4, status: int = 0) -> bytes:
    data = bytes.fromhex(body.replace(" ", ""))
    return struct.pack(">IIII", 16 + len(data), command, status, sequence) + data


_SUBMIT_HEAD = "00 0101 313200 0101 313300"  # service_type "", source 1/1 "12", dest 1/1 "13"
_SUBMIT_TAIL = "00 00 00 00 00 01 00 01 00"  # esm..replace_if_present, data_coding 1, default id


def _submit(tail_and_rest: str) -> bytes:
    return _frame(Command.SUBMIT_SM, _SUBMIT_HEAD + tail_and_rest)


def _status_of(frame: bytes) -> int:
    with pytest.raises(InvalidPdu) as caught:
        Codec().decode(frame)
    return caught.value.status


def test_unknown_command_id_asks_for_generic_nack_with_its_sequence() -> None:
    """An unknown command_id is ESME_RINVCMDID and the error keeps the PDU's header."""
    with pytest.raises(InvalidPdu) as caught:
        Codec().decode(_frame(0x00000021, "", sequence=77))
    assert caught.value.status == _S.ESME_RINVCMDID
    assert caught.value.header is not None and caught.value.header.sequence_number == 77


def test_command_length_must_match_the_frame() -> None:
    """A frame whose command_length disagrees with its size, or a short header, is RINVCMDLEN."""
    frame = _frame(Command.ENQUIRE_LINK, "")
    assert _status_of(frame + b"\0") == _S.ESME_RINVCMDLEN
    assert _status_of(frame[:12]) == _S.ESME_RINVCMDLEN


def test_a_body_on_a_bodyless_command_is_rinvcmdlen() -> None:
    """enquire_link, unbind and generic_nack carry no body; a byte more is ESME_RINVCMDLEN."""
    for command in (Command.ENQUIRE_LINK, Command.UNBIND, Command.GENERIC_NACK):
        assert _status_of(_frame(command, "00")) == _S.ESME_RINVCMDLEN


def test_submit_resp_ok_without_message_id_is_rinvcmdlen() -> None:
    """A successful submit_sm_resp must carry a message_id."""
    assert _status_of(_frame(Command.SUBMIT_SM_RESP, "")) == _S.ESME_RINVCMDLEN


def test_every_truncation_of_a_submit_sm_is_invalid() -> None:
    """A submit_sm cut anywhere but between its TLVs raises InvalidPdu, never another exception."""
    whole = _submit(_SUBMIT_TAIL + "02 6869" + "020e 0001 02")
    tlv_start = len(whole) - 5
    for end in [*range(16, tlv_start), *range(tlv_start + 1, len(whole))]:
        cut = struct.pack(">I", end) + whole[4:end]
        with pytest.raises(InvalidPdu):
            Codec().decode(cut)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("00 0101 " + "31" * 21 + " 0101 313300", _S.ESME_RINVSRCADR),
        ("00 0101 313200 0101 " + "31" * 21, _S.ESME_RINVDSTADR),
        ("414243444546 00", _S.ESME_RINVSERTYP),
        ("00 0101 31ff00 0101 313300" + _SUBMIT_TAIL, _S.ESME_RINVSRCADR),
    ],
    ids=["source_addr over 20", "destination_addr over 20", "service_type over 5", "non-ASCII"],
)
def test_overlong_or_non_ascii_address_fields_name_their_status(body: str, status: int) -> None:
    """A C-string without its NUL in its size or with a non-ASCII byte names the field's status."""
    assert _status_of(_frame(Command.SUBMIT_SM, body)) == status


def test_time_fields_must_be_empty_or_smpp_times() -> None:
    """schedule_delivery_time / validity_period not in YYMMDDhhmmsstnnp form are rejected."""
    bad = "616263" + "00"  # "abc" NUL
    assert _status_of(_submit("00 00 00" + bad + "00 01 00 01 00 00")) == _S.ESME_RINVSCHED
    assert _status_of(_submit("00 00 00 00" + bad + "01 00 01 00 00")) == _S.ESME_RINVEXPIRY


def test_sm_length_past_the_pdu_is_rinvmsglen() -> None:
    """An sm_length larger than what follows is ESME_RINVMSGLEN."""
    assert _status_of(_submit(_SUBMIT_TAIL + "05 6869")) == _S.ESME_RINVMSGLEN


def test_short_message_and_message_payload_together_are_rinvmsglen() -> None:
    """message_payload may only replace an empty short_message."""
    assert _status_of(_submit(_SUBMIT_TAIL + "02 6869 0424 0002 6869")) == _S.ESME_RINVMSGLEN


@pytest.mark.parametrize(
    ("tlvs", "status"),
    [
        ("020e 0005 02", _S.ESME_RINVOPTPARSTREAM),
        ("020e 00", _S.ESME_RINVOPTPARSTREAM),
        ("020e 0002 0002", _S.ESME_RINVPARLEN),
        ("0427 0001 02 0427 0001 03", _S.ESME_RINVOPTPARSTREAM),
        ("001e 0003 61ff00", _S.ESME_RINVOPTPARAMVAL),
    ],
    ids=["overrun", "cut header", "wrong size", "duplicate", "non-ASCII receipted id"],
)
def test_broken_tlvs_name_their_status(tlvs: str, status: int) -> None:
    """TLV streams that overrun, repeat a tag or size a known tag wrong are rejected."""
    assert _status_of(_submit(_SUBMIT_TAIL + "00" + tlvs)) == status


def test_bind_fields_name_their_status() -> None:
    """An over-long system_id or password answers RINVSYSID / RINVPASWD."""
    long_id = "41" * 16
    assert _status_of(_frame(Command.BIND_TRANSCEIVER, long_id)) == _S.ESME_RINVSYSID
    long_password = "4100" + "42" * 9
    assert _status_of(_frame(Command.BIND_TRANSCEIVER, long_password)) == _S.ESME_RINVPASWD


def _message(**changes: object) -> SubmitSm:
    fields: dict[str, object] = {"source_addr": "a", "destination_addr": "b", "short_message": b""}
    fields.update(changes)
    return SubmitSm(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "pdu",
    [
        BindTransceiver(system_id="x" * 16, password="p"),
        BindTransceiver(system_id="gw", password="p" * 9),
        BindTransceiver(system_id="gw", password="p", addr_ton=256),
        _message(source_addr="x" * 21),
        _message(destination_addr="电话"),
        _message(short_message=b"x" * 255),
        _message(short_message=b"x", tlvs=Tlvs(message_payload=b"y")),
        _message(validity_period="2401011200"),
        _message(tlvs=Tlvs(other=(Tlv(0x0427, b"\x02"),))),
        _message(tlvs=Tlvs(sar_msg_ref_num=0x10000)),
        _message(tlvs=Tlvs(receipted_message_id="i" * 65)),
        SubmitSmResp(command_status=-1),
    ],
    ids=[
        "system_id 16",
        "password 9",
        "addr_ton 256",
        "source 21",
        "non-ASCII destination",
        "short_message 255",
        "short_message and payload",
        "validity not SMPP time",
        "named tag in other",
        "sar ref over 16 bits",
        "receipted id 65",
        "negative status",
    ],
)
def test_values_that_do_not_fit_never_encode(pdu: Pdu) -> None:
    """A value too long, out of range or against the layout raises PduError, never truncated."""
    with pytest.raises(PduError):
        Codec().encode(pdu, 1)


def test_sequence_numbers_stay_in_range() -> None:
    """Requests need 1..0x7FFFFFFF; only generic_nack may use 0."""
    codec = Codec()
    for sequence in (0, 0x80000000):
        with pytest.raises(PduError):
            codec.encode(EnquireLink(), sequence)
    assert codec.encode(GenericNack(command_status=3), 0)[12:] == b"\0\0\0\0"


_COMMANDS = [int(command) for command in Command]


@given(st.sampled_from(_COMMANDS), st.binary(max_size=120), st.integers(0, 0xFFFFFFFF))
def test_random_bodies_raise_only_pdu_errors(command: int, body: bytes, status: int) -> None:
    """After a valid header, any body raises PduError or decodes to a PDU that re-encodes stably."""
    codec = Codec()
    frame = struct.pack(">IIII", 16 + len(body), command, status, 1) + body
    try:
        sequence, pdu = codec.decode(frame)
    except PduError:
        return
    assert codec.decode(codec.encode(pdu, sequence)) == (sequence, pdu)


_STREAM_PDUS: list[tuple[int, Pdu]] = [
    (1, BindTransceiver(system_id="gw01", password="secret1")),
    (2, EnquireLink()),
    (3, _message(short_message=b"hello", tlvs=Tlvs(sar_total_segments=2))),
    (4, DeliverSm(source_addr="1", destination_addr="2", short_message=b"id:x stat:DELIVRD")),
    (5, SubmitSmResp(command_status=0, message_id="m-5")),
]


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=10))
def test_any_split_of_a_stream_yields_the_same_pdus(cuts: list[int]) -> None:
    """However a stream of several encoded PDUs is cut into reads, the same PDUs come out."""
    codec = Codec()
    stream = b"".join(codec.encode(pdu, sequence) for sequence, pdu in _STREAM_PDUS)
    bounds = [0, *sorted(min(cut, len(stream)) for cut in cuts), len(stream)]
    frames = codec.frames()
    out = [
        codec.decode(frame)
        for start, end in itertools.pairwise(bounds)
        for frame in frames.feed(stream[start:end])
    ]
    assert out == _STREAM_PDUS
    assert frames.pending == 0


def test_frames_refuse_a_length_beyond_the_bound() -> None:
    """A command_length below the header or above MAX_PDU_LENGTH cannot be framed."""
    with pytest.raises(PduError):
        Codec().frames().feed(struct.pack(">I", 8193) + bytes(12))
    with pytest.raises(PduError):
        Codec().frames().feed(struct.pack(">I", 15) + bytes(12))


def test_error_messages_do_not_carry_field_values() -> None:
    """A rejected address does not put the number into the exception text."""
    number = "8613800138000123456789"
    body = "00 0101 " + number.encode().hex() + " 0101 313300"
    with pytest.raises(InvalidPdu) as caught:
        Codec().decode(_frame(Command.SUBMIT_SM, body))
    assert number[:8] not in str(caught.value)
