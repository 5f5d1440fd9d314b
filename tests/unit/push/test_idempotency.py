"""Idempotency keys: accepted shapes and the canonical request hash."""

from __future__ import annotations

import pytest

from gateway.errors import InvalidArgument
from gateway.push.idempotency import check_key, fingerprint
from gateway.push.schemas import MessageCreate


def _hash(raw: str) -> str:
    return fingerprint(MessageCreate.model_validate_json(raw).to_domain().canonical)


def test_key_order_whitespace_and_escapes_do_not_change_the_hash() -> None:
    """The same request written differently hashes the same."""
    a = _hash('{"templateId": "t1", "to": "+8613800138000", "params": {"a": "中", "b": 1}}')
    b = _hash('{"params":{"b":1,"a":"\\u4e2d"},"to":"+8613800138000","templateId":"t1"}')
    assert a == b
    assert len(a) == 64 and int(a, 16) >= 0


@pytest.mark.parametrize(
    "other",
    [
        '{"templateId": "t2", "to": "+8613800138000", "params": {"a": "中", "b": 1}}',
        '{"templateId": "t1", "to": "+8613800138001", "params": {"a": "中", "b": 1}}',
        '{"templateId": "t1", "to": "+8613800138000", "params": {"a": "中", "b": 2}}',
        '{"templateId": "t1", "to": "+8613800138000", "params": {"a": "中", "b": 1}, "ttlSeconds": 86400}',
    ],
)
def test_any_value_change_changes_the_hash(other: str) -> None:
    """Another template, recipient, parameter value or an explicit TTL is another request."""
    base = _hash('{"templateId": "t1", "to": "+8613800138000", "params": {"a": "中", "b": 1}}')
    assert _hash(other) != base


@pytest.mark.parametrize("key", ["a", "x" * 255, "550e8400-e29b-41d4-a716-446655440000", '"quoted"', "~!@#"])
def test_valid_keys(key: str) -> None:
    """1 to 255 visible ASCII characters are accepted as given."""
    assert check_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "中文", "tab\t", "nl\n"])
def test_invalid_keys(key: str) -> None:
    """Empty, too long, spaces, control or non-ASCII characters are 400 INVALID_ARGUMENT."""
    with pytest.raises(InvalidArgument):
        check_key(key)
