"""Southbound adapters: exchange Chinese operators' one-tap SDK tokens for verified phone numbers.

The boundary (``aesthetics.md`` section 8.2): the gateway sees E.164 numbers, the value objects
of :mod:`~carrier_adapters.base` and the error tree of :mod:`~carrier_adapters.errors`; each
operator's wire dialect (``docs/operator-dialects.md``) stays inside its package (``cmcc``,
``cucc``, ``ctcc``). This package never imports the gateway, the sandbox or an HTTP library: the
adapters call the :class:`~carrier_adapters.transport.Transport` they are handed. Test doubles
live in :mod:`carrier_adapters.testing`, outside this API.
"""

from __future__ import annotations

from carrier_adapters.base import (
    Assurance,
    AuthMethod,
    CustomerRecord,
    DeliveryReport,
    DeliveryState,
    LineInsight,
    LoginOutcome,
    MobileOriginated,
    NetworkAuthenticator,
    NetworkIdentity,
    OneTapExchanger,
    Operator,
    OperatorConfig,
    SmsCallbacks,
    SmsChannel,
    SmsSubmission,
    SwapHistory,
    VerifyOutcome,
    VerifyResult,
)
from carrier_adapters.cmcc import CmccAdapter
from carrier_adapters.ctcc import CtccAdapter
from carrier_adapters.cucc import CuccAdapter
from carrier_adapters.errors import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
    CircuitOpen,
    LineNotEligible,
    NumberNotServed,
    TokenRejected,
)
from carrier_adapters.numbers import is_national_mobile, operator_for_number, to_e164, to_national
from carrier_adapters.registry import (
    ADAPTER_CLASSES,
    build_card_clients,
    build_exchangers,
    build_maap_clients,
    operator_for_token,
)
from carrier_adapters.transport import Transport, dropped, refused, timed_out

__all__ = [
    "ADAPTER_CLASSES",
    "Assurance",
    "AuthMethod",
    "CarrierError",
    "CarrierProtocolError",
    "CarrierRejected",
    "CarrierTimeout",
    "CarrierUnavailable",
    "CircuitOpen",
    "CmccAdapter",
    "CtccAdapter",
    "CuccAdapter",
    "CustomerRecord",
    "DeliveryReport",
    "DeliveryState",
    "LineInsight",
    "LineNotEligible",
    "LoginOutcome",
    "MobileOriginated",
    "NetworkAuthenticator",
    "NetworkIdentity",
    "NumberNotServed",
    "OneTapExchanger",
    "Operator",
    "OperatorConfig",
    "SmsCallbacks",
    "SmsChannel",
    "SmsSubmission",
    "SwapHistory",
    "TokenRejected",
    "Transport",
    "VerifyOutcome",
    "VerifyResult",
    "build_card_clients",
    "build_exchangers",
    "build_maap_clients",
    "dropped",
    "is_national_mobile",
    "operator_for_number",
    "operator_for_token",
    "refused",
    "timed_out",
    "to_e164",
    "to_national",
]
