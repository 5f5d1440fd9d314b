"""Creation-time checks: the restricted template grammar, the signature, parameter names and text rules."""

from __future__ import annotations

import dataclasses

import jinja2
import pytest

from gateway.errors import InvalidArgument
from gateway.templates import rendering
from gateway.templates.rendering import check_spec, check_text
from gateway.templates.spec import Category, Flow, ParamSpec, ParamType, QuickApp, TemplateSpec

SPEC = TemplateSpec(
    name="claim",
    category=Category.NOTIFICATION,
    signature="平安银行",
    text="案件{{claimNo}}请点击 {{link}} 共享位置",
    flow=Flow.CLAIM_LOCATION,
    quick_app=QuickApp("com.example.claims", "Location"),
    params={"claimNo": ParamSpec(ParamType.STRING)},
)


def _refused(text: str, declared: tuple[str, ...] = ("x",)) -> str:
    with pytest.raises(InvalidArgument) as caught:
        check_text(text, declared)
    return caught.value.message


@pytest.mark.parametrize(
    "text",
    ["{{link}}", "请点击{{ link }}。", "{{x}}: {{-link-}}", "{# note #}{{x}} {{link}}", "{{ x }}{{link}}\n"],
)
def test_plain_substitutions_are_accepted(text: str) -> None:
    """Literal text, comments and {{ name }} of declared names and link (whitespace control too) pass."""
    check_text(text, ["x"] if "x" in text else [])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ ''.__class__ }}{{link}}", "reading an attribute"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}{{link}}", "calling"),
        ("{{ x.__init__ }}{{link}}", "reading an attribute"),
        ("{{ x.upper }}{{link}}", "reading an attribute"),
        ("{{ x['a'] }}{{link}}", "reading an attribute or item"),
        ("{{ x[0] }}{{link}}", "reading an attribute or item"),
        ("{{ x() }}{{link}}", "calling"),
        ("{{ x.upper() }}{{link}}", "calling"),
        ("{{ x|attr('__class__') }}{{link}}", "filters are not allowed (|attr)"),
        ("{{ x|upper }}{{link}}", "filters are not allowed (|upper)"),
        ("{{ x is defined }}{{link}}", "tests are not allowed"),
        ("{{ 'a' }}{{link}}", "literals"),
        ("{{ x ~ 'a' }}{{link}}", "not expressions"),
        ("{{ x if x else link }}", "not expressions"),
    ],
)
def test_expressions_beyond_a_name_are_refused(text: str, fragment: str) -> None:
    """Attribute/item reads, calls, filters, tests, literals and operators are refused, saying which."""
    message = _refused(text)
    assert message.startswith("text: ")
    assert fragment in message


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("{% for i in x %}{{ i }}{% endfor %}{{link}}", "loops"),
        ("{% if x %}a{% endif %}{{link}}", "conditions"),
        ("{% macro m() %}a{% endmacro %}{{link}}", "macros"),
        ("{% include 'other' %}{{link}}", "includes"),
        ("{% import 'other' as o %}{{link}}", "imports"),
        ("{% extends 'base' %}{{link}}", "inheritance"),
        ("{% block b %}a{% endblock %}{{link}}", "blocks"),
        ("{% set y = x %}{{link}}", "assignments"),
        ("{% filter upper %}a{% endfilter %}{{link}}", "filter blocks"),
        ("{% with y = x %}{{ y }}{% endwith %}{{link}}", "scopes"),
    ],
)
def test_statements_are_refused(text: str, keyword: str) -> None:
    """Every {% … %} statement is refused, naming the construct."""
    assert keyword in _refused(text)


@pytest.mark.parametrize("name", ["cycler", "range", "lipsum", "namespace", "joiner", "dict", "self", "loop"])
def test_jinja_globals_and_specials_are_undeclared_variables(name: str) -> None:
    """jinja2's globals and special names are not parameters: referencing them is refused."""
    assert f"'{name}' is not a declared parameter" in _refused(f"{{{{ {name} }}}}{{{{link}}}}")


def test_undeclared_variable_is_refused() -> None:
    """A substitution of a name that is not declared is refused, naming it."""
    assert "'amount' is not a declared parameter" in _refused("{{ amount }}{{link}}")


@pytest.mark.parametrize("text", ["no link here", "{{link}} and {{link}}", "{% raw %}{{link}}{% endraw %}"])
def test_link_must_be_substituted_exactly_once(text: str) -> None:
    """{{link}} is mandatory, and only once (a raw block's literal '{{link}}' does not count)."""
    assert "{{link}} exactly once" in _refused(text, ())


