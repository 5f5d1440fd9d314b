"""The ``verification`` template category: a one-time ``{{code}}`` and no link, flow or quick app.

The other categories keep their rules: a link exactly once, a flow and a quick app.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.db import create_engine, migrate
from gateway.errors import InvalidArgument, MissingParam
from gateway.models import metadata
from gateway.templates import Encoding, count_segments
from gateway.templates.builtin import builtin_spec, verification_builtin
from gateway.templates.models import TemplateRecord
from gateway.templates.rendering import OPT_OUT_LINE, check_spec, estimate, render
from gateway.templates.schemas import QuickAppBody, TemplateCreate
from gateway.templates.spec import Category, Flow, ParamSpec, ParamType, QuickApp, TemplateSpec

LINK = "https://gw.example/l/AbC123"
TEXT = "您的验证码是{{code}}，{{minutes}}分钟内有效。请勿告诉他人。"  # noqa: RUF001
SPEC = TemplateSpec(
    name="验证码",
    category=Category.VERIFICATION,
    signature="平安银行",
    text=TEXT,
    flow=None,
    quick_app=None,
    params={"minutes": ParamSpec(ParamType.NUMBER)},
)
LINKED = TemplateSpec(
    name="t",
    category=Category.NOTIFICATION,
    signature="平安银行",
    text="详情 {{link}}",
    flow=Flow.BRANCH_QUEUE,
    quick_app=QuickApp("com.example.queue", "Ticket"),
    params={},
)


def _refusal(spec: TemplateSpec) -> str:
    with pytest.raises(InvalidArgument) as caught:
        check_spec(spec)
    return caught.value.message


def test_a_verification_template_with_code_and_no_link_is_accepted() -> None:
    """A text with {{code}} once, a declared parameter, no flow and no quick app passes the checks."""
    check_spec(SPEC)
    check_spec(dataclasses.replace(SPEC, text="验证码{{code}}", params={}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "您的验证码{{minutes}}分钟内有效", "text: must contain {{code}} exactly once.", id="no-code"
        ),
        pytest.param(
            "{{code}}再说一遍{{code}}{{minutes}}", "text: must contain {{code}} exactly once.", id="twice"
        ),
        pytest.param(
            "验证码{{code}}，{{minutes}}分钟，详情 {{link}}",  # noqa: RUF001
            "text: verification texts must not contain {{link}}: the code is typed, not clicked.",
            id="link",
        ),
        pytest.param(
            "验证码{{code}}，{{minutes}}分钟，登录 https://bank.example.cn",  # noqa: RUF001
            "text: verification texts carry no link or URL, only the code.",
            id="literal-url",
        ),
        pytest.param(
            "验证码{{code}}，{{minutes}}分钟，登录 WWW.bank.cn",  # noqa: RUF001
            "text: verification texts carry no link or URL, only the code.",
            id="www",
        ),
        pytest.param("验证码{{code.x}}{{minutes}}", "text: reading an attribute", id="attribute"),
    ],
)
def test_verification_text_rules(text: str, expected: str) -> None:
    """{{code}} exactly once, never {{link}} or a literal URL; the general expression rules still hold."""
    assert _refusal(dataclasses.replace(SPEC, text=text)).startswith(expected)


def test_verification_refuses_a_flow_and_a_quick_app_naming_the_field() -> None:
    """A verification template with a flow or a quick app is refused, the message naming the field."""
    with_flow = _refusal(dataclasses.replace(SPEC, flow=Flow.CLAIM_LOCATION))
    with_app = _refusal(dataclasses.replace(SPEC, quick_app=QuickApp("com.example.a", "P")))
    assert with_flow.startswith("flow: ")
    assert with_app.startswith("quickApp: ")


def test_code_is_reserved_in_verification_templates_only() -> None:
    """Declaring a parameter named code is refused for verification, still allowed for other categories."""
    declared = dataclasses.replace(
        SPEC, params={"code": ParamSpec(ParamType.STRING), "minutes": ParamSpec(ParamType.NUMBER)}
    )
    assert _refusal(declared).startswith("params: 'code' is reserved in verification templates")
    check_spec(
        dataclasses.replace(
            LINKED, text="取件码{{code}} {{link}}", params={"code": ParamSpec(ParamType.STRING)}
        )
    )


def test_other_categories_keep_their_rules() -> None:
    """Transaction, notification and marketing still need {{link}}, a flow and a quick app; an
    undeclared {{code}} there is an unknown parameter."""
    for category in (Category.TRANSACTION, Category.NOTIFICATION, Category.MARKETING):
        spec = dataclasses.replace(LINKED, category=category)
        check_spec(spec)
        assert (
            _refusal(dataclasses.replace(spec, flow=None))
            == f"flow: required for {category.value} templates."
        )
        assert (
            _refusal(dataclasses.replace(spec, quick_app=None))
            == f"quickApp: required for {category.value} templates."
        )
        assert _refusal(dataclasses.replace(spec, text="验证码{{code}}")) == (
            "text: 'code' is not a declared parameter."
        )
        assert (
            _refusal(dataclasses.replace(spec, text="无链接")) == "text: must contain {{link}} exactly once."
        )


def test_render_puts_the_code_after_the_signature_without_link_or_opt_out() -> None:
    """The SMS is 【signature】 + text with the code and parameters; no link, no opt-out line; one part."""
    sms = render(SPEC, {"code": "048213", "minutes": 5}, None)
    assert sms.text == "【平安银行】您的验证码是048213，5分钟内有效。请勿告诉他人。"  # noqa: RUF001
    assert OPT_OUT_LINE not in sms.text
    assert (sms.segments, sms.encoding) == (1, Encoding.UCS2)


@pytest.mark.parametrize("code", ["0000", "1234567890", "000123"])
def test_codes_of_four_to_ten_digits_render_verbatim(code: str) -> None:
    """Codes keep their leading zeros; 4 and 10 digits are the bounds."""
    assert f"是{code}，" in render(SPEC, {"code": code, "minutes": 10}, None).text  # noqa: RUF001


@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_code_is_missing_param(value: Any) -> None:
    """An absent, null or empty code is 422 MISSING_PARAM naming code."""
    for params in ({"minutes": 5}, {"code": value, "minutes": 5}):
        with pytest.raises(MissingParam) as caught:
            render(SPEC, params, None)
        assert caught.value.param == "code"


@pytest.mark.parametrize(
    "code",
    [
        "123",
        "12345678901",
        "12a4",
        " 1234",
        "1234\n",
        "１２３４５６",  # noqa: RUF001
        "١٢٣٤٥٦",
        "12-34",
        123456,
        12.5,
        True,
        ["1234"],
    ],
)
def test_a_malformed_code_is_invalid_argument_without_echoing_it(code: Any) -> None:
    """Anything but a string of 4 to 10 ASCII digits is 400 INVALID_ARGUMENT; the message does not
    repeat the value."""
    with pytest.raises(InvalidArgument) as caught:
        render(SPEC, {"code": code, "minutes": 5}, None)
    assert caught.value.message == "params.code: expected a string of 4 to 10 ASCII digits."


def test_a_url_in_a_string_parameter_is_refused() -> None:
    """A verification SMS cannot get a link through a string parameter either."""
    spec = dataclasses.replace(
        SPEC, text="{{product}}验证码{{code}}", params={"product": ParamSpec(ParamType.STRING)}
    )
    with pytest.raises(InvalidArgument, match=r"^params\.product: verification SMS carry no link"):
        render(spec, {"code": "1234", "product": "http://evil.example/"}, None)
    assert (
        render(spec, {"code": "1234", "product": "手机银行"}, None).text == "【平安银行】手机银行验证码1234"
    )


def test_link_argument_must_match_the_category() -> None:
    """Passing a link for a verification template, or none for a linked one, is a programming error."""
    with pytest.raises(ValueError, match="no link"):
        render(SPEC, {"code": "1234", "minutes": 5}, LINK)
    with pytest.raises(ValueError, match="link must be"):
        render(LINKED, {}, None)


def test_unknown_parameters_are_still_refused() -> None:
    """Only declared names and code are accepted at send time."""
    with pytest.raises(InvalidArgument, match=r"^params: 'link' is not a parameter"):
        render(SPEC, {"code": "1234", "minutes": 5, "link": "x"}, None)


def test_estimate_uses_the_shortest_code_and_no_link() -> None:
    """The segment estimate of a verification template counts a 4-digit code and empty parameters."""
    expected = count_segments("【平安银行】您的验证码是0000，分钟内有效。请勿告诉他人。")  # noqa: RUF001
    assert estimate(SPEC, 60) == expected


def test_the_wire_body_maps_absent_flow_and_quick_app_to_none() -> None:
    """A verification body without flow or quickApp becomes a spec without them; one with them is
    refused by the domain check naming the field."""
    body: dict[str, Any] = {
        "name": "otp",
        "category": "verification",
        "signature": "平安银行",
        "text": "{{code}}",
    }
    spec = TemplateCreate.model_validate(body).to_spec()
    assert (spec.flow, spec.quick_app, spec.category) == (None, None, Category.VERIFICATION)
    check_spec(spec)
    refused = TemplateCreate.model_validate({**body, "flow": "branch_queue"}).to_spec()
    assert _refusal(refused).startswith("flow: ")


@pytest.mark.parametrize(
    ("name", "minutes", "expected"),
    [
        (
            "verification_code_zh-CN",
            5,
            "【平安银行】您的验证码是482913，5分钟内有效。请勿告诉他人。",  # noqa: RUF001
        ),
        ("verification_code_en", 10, "【平安银行】Your code: 482913. Valid 10 min. Never share it."),
    ],
)
def test_verification_builtins_pass_the_checks_and_render_in_one_part(
    name: str, minutes: int, expected: str
) -> None:
    """Each verification built-in is a verification template with a code and minutes, one SMS part."""
    spec = builtin_spec(name, signature="平安银行")
    check_spec(spec)
    assert (spec.category, spec.flow, spec.quick_app, set(spec.params)) == (
        Category.VERIFICATION,
        None,
        None,
        {"minutes"},
    )
    sms = render(spec, {"code": "482913", "minutes": minutes}, None)
    assert sms.text == expected
    assert sms.segments == 1


@pytest.mark.parametrize("name", ["verification_code_zh-CN", "verification_code_en"])
def test_verification_builtins_fit_one_part_at_the_longest(name: str) -> None:
    """With the longest signature (16), the longest code (10 digits) and a 2-digit minutes value, a
    verification built-in is still one SMS part (UCS-2, at most 70 units)."""
    sms = render(builtin_spec(name, signature="签" * 16), {"code": "9" * 10, "minutes": 99}, None)
    assert (sms.segments, sms.encoding) == (1, Encoding.UCS2)


def test_a_quick_app_for_a_verification_builtin_is_refused() -> None:
    """Installing a verification built-in with a quick app fails the checks naming quickApp."""
    spec = builtin_spec(
        "verification_code_en", signature="Bank", quick_app=QuickAppBody(package="com.bank.app", page="Home")
    )
    assert _refusal(spec).startswith("quickApp: ")


@pytest.mark.parametrize(
    ("locale", "name"),
    [
        (None, "verification_code_zh-CN"),
        ("zh-CN", "verification_code_zh-CN"),
        ("ZH-cn", "verification_code_zh-CN"),
        ("zh-Hans", "verification_code_zh-CN"),
        ("zh", "verification_code_zh-CN"),
        ("en", "verification_code_en"),
        ("en-GB", "verification_code_en"),
        ("fr-FR", "verification_code_zh-CN"),
    ],
)
def test_a_locale_picks_its_verification_builtin(locale: str | None, name: str) -> None:
    """The same tag, else the same language, else the Chinese default."""
    assert verification_builtin(locale) == name


async def test_migrated_templates_table_matches_the_model(database_url: str) -> None:
    """After upgrading to heads (0012 makes flow and the quick app nullable), autogenerate finds no
    difference for sms_templates, and those columns accept null."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
            columns = await conn.run_sync(
                lambda sync: {c["name"]: c["nullable"] for c in sa.inspect(sync).get_columns("sms_templates")}
            )
    finally:
        await engine.dispose()

    assert [d for d in diffs if TemplateRecord.__tablename__ in repr(d)] == []
    assert (columns["flow"], columns["quick_app_package"], columns["quick_app_page"]) == (True, True, True)
