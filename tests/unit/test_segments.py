"""SMS parts: the billed count, the wire content of each part with its UDH, and reassembly."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carrier_adapters.segments import (
    MAX_PARTS,
    Concatenation,
    Encoding,
    SegmentCount,
    SmsParts,
    count_segments,
    read_part,
    reassemble,
    split,
)

_GSM0338_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM0338_EXTENSION = "\f^{}\\[~]|€"
Parts = tuple[bytes, ...]
_PRINTABLE_ASCII = "".join(map(chr, range(0x20, 0x7F)))

# --- the billed count -------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)])
def test_gsm7_boundaries(length: int, segments: int) -> None:
    """Plain ASCII text fits 160 characters in one SMS and 153 per part beyond."""
    count = count_segments("a" * length)
    assert count.encoding is Encoding.GSM7
    assert (count.units, count.segments) == (length, segments)


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_boundaries(length: int, segments: int) -> None:
    """Chinese text fits 70 characters in one SMS and 67 per part beyond."""
    count = count_segments("中" * length)
    assert count.encoding is Encoding.UCS2
    assert (count.units, count.segments) == (length, segments)


def test_gsm7_class_is_the_gsm_tables_within_ascii() -> None:
    """GSM-7 are exactly the GSM 03.38 characters that are printable ASCII, plus LF and CR."""
    gsm = set(_GSM0338_BASIC + _GSM0338_EXTENSION)
    candidates = set(_PRINTABLE_ASCII + "\n\r\f\t\0\x1b") | gsm
    gsm7 = {char for char in candidates if count_segments(char).encoding is Encoding.GSM7}
    assert gsm7 == (gsm & set(_PRINTABLE_ASCII)) | {"\n", "\r"}
    assert gsm7 == set(_PRINTABLE_ASCII + "\n\r") - {"`"}


@pytest.mark.parametrize("char", ["£", "è", "Δ", "¥", "€", "ä", "\f", "`", "ç", "中", "【"])
def test_one_character_outside_the_gsm7_class_switches_to_ucs2(char: str) -> None:
    """A non-ASCII GSM character or any other character outside the class makes the text UCS-2."""
    count = count_segments("a" * 69 + char)
    assert (count.encoding, count.segments) == (Encoding.UCS2, 1)
    assert count_segments("a" * 70 + char).segments == 2


@pytest.mark.parametrize("char", ["[", "]", "{", "}", "\\", "^", "~", "|"])
def test_extension_characters_take_two_septets(char: str) -> None:
    """Extension characters stay GSM-7 but count two septets: 80 fit one SMS, 81 do not."""
    assert count_segments(char * 80) == SegmentCount(Encoding.GSM7, 160, 1)
    assert count_segments(char * 81).segments == 2
    assert count_segments("a" * 159 + char).units == 161


def test_extension_character_is_not_split_between_parts() -> None:
    """An escape sequence that does not fit the rest of a 153-septet part moves whole to the next."""
    count = count_segments("a" * 152 + "[" + "a" * 152)
    assert (count.units, count.segments) == (306, 3)
    assert count_segments("a" * 151 + "[" + "a" * 153).segments == 2


def test_emoji_take_two_utf16_units() -> None:
    """Characters outside the BMP count two UCS-2 units: 35 emoji fit one SMS, 36 do not."""
    assert count_segments("😀" * 35) == SegmentCount(Encoding.UCS2, 70, 1)
    assert count_segments("😀" * 36).segments == 2
    assert count_segments("中" * 69 + "😀").segments == 2


def test_surrogate_pair_is_not_split_between_parts() -> None:
    """An emoji that would straddle two 67-unit parts moves whole to the next part."""
    count = count_segments("中" * 66 + "😀" + "中" * 66)
    assert (count.units, count.segments) == (134, 3)
    assert count_segments("中" * 65 + "😀" + "中" * 67).segments == 2


def test_empty_text_is_one_sms() -> None:
    """An empty text still is one SMS, sent as one empty part without a header."""
    assert count_segments("") == SegmentCount(Encoding.GSM7, 0, 1)
    assert split("", ref=0) == SmsParts(Encoding.GSM7, (b"",), udhi=False)


def test_gateway_templates_bills_with_this_count() -> None:
    """``gateway.templates`` re-exports this module's counter and encoding, not copies."""
    import gateway.templates

    assert gateway.templates.count_segments is count_segments
    assert gateway.templates.Encoding is Encoding


# --- the parts on the wire --------------------------------------------------------------------


