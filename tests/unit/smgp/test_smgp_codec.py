"""SMGP 3.0 codec: hand-written byte vectors for every PDU, malformed input, stream framing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carrier_adapters.pdu import PduError
from carrier_adapters.smgp import (
    ActiveTest,
    ActiveTestResp,
    Codec,
    Command,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    Login,
    LoginResp,
    Options,
    Pdu,
    Submit,
    SubmitResp,
)

CODEC = Codec()
AUTH = bytes(range(16))
MSG_ID = bytes.fromhex("01234503011230000042")  # SMGW 012345, 03-01 12:30, sequence 000042


def _hex(*fields: str) -> bytes:
    return bytes.fromhex("".join(fields))


LOGIN = Login(client_id="12345678", authenticator_client=AUTH, login_mode=2, timestamp=301000000)
LOGIN_BYTES = _hex(
    "0000002a", "00000001", "00000001",  # PacketLength 42, LOGIN, SequenceID 1
    "3132333435363738",  # ClientID "12345678"
    "000102030405060708090a0b0c0d0e0f",  # AuthenticatorClient
    "02",  # LoginMode 2 (transmit)
    "11f0e540",  # TimeStamp 0301000000
    "30",  # ClientVersion 3.0
)  # fmt: skip

LOGIN_RESP = LoginResp(status=0, authenticator_server=AUTH[::-1])
LOGIN_RESP_BYTES = _hex(
    "00000021", "80000001", "00000001",  # PacketLength 33, LOGIN_RESP, SequenceID 1
    "00000000",  # Status 0
    "0f0e0d0c0b0a09080706050403020100",  # AuthenticatorServer
    "30",  # ServerVersion 3.0
)  # fmt: skip

SUBMIT = Submit(
    need_report=1,
    priority=1,
    service_id="SVC",
    fee_type="00",
    fee_code="000000",
    fixed_fee="",
    msg_format=8,
    valid_time="",
    at_time="",
    src_term_id="10690001",
    charge_term_id="",
    dest_term_ids=("17300000001",),
    msg_content=bytes.fromhex("0500032a02014f60"),
    options=Options(tp_udhi=1, link_id="LNK1", pk_total=2, pk_number=1),
)
SUBMIT_BYTES = _hex(
    "000000b2", "00000002", "00000007",  # PacketLength 178, SUBMIT, SequenceID 7
    "06",  # MsgType 6 (MT)
    "01",  # NeedReport 1
    "01",  # Priority 1
    "535643" + "00" * 7,  # ServiceID "SVC" (10)
    "3030",  # FeeType "00" (2)
    "303030303030",  # FeeCode "000000" (6)
    "00" * 6,  # FixedFee empty (6)
    "08",  # MsgFormat 8 (UCS-2)
    "00" * 17,  # ValidTime empty (17)
    "00" * 17,  # AtTime empty (17)
    "3130363930303031" + "00" * 13,  # SrcTermID "10690001" (21)
    "00" * 21,  # ChargeTermID empty (21)
    "01",  # DestTermIDCount 1
    "3137333030303030303031" + "00" * 10,  # DestTermID "17300000001" (21)
    "08",  # MsgLength 8
    "0500032a0201" "4f60",  # MsgContent: UDH ref 0x2a part 1 of 2, then U+4F60
    "00" * 8,  # Reserve (8)
    "0002" "0001" "01",  # TLV TP_udhi = 1
    "0003" "0004" "4c4e4b31",  # TLV LinkID = "LNK1"
    "0009" "0001" "02",  # TLV PkTotal = 2
    "000a" "0001" "01",  # TLV PkNumber = 1
)  # fmt: skip

SUBMIT_RESP = SubmitResp(msg_id=MSG_ID, status=0)
SUBMIT_RESP_BYTES = _hex(
    "0000001a", "80000002", "00000007",  # PacketLength 26, SUBMIT_RESP, SequenceID 7
    "01234503011230000042",  # MsgID
    "00000000",  # Status 0
)  # fmt: skip

DELIVER = Deliver(
    msg_id=MSG_ID,
    is_report=0,
    msg_format=8,
    recv_time="20250301123005",
    src_term_id="17300000001",
    dest_term_id="10690001",
    msg_content=bytes.fromhex("4f60597d"),
)
DELIVER_BYTES = _hex(
    "0000005d", "00000003", "00000009",  # PacketLength 93, DELIVER, SequenceID 9
    "01234503011230000042",  # MsgID
    "00",  # IsReport 0 (MO)
    "08",  # MsgFormat 8
    "3230323530333031313233303035",  # RecvTime "20250301123005" (14)
    "3137333030303030303031" + "00" * 10,  # SrcTermID "17300000001" (21)
    "3130363930303031" + "00" * 13,  # DestTermID "10690001" (21)
    "04",  # MsgLength 4
    "4f60597d",  # MsgContent UCS-2 U+4F60 U+597D
    "00" * 8,  # Reserve (8)
)  # fmt: skip

DELIVER_RESP = DeliverResp(msg_id=MSG_ID, status=0)
DELIVER_RESP_BYTES = _hex(
    "0000001a", "80000003", "00000009",  # PacketLength 26, DELIVER_RESP, SequenceID 9
    "01234503011230000042",  # MsgID echoed
    "00000000",  # Status 0
)  # fmt: skip

VECTORS: list[tuple[Pdu, int, bytes]] = [
    (LOGIN, 1, LOGIN_BYTES),
    (LOGIN_RESP, 1, LOGIN_RESP_BYTES),
    (SUBMIT, 7, SUBMIT_BYTES),
    (SUBMIT_RESP, 7, SUBMIT_RESP_BYTES),
    (DELIVER, 9, DELIVER_BYTES),
    (DELIVER_RESP, 9, DELIVER_RESP_BYTES),
    (ActiveTest(), 0x01020304, _hex("0000000c", "00000004", "01020304")),  # 12, ACTIVE_TEST
    (ActiveTestResp(), 0x01020304, _hex("0000000c", "80000004", "01020304")),  # 12, its RESP
    (Exit(), 0xFFFFFFFF, _hex("0000000c", "00000006", "ffffffff")),  # 12, EXIT, max sequence
    (ExitResp(), 0xFFFFFFFF, _hex("0000000c", "80000006", "ffffffff")),  # 12, EXIT_RESP
]
IDS = [type(pdu).__name__ for pdu, _, _ in VECTORS]


@pytest.mark.parametrize(("pdu", "sequence", "wire"), VECTORS, ids=IDS)
def test_encode_writes_the_hand_written_bytes(pdu: Pdu, sequence: int, wire: bytes) -> None:
    """Every PDU encodes field by field as the SMGP 3.0 layout spells it."""
    assert CODEC.encode(pdu, sequence) == wire


@pytest.mark.parametrize(("pdu", "sequence", "wire"), VECTORS, ids=IDS)
def test_decode_reads_the_hand_written_bytes(pdu: Pdu, sequence: int, wire: bytes) -> None:
    """Every hand-written PDU decodes to its dataclass and sequence."""
    assert CODEC.decode(wire) == (sequence, pdu)


def test_command_ids_are_the_protocol_request_ids() -> None:
    """Requests are 1-4 and 6; each response is its request with bit 31 set."""
    requests = {Command.LOGIN: 1, Command.SUBMIT: 2, Command.DELIVER: 3, Command.ACTIVE_TEST: 4}
    assert {command: int(command) for command in requests} == requests
    assert int(Command.EXIT) == 6
    for name in ("LOGIN", "SUBMIT", "DELIVER", "ACTIVE_TEST", "EXIT"):
        assert Command[f"{name}_RESP"] == Command[name] | 0x80000000


def test_short_client_id_is_nul_padded_to_eight_bytes() -> None:
    """A ClientID shorter than 8 characters is padded with NULs and read back without them."""
    login = Login(client_id="SP01", authenticator_client=AUTH, login_mode=0, timestamp=1)
    wire = CODEC.encode(login, 1)
    assert wire[12:20] == _hex("53503031", "00000000")  # "SP01" + 4 NULs
    assert CODEC.decode(wire) == (1, login)


def test_authenticator_with_trailing_nul_bytes_survives() -> None:
    """Binary fields keep their trailing 0x00 bytes (an MD5 may end in one)."""
    login = Login(client_id="12345678", authenticator_client=b"\x01" + bytes(15), login_mode=0, timestamp=0)
    assert CODEC.decode(CODEC.encode(login, 1)) == (1, login)


def test_submit_to_several_terminals_and_with_reserve() -> None:
    """DestTermIDCount counts 21-byte DestTermIDs; Reserve is NUL-padded to 8 bytes."""
    submit = Submit(
        need_report=0,
        priority=0,
        service_id="",
        fee_type="",
        fee_code="",
        fixed_fee="",
        msg_format=0,
        valid_time="",
        at_time="",
        src_term_id="1069",
        charge_term_id="",
        dest_term_ids=("17300000001", "17300000002", "17300000003"),
        msg_content=b"hi",
        reserve=b"r",
    )
    wire = CODEC.encode(submit, 3)
    assert int.from_bytes(wire[:4], "big") == len(wire) == 126 + 3 * 21 + 2
    assert wire[116] == 3  # DestTermIDCount: the header, then 104 body bytes before it
    assert CODEC.decode(wire) == (3, submit)


def _submit(**changes: object) -> Submit:
    from dataclasses import replace

    return replace(SUBMIT, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "pdu",
    [
        _submit(service_id="SERVICE-ID1"),  # 11 characters in a 10-byte field
        _submit(src_term_id="1" * 22),
        _submit(dest_term_ids=()),
        _submit(dest_term_ids=("17300000001",) * 101),
        _submit(msg_content=bytes(256)),
        _submit(priority=256),
        _submit(fee_code="费用"),
        _submit(options=Options(link_id="L" * 21)),
        Login(client_id="123456789", authenticator_client=AUTH, login_mode=0, timestamp=0),
        Login(client_id="12345678", authenticator_client=AUTH[:15], login_mode=0, timestamp=0),
        SubmitResp(msg_id=MSG_ID[:9], status=0),
        DeliverResp(msg_id=MSG_ID, status=-1),
    ],
)
def test_encode_refuses_fields_that_do_not_fit(pdu: Pdu) -> None:
    """Over-long, non-ASCII, out-of-range and wrong-size fields raise PduError, never truncate."""
    with pytest.raises(PduError):
        CODEC.encode(pdu, 1)


def test_encode_refuses_a_pdu_over_the_maximum_length() -> None:
    """A PDU longer than MAX_PDU_LENGTH is refused before it reaches a peer's FrameBuffer."""
    with pytest.raises(PduError):
        CODEC.encode(_submit(options=Options(others=((0x7FFF, bytes(5000)),))), 1)


