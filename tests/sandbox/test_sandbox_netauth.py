"""The operators' network-authorization flow (docs: "Common network-authorization rules"), per operator."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from sandbox import SandboxConfig
from sandbox.appkeys import STATE
from tests.clocks import ManualClock
from tests.sandbox.conftest import (
    REDIRECT_URI,
    AuthorizeUrl,
    Inbox,
    NetworkCode,
    OtpCode,
    OtpFlow,
    SandboxClient,
    Subscribe,
    form_txn,
)
from tests.sandbox.dialects import (
    AUTHORIZE,
    AUTHORIZE_PARAMS,
    CODE_FORM,
    CODE_LIFETIMES,
    CODE_PREFIXES,
    ENRICHMENT,
    NUMBER_FORM,
    OPERATORS,
    PHONES,
    SMS_SENDERS,
    ctcc_encrypt,
    cucc_encrypt,
    national,
    query_of,
)

pytestmark = pytest.mark.parametrize("op", OPERATORS)

OTHER_PHONE = "+8613900139000"


def hint_for(op: str, app_key: str, number: str) -> str:
    """The login hint in each dialect's encoding."""
    if op == "cucc":
        return cucc_encrypt(app_key, number)
    if op == "ctcc":
        return ctcc_encrypt(app_key, number)
    return number


async def test_enrichment_header_redirects_with_a_code(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, clock: ManualClock, op: str
) -> None:
    """The operator's header (any case) identifies the phone: 302 to redirect_uri with a code and state."""
    await subscribe(PHONES[op], op)

    response = await client.get(
        authorize_url(op), headers={ENRICHMENT[op].upper(): national(PHONES[op])}, allow_redirects=False
    )

    assert response.status == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "&code=")
    params = query_of(location)
    assert params["state"] == "state-1"
    assert params["code"].startswith(CODE_PREFIXES[op])
    code = client.app[STATE].codes.get(params["code"])
    assert code is not None
    assert (code.phone_number, code.method, code.redirect_uri) == (PHONES[op], "network", REDIRECT_URI)
    assert code.expires_at - clock.now() == timedelta(seconds=CODE_LIFETIMES[op])


async def test_redirect_uri_without_query_gets_a_question_mark(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, op: str
) -> None:
    """A redirect URI without a query is extended with '?code=…&state=…'."""
    await subscribe(PHONES[op], op)

    response = await client.get(
        authorize_url(op, redirect_uri="http://127.0.0.1:9/cb", state="a b&c"),
        headers={ENRICHMENT[op]: national(PHONES[op])},
        allow_redirects=False,
    )

    assert response.headers["Location"].startswith("http://127.0.0.1:9/cb?code=")
    assert query_of(response.headers["Location"])["state"] == "a b&c"


async def test_enrichment_wins_over_the_login_hint(
    client: SandboxClient, config: SandboxConfig, subscribe: Subscribe, authorize_url: AuthorizeUrl, op: str
) -> None:
    """With both a header and a hint naming other numbers, the code is for the header's number."""
    await subscribe(PHONES[op], op)
    await subscribe(OTHER_PHONE, op)
    hint = hint_for(op, config.apps[op].app_key, national(OTHER_PHONE))

    response = await client.get(
        authorize_url(op, **{AUTHORIZE_PARAMS[op][2]: hint}),
        headers={ENRICHMENT[op]: national(PHONES[op])},
        allow_redirects=False,
    )

    issued = client.app[STATE].codes.get(query_of(response.headers["Location"])["code"])
    assert issued is not None
    assert issued.phone_number == PHONES[op]


@pytest.mark.parametrize("header", ["not-a-number", "+8613800138000", "1380013800", "13700137000"])
async def test_unusable_enrichment_falls_back_to_the_number_form(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, op: str, header: str
) -> None:
    """A malformed header, or one naming no subscriber of this operator, is ignored: the number form."""
    await subscribe(PHONES[op], op)

    response = await client.get(authorize_url(op), headers={ENRICHMENT[op]: header}, allow_redirects=False)

    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert 'autocomplete="tel-national"' in page
    assert f'action="{NUMBER_FORM[op][0]}"' in page