def test_71_chinese_characters_are_two_ucs2_parts() -> None:
    """71 UCS-2 characters: 67 in part 1 (140 octets), 4 in part 2, each behind ``05 00 03 ref 02 seq``."""
    sms = split("【" + "中" * 69 + "】", ref=0x2A)
    assert (sms.encoding, sms.udhi, sms.total) == (Encoding.UCS2, True, 2)
    first, second = sms.parts
    assert len(first) == 140
    assert first[:8] == bytes.fromhex("0500032a0201 3010")
    assert first[-2:] == bytes.fromhex("4e2d")
    assert second == bytes.fromhex("0500032a0202 4e2d 4e2d 4e2d 3011")


def test_70_chinese_characters_are_one_part_without_header() -> None:
    """70 UCS-2 characters are one SMS of 140 octets of UTF-16-BE, ``TP_udhi`` 0."""
    sms = split("中" * 69 + "A", ref=1)
    assert (sms.udhi, sms.total) == (False, 1)
    assert sms.parts[0] == bytes.fromhex("4e2d") * 69 + bytes.fromhex("0041")


@pytest.mark.parametrize(("length", "sizes"), [(134, [67, 67]), (135, [67, 67, 1])])
def test_ucs2_parts_hold_67_characters(length: int, sizes: list[int]) -> None:
    """134 characters are exactly two full parts; the 135th opens a third."""
    sms = split("中" * length, ref=9)
    assert [len(part) - 6 for part in sms.parts] == [2 * size for size in sizes]
    assert [part[:6] for part in sms.parts] == [
        bytes((5, 0, 3, 9, len(sizes), seq)) for seq in range(1, len(sizes) + 1)
    ]


def test_160_ascii_characters_are_one_part_of_160_octets() -> None:
    """160 ASCII characters go as 160 octets, one per character, without a header."""
    assert split("a" * 160, ref=0) == SmsParts(Encoding.GSM7, (b"a" * 160,), udhi=False)


def test_161_ascii_characters_are_153_and_8() -> None:
    """161 ASCII characters: 153 octets in part 1 and 8 in part 2, each behind the 6-octet UDH."""
    sms = split("a" * 160 + "b", ref=0x07)
    assert (sms.encoding, sms.udhi) == (Encoding.GSM7, True)
    assert sms.parts == (
        bytes.fromhex("050003070201") + b"a" * 153,
        bytes.fromhex("050003070202") + b"aaaaaaab",
    )


def test_extension_characters_are_one_octet_on_the_wire() -> None:
    """``[`` weighs two septets in the count but is a single ASCII octet in the content."""
    sms = split("a" * 152 + "[" + "b" * 7, ref=3)
    assert sms.parts == (
        bytes.fromhex("050003030201") + b"a" * 152,
        bytes.fromhex("050003030202") + b"[bbbbbbb",
    )


def test_non_ascii_gsm_character_is_sent_as_ucs2() -> None:
    """A text with ``£`` goes as UTF-16-BE even though GSM-7 has ``£``."""
    assert split("£5", ref=0) == SmsParts(Encoding.UCS2, (bytes.fromhex("00a3 0035"),), udhi=False)


def test_surrogate_pair_at_a_boundary_moves_whole_to_the_next_part() -> None:
    """With 66 units used, an emoji does not fit part 1: it opens part 2 with its pair ``d83d de00``."""
    sms = split("中" * 66 + "😀" + "中" * 3, ref=0xFF)
    first, second = sms.parts
    assert len(first) == 6 + 132 and first[-2:] == bytes.fromhex("4e2d")
    assert second == bytes.fromhex("050003ff0202 d83d de00 4e2d 4e2d 4e2d")


def test_more_than_255_parts_is_refused() -> None:
    """255 parts are the most a one-octet total can say; the count still reports more."""
    assert split("中" * (67 * MAX_PARTS), ref=0).total == MAX_PARTS
    with pytest.raises(ValueError, match="256 parts"):
        split("中" * (67 * MAX_PARTS + 1), ref=0)
    assert count_segments("中" * (67 * MAX_PARTS + 1)).segments == MAX_PARTS + 1


@pytest.mark.parametrize("ref", [-1, 256])
def test_reference_must_fit_one_octet(ref: int) -> None:
    """The reference is one octet."""
    with pytest.raises(ValueError, match="ref"):
        split("中" * 71, ref=ref)


# --- the receiving side -----------------------------------------------------------------------