def _framed(rest: bytes) -> bytes:
    """``rest`` (everything after PacketLength) behind a PacketLength that matches it."""
    return (4 + len(rest)).to_bytes(4, "big") + rest


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (LOGIN_BYTES[:11], "ends before"),  # shorter than the header
        (LOGIN_BYTES[:-1], "PacketLength 42 but 41"),
        (_framed(LOGIN_BYTES[4:-1]), "ends before"),  # body one byte short
        (_framed(_hex("00000006", "00000001", "00")), "unexpected bytes"),  # EXIT with a body byte
        (_framed(SUBMIT_RESP_BYTES[4:] + b"\0"), "unexpected bytes"),  # SUBMIT_RESP one byte long
        (_hex("0000000c", "00000005", "00000001"), "unknown RequestID"),  # FORWARD is not decoded
        (_hex("0000000c", "80000000", "00000001"), "unknown RequestID"),
        (LOGIN_BYTES[:12] + b"\xff" + LOGIN_BYTES[13:], "non-ASCII"),  # in ClientID
        (SUBMIT_BYTES[:116] + b"\x00" + SUBMIT_BYTES[117:], "DestTermIDCount 0"),
        (SUBMIT_BYTES[:116] + b"\x65" + SUBMIT_BYTES[117:], "DestTermIDCount 101"),
        (DELIVER_BYTES[:80] + b"\x20" + DELIVER_BYTES[81:], "ends before"),  # MsgLength 32 past end
        (_framed(DELIVER_BYTES[4:] + _hex("000200")), "ends before"),  # a TLV cut inside its Length
        (_framed(DELIVER_BYTES[4:] + _hex("0002", "0002", "01")), "ends before"),  # value cut short
    ],
)
def test_decode_refuses_malformed_frames(frame: bytes, reason: str) -> None:
    """Truncated, over-long, unknown and badly encoded PDUs raise PduError saying why."""
    with pytest.raises(PduError, match=reason):
        CODEC.decode(frame)


