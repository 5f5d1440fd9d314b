"""Malformed SGIP input is a PduError, never another exception; framing survives any split."""

from __future__ import annotations

import contextlib
import dataclasses
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carrier_adapters.pdu import PduError
from carrier_adapters.sgip import (
    MAX_PDU_LENGTH,
    Bind,
    BindResp,
    Codec,
    Command,
    Deliver,
    DeliverResp,
    Pdu,
    Report,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
)

SEQUENCE_HEX = "B36924B942C4F1D900000007"
SEQUENCE = SgipSequence(3010012345, 1120203225, 7)
CODEC = Codec()


def _frame(command: int, body: bytes) -> bytes:
    """A header with a correct Message_Length around ``body``."""
    return struct.pack(">II", 20 + len(body), command) + bytes.fromhex(SEQUENCE_HEX) + body


SUBMIT = Submit(
    sp_number="1065500012",
    user_numbers=("8613012345678",),
    corp_id="12345",
    service_type="NOTICE",
    message_content=b"\x00T",
)

SAMPLES: list[Pdu] = [
    Bind(login_type=1, login_name="sp", login_password="pw"),
    BindResp(result=0),
    Unbind(),
    UnbindResp(),
    SUBMIT,
    SubmitResp(result=11),
    Deliver(user_number="8613012345678", sp_number="1065500012", message_content=b"\x00T"),
    DeliverResp(result=0),
    Report(submit_sequence_number=SEQUENCE, user_number="8613012345678", state=0),
    ReportResp(result=0),
]


@pytest.mark.parametrize("size", [0, 4, 19])
def test_a_frame_shorter_than_the_header_is_refused(size: int) -> None:
    """Fewer than 20 bytes cannot hold an SGIP header."""
    with pytest.raises(PduError, match="shorter than the SGIP header"):
        CODEC.decode(bytes.fromhex("0000001400000002" + SEQUENCE_HEX)[:size])


@pytest.mark.parametrize("length", ["00000013", "00000015", "00000800"])
def test_a_message_length_that_is_not_the_frame_length_is_refused(length: str) -> None:
    """Message_Length must count exactly the frame's bytes, header included."""
    with pytest.raises(PduError, match="Message_Length"):
        CODEC.decode(bytes.fromhex(length + "00000002" + SEQUENCE_HEX))


def test_a_frame_over_2048_bytes_is_refused() -> None:
    """The protocol caps a PDU at 2 KiB, whatever it says it holds."""
    with pytest.raises(PduError, match="exceeds 2048"):
        CODEC.decode(_frame(Command.SUBMIT, bytes(MAX_PDU_LENGTH - 19)))


@pytest.mark.parametrize("command", [0x00000000, 0x00000006, 0x00000011, 0x00001000, 0x80000000])
def test_an_unknown_command_id_is_refused(command: int) -> None:
    """Commands outside the SP-SMG set (AddSP, UserRpt, Trace, ...) are not decoded."""
    with pytest.raises(PduError, match="unknown SGIP command id"):
        CODEC.decode(_frame(command, b""))


@pytest.mark.parametrize(
    "pdu", [p for p in SAMPLES if not isinstance(p, Unbind | UnbindResp)], ids=lambda p: type(p).__name__
)
def test_a_body_one_byte_short_is_refused(pdu: Pdu) -> None:
    """Dropping the last byte of any body (and fixing the length field) breaks the command."""
    wire = CODEC.encode(pdu, SEQUENCE)
    command = int.from_bytes(wire[4:8], "big")
    with pytest.raises(PduError):
        CODEC.decode(_frame(command, wire[20:-1]))


@pytest.mark.parametrize("pdu", SAMPLES, ids=lambda p: type(p).__name__)
def test_a_body_one_byte_long_is_refused(pdu: Pdu) -> None:
    """A byte after the last field (the length field counting it) is malformed."""
    wire = CODEC.encode(pdu, SEQUENCE)
    command = int.from_bytes(wire[4:8], "big")
    with pytest.raises(PduError, match="unexpected bytes"):
        CODEC.decode(_frame(command, wire[20:] + b"\x00"))


@pytest.mark.parametrize("count", [0, 101])
def test_encoding_a_user_count_outside_1_to_100_is_refused(count: int) -> None:
    """A SUBMIT goes to 1-100 numbers; the codec does not encode 0 or 101."""
    numbers = ("8613012345678",) * count
    with pytest.raises(PduError, match="UserCount"):
        CODEC.encode(dataclasses.replace(SUBMIT, user_numbers=numbers), SEQUENCE)


def test_a_received_user_count_of_0_decodes_for_the_receiver_to_answer() -> None:
    """UserCount 0 is a well-formed layout: it decodes, and the SMG answers it with Result 5."""
    fields = [
        "31" + "00" * 20,  # SPNumber "1"
        "00" * 21,  # ChargeNumber empty
        "00",  # UserCount 0: no UserNumber follows
        "00" * 5,  # CorpId
        "00" * 10,  # ServiceType
        "01",  # FeeType
        "00" * 6,  # FeeValue
        "00" * 6,  # GivenValue
        "00",  # AgentFlag
        "02",  # MorelatetoMTFlag
        "00",  # Priority
        "00" * 16,  # ExpireTime
        "00" * 16,  # ScheduleTime
        "01",  # ReportFlag
        "00",  # TP_pid
        "00",  # TP_udhi
        "08",  # MessageCoding
        "00",  # MessageType
        "00000000",  # MessageLength 0
        "00" * 8,  # Reserve
    ]
    body = bytes.fromhex("".join(fields))
    _, pdu = CODEC.decode(_frame(Command.SUBMIT, body))
    assert isinstance(pdu, Submit)
    assert pdu.user_numbers == ()
    assert pdu.sp_number == "1"


