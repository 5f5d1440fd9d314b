"""Building an operator's SMS gateway from its URL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carrier_adapters.sms_gateways import OperatorSms, operator_sms
from carrier_adapters.smsc import Inbound


async def _ignore(items: list[Inbound]) -> None:
    return None


def _build(operator: str, url: str) -> OperatorSms:
    return operator_sms(
        operator, url, on_inbound=_ignore, now=lambda: datetime.now(UTC), backoff=lambda n: 1.0
    )


@pytest.mark.parametrize(
    ("operator", "url"),
    [
        ("cmcc", "cmpp://901234:secret@127.0.0.1:7890?src_id=106900001&window=8"),
        ("ctcc", "smgp://client01:secret@127.0.0.1?src_id=106900001"),
        ("intl", "smpp://system:secret@127.0.0.1?source_addr=BANK"),
    ],
)
def test_each_protocol_url_gives_a_channel_without_a_listener(operator: str, url: str) -> None:
    """CMPP, SMGP and SMPP report on the sessions the gateway opens: no listener."""
    gateway = _build(operator, url)
    assert (gateway.operator, gateway.channel.operator, gateway.listener) == (operator, operator, None)


def test_an_sgip_url_with_listen_also_gives_the_listener_for_the_smg() -> None:
    """SGIP's SMG connects to us with reports and replies, on the URL's listen address."""
    gateway = _build(
        "cucc",
        "sgip://login:secret@127.0.0.1:8801?node_id=3010099999&corp_id=12345&sp_number=10655"
        "&service_type=MBK&listen=127.0.0.1:0",
    )
    assert gateway.listener is not None and gateway.listener.operator == "cucc"


def test_a_wrong_option_is_named_and_the_secret_is_not() -> None:
    """A typo in an option fails at start-up with its name, never repeating the secret."""
    with pytest.raises(ValueError, match="versoin") as wrong:
        _build("cmcc", "cmpp://901234:topsecret@127.0.0.1?src_id=106900001&versoin=3.0")
    assert "topsecret" not in str(wrong.value)
