"""CAMARA Number Verification (number-verification 2.1.0, NumberVerification r3.2).

The number is the one the operator bound to the 3-legged access token when it authenticated the
device; no operator is called. Rules, in the order they are applied:

1. The request body of ``/verify`` is validated first (400 INVALID_ARGUMENT, whatever the token:
   NumberVerification r3.2 test C02.01), so a malformed call neither reveals how the token was
   obtained nor costs the user a new authentication.
2. A 2-legged token, or a 3-legged token whose ``amr`` lacks ``network`` (SMS-OTP, ``tel``
   login hints, passwords), is 403 NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK.
3. NV tokens live at most 300 s (NumberVerification#154): a token whose ``exp - iat`` exceeds
   300 s is 401 UNAUTHENTICATED, whoever minted it.
4. The token is single use across both operations: ``nv:{jti}`` is claimed in the replay cache
   until the token can no longer verify (``exp`` plus the verifier's leeway); a second use is
   the generic 401 UNAUTHENTICATED.
5. ``/verify`` compares in constant time: ``phoneNumber`` as written, ``hashedPhoneNumber``
   against the lowercase SHA-256 hex of the E.164 string with ``+`` (uppercase hex accepted).
   A different number is ``200 false``, never an error.

Each answered call is a billed usage row (``camara_number_verification_verify``,
``camara_number_verification_share``).
"""

from __future__ import annotations

import hashlib

import structlog

from gateway.camara.identifiers import same_number
from gateway.camara.usage import UsageRecorder
from gateway.clock import Clock
from gateway.errors import NotAuthenticatedByNetwork, Unauthenticated
from gateway.oauth.tokens import Principal, Subscriber
from gateway.replay import ReplayCache

__all__ = ["MAX_TOKEN_LIFETIME", "NumberVerificationService", "hash_number"]

MAX_TOKEN_LIFETIME = 300
_VERIFIER_LEEWAY = 30
log = structlog.get_logger(__name__)


def hash_number(phone_number: str) -> str:
    """The CAMARA hashed phone number: lowercase SHA-256 hex of the E.164 string with ``+``."""
    return hashlib.sha256(phone_number.encode()).hexdigest()


class NumberVerificationService:
    """See the module docstring."""

    def __init__(self, *, replay: ReplayCache, recorder: UsageRecorder, clock: Clock) -> None:
        self._replay = replay
        self._recorder = recorder
        self._clock = clock

    def subscriber(self, who: Principal) -> Subscriber:
        """The network-authenticated subscriber of an acceptable NV token (rules 2 and 3).

        :raises NotAuthenticatedByNetwork, Unauthenticated:
        """
        subscriber = who.subscriber
        if subscriber is None or "network" not in subscriber.amr:
            raise NotAuthenticatedByNetwork()
        if subscriber.expires_at - subscriber.issued_at > MAX_TOKEN_LIFETIME:
            log.info("auth_failed", reason="number verification token lives longer than 300 s")
            raise Unauthenticated()
        return subscriber

    async def verify(
        self,
        who: Principal,
        subscriber: Subscriber,
        *,
        phone_number: str | None = None,
        hashed_phone_number: str | None = None,
    ) -> bool:
        """Whether the token's device holds the given number (exactly one of the two forms).

        :raises Unauthenticated: the token was already used.
        """
        await self._spend(subscriber)
        if phone_number is not None:
            verified = same_number(phone_number, subscriber.phone_number)
        elif hashed_phone_number is not None:
            verified = same_number(hashed_phone_number.lower(), hash_number(subscriber.phone_number))
        else:
            raise ValueError("phone_number or hashed_phone_number is required")
        await self._record(who, subscriber, "camara_number_verification_verify", str(verified).lower())
        return verified

    async def device_phone_number(self, who: Principal, subscriber: Subscriber) -> str:
        """The number bound to the token.

        :raises Unauthenticated: the token was already used.
        """
        await self._spend(subscriber)
        await self._record(who, subscriber, "camara_number_verification_share", "SHARED")
        return subscriber.phone_number

    async def _spend(self, subscriber: Subscriber) -> None:
        ttl = subscriber.expires_at - self._clock.now().timestamp() + _VERIFIER_LEEWAY
        if not await self._replay.claim(f"nv:{subscriber.token_id}", max(ttl, 1.0)):
            log.info("auth_failed", reason="number verification token already used")
            raise Unauthenticated()

    async def _record(self, who: Principal, subscriber: Subscriber, capability: str, result: str) -> None:
        await self._recorder.record(
            tenant_id=who.tenant_id,
            capability=capability,
            operator=subscriber.operator,
            result=result,
            phone_number=subscriber.phone_number,
        )