async def test_another_operators_header_is_not_enrichment(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, op: str
) -> None:
    """Only the operator's own header counts; another operator's header name is ignored."""
    await subscribe(PHONES[op], op)
    other = next(name for key, name in ENRICHMENT.items() if key != op)

    response = await client.get(
        authorize_url(op), headers={other: national(PHONES[op])}, allow_redirects=False
    )

    assert response.status == 200


async def test_unknown_app_is_an_error_page_not_a_redirect(
    client: SandboxClient, authorize_url: AuthorizeUrl, op: str
) -> None:
    """A wrong or missing app id answers HTTP 400 HTML without Location."""
    app_param = AUTHORIZE_PARAMS[op][0]
    for url in (authorize_url(op, **{app_param: "nobody"}), authorize_url(op).replace(app_param + "=", "x=")):
        response = await client.get(url, allow_redirects=False)
        assert response.status == 400
        assert response.content_type == "text/html"
        assert "Location" not in response.headers


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "",
        "ftp://gateway.example/cb",
        "/relative/cb",
        "https://gateway.example/cb#frag",
        "https:///cb",
        "x" * 10,
    ],
)
async def test_invalid_redirect_uri_is_an_error_page(
    client: SandboxClient, authorize_url: AuthorizeUrl, op: str, redirect_uri: str
) -> None:
    """Missing, non-http(s), relative, host-less or fragment redirect URIs answer 400 HTML, no redirect."""
    response = await client.get(authorize_url(op, redirect_uri=redirect_uri), allow_redirects=False)

    assert response.status == 400
    assert "Location" not in response.headers


async def test_overlong_redirect_uri_is_an_error_page(
    client: SandboxClient, authorize_url: AuthorizeUrl, op: str
) -> None:
    """A redirect URI over 2048 characters answers 400."""
    long_uri = "https://gateway.example/" + "a" * 2030

    response = await client.get(authorize_url(op, redirect_uri=long_uri), allow_redirects=False)

    assert response.status == 400


@pytest.mark.parametrize("state", [None, "", "s" * 513])
async def test_missing_or_overlong_state_redirects_invalid_request(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, op: str, state: str | None
) -> None:
    """Without a usable state the operator redirects with error=invalid_request and issues nothing."""
    await subscribe(PHONES[op], op)

    response = await client.get(
        authorize_url(op, state=state), headers={ENRICHMENT[op]: national(PHONES[op])}, allow_redirects=False
    )

    assert response.status == 302
    params = query_of(response.headers["Location"])
    assert params["error"] == "invalid_request"
    assert "code" not in params
    assert len(client.app[STATE].codes) == 0


async def test_login_hint_prefills_the_number_form(
    client: SandboxClient, config: SandboxConfig, authorize_url: AuthorizeUrl, op: str
) -> None:
    """A hint in the dialect's encoding pre-fills the number; an undecodable one leaves it empty."""
    hint_param = AUTHORIZE_PARAMS[op][2]
    hint = hint_for(op, config.apps[op].app_key, national(PHONES[op]))

    filled = await (await client.get(authorize_url(op, **{hint_param: hint}))).text()
    garbled = await (await client.get(authorize_url(op, **{hint_param: "ZZ" + hint}))).text()

    assert f'value="{national(PHONES[op])}"' in filled
    assert 'value=""' in garbled


async def test_sms_otp_flow_issues_an_sms_otp_code(
    client: SandboxClient, subscribe: Subscribe, inbox: Inbox, otp_code: OtpCode, clock: ManualClock, op: str
) -> None:
    """Number, SMS from the operator's service number, code: a code for the number, method sms_otp."""
    await subscribe(PHONES[op], op)

    code = await otp_code(op, PHONES[op])

    messages = await inbox(PHONES[op])
    assert len(messages) == 1
    assert messages[0]["from"] == SMS_SENDERS[op]
    assert messages[0]["receivedAt"] == "2026-03-02T01:30:15.250000Z"
    issued = client.app[STATE].codes.get(code)
    assert issued is not None
    assert (issued.phone_number, issued.method, issued.redirect_uri) == (PHONES[op], "sms_otp", REDIRECT_URI)
    assert code.startswith(CODE_PREFIXES[op])
    assert len(client.app[STATE].otp_sessions) == 0


