"""Standard Webhooks signing: secrets, headers, and verification by the reference library."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from gateway.webhooks.signing import new_secret, signature_headers

BODY = json.dumps(
    {"type": "link.opened", "timestamp": "2026-11-24T08:00:00.000Z", "data": {"id": "l1"}}
).encode()


def test_secrets_are_whsec_and_at_least_24_random_bytes() -> None:
    """A secret is ``whsec_`` + standard base64 of 32 random bytes, new every time."""
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24


def test_signature_verifies_with_the_reference_library() -> None:
    """The headers verify with standardwebhooks.Webhook(secret).verify and carry id and timestamp."""
    secret = new_secret()
    now = datetime.now(UTC)
    headers = signature_headers("msg_abc", now, BODY, [secret])
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
def test_tampering_breaks_verification(tamper: str) -> None:
    """A changed body, id or timestamp, or another secret, fails verification."""
    secret = new_secret()
    now = datetime.now(UTC)
    headers = signature_headers("msg_abc", now, BODY, [secret])
    body = BODY
    if tamper == "body":
        body = BODY.replace(b"l1", b"l2")
    elif tamper == "id":
        headers["webhook-id"] = "msg_abd"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(now.timestamp()) - 1)
    else:
        secret = new_secret()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_every_live_secret_signs_during_a_rotation() -> None:
    """With two live secrets the header lists two v1 signatures, and each secret verifies alone."""
    new, old = new_secret(), new_secret()
    headers = signature_headers("msg_rot", datetime.now(UTC), BODY, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_signing_needs_a_secret() -> None:
    """Signing with no secret at all is a programming error, not an unsigned delivery."""
    with pytest.raises(ValueError):
        signature_headers("msg_x", datetime.now(UTC), BODY, [])
