"""Segment counting: GSM-7 160/153 with two-septet extension characters, UCS-2 70/67 in UTF-16 units."""

from __future__ import annotations

import pytest

from gateway.templates.segments import Encoding, SegmentCount, count_segments


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)])
def test_gsm7_boundaries(length: int, segments: int) -> None:
    """Plain GSM-7 text fits 160 septets in one SMS and 153 per part beyond."""
    count = count_segments("a" * length)
    assert count.encoding is Encoding.GSM7
    assert (count.units, count.segments) == (length, segments)


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_boundaries(length: int, segments: int) -> None:
    """Chinese text fits 70 characters in one SMS and 67 per part beyond."""
    count = count_segments("中" * length)
    assert count.encoding is Encoding.UCS2
    assert (count.units, count.segments) == (length, segments)


def test_gsm7_covers_the_non_ascii_basic_table() -> None:
    """Accented letters and Greek capitals of the GSM 03.38 basic table stay GSM-7, one septet each."""
    count = count_segments("àéèùìòÇØøÅåÆæßÉÄÖÑÜäöñü§¿¡ΔΦΓΛΩΠΨΣΘΞ£¥¤@_")
    assert count.encoding is Encoding.GSM7
    assert count.units == len("àéèùìòÇØøÅåÆæßÉÄÖÑÜäöñü§¿¡ΔΦΓΛΩΠΨΣΘΞ£¥¤@_")


@pytest.mark.parametrize("char", ["ç", "`", "á", "中", "【"])
def test_one_character_outside_gsm7_switches_to_ucs2(char: str) -> None:
    """A single character outside both GSM-7 tables makes the whole text UCS-2 (70 limit)."""
    count = count_segments("a" * 69 + char)
    assert count.encoding is Encoding.UCS2
    assert count.segments == 1
    assert count_segments("a" * 70 + char).segments == 2


@pytest.mark.parametrize("char", ["€", "[", "]", "{", "}", "\\", "^", "~", "|", "\f"])
def test_extension_characters_take_two_septets(char: str) -> None:
    """Extension-table characters stay GSM-7 but count two septets: 80 fit one SMS, 81 do not."""
    assert count_segments(char * 80) == SegmentCount(Encoding.GSM7, 160, 1)
    assert count_segments(char * 81).segments == 2
    assert count_segments("a" * 159 + char).units == 161


def test_extension_character_is_not_split_between_parts() -> None:
    """An escape sequence that does not fit the rest of a 153-septet part moves whole to the next part."""
    count = count_segments("a" * 152 + "€" + "a" * 152)
    assert count.units == 306
    assert count.segments == 3
    assert count_segments("a" * 151 + "€" + "a" * 153).segments == 2


def test_emoji_take_two_utf16_units() -> None:
    """Characters outside the BMP count two UCS-2 units: 35 emoji fit one SMS, 36 do not."""
    assert (count_segments("😀" * 35).units, count_segments("😀" * 35).segments) == (70, 1)
    assert count_segments("😀" * 36).segments == 2
    assert count_segments("中" * 69 + "😀").segments == 2


def test_surrogate_pair_is_not_split_between_parts() -> None:
    """An emoji that would straddle two 67-unit parts moves whole to the next part."""
    count = count_segments("中" * 66 + "😀" + "中" * 66)
    assert count.units == 134
    assert count.segments == 3
    assert count_segments("中" * 65 + "😀" + "中" * 67).segments == 2


def test_empty_text_is_one_sms() -> None:
    """An empty text still is one SMS."""
    assert count_segments("").segments == 1