@pytest.mark.parametrize("typed", ["+86 {n}", "86{n}", "{n}"])
async def test_number_form_tolerates_prefix_and_spaces(
    client: SandboxClient,
    subscribe: Subscribe,
    authorize_url: AuthorizeUrl,
    inbox: Inbox,
    op: str,
    typed: str,
) -> None:
    """A '+86' or '86' prefix and spaces around the digits are accepted."""
    await subscribe(PHONES[op], op)
    txn = form_txn(await (await client.get(authorize_url(op))).text())
    path, field = NUMBER_FORM[op]

    response = await client.post(path, data={"txn": txn, field: typed.format(n=national(PHONES[op]))})

    assert response.status == 200
    assert 'autocomplete="one-time-code"' in await response.text()
    assert len(await inbox(PHONES[op])) == 1


@pytest.mark.parametrize("typed", ["13700137000", "+8618600186001", "12345", ""])
async def test_number_form_refuses_non_subscribers(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, op: str, typed: str
) -> None:
    """A number that is not this operator's subscriber gets the number form again with HTTP 400, no SMS."""
    await subscribe(PHONES[op], op)
    other = next(candidate for candidate in OPERATORS if candidate != op)
    await subscribe("+8618600186001", other)
    txn = form_txn(await (await client.get(authorize_url(op))).text())
    path, field = NUMBER_FORM[op]

    response = await client.post(path, data={"txn": txn, field: typed})

    assert response.status == 400
    assert 'role="alert"' in await response.text()
    assert form_txn(await response.text()) == txn
    assert client.app[STATE].inboxes.last_seq() == 0


async def test_second_number_submission_is_refused(
    client: SandboxClient, subscribe: Subscribe, otp_flow: OtpFlow, op: str
) -> None:
    """Once a code was sent for a session, the number form answers 400 and sends nothing."""
    await subscribe(PHONES[op], op)
    txn, _ = await otp_flow(op, PHONES[op])
    path, field = NUMBER_FORM[op]

    response = await client.post(path, data={"txn": txn, field: national(PHONES[op])})

    assert response.status == 400
    assert client.app[STATE].inboxes.last_seq() == 1


async def test_unknown_session_is_refused_on_both_forms(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, op: str
) -> None:
    """A txn the operator never issued (or another operator's) answers 400 on both forms."""
    await subscribe(PHONES[op], op)
    other = next(candidate for candidate in OPERATORS if candidate != op)
    foreign_txn = form_txn(await (await client.get(authorize_url(other))).text())

    for txn in ("nope", foreign_txn):
        number = await client.post(
            NUMBER_FORM[op][0], data={"txn": txn, NUMBER_FORM[op][1]: national(PHONES[op])}
        )
        code = await client.post(CODE_FORM[op][0], data={"txn": txn, CODE_FORM[op][1]: "123456"})
        assert (number.status, code.status) == (400, 400)


async def test_code_form_before_an_sms_is_refused(
    client: SandboxClient, authorize_url: AuthorizeUrl, op: str
) -> None:
    """Submitting a code before any SMS was sent answers 400."""
    txn = form_txn(await (await client.get(authorize_url(op))).text())

    response = await client.post(CODE_FORM[op][0], data={"txn": txn, CODE_FORM[op][1]: "123456"})

    assert response.status == 400


async def test_fifth_wrong_code_denies_access(
    client: SandboxClient, subscribe: Subscribe, otp_flow: OtpFlow, op: str
) -> None:
    """Four wrong codes re-show the form with the attempts left; the fifth redirects access_denied."""
    await subscribe(PHONES[op], op)
    txn, otp = await otp_flow(op, PHONES[op])
    wrong = f"{(int(otp) + 1) % 10**6:06d}"
    path, field = CODE_FORM[op]

    for left in (4, 3, 2, 1):
        response = await client.post(path, data={"txn": txn, field: wrong}, allow_redirects=False)
        assert response.status == 400
        assert f"{left}次" in await response.text()
    response = await client.post(path, data={"txn": txn, field: wrong}, allow_redirects=False)

    assert response.status == 302
    params = query_of(response.headers["Location"])
    assert (params["error"], params["state"]) == ("access_denied", "state-1")
    assert "code" not in params
    again = await client.post(path, data={"txn": txn, field: otp}, allow_redirects=False)
    assert again.status == 400


