"""Field encryption (AES-256-GCM with AAD) and the keyed blind index, including key rotation."""

from __future__ import annotations

import pytest

from gateway.crypto import BlindIndex, DecryptionError, FieldCipher, Keyring, generate_keyring_spec


def test_round_trip_and_aad_binding() -> None:
    """A value decrypts with its AAD only; the ciphertext never contains the plaintext."""
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    stored = cipher.encrypt("+8613800138000", aad="t1|usage|phone|r1")
    assert "13800138000" not in stored
    assert cipher.decrypt(stored, aad="t1|usage|phone|r1") == "+8613800138000"
    with pytest.raises(DecryptionError):
        cipher.decrypt(stored, aad="t2|usage|phone|r1")


def test_tampering_is_detected() -> None:
    """Flipping a ciphertext character fails authentication."""
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    stored = cipher.encrypt("x", aad="a")
    flipped = stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]
    with pytest.raises(DecryptionError):
        cipher.decrypt(flipped, aad="a")


def test_rotation_reads_old_writes_new() -> None:
    """After prepending a new key, old values still decrypt, new ones use the new version."""
    old = generate_keyring_spec("v1")
    before = FieldCipher(Keyring.parse(old)).encrypt("secret", aad="a")
    rotated = FieldCipher(Keyring.parse(generate_keyring_spec("v2") + "," + old))
    assert rotated.decrypt(before, aad="a") == "secret"
    assert rotated.needs_rotation(before)
    assert rotated.encrypt("secret", aad="a").startswith("v2.")


def test_blind_index_is_scoped_and_rotatable() -> None:
    """Index values differ per tenant scope; lookups after rotation still find old rows."""
    old = generate_keyring_spec("v1")
    index = BlindIndex(Keyring.parse(old))
    a = index.compute("+8613800138000", scope="phone|tenant-a")
    assert a != index.compute("+8613800138000", scope="phone|tenant-b")
    rotated = BlindIndex(Keyring.parse(generate_keyring_spec("v2") + "," + old))
    assert a in rotated.candidates("+8613800138000", scope="phone|tenant-a")


@pytest.mark.parametrize(
    "spec", ["", "v1", "v1:short", "v1:" + "A" * 43 + ",v1:" + "B" * 43, "v.1:" + "A" * 43]
)
def test_malformed_keyrings_are_refused(spec: str) -> None:
    """Keyring specs without a version, with short keys or duplicate versions do not parse."""
    with pytest.raises(ValueError, match=r"."):
        Keyring.parse(spec)
