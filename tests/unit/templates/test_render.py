"""Rendering for sending: parameter checks and formatting, signature first, opt-out line last, segments.

Segments are counted on the complete SMS as sent: ``【signature】`` + rendered body (+ opt-out line).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from gateway.errors import InvalidArgument, MissingParam
from gateway.templates import Encoding
from gateway.templates.rendering import OPT_OUT_LINE, render
from gateway.templates.spec import (
    Category,
    Flow,
    ParamSpec,
    ParamType,
    QuickApp,
    Status,
    Template,
    TemplateSpec,
)

LINK = "https://gw.example/l/AbC123"


def _spec(text: str, category: Category = Category.NOTIFICATION, **params: ParamSpec) -> TemplateSpec:
    return TemplateSpec(
        name="t",
        category=category,
        signature="平安银行",
        text=text,
        flow=Flow.BRANCH_QUEUE,
        quick_app=QuickApp("com.example.queue", "Ticket"),
        params=params,
    )


TYPED = _spec(
    "{{s}}|{{n}}|{{d}}|{{p}}|{{o}} {{link}}",
    s=ParamSpec(ParamType.STRING),
    n=ParamSpec(ParamType.NUMBER),
    d=ParamSpec(ParamType.DATE),
    p=ParamSpec(ParamType.PHONE),
    o=ParamSpec(ParamType.STRING, required=False),
)
VALID = {"s": "张三", "n": 12, "d": "2026-11-24", "p": "+8613800138000"}


def test_signature_first_then_body_with_link() -> None:
    """The SMS is 【signature】 followed by the rendered text; the link is substituted verbatim."""
    sms = render(
        _spec("您的排队号{{ticket}}，详情 {{link}}", ticket=ParamSpec(ParamType.STRING)),  # noqa: RUF001
        {"ticket": "A012"},
        LINK,
    )
    assert sms.text == f"【平安银行】您的排队号A012，详情 {LINK}"  # noqa: RUF001
    assert (sms.segments, sms.encoding) == (1, Encoding.UCS2)


def test_render_accepts_a_stored_template() -> None:
    """render() takes a stored Template as well as its spec."""
    spec = _spec("详情 {{link}}")
    stored = Template("id", "tenant", spec, Status.APPROVED, datetime.now(UTC))
    assert render(stored, {}, LINK) == render(spec, {}, LINK)


@pytest.mark.parametrize(("total", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_chinese_boundaries_on_the_complete_sms(total: int, segments: int) -> None:
    """A complete SMS (signature and link included) of exactly 70/71/134/135 characters is 1/2/2/3 parts."""
    filler = "中" * (total - len("【平安银行】") - len(LINK))
    sms = render(_spec(filler + "{{link}}"), {}, LINK)
    assert len(sms.text) == total
    assert sms.segments == segments


@pytest.mark.parametrize("category", [Category.TRANSACTION, Category.NOTIFICATION])
def test_no_opt_out_line_outside_marketing(category: Category) -> None:
    """Transaction and notification texts end as written."""
    sms = render(_spec("到账提醒 {{link}}。", category), {}, LINK)
    assert sms.text.endswith(f"{LINK}。")
    assert OPT_OUT_LINE not in sms.text


def test_marketing_ends_with_the_opt_out_line() -> None:
    """Marketing texts end with 拒收请回复R, separated from a trailing link by a space."""
    assert render(_spec("新品上线 {{link}}", Category.MARKETING), {}, LINK).text == (
        f"【平安银行】新品上线 {LINK} {OPT_OUT_LINE}"
    )
    assert render(_spec("{{link}} 新品上线。", Category.MARKETING), {}, LINK).text.endswith(
        f"新品上线。{OPT_OUT_LINE}"
    )


def test_opt_out_line_counts_towards_segments() -> None:
    """The opt-out line is part of the counted SMS: 70 characters without it become 2 parts with it."""
    filler = "中" * (70 - len("【平安银行】") - len(LINK))
    assert render(_spec(filler + "{{link}}"), {}, LINK).segments == 1
    marketing = render(_spec(filler + "{{link}}", Category.MARKETING), {}, LINK)
    assert len(marketing.text) == 70 + 1 + len(OPT_OUT_LINE)
    assert marketing.segments == 2


def test_typed_parameters_are_formatted() -> None:
    """Numbers plain decimal, dates ISO, phones masked national form, optional absent as empty."""
    sms = render(TYPED, VALID, LINK)
    assert sms.text == f"【平安银行】张三|12|2026-11-24|138****8000| {LINK}"
    assert "13800138000" not in sms.text


@pytest.mark.parametrize(
    ("value", "shown"), [(1234.5, "1234.5"), (100.0, "100"), (1e20, "100000000000000000000"), (-3, "-3")]
)
def test_numbers_render_in_plain_decimal(value: float, shown: str) -> None:
    """Numbers never render in exponent notation or with a trailing .0."""
    assert f"|{shown}|" in render(TYPED, {**VALID, "n": value}, LINK).text


def test_dates_and_foreign_phones() -> None:
    """A date object renders ISO; a non-Chinese number keeps its country code, masked."""
    sms = render(TYPED, {**VALID, "d": date(2027, 1, 2), "p": "+447700900123"}, LINK)
    assert "|2027-01-02|+44770****0123|" in sms.text
    assert "7700900123" not in sms.text


@pytest.mark.parametrize("absent", [{}, {"s": None}, {"s": ""}])
def test_missing_required_parameter(absent: dict[str, object]) -> None:
    """An absent, null or empty required parameter is MISSING_PARAM naming it."""
    params = {k: v for k, v in VALID.items() if k != "s"} | absent
    with pytest.raises(MissingParam) as caught:
        render(TYPED, params, LINK)
    assert caught.value.param == "s"
    assert (caught.value.status, caught.value.code) == (422, "MISSING_PARAM")


def test_unknown_parameter_is_refused() -> None:
    """A parameter the template does not declare is 400 INVALID_ARGUMENT naming it."""
    with pytest.raises(InvalidArgument, match="'extra' is not a parameter"):
        render(TYPED, {**VALID, "extra": "x"}, LINK)
    with pytest.raises(InvalidArgument, match="'link' is not a parameter"):
        render(TYPED, {**VALID, "link": "https://evil.example"}, LINK)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("s", 42),
        ("s", ["a"]),
        ("n", "12"),
        ("n", True),
        ("n", float("nan")),
        ("d", "2026-02-30"),
        ("d", "24/11/2026"),
        ("d", datetime(2026, 11, 24, tzinfo=UTC)),
        ("p", "13800138000"),
        ("p", 8613800138000),
    ],
)
def test_wrong_types_are_invalid_argument(name: str, value: object) -> None:
    """A value of the wrong type is 400 INVALID_ARGUMENT naming the parameter, never echoing the value."""
    with pytest.raises(InvalidArgument, match=rf"^params\.{name}: expected") as caught:
        render(TYPED, {**VALID, name: value}, LINK)
    assert str(value) not in caught.value.message


@pytest.mark.parametrize("value", ["【假冒】", "a\nb", "a\u202eb", "x" * 101])
def test_string_values_cannot_forge_or_overflow(value: str) -> None:
    """String values may not contain 【】, control or bidi characters, or exceed 100 characters."""
    with pytest.raises(InvalidArgument, match=r"^params\.s: "):
        render(TYPED, {**VALID, "s": value}, LINK)


def test_values_are_substituted_not_evaluated() -> None:
    """A value that looks like template syntax is inserted literally."""
    sms = render(TYPED, {**VALID, "s": "{{ ''.__class__ }}"}, LINK)
    assert "{{ ''.__class__ }}" in sms.text


def test_too_many_segments_is_refused() -> None:
    """An SMS needing more than 10 parts is refused."""
    spec = dataclasses.replace(TYPED, text="中" * 450 + TYPED.text)
    with pytest.raises(InvalidArgument, match="at most 10"):
        render(spec, {**VALID, "s": "中" * 100, "o": "中" * 100}, LINK)


def test_link_is_required() -> None:
    """The link is the caller's own value; an empty one is a programming error."""
    with pytest.raises(ValueError, match="link"):
        render(TYPED, VALID, "")