async def test_right_code_after_wrong_ones_succeeds(
    client: SandboxClient, subscribe: Subscribe, otp_flow: OtpFlow, op: str
) -> None:
    """Wrong attempts below the limit do not spoil the right code."""
    await subscribe(PHONES[op], op)
    txn, otp = await otp_flow(op, PHONES[op])
    path, field = CODE_FORM[op]

    for wrong in ("000000" if otp != "000000" else "111111", "", "abcdef"):
        assert (await client.post(path, data={"txn": txn, field: wrong})).status == 400
    response = await client.post(path, data={"txn": txn, field: otp}, allow_redirects=False)

    assert response.status == 302
    assert "code" in query_of(response.headers["Location"])


async def test_otp_expires_after_five_minutes(
    client: SandboxClient, subscribe: Subscribe, otp_flow: OtpFlow, clock: ManualClock, op: str
) -> None:
    """The SMS code is valid 5 minutes; after that the flow ends with access_denied."""
    await subscribe(PHONES[op], op)
    txn, otp = await otp_flow(op, PHONES[op])
    path, field = CODE_FORM[op]

    clock.advance(299)
    assert (await client.post(path, data={"txn": txn, field: "x"})).status == 400
    clock.advance(1)
    response = await client.post(path, data={"txn": txn, field: otp}, allow_redirects=False)

    assert response.status == 302
    assert query_of(response.headers["Location"])["error"] == "access_denied"


async def test_session_expires_after_ten_minutes(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, clock: ManualClock, op: str
) -> None:
    """A number form left open for 10 minutes no longer sends a code."""
    await subscribe(PHONES[op], op)
    txn = form_txn(await (await client.get(authorize_url(op))).text())

    clock.advance(600)
    response = await client.post(
        NUMBER_FORM[op][0], data={"txn": txn, NUMBER_FORM[op][1]: national(PHONES[op])}
    )

    assert response.status == 400
    assert client.app[STATE].inboxes.last_seq() == 0


async def test_reset_forgets_codes_sessions_and_messages(
    client: SandboxClient,
    subscribe: Subscribe,
    otp_flow: OtpFlow,
    network_code: NetworkCode,
    inbox: Inbox,
    op: str,
) -> None:
    """POST /sandbox/reset empties the code ledger, the OTP sessions and every inbox."""
    await subscribe(PHONES[op], op)
    await network_code(op, PHONES[op])
    await otp_flow(op, PHONES[op])
    state = client.app[STATE]
    assert (len(state.codes), len(state.otp_sessions), len(state.inboxes.messages(PHONES[op]))) == (1, 1, 1)

    assert (await client.post("/sandbox/reset")).status == 204

    assert (len(state.codes), len(state.otp_sessions), state.inboxes.messages(PHONES[op])) == (0, 0, [])


async def test_faults_apply_to_the_authorization_endpoints(
    client: SandboxClient, subscribe: Subscribe, authorize_url: AuthorizeUrl, op: str
) -> None:
    """errorRate answers the authorize endpoint and the forms with HTTP 500; down drops the connection."""
    await subscribe(PHONES[op], op)
    assert (await client.put(f"/sandbox/operators/{op}/faults", json={"errorRate": 1})).status == 200
    assert (await client.get(authorize_url(op))).status == 500
    assert (await client.post(NUMBER_FORM[op][0], data={})).status == 500

    assert (
        await client.put(f"/sandbox/operators/{op}/faults", json={"errorRate": 0, "down": True})
    ).status == 200
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.get(authorize_url(op))


async def test_authorize_path_is_the_documented_one(client: SandboxClient, op: str) -> None:
    """The authorize endpoint lives at the documented path and answers GET only."""
    assert (await client.post(AUTHORIZE[op])).status == 405
