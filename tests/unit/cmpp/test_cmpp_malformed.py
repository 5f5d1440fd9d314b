"""Malformed CMPP input raises PduError (never another exception); framing survives any split."""

from __future__ import annotations

import contextlib
import itertools
import struct
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carrier_adapters.cmpp import (
    MAX_PDU_LENGTH,
    ActiveTest,
    ActiveTestResp,
    Codec,
    Command,
    Deliver,
    Pdu,
    Submit,
    SubmitResp,
)
from carrier_adapters.pdu import PduError
from tests.unit.cmpp.vectors import (
    DELIVER_MO_20,
    DELIVER_MO_30,
    DELIVER_REPORT_30,
    SUBMIT_20,
    SUBMIT_30,
    SUBMIT_30_PART,
    SUBMIT_PDU,
    SUBMIT_RESP_20,
    SUBMIT_RESP_30,
    VECTORS,
)


def relength(frame: bytes) -> bytes:
    """``frame`` with its Total_Length rewritten to its actual size."""
    return struct.pack(">I", len(frame)) + frame[4:]


def set_byte(frame: bytes, offset: int, value: int) -> bytes:
    return frame[:offset] + bytes([value]) + frame[offset + 1 :]


@pytest.mark.parametrize(
    ("version", "frame"),
    [(v, f) for v, f, _, p in VECTORS if len(f) > 12 and not isinstance(p, ActiveTestResp)],
)
def test_truncated_body_is_malformed(version: int, frame: bytes) -> None:
    """A body one byte short (Total_Length agreeing with the frame) is refused."""
    with pytest.raises(PduError):
        Codec(version).decode(relength(frame[:-1]))


@pytest.mark.parametrize(("version", "frame"), [(v, f) for v, f, _, _ in VECTORS])
def test_trailing_byte_is_malformed(version: int, frame: bytes) -> None:
    """A body one byte longer than its command allows is refused."""
    with pytest.raises(PduError):
        Codec(version).decode(relength(frame + b"\x00"))


@pytest.mark.parametrize(("version", "frame"), [(v, f) for v, f, _, _ in VECTORS])
def test_total_length_disagreeing_with_the_frame_is_malformed(version: int, frame: bytes) -> None:
    """Total_Length must equal the frame's size."""
    with pytest.raises(PduError):
        Codec(version).decode(struct.pack(">I", len(frame) + 1) + frame[4:])


@pytest.mark.parametrize("frame", [b"", b"\x00\x00\x00\x0c", bytes.fromhex("0000000c00000008000000")])
def test_frame_shorter_than_the_header_is_malformed(frame: bytes) -> None:
    """Fewer than 12 bytes hold no header."""
    with pytest.raises(PduError):
        Codec(0x30).decode(frame)


@pytest.mark.parametrize("command_id", [0x00000006, 0x80000006, 0x00000003, 0x00000009, 0x12345678])
def test_unknown_command_id_is_malformed(command_id: int) -> None:
    """QUERY, CANCEL-class and unassigned ids are not decoded."""
    with pytest.raises(PduError, match="Command_Id"):
        Codec(0x30).decode(struct.pack(">III", 12, command_id, 1))


def test_other_versions_layout_is_malformed() -> None:
    """A 2.0 SUBMIT_RESP is not a 3.0 one (and the reverse), nor is a 2.0 SUBMIT."""
    with pytest.raises(PduError):
        Codec(0x30).decode(SUBMIT_RESP_20)
    with pytest.raises(PduError):
        Codec(0x20).decode(SUBMIT_RESP_30)
    with pytest.raises(PduError):
        Codec(0x30).decode(SUBMIT_20)
    with pytest.raises(PduError):
        Codec(0x20).decode(DELIVER_MO_30)


def test_msg_length_disagreeing_with_the_content_is_malformed() -> None:
    """Msg_Length larger or smaller than the bytes present shifts the trailer: refused."""
    offset = len(SUBMIT_30) - 20 - 4 - 1  # Msg_Length sits before 4 content bytes and the LinkID
    assert SUBMIT_30[offset] == 4
    for wrong in (3, 5, 0xFF):
        with pytest.raises(PduError):
            Codec(0x30).decode(set_byte(SUBMIT_30, offset, wrong))


@pytest.mark.parametrize("count", [0, 101])
def test_dest_usr_tl_outside_1_to_100_is_malformed(count: int) -> None:
    """DestUsr_tl counts 1 to 100 numbers."""
    offset = 12 + 128  # DestUsr_tl follows the 128 fixed body bytes of a 3.0 SUBMIT
    assert SUBMIT_30[offset] == 1
    with pytest.raises(PduError):
        Codec(0x30).decode(set_byte(SUBMIT_30, offset, count))


@pytest.mark.parametrize(
    ("frame", "offset"),
    [
        (SUBMIT_30, 12 + 12),  # Service_Id
        (SUBMIT_30, 12 + 107),  # Src_Id
        (SUBMIT_30_PART, len(SUBMIT_30_PART) - 20),  # LinkID
        (DELIVER_MO_30, 12 + 8),  # Dest_Id
        (DELIVER_MO_20, 12 + 42),  # Src_terminal_Id
    ],
)
def test_non_ascii_text_field_is_malformed(frame: bytes, offset: int) -> None:
    """Octet String fields hold ASCII; a byte above 0x7F is refused."""
    version = 0x20 if frame is DELIVER_MO_20 else 0x30
    with pytest.raises(PduError, match="ASCII"):
        Codec(version).decode(set_byte(frame, offset, 0xE4))


