"""SMS gateway URLs: what they configure, their defaults, and errors that never repeat the secret."""

from __future__ import annotations

import pytest

from carrier_adapters.smsc.url import parse_smsc_url


def test_a_full_cmpp_url_sets_login_channel_and_protocol_options() -> None:
    """Shared options go to the channel; the rest stay for the protocol; login and secret are decoded."""
    url = parse_smsc_url(
        "cmpp://900001:p%40ss%3Aword@ismg.example:17890?version=3.0&service_id=MBK&window=8&connections=3&tps=50"
        "&heartbeat=10"
    )
    assert (url.protocol, url.login, url.secret) == ("cmpp", "900001", "p@ss:word")
    assert (url.channel.host, url.channel.port, url.channel.connections, url.channel.tps) == (
        "ismg.example",
        17890,
        3,
        50.0,
    )
    assert (url.channel.session.window, url.channel.session.heartbeat_interval) == (8, 10.0)
    assert dict(url.options) == {"version": "3.0", "service_id": "MBK"}


@pytest.mark.parametrize(("scheme", "port"), [("cmpp", 7890), ("sgip", 8801), ("smgp", 8890), ("smpp", 2775)])
def test_the_port_defaults_to_the_protocols_customary_one(scheme: str, port: int) -> None:
    """Without a port the protocol's usual one is used; window 16, 2 connections, 200/s by default."""
    url = parse_smsc_url(f"{scheme}://sp:secret@127.0.0.1")
    assert url.channel.port == port
    assert (url.channel.session.window, url.channel.connections, url.channel.tps) == (16, 2, 200.0)


def test_the_secret_stays_out_of_repr_and_the_redacted_form() -> None:
    """Logs and banners show the login and address, never the secret."""
    url = parse_smsc_url("smgp://client01:topsecret@127.0.0.1:9000")
    assert "topsecret" not in repr(url)
    assert url.redacted == "smgp://client01:***@127.0.0.1:9000"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://sp:topsecret@host", "starts with one of cmpp, sgip, smgp, smpp"),
        ("cmpp://sp:topsecret@host:99999", "port is not a number"),
        ("cmpp://sp:topsecret@:7890", "names no host"),
        ("cmpp://host:7890", "needs <login>:<secret>@"),
        ("cmpp://sp:topsecret@host?window=many", "must be numbers"),
        ("cmpp://sp:topsecret@host?tps=0", "must be positive"),
    ],
)
def test_a_wrong_url_says_what_is_wrong_without_the_secret(url: str, message: str) -> None:
    """Each mistake is named; the message never contains the secret."""
    with pytest.raises(ValueError, match=message) as wrong:
        parse_smsc_url(url)
    assert "topsecret" not in str(wrong.value)