def test_read_part_takes_8_and_16_bit_references_and_skips_other_elements() -> None:
    """IE 0x00 and 0x08 give the concatenation; an unrelated element (here a port, 0x05) is skipped."""
    assert read_part(bytes.fromhex("0500032a0302") + b"xy", udhi=True) == (Concatenation(0x2A, 3, 2), b"xy")
    assert read_part(bytes.fromhex("0c0504 0b840000 080412340201") + b"z", udhi=True) == (
        Concatenation(0x1234, 2, 1),
        b"z",
    )
    assert read_part(bytes.fromhex("0500032a0302"), udhi=False) == (None, bytes.fromhex("0500032a0302"))


@pytest.mark.parametrize(
    "content",
    ["", "07000300", "05000301", "0500032a0200", "0500032a0203", "0500032a0002"],
    ids=["empty", "header past content", "element past header", "seq 0", "seq above total", "total 0"],
)
def test_read_part_refuses_malformed_headers(content: str) -> None:
    """A header that overruns or a concatenation position outside 1..total is an error."""
    with pytest.raises(ValueError):
        read_part(bytes.fromhex(content), udhi=True)


def test_reassemble_puts_reversed_parts_in_order() -> None:
    """Parts arriving last first are joined by their sequence numbers."""
    sms = split("【" + "中" * 140 + "😀】", ref=5)
    assert reassemble(SmsParts(sms.encoding, sms.parts[::-1], sms.udhi)) == "【" + "中" * 140 + "😀】"


@pytest.mark.parametrize(
    ("pick", "message"),
    [
        (lambda parts: parts[:1], "missing"),
        (lambda parts: (*parts, parts[0]), "missing or repeated"),
        (lambda parts: (parts[0], bytes.fromhex("05000306") + parts[1][4:]), "different messages"),
        (lambda parts: (parts[0], b"\x00" + parts[1][6:]), "no concatenation"),
        (lambda parts: (), "no parts"),
    ],
    ids=["missing", "repeated", "other message", "headerless", "empty"],
)
def test_reassemble_refuses_incomplete_or_mixed_messages(
    pick: Callable[[Parts], Parts], message: str
) -> None:
    """Missing, repeated, foreign or headerless parts are errors, never a wrong text."""
    sms = split("中" * 71, ref=5)
    parts = SmsParts(sms.encoding, pick(sms.parts), udhi=True)
    with pytest.raises(ValueError, match=message):
        reassemble(parts)


# --- properties -------------------------------------------------------------------------------

_MIXED = st.text(alphabet=st.sampled_from("ab Z9\n[]~|^{}\\中文【】😀£è"), max_size=700)
_TEXTS = st.one_of(_MIXED, st.text(alphabet=st.sampled_from("a1 .[]\n"), max_size=700), st.text(max_size=300))


def _air_octets(sms: SmsParts, content: bytes) -> int:
    if sms.encoding is Encoding.UCS2:
        return len(content)
    header, text = read_part(content, udhi=sms.udhi)
    septets = (7 if header else 0) + sum(2 if byte in b"[]{}\\^~|" else 1 for byte in text)
    return -(-septets * 7 // 8)


@given(_TEXTS, st.integers(0, 255), st.data())
def test_reassembling_shuffled_parts_gives_the_text(text: str, ref: int, data: st.DataObject) -> None:
    """Any text split and its parts delivered in any order reads back unchanged."""
    sms = split(text, ref=ref)
    shuffled = tuple(data.draw(st.permutations(sms.parts)))
    assert reassemble(SmsParts(sms.encoding, shuffled, sms.udhi)) == text


@given(_TEXTS, st.integers(0, 255))
def test_parts_are_as_many_as_billed(text: str, ref: int) -> None:
    """The number of parts sent is the billed segment count, in the billed encoding."""
    sms = split(text, ref=ref)
    count = count_segments(text)
    assert (sms.total, sms.encoding) == (count.segments, count.encoding)
    assert sms.udhi is (count.segments > 1)


@given(_TEXTS, st.integers(0, 255))
def test_every_part_fits_one_sms(text: str, ref: int) -> None:
    """Each part is at most 140 octets on the air; UCS-2 content at most 140 octets, ASCII at most 160."""
    sms = split(text, ref=ref)
    for content in sms.parts:
        assert _air_octets(sms, content) <= 140
        assert len(content) <= (140 if sms.encoding is Encoding.UCS2 else 160)
        if sms.udhi:
            assert len(content) <= (140 if sms.encoding is Encoding.UCS2 else 159)
