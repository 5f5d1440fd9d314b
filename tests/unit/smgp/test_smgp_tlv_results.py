"""SMGP 3.0 optional parameters (TLV) and the Status classification."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carrier_adapters.pdu import PduError, PduReader, PduWriter
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.smgp import Options, Status, Tag, classify
from carrier_adapters.smgp.tlv import decode_options, encode_options


def _encode(options: Options) -> bytes:
    writer = PduWriter()
    encode_options(options, writer)
    return writer.getvalue()


def _decode(data: bytes) -> Options:
    return decode_options(PduReader(data))


def test_every_tag_has_an_options_field() -> None:
    """The 18 tags of SMGP 3.0 are 0x0001-0x0012, each a typed field of Options."""
    assert [int(tag) for tag in Tag] == list(range(1, 19))
    assert len(fields(Options)) == len(Tag) + 1  # and ``others``


def test_udhi_pk_and_link_id_encode_in_tag_order() -> None:
    """Integers take one byte, strings their own length; tags are written in ascending order."""
    options = Options(pk_number=2, pk_total=3, tp_udhi=1, link_id="0123456789abcdefghij")
    wire = (
        bytes.fromhex("0002" "0001" "01")  # TP_udhi 1
        + bytes.fromhex("0003" "0014") + b"0123456789abcdefghij"  # LinkID, 20 bytes
        + bytes.fromhex("0009" "0001" "03")  # PkTotal 3
        + bytes.fromhex("000a" "0001" "02")  # PkNumber 2
    )  # fmt: skip
    assert _encode(options) == wire
    assert _decode(wire) == options


def test_nul_padded_string_values_are_read_without_padding() -> None:
    """A gateway padding LinkID to 20 bytes is read as the same LinkID."""
    assert _decode(bytes.fromhex("00030014") + b"LNK1" + bytes(16)) == Options(link_id="LNK1")


def test_unknown_duplicate_and_ill_typed_parameters_are_kept_raw() -> None:
    """Nothing is lost: unknown tags, repeated tags and wrong-size values stay (tag, bytes) pairs."""
    wire = (
        bytes.fromhex("0100" "0002" "abcd")  # unknown tag 0x0100
        + bytes.fromhex("0009" "0001" "02")  # PkTotal 2
        + bytes.fromhex("0009" "0001" "05")  # PkTotal again
        + bytes.fromhex("000a" "0002" "0001")  # PkNumber with a 2-byte value
    )  # fmt: skip
    options = _decode(wire)
    assert options == Options(
        pk_total=2,
        others=((0x0100, b"\xab\xcd"), (0x0009, b"\x05"), (0x000A, b"\x00\x01")),
    )
    assert _decode(_encode(options)) == options


def test_a_truncated_parameter_raises() -> None:
    """A Length running past the end of the PDU is malformed."""
    with pytest.raises(PduError):
        _decode(bytes.fromhex("000300054142"))


@pytest.mark.parametrize(
    "options",
    [Options(link_id="L" * 21), Options(msg_src="123456789"), Options(link_id="链接"), Options(tp_udhi=256)],
)
def test_encode_refuses_values_that_do_not_fit(options: Options) -> None:
    """Over-long or non-ASCII strings and integers above 255 raise PduError."""
    with pytest.raises(PduError):
        _encode(options)


_INT = st.none() | st.integers(0, 255)


def _text(size: int) -> st.SearchStrategy[str | None]:
    return st.none() | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=size)


@given(
    st.builds(
        Options,
        tp_pid=_INT,
        tp_udhi=_INT,
        link_id=_text(20),
        charge_user_type=_INT,
        charge_term_pseudo=_text(32),
        pk_total=_INT,
        pk_number=_INT,
        src_term_pseudo=_text(32),
        msg_src=_text(8),
        m_service_id=_text(21),
        others=st.lists(st.tuples(st.integers(0x0013, 0xFFFF), st.binary(max_size=8)), max_size=3).map(tuple),
    )
)
def test_options_round_trip(options: Options) -> None:
    """Any set of parameters decodes to what was encoded."""
    assert _decode(_encode(options)) == options


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (0, SubmitOutcome.ACCEPTED),
        (1, SubmitOutcome.THROTTLED),  # system busy: SMGP's flow-control answer
        (2, SubmitOutcome.UNAVAILABLE),  # too many connections
        (74, SubmitOutcome.UNAVAILABLE),  # SP may not send in this period
        (75, SubmitOutcome.UNAVAILABLE),  # SP daily volume used up
        (39, SubmitOutcome.NOT_SERVED),  # routing error
        (47, SubmitOutcome.REJECTED),  # illegal DestTermID: a malformed number
        (58, SubmitOutcome.NOT_SERVED),  # no matching route
        (10, SubmitOutcome.REJECTED),  # message structure error
        (21, SubmitOutcome.REJECTED),  # authentication error
        (36, SubmitOutcome.REJECTED),  # illegal message length
        (46, SubmitOutcome.REJECTED),  # illegal SrcTermID
        (76, SubmitOutcome.REJECTED),  # SP account expired
        (99, SubmitOutcome.REJECTED),  # not defined by SMGP 3.0
    ],
)
def test_classify(code: int, outcome: SubmitOutcome) -> None:
    """Busy is throttled, quota and period limits retry later, routing misses are not served."""
    assert classify(code) is outcome


def test_status_codes_carry_their_protocol_numbers() -> None:
    """Spot-check the enum against the SMGP 3.0 table."""
    assert int(Status.SYSTEM_BUSY) == 1
    assert int(Status.AUTHENTICATION_ERROR) == 21
    assert int(Status.ILLEGAL_MSG_LENGTH) == 36
    assert int(Status.NO_MATCHING_ROUTE) == 58
    assert int(Status.SP_DAILY_VOLUME_EXCEEDED) == 75