def test_a_message_length_past_the_body_is_refused() -> None:
    """A DELIVER whose MessageLength runs past the frame is malformed."""
    body = bytes(42) + bytes.fromhex("000008FFFFFFFF") + b"ab" + bytes(8)
    with pytest.raises(PduError):
        CODEC.decode(_frame(Command.DELIVER, body))


def test_a_non_ascii_byte_in_a_text_field_is_refused() -> None:
    """Login_Name is ASCII text; a 0xFF byte in it is malformed."""
    body = bytes.fromhex("01ff" + "00" * 15 + "00" * 16 + "00" * 8)
    with pytest.raises(PduError, match="non-ASCII"):
        CODEC.decode(_frame(Command.BIND, body))


@pytest.mark.parametrize(
    "pdu",
    [
        Bind(login_type=1, login_name="x" * 17, login_password=""),
        Bind(login_type=1, login_name="登录", login_password=""),
        Bind(login_type=256, login_name="", login_password=""),
        SubmitResp(result=-1),
        ReportResp(result=0, reserve=b"123456789"),
        dataclasses.replace(SUBMIT, corp_id="123456"),
        dataclasses.replace(SUBMIT, user_numbers=("8613012345678" * 2,)),
        dataclasses.replace(SUBMIT, message_content=bytes(MAX_PDU_LENGTH)),
        Deliver(user_number="8613012345678", sp_number="1" * 22, message_content=b""),
        Report(submit_sequence_number=SEQUENCE, user_number="", state=0, error_code=5001),
    ],
    ids=[
        "long login name",
        "non-ASCII login name",
        "login type over a byte",
        "negative result",
        "reserve over 8 bytes",
        "corp id over 5",
        "user number over 21",
        "PDU over 2048",
        "sp number over 21",
        "error code over a byte",
    ],
)
def test_encoding_a_value_that_breaks_its_field_is_refused(pdu: Pdu) -> None:
    """Values are never truncated: a value too long or too large for its field is a PduError."""
    with pytest.raises(PduError):
        CODEC.encode(pdu, SEQUENCE)


@pytest.mark.parametrize("length", ["00000013", "00000801"])
def test_frames_refuse_a_length_outside_header_to_2048(length: str) -> None:
    """The frame buffer cannot resynchronise after a length below the header or over 2 KiB."""
    with pytest.raises(PduError):
        CODEC.frames().feed(bytes.fromhex(length + "00000002"))


_numbers = st.text("0123456789", min_size=1, max_size=21)
_ascii = st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=5)
_byte = st.integers(0, 255)
_sequences = st.builds(
    SgipSequence,
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
)
_pdus: st.SearchStrategy[Pdu] = st.one_of(
    st.builds(Bind, login_type=_byte, login_name=_ascii, login_password=_ascii),
    st.builds(BindResp, result=_byte),
    st.just(Unbind()),
    st.just(UnbindResp()),
    st.builds(
        Submit,
        sp_number=_numbers,
        charge_number=_numbers,
        user_numbers=st.lists(_numbers, min_size=1, max_size=3).map(tuple),
        corp_id=st.text("0123456789", max_size=5),
        service_type=_ascii,
        fee_type=_byte,
        priority=_byte,
        tp_udhi=_byte,
        message_coding=_byte,
        message_content=st.binary(max_size=160),
        reserve=st.binary(max_size=8).map(lambda b: b.rstrip(b"\0")),
    ),
    st.builds(SubmitResp, result=_byte),
    st.builds(
        Deliver,
        user_number=_numbers,
        sp_number=_numbers,
        tp_udhi=_byte,
        message_coding=_byte,
        message_content=st.binary(max_size=160),
    ),
    st.builds(DeliverResp, result=_byte),
    st.builds(
        Report,
        submit_sequence_number=_sequences,
        user_number=_numbers,
        state=_byte,
        error_code=_byte,
    ),
    st.builds(ReportResp, result=_byte),
)


@given(_pdus, _sequences)
def test_decode_inverts_encode(pdu: Pdu, sequence: SgipSequence) -> None:
    """Any encodable PDU decodes back to itself and its sequence."""
    assert CODEC.decode(CODEC.encode(pdu, sequence)) == (sequence, pdu)


@given(st.lists(st.tuples(_pdus, _sequences), min_size=1, max_size=6), st.data())
def test_any_split_of_a_stream_yields_the_same_pdus(
    items: list[tuple[Pdu, SgipSequence]], data: st.DataObject
) -> None:
    """However the stream is cut into reads, the frames decode to the PDUs sent, in order."""
    stream = b"".join(CODEC.encode(pdu, sequence) for pdu, sequence in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    buffer = CODEC.frames()
    frames: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        frames += buffer.feed(stream[start:end])
    assert [CODEC.decode(frame) for frame in frames] == [(s, p) for p, s in items]
    assert buffer.pending == 0


@given(st.sampled_from(list(Command)), st.binary(max_size=400))
def test_random_bodies_after_a_valid_header_raise_only_pdu_error(command: Command, body: bytes) -> None:
    """Garbage after a correct header either decodes or raises PduError, nothing else."""
    with contextlib.suppress(PduError):
        CODEC.decode(_frame(command, body))