def test_reserve_of_2_0_is_ignored_whatever_it_holds() -> None:
    """2.0's Reserve carries nothing: any bytes there decode as an empty link_id."""
    frame = DELIVER_MO_20[:-8] + b"\xff" * 8
    _, pdu = Codec(0x20).decode(frame)
    assert isinstance(pdu, Deliver)
    assert pdu.link_id == ""


@pytest.mark.parametrize(
    ("version", "pdu"),
    [
        (0x30, replace(SUBMIT_PDU, src_id="1" * 22)),  # Src_Id is 21 bytes
        (0x30, replace(SUBMIT_PDU, service_id="SERVICE_ID_")),  # Service_Id is 10 bytes
        (0x30, replace(SUBMIT_PDU, dest_terminal_ids=("1" * 33,))),  # 32 bytes in 3.0
        (0x20, replace(SUBMIT_PDU, dest_terminal_ids=("1" * 22,))),  # 21 bytes in 2.0
        (0x30, replace(SUBMIT_PDU, msg_src="验证")),  # not ASCII
        (0x30, replace(SUBMIT_PDU, content=bytes(256))),  # Msg_Length is one byte
        (0x30, replace(SUBMIT_PDU, dest_terminal_ids=())),  # DestUsr_tl 0
        (0x30, replace(SUBMIT_PDU, dest_terminal_ids=("1",) * 101)),  # DestUsr_tl 101
        (0x30, replace(SUBMIT_PDU, msg_id=bytes(7))),  # Msg_Id is 8 bytes
        (0x30, replace(SUBMIT_PDU, pk_total=256)),  # one byte
        (0x20, replace(SUBMIT_PDU, link_id="LINK")),  # 2.0 has no LinkID
        (0x20, replace(SUBMIT_PDU, fee_terminal_type=1)),  # 2.0 has no Fee_terminal_type
        (0x20, replace(SUBMIT_PDU, dest_terminal_type=1)),  # 2.0 has no Dest_terminal_type
        (0x20, SubmitResp(msg_id=bytes(8), result=256)),  # 2.0 Result is one byte
    ],
)
def test_encode_refuses_what_the_layout_cannot_carry(version: int, pdu: Pdu) -> None:
    """Values too long, too wide or absent from the version raise PduError, never truncated."""
    with pytest.raises(PduError):
        Codec(version).encode(pdu, 1)


@pytest.mark.parametrize("sequence", [-1, 1 << 32])
def test_encode_refuses_a_sequence_outside_uint32(sequence: int) -> None:
    """Sequence_Id is an unsigned 32-bit number."""
    with pytest.raises(PduError):
        Codec(0x30).encode(ActiveTest(), sequence)


def test_frames_refuse_a_length_above_the_bound() -> None:
    """A Total_Length above MAX_PDU_LENGTH cannot be resynchronised: the stream is refused."""
    with pytest.raises(PduError):
        Codec(0x30).frames().feed(struct.pack(">III", MAX_PDU_LENGTH + 1, Command.SUBMIT, 1))


STREAM = b"".join(f for v, f, _, _ in VECTORS if v == 0x30)
STREAM_PDUS = [(s, p) for v, _, s, p in VECTORS if v == 0x30]


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_of_a_stream_yields_the_same_pdus(cuts: list[int]) -> None:
    """However the stream of every 3.0 PDU is cut into reads, the same PDUs decode in order."""
    codec = Codec(0x30)
    frames = codec.frames()
    bounds = [0, *sorted(cuts), len(STREAM)]
    out = [codec.decode(f) for a, b in itertools.pairwise(bounds) for f in frames.feed(STREAM[a:b])]
    assert out == STREAM_PDUS
    assert frames.pending == 0


@settings(max_examples=300)
@given(
    st.sampled_from([0x20, 0x30]),
    st.sampled_from(list(Command)),
    st.binary(max_size=400),
)
def test_random_body_after_a_valid_header_decodes_or_raises_pdu_error(
    version: int, command: Command, body: bytes
) -> None:
    """Decoding arbitrary bytes after a well-formed header never raises anything but PduError."""
    frame = struct.pack(">III", 12 + len(body), command, 7) + body
    try:
        sequence, _ = Codec(version).decode(frame)
    except PduError:
        return
    assert sequence == 7


@given(st.binary(min_size=12, max_size=200), st.sampled_from([DELIVER_REPORT_30, SUBMIT_30, SUBMIT_30_PART]))
def test_random_mutation_of_a_valid_pdu_decodes_or_raises_pdu_error(noise: bytes, frame: bytes) -> None:
    """Overwriting part of a valid PDU's body (length kept right) never raises another exception."""
    start = 12 + noise[0] % (len(frame) - 12)
    mutated = relength(frame[:start] + noise[1:] + frame[start + len(noise) - 1 :])
    with contextlib.suppress(PduError):
        Codec(0x30).decode(mutated)


ascii_text = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), max_size=6)


@given(
    st.sampled_from([0x20, 0x30]),
    st.builds(
        Submit,
        pk_total=st.integers(0, 255),
        pk_number=st.integers(0, 255),
        registered_delivery=st.integers(0, 255),
        service_id=ascii_text,
        src_id=ascii_text,
        msg_fmt=st.sampled_from([0, 4, 8, 15]),
        tp_udhi=st.integers(0, 1),
        dest_terminal_ids=st.lists(
            st.from_regex(r"1[0-9]{10}", fullmatch=True), min_size=1, max_size=100
        ).map(tuple),
        content=st.binary(max_size=255),
    ),
)
def test_submit_round_trips_in_either_version(version: int, submit: Submit) -> None:
    """Any SUBMIT the version can carry decodes back to itself."""
    codec = Codec(version)
    assert codec.decode(codec.encode(submit, 3)) == (3, submit)