@given(st.lists(st.sampled_from(VECTORS), min_size=1, max_size=6), st.data())
def test_frames_survive_any_split_of_the_stream(
    vectors: list[tuple[Pdu, int, bytes]], data: st.DataObject
) -> None:
    """Feeding several PDUs cut at arbitrary points yields the same PDUs in order."""
    stream = b"".join(CODEC.encode(pdu, sequence) for pdu, sequence, _ in vectors)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    frames = CODEC.frames()
    received = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        received += [CODEC.decode(frame) for frame in frames.feed(stream[start:end])]
    assert received == [(sequence, pdu) for pdu, sequence, _ in vectors]
    assert frames.pending == 0


@given(st.sampled_from(list(Command)), st.integers(0, 0xFFFFFFFF), st.binary(max_size=300))
def test_decode_raises_only_pdu_error_on_random_bodies(command: Command, sequence: int, body: bytes) -> None:
    """Random bytes after a valid header decode to a PDU that re-encodes identically, or raise PduError."""
    frame = (
        (12 + len(body)).to_bytes(4, "big") + command.to_bytes(4, "big") + sequence.to_bytes(4, "big") + body
    )
    try:
        decoded_sequence, pdu = CODEC.decode(frame)
    except PduError:
        return
    assert decoded_sequence == sequence
    assert CODEC.decode(CODEC.encode(pdu, sequence)) == (sequence, pdu)
