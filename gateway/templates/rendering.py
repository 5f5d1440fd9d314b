"""What a template may say, and how it becomes an SMS.

Texts are jinja2 templates in a :class:`~jinja2.sandbox.SandboxedEnvironment` (autoescape off, no
globals, no filters, no tests) restricted further by :func:`check_text`, which walks the parsed
AST at creation: the only constructs allowed are literal text and ``{{ name }}`` substitutions of
declared parameters and ``link`` (exactly once). Attribute or item access, calls, filters, tests,
literals, operators and every ``{% … %}`` statement are refused with ``400 INVALID_ARGUMENT``
saying why; the sandbox is a second wall behind that check.

Verification templates substitute the reserved ``code`` exactly once instead of ``link``, which they
must not carry (nor a literal URL, nor a flow or quick app): a link beside a one-time code is the
phishing pattern, and a code is typed, not clicked. The code is given at send time as a string of
:data:`CODE_DIGITS` ASCII digits.

:func:`render` validates the send-time parameters (missing required -> ``422 MISSING_PARAM``; a
wrong type or an unknown name -> ``400 INVALID_ARGUMENT``), formats them (numbers in plain
decimal, dates ISO ``YYYY-MM-DD``, phones E.164 in, masked national form out), renders,
prefixes ``【signature】`` and, for marketing, appends :data:`OPT_OUT_LINE`. Segments are counted on
that complete SMS.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from carrier_adapters.segments import Encoding, SegmentCount, count_segments
from gateway.errors import InvalidArgument, MissingParam
from gateway.logs import mask_phone
from gateway.templates.spec import Category, ParamType, Template, TemplateSpec

__all__ = [
    "CODE",
    "CODE_DIGITS",
    "MAX_SEGMENTS",
    "OPT_OUT_LINE",
    "RenderedSms",
    "check_spec",
    "check_text",
    "estimate",
    "render",
]

OPT_OUT_LINE = "拒收请回复R"
MAX_TEXT_CHARS = 500
MAX_PARAMS = 20
MAX_PARAM_CHARS = 100
MAX_SEGMENTS = 10
SIGNATURE_CHARS = (2, 16)
LINK = "link"
CODE = "code"
CODE_DIGITS = (4, 10)

_PARAM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
_RESERVED = frozenset(
    {LINK, "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else"}
    | {"loop", "self", "caller", "varargs", "kwargs", "super", "range", "dict", "lipsum", "cycler"}
    | {"joiner", "namespace"}
)
_CODE = re.compile(rf"[0-9]{{{CODE_DIGITS[0]},{CODE_DIGITS[1]}}}")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|www\.", re.IGNORECASE)
_E164 = re.compile(r"^\+[1-9][0-9]{4,14}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_BRACKETS = frozenset("【】")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_ENV = SandboxedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_ENV.globals.clear()
_ENV.filters.clear()
_ENV.tests.clear()

_STATEMENTS = {
    "For": "loops ({% for %})",
    "If": "conditions ({% if %})",
    "Macro": "macros ({% macro %})",
    "CallBlock": "call blocks ({% call %})",
    "Include": "includes ({% include %})",
    "Import": "imports ({% import %})",
    "FromImport": "imports ({% from … import %})",
    "Extends": "template inheritance ({% extends %})",
    "Block": "blocks ({% block %})",
    "Assign": "assignments ({% set %})",
    "AssignBlock": "assignments ({% set %})",
    "FilterBlock": "filter blocks ({% filter %})",
    "With": "scopes ({% with %})",
}


@dataclass(frozen=True, slots=True)
class RenderedSms:
    """The complete SMS as sent: signature, body, opt-out line; its part count and data coding."""

    text: str
    segments: int
    encoding: Encoding


def _has_controls(value: str, allowed: str = "") -> bool:
    return bool(_BIDI_CONTROLS.intersection(value)) or any(
        unicodedata.category(c) == "Cc" and c not in allowed for c in value
    )


def _refuse_expression(node: nodes.Node) -> str:
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        return "reading an attribute or item ({{ a.b }}, {{ a['b'] }}) is not allowed"
    if isinstance(node, nodes.Call):
        return "calling functions or methods is not allowed"
    if isinstance(node, nodes.Filter):
        return f"filters are not allowed (|{node.name})"
    if isinstance(node, nodes.Test):
        return f"tests are not allowed (is {node.name})"
    if isinstance(node, nodes.Literal):
        return "literals are not allowed inside {{ }}"
    return "only plain substitutions {{ name }} are allowed, not expressions"


def _template_error(exc: jinja2.TemplateSyntaxError) -> InvalidArgument:
    reason = (exc.message or "syntax error").rstrip(".")
    return InvalidArgument(f"text: not a valid template (line {exc.lineno}: {reason}).")


def check_text(text: str, declared: Collection[str], *, category: Category = Category.TRANSACTION) -> None:
    """Accept ``text`` only if it is literal text and ``{{ name }}`` substitutions of ``declared`` names.

    ``link`` must be substituted exactly once, or for :attr:`Category.VERIFICATION` ``code`` exactly
    once and ``link`` (or a literal URL) never; every declared name must be used.

    :raises InvalidArgument: with a message saying what is not allowed.
    """
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise _template_error(exc) from exc
    slot = LINK if category.has_link else CODE
    used: list[str] = []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            what = _STATEMENTS.get(type(statement).__name__, "{% … %} statements")
            raise InvalidArgument(f"text: {what} are not allowed; use only {{{{ name }}}} substitutions.")
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                if not category.has_link and _URL.search(node.data):
                    raise InvalidArgument("text: verification texts carry no link or URL, only the code.")
                continue
            if not isinstance(node, nodes.Name):
                raise InvalidArgument(f"text: {_refuse_expression(node)}.")
            if node.name == LINK and not category.has_link:
                raise InvalidArgument(
                    "text: verification texts must not contain {{link}}: the code is typed, not clicked."
                )
            if node.name != slot and node.name not in declared:
                raise InvalidArgument(f"text: '{node.name[:40]}' is not a declared parameter.")
            used.append(node.name)
    if used.count(slot) != 1:
        raise InvalidArgument(f"text: must contain {{{{{slot}}}}} exactly once.")
    unused = sorted(set(declared) - set(used))
    if unused:
        raise InvalidArgument(f"params.{unused[0]}: declared but not used in the text.")


def _check_signature(signature: str) -> None:
    low, high = SIGNATURE_CHARS
    if not low <= len(signature) <= high:
        raise InvalidArgument(f"signature: must be {low} to {high} characters, without 【】.")
    if _BRACKETS.intersection(signature):
        raise InvalidArgument("signature: give it without 【】; the gateway adds them.")
    if signature != signature.strip() or _has_controls(signature):
        raise InvalidArgument("signature: no leading or trailing spaces and no control characters.")


def _check_link_target(spec: TemplateSpec) -> None:
    if spec.category.has_link:
        if spec.flow is None:
            raise InvalidArgument(f"flow: required for {spec.category.value} templates.")
        if spec.quick_app is None:
            raise InvalidArgument(f"quickApp: required for {spec.category.value} templates.")
        return
    if spec.flow is not None:
        raise InvalidArgument("flow: verification templates have none (their SMS carry no link).")
    if spec.quick_app is not None:
        raise InvalidArgument("quickApp: verification templates have none (their SMS carry no link).")


def check_spec(spec: TemplateSpec) -> None:
    """Everything a template must satisfy before it is stored (and therefore before it is rendered).

    :raises InvalidArgument: naming the field and the rule.
    """
    _check_signature(spec.signature)
    _check_link_target(spec)
    if len(spec.params) > MAX_PARAMS:
        raise InvalidArgument(f"params: at most {MAX_PARAMS} parameters.")
    for name in spec.params:
        if name == CODE and not spec.category.has_link:
            raise InvalidArgument(
                "params: 'code' is reserved in verification templates; the one-time code is given at send "
                "time, do not declare it."
            )
        if not _PARAM_NAME.match(name) or name in _RESERVED:
            raise InvalidArgument(
                f"params: '{name[:40]}' is not a valid parameter name (a letter, then letters, digits or _, "
                "at most 32; not link or a template keyword)."
            )
    if not spec.text.strip() or len(spec.text) > MAX_TEXT_CHARS:
        raise InvalidArgument(f"text: must be 1 to {MAX_TEXT_CHARS} characters.")
    if _has_controls(spec.text, allowed="\n"):
        raise InvalidArgument("text: control characters other than line breaks are not allowed.")
    if _BRACKETS.intersection(spec.text):
        raise InvalidArgument("text: 【】 are reserved for the signature, which the gateway puts first.")
    if spec.category is Category.MARKETING and OPT_OUT_LINE[:4] in spec.text:
        raise InvalidArgument(f"text: the gateway appends '{OPT_OUT_LINE}' to marketing texts; leave it out.")
    check_text(spec.text, spec.params, category=spec.category)


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> jinja2.Template:
    return _ENV.from_string(text)


def _bad_type(name: str, expected: str) -> InvalidArgument:
    return InvalidArgument(f"params.{name}: expected {expected}.")


def _format_number(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad_type(name, "a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _bad_type(name, "a finite number")
    return format(Decimal(repr(value)).normalize() if isinstance(value, float) else Decimal(value), "f")


def _format_date(name: str, value: object) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise _bad_type(name, "a date YYYY-MM-DD")


def _format_phone(name: str, value: object) -> str:
    if not isinstance(value, str) or not _E164.match(value):
        raise _bad_type(name, "an E.164 phone number with +")
    return mask_phone(value[3:]) if value.startswith("+86") else mask_phone(value)


def _format_string(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _bad_type(name, "a string")
    if _BRACKETS.intersection(value):
        raise InvalidArgument(f"params.{name}: 【】 are reserved for the signature.")
    if _has_controls(value):
        raise InvalidArgument(f"params.{name}: control characters are not allowed.")
    return value


_FORMATTERS = {
    ParamType.STRING: _format_string,
    ParamType.NUMBER: _format_number,
    ParamType.DATE: _format_date,
    ParamType.PHONE: _format_phone,
}


def _format_code(value: object) -> str:
    if value is None or value == "":
        raise MissingParam(CODE)
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        low, high = CODE_DIGITS
        raise InvalidArgument(f"params.{CODE}: expected a string of {low} to {high} ASCII digits.")
    return value


def _bind(spec: TemplateSpec, given: Mapping[str, object]) -> dict[str, str]:
    declared = spec.params
    verification = not spec.category.has_link
    unknown = sorted(set(given) - set(declared) - ({CODE} if verification else set()))
    if unknown:
        name = str(unknown[0])
        shown = f"'{name}'" if _PARAM_NAME.match(name) else "a name"
        raise InvalidArgument(f"params: {shown} is not a parameter of this template.")
    values: dict[str, str] = {CODE: _format_code(given.get(CODE))} if verification else {}
    for name, param in declared.items():
        value = given.get(name)
        if value is None or value == "":
            if param.required:
                raise MissingParam(name)
            values[name] = ""
            continue
        formatted = _FORMATTERS[param.type](name, value)
        if len(formatted) > MAX_PARAM_CHARS:
            raise InvalidArgument(f"params.{name}: at most {MAX_PARAM_CHARS} characters.")
        if verification and _URL.search(formatted):
            raise InvalidArgument(f"params.{name}: verification SMS carry no link or URL.")
        values[name] = formatted
    return values


def _compose(spec: TemplateSpec, values: Mapping[str, str], link: str | None) -> str:
    body = _compiled(spec.text).render({**values, LINK: link} if link is not None else values)
    text = f"【{spec.signature}】{body}"
    if spec.category is Category.MARKETING:
        last = text[-1]
        text += (" " if last.isascii() and not last.isspace() else "") + OPT_OUT_LINE
    return text


def render(template: Template | TemplateSpec, params: Mapping[str, object], link: str | None) -> RenderedSms:
    """The SMS for ``params`` and the message's short ``link`` (``None`` for verification templates,
    whose ``params`` carry the one-time ``code`` instead).

    ``template`` must have passed :func:`check_spec` (every stored template has); approval is the
    caller's business (:meth:`~gateway.templates.service.TemplateService.get_approved`).

    :raises MissingParam: a required parameter (or a verification template's ``code``) is absent,
        null or empty.
    :raises InvalidArgument: an unknown parameter, a value of the wrong type or too long, a code
        that is not :data:`CODE_DIGITS` ASCII digits, or an SMS of more than :data:`MAX_SEGMENTS` parts.
    :raises ValueError: a link for a verification template, or none (or a malformed one) for another.
    """
    spec = template.spec if isinstance(template, Template) else template
    if not spec.category.has_link:
        if link is not None:
            raise ValueError("verification SMS carry no link")
    elif not link or not link.isprintable() or any(c.isspace() for c in link):
        raise ValueError("link must be a non-empty URL without spaces")
    text = _compose(spec, _bind(spec, params), link)
    count = count_segments(text)
    if count.segments > MAX_SEGMENTS:
        raise InvalidArgument(f"params: the SMS would need {count.segments} parts; at most {MAX_SEGMENTS}.")
    return RenderedSms(text, count.segments, count.encoding)


def estimate(spec: TemplateSpec, link_chars: int) -> SegmentCount:
    """The size of the SMS with every parameter empty and a link of ``link_chars`` ASCII characters
    (for verification: no link and a code of the fewest digits).

    A lower bound: parameter values only add to it.
    """
    values = dict.fromkeys(spec.params, "")
    if not spec.category.has_link:
        return count_segments(_compose(spec, {**values, CODE: "0" * CODE_DIGITS[0]}, None))
    return count_segments(_compose(spec, values, "x" * link_chars))
