"""The binary-protocol building blocks: length-prefixed framing and big-endian fields."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carrier_adapters.pdu import FrameBuffer, PduError, PduReader, PduWriter

_TWO_PDUS = bytes.fromhex(
    "0000000c"
    "00000008"
    "00000001"  # 12-byte PDU: length 12, command 8, sequence 1
    "00000010"
    "00000002"
    "00000002"
    "61620000"  # 16-byte PDU with body "ab" NUL-padded to 4
)


def test_frames_split_across_reads_come_out_whole_and_in_order() -> None:
    """A PDU cut anywhere waits for its rest; two PDUs in one read come out as two."""
    frames = FrameBuffer(min_length=12, max_length=64)
    assert frames.feed(_TWO_PDUS[:7]) == []
    assert frames.pending == 7
    assert frames.feed(_TWO_PDUS[7:]) == [_TWO_PDUS[:12], _TWO_PDUS[12:]]
    assert frames.pending == 0


@given(st.lists(st.integers(min_value=0, max_value=len(_TWO_PDUS) * 3), max_size=8))
def test_any_split_of_a_stream_yields_the_same_pdus(cuts: list[int]) -> None:
    """However a stream of PDUs is cut into reads, the same PDUs come out in the same order."""
    stream = _TWO_PDUS * 3
    bounds = [0, *sorted(cuts), len(stream)]
    frames = FrameBuffer(min_length=12, max_length=64)
    out = [pdu for start, end in itertools.pairwise(bounds) for pdu in frames.feed(stream[start:end])]
    assert out == [_TWO_PDUS[:12], _TWO_PDUS[12:]] * 3


@pytest.mark.parametrize("length", ["0000000b", "00000041", "ffffffff"])
def test_a_length_outside_the_bounds_is_an_error(length: str) -> None:
    """A length shorter than the header or longer than the protocol allows cannot be resynchronised."""
    with pytest.raises(PduError, match=r"outside 12\.\.64"):
        FrameBuffer(min_length=12, max_length=64).feed(bytes.fromhex(length))


def test_writer_pads_fixed_fields_and_terminates_c_strings() -> None:
    """Fixed fields are NUL-padded on the right; C-strings end with one NUL; integers are big-endian."""
    body = PduWriter().u8(1).u16(0x0203).u32(0x04050607).text("ab", 4).cstring("cd", 9).fixed(b"\x09", 2)
    assert body.getvalue() == bytes.fromhex("01020304050607616200006364000900")
    assert len(body) == 16


def test_reader_reads_back_what_the_writer_wrote() -> None:
    """Each read consumes its field; fixed fields lose their padding; end() accepts an exhausted body."""
    reader = PduReader(bytes.fromhex("01020304050607616200006364000900"))
    assert (reader.u8(), reader.u16(), reader.u32()) == (1, 0x0203, 0x04050607)
    assert reader.text(4) == "ab"
    assert reader.cstring(9) == "cd"
    assert reader.remaining == 2
    assert reader.fixed(2) == b"\x09"
    reader.end()


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda w: w.u8(256), "one byte"),
        (lambda w: w.u16(-1), "two bytes"),
        (lambda w: w.u32(1 << 32), "four bytes"),
        (lambda w: w.text("abcde", 4), "5 bytes do not fit a 4-byte field"),
        (lambda w: w.cstring("abcd", 4), "do not fit a 4-byte C-string"),
        (lambda w: w.text("短信", 8), "non-ASCII"),
    ],
)
def test_writer_refuses_values_that_do_not_fit(write: object, message: str) -> None:
    """A value too large or too long for its field is an error, never truncated."""
    with pytest.raises(PduError, match=message):
        write(PduWriter())  # type: ignore[operator]


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda r: r.u32(), "ends before a 4-byte field"),
        (lambda r: r.cstring(2), "no NUL within 2 bytes"),
        (lambda r: r.text(3), "non-ASCII byte"),
        (lambda r: r.end(), "3 unexpected bytes"),
    ],
)
def test_reader_refuses_short_or_malformed_bodies(read: object, message: str) -> None:
    """Reading past the end, an unterminated C-string, a non-ASCII text or leftover bytes raise PduError."""
    with pytest.raises(PduError, match=message):
        read(PduReader(b"\xe7\x9f\xad"))  # type: ignore[operator]
