"""RS256 beside ES256: the key store keeps one active key per algorithm, publishes both, signs a
client's ID tokens in the algorithm it registered, and never lets an RSA key verify access tokens."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.crypto import FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.oauth.id_tokens import IdTokens
from gateway.oauth.keys import KeyStore
from gateway.oauth.tokens import InvalidToken
from tests.stack import SettableClock
from tests.unit.oauth.conftest import ISSUER, Harness


async def test_the_store_creates_persists_and_rotates_a_key_per_algorithm(own_database_url: str) -> None:
    """load() creates a P-256 and an RSA-2048 key, a second store reads the same two back from the
    database, and rotating RS256 retires only the RSA key (it stays published)."""
    engine = create_engine(own_database_url)
    try:
        await migrate(engine)
        clock = SettableClock()
        cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
        first = KeyStore(session_factory(engine), cipher, clock, max_token_ttl=300)
        await first.load()
        es, rs = first.signing_key_for("ES256"), first.signing_key_for("RS256")
        assert isinstance(es.private_key, ec.EllipticCurvePrivateKey)
        assert isinstance(rs.private_key, rsa.RSAPrivateKey) and rs.private_key.key_size >= 2048
        second = KeyStore(session_factory(engine), cipher, clock, max_token_ttl=300)
        await second.load()
        assert {k["kid"]: k["alg"] for k in second.jwks()["keys"]} == {es.kid: "ES256", rs.kid: "RS256"}
        clock.advance(1)
        rotated = await second.rotate("RS256")
        assert second.signing_key_for("RS256").kid == rotated.kid != rs.kid
        assert second.signing_key.kid == es.kid
        published = {k["kid"]: k for k in second.jwks()["keys"]}
        assert set(published) == {es.kid, rs.kid, rotated.kid}
        assert set(published[rotated.kid]) == {"kty", "n", "e", "use", "alg", "kid"}
    finally:
        await engine.dispose()


async def test_an_rs256_client_gets_rs256_id_tokens_and_others_es256(harness: Harness) -> None:
    """IdTokens signs with the key of the requested algorithm (kid in the header), verifiable with
    the published RSA key; without an algorithm it is ES256."""
    ids = IdTokens(harness.runtime.keys, harness.clock, issuer=ISSUER)
    now = harness.clock.now()
    token = ids.issue(client_id="gw_c", subject="s", auth_time=now, amr=["network"], nonce="n", alg="RS256")
    header = jwt.get_unverified_header(token)
    rsa_key = harness.runtime.keys.signing_key_for("RS256")
    assert header == {"alg": "RS256", "typ": "JWT", "kid": rsa_key.kid}
    claims = jwt.decode(token, rsa_key.public_key, algorithms=["RS256"], audience="gw_c")
    assert claims["nonce"] == "n" and claims["iss"] == ISSUER
    default = ids.issue(client_id="gw_c", subject="s", auth_time=now, amr=["network"], nonce=None)
    assert jwt.get_unverified_header(default)["alg"] == "ES256"


async def test_an_rsa_kid_never_verifies_an_access_token(harness: Harness) -> None:
    """A token naming the RSA key's kid is refused as an unknown key (not a server error), whether
    its header says RS256 or ES256: access tokens are ES256 only."""
    rsa_key = harness.runtime.keys.signing_key_for("RS256")
    claims = {"iss": harness.settings().issuer, "aud": harness.settings().issuer, "sub": "x"}
    for alg, key in (("RS256", rsa_key.private_key), ("ES256", ec.generate_private_key(ec.SECP256R1()))):
        forged = jwt.encode(claims, key, algorithm=alg, headers={"kid": rsa_key.kid, "typ": "at+jwt"})
        with pytest.raises(InvalidToken):
            await harness.runtime.tokens.verify(forged)