def test_declared_parameter_must_be_used() -> None:
    """A declared parameter the text never substitutes is refused."""
    assert _refused("{{link}}", ("x",)) == "params.x: declared but not used in the text."


@pytest.mark.parametrize("text", ["{{ link", "{% for %}", "{{ x }", "{% endif %}{{link}}"])
def test_syntax_errors_are_invalid_argument(text: str) -> None:
    """A text jinja2 cannot parse is 400 INVALID_ARGUMENT with the line, not an exception."""
    assert "not a valid template (line 1" in _refused(text)


def test_sandbox_stands_behind_the_grammar() -> None:
    """The environment is sandboxed with strict undefined and no globals: an escape fails even unchecked."""
    assert not rendering._ENV.globals and not rendering._ENV.filters
    with pytest.raises(jinja2.TemplateError):
        rendering._ENV.from_string("{{ ''.__class__.__mro__ }}").render()
    with pytest.raises(jinja2.UndefinedError):
        rendering._ENV.from_string("{{ cycler }}").render()


@pytest.mark.parametrize(
    ("signature", "ok"), [("平安", True), ("中" * 16, True), ("平", False), ("中" * 17, False)]
)
def test_signature_length(signature: str, ok: bool) -> None:
    """The signature is 2 to 16 characters."""
    spec = dataclasses.replace(SPEC, signature=signature)
    if ok:
        check_spec(spec)
    else:
        with pytest.raises(InvalidArgument, match="signature: must be 2 to 16"):
            check_spec(spec)


@pytest.mark.parametrize("signature", ["【平安银行】", "平安】银行", " 平安银行", "平安\n银行"])
def test_signature_without_brackets_spaces_or_controls(signature: str) -> None:
    """The signature is given bare: no 【】, no surrounding spaces, no control characters."""
    with pytest.raises(InvalidArgument, match=r"^signature: "):
        check_spec(dataclasses.replace(SPEC, signature=signature))


def test_text_may_not_carry_brackets() -> None:
    """【】 in the body are refused: only the signature is bracketed, and it comes first."""
    with pytest.raises(InvalidArgument, match="reserved for the signature"):
        check_spec(dataclasses.replace(SPEC, text="【假签名】{{claimNo}} {{link}}"))


def test_marketing_text_must_not_bring_its_own_opt_out() -> None:
    """Marketing texts get the opt-out line from the gateway; one in the text itself is refused."""
    text = "优惠 {{link}} 拒收请回复R"
    check_spec(dataclasses.replace(SPEC, text=text, params={}))
    with pytest.raises(InvalidArgument, match="appends"):
        check_spec(dataclasses.replace(SPEC, category=Category.MARKETING, text=text, params={}))


@pytest.mark.parametrize("name", ["link", "1st", "_x", "__class__", "a-b", "true", "loop", "x" * 33])
def test_parameter_names(name: str) -> None:
    """Parameter names are identifiers starting with a letter, not link or a jinja2 keyword."""
    spec = dataclasses.replace(SPEC, text="{{link}}", params={name: ParamSpec(ParamType.STRING)})
    with pytest.raises(InvalidArgument, match="not a valid parameter name"):
        check_spec(spec)


def test_text_length_and_parameter_count_are_bounded() -> None:
    """Texts are at most 500 characters and at most 20 parameters are declared."""
    with pytest.raises(InvalidArgument, match="1 to 500"):
        check_spec(dataclasses.replace(SPEC, text="中" * 495 + "{{link}}"))
    with pytest.raises(InvalidArgument, match="1 to 500"):
        check_spec(dataclasses.replace(SPEC, text="   "))
    many = {f"p{i}": ParamSpec(ParamType.STRING) for i in range(21)}
    with pytest.raises(InvalidArgument, match="at most 20"):
        check_spec(dataclasses.replace(SPEC, params=many))


def test_text_allows_line_breaks_but_no_other_controls() -> None:
    """Newlines and full-width spaces are text; NUL, BEL and bidi overrides are refused."""
    check_spec(dataclasses.replace(SPEC, text="案件{{claimNo}}\n请点击\u3000{{link}}"))
    for control in ("\x00", "\x07", "\u202e"):
        with pytest.raises(InvalidArgument, match="control characters"):
            check_spec(dataclasses.replace(SPEC, text=f"案件{{{{claimNo}}}}{control}{{{{link}}}}"))
