"""The privacy filter on log lines, and the leak detector the suite runs on every test's logs."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from gateway.logs import configure_logging, mask_phone, redact, redact_text
from tests.leaks import find_leaks

cn_mobiles = st.builds(lambda p, n: f"1{p}{n:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))


def test_mask_keeps_prefix_and_last_four() -> None:
    """Numbers are masked as the contract shows: +86138****8000, and nationally 138****8000."""
    assert mask_phone("+8613800138000") == "+86138****8000"
    assert mask_phone("13800138000") == "138****8000"


@given(cn_mobiles, st.booleans(), st.text(alphabet=" ,:;=()[]abc", max_size=5))
def test_no_generated_number_survives_redaction(national: str, e164: bool, around: str) -> None:
    """Whatever the surrounding text, a Chinese mobile number never reaches the log unmasked."""
    number = "+86" + national if e164 else national
    cleaned = redact_text(f"{around}{number}{around}")
    assert not find_leaks(cleaned, set())
    assert national not in cleaned


def test_leak_detector_finds_what_it_should() -> None:
    """The detector itself flags unmasked numbers and registered secrets, and passes masked ones."""
    assert find_leaks("user +8613800138000 logged in", set())
    assert find_leaks("token=abcdefgh123", {"abcdefgh123"})
    assert not find_leaks("user +86138****8000 logged in", set())


def test_rendered_log_lines_drop_secrets_and_mask_numbers() -> None:
    """Through the real processor chain: secrets dropped, numbers masked, tokens replaced, JSON out."""
    sink = io.StringIO()
    configure_logging("debug", "json", sink)
    try:
        structlog.get_logger("t").info(
            "exchange",
            token="STsid0123456789abcdef",
            client_secret="s3cr3t-value",
            phone="+8618600186000",
            note="Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig for 18600186000",
        )
        logging.getLogger("aiohttp.server").warning("peer sent 13800138000")
        lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    finally:
        from tests.conftest import LOG_SINK

        configure_logging("debug", "json", LOG_SINK)
    assert lines[0]["token"] == "[redacted]" and lines[0]["client_secret"] == "[redacted]"
    assert lines[0]["phone"] == "+86186****6000"
    assert "eyJ" not in lines[0]["note"] and "186****6000" in lines[0]["note"]
    assert lines[1]["event"] == "peer sent 138****8000"


@pytest.mark.parametrize(
    "secret",
    [
        "STsid0123456789abcdef0123456789abcdef",
        "CUAT" + "x" * 40,
        "CTA0" + "a1" * 20,
        "CMAC" + "0f" * 16,
        "CUAC" + "Ab-_" * 10,
        "CTAC" + "9e" * 20,
        "whsec_" + "QUJD" * 8,
    ],
)
def test_operator_tokens_and_codes_in_free_text_are_dropped(secret: str) -> None:
    """SDK tokens, operator authorization codes and webhook secrets never survive into a log line."""
    assert secret not in redact_text(f"callback failed for {secret} at step 2")


@given(st.uuids(), st.sampled_from(["", "req-", "tenant=", " "]))
def test_uuids_are_identifiers_not_numbers(value: uuid.UUID, prefix: str) -> None:
    """A canonical UUID (tenant, message or generated correlator id) survives redaction unchanged
    unless it holds a mainland-mobile-shaped run, while a number next to it is still masked; the
    result never looks like a leaked number."""
    text = f"{prefix}{value} for 13800138000"
    cleaned = redact_text(text)
    assert not find_leaks(cleaned, set())
    if not find_leaks(str(value), set()):
        assert cleaned == f"{prefix}{value} for 138****8000"


def test_a_mobile_shaped_run_inside_a_uuid_is_still_masked() -> None:
    """The one exception to keeping UUIDs intact: 11 digits that read as a mainland mobile."""
    assert redact_text("id 0c6f2a1e-4b7d-4c2e-9f3a-a13812345678") == "id 0c6f2a1e-4b7d-4c2e-9f3a-a138****5678"
    assert redact_text("id 6cb22277-4f93-4daa-856c-1a80a9118698") == "id 6cb22277-4f93-4daa-856c-1a80a9118698"


def test_correlator_and_context_are_on_library_lines_too() -> None:
    """Context bound for a request reaches structlog lines and stdlib (library) lines alike, and a
    generated correlator whose UUID holds a long digit run is rendered as it was bound."""
    correlator = "6cb22277-4f93-4daa-856c-1a80a9118698"
    sink = io.StringIO()
    configure_logging("debug", "json", sink)
    try:
        structlog.contextvars.bind_contextvars(correlator=correlator)
        structlog.get_logger("t").info("service_step")
        logging.getLogger("aiohttp.access").info("GET /x 200")
        structlog.contextvars.clear_contextvars()
        logging.getLogger("aiohttp.access").info("between requests")
        lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    finally:
        structlog.contextvars.clear_contextvars()
        from tests.conftest import LOG_SINK

        configure_logging("debug", "json", LOG_SINK)
    assert [line.get("correlator") for line in lines] == [correlator, correlator, None]


@pytest.mark.parametrize(
    ("correlator", "logged"),
    [
        ("req-20261124-000123", "req-20261124-000123"),
        ("batch:4722211/7", "batch:4722211/7"),
        ("6cb22277-4f93-4daa-856c-1a80a9118698", "6cb22277-4f93-4daa-856c-1a80a9118698"),
        ("user-13800138000", "user-138****8000"),
        ("8613800138000.retry", "861****8000.retry"),
        ("STsid0123456789abcdef", "[token]"),
    ],
)
def test_correlator_keeps_its_digits_but_not_numbers_or_tokens(correlator: str, logged: str) -> None:
    """The logged correlator stays greppable (dates, counters, UUIDs verbatim) while a mainland
    mobile number or an SDK token inside it is still masked or dropped."""
    event = redact(None, "info", {"correlator": correlator, "event": f"seen {correlator}"})
    assert event["correlator"] == logged
    assert not find_leaks(json.dumps(event), set())


_NEAR_MISSES = st.sampled_from(list("0123456789+-_. abcXYZ:/=eyJSTsidCUATwhsec_BearerBASIC"))


@given(st.text(alphabet=_NEAR_MISSES | st.characters(), max_size=60))
def test_quick_screen_never_skips_text_the_full_filter_would_change(text: str) -> None:
    """The one-search screen that lets clean text through untouched is exact: any text it passes
    is text the token and number patterns would have left as it was."""
    from gateway import logs

    full = logs._PHONE_OR_UUID.sub(logs._mask_match, logs._drop_tokens(text))
    assert redact_text(text) == full
    assert logs.redact_correlator(text) == logs._mask_mobiles(logs._drop_tokens(text))
