"""The steps SIM Swap (r3.3) and Device Swap (r3.2) scenarios share: their features are the same
scenarios over two histories (MSISDN to IMSI, MSISDN to IMEI), so each step takes the API.

"A valid phone number identified by the token or provided in the request body" runs both ways:
``2-legged`` (client credentials, ``phoneNumber`` in the body) and ``3-legged`` (a CIBA ``tel:``
token, no ``phoneNumber``). Sandbox operators keep 2400 h (cmcc), 720 h (cucc) and 1440 h (ctcc)
of history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from tests.camara.client import Camara
from tests.camara.oas import assert_error, assert_success

__all__ = ["DEVICE_SWAP", "LINES", "SIM_SWAP", "Caller", "SwapApi", "caller"]

LINES: Final = ("2-legged", "3-legged")
IMEI: Final = "356938035643809"


@dataclass(frozen=True)
class SwapApi:
    """What differs between the two APIs on the wire and in the sandbox seed."""

    base: str
    scope: str
    changed_seed: str
    date_field: str
    check_schema: str
    date_schema: str
    device: bool

    @property
    def check(self) -> str:
        """The check operation's path."""
        return f"{self.base}/check"

    @property
    def retrieve_date(self) -> str:
        """The retrieve-date operation's path."""
        return f"{self.base}/retrieve-date"

    def swapped(self, camara: Camara, hours: float) -> dict[str, Any]:
        """Seed of a line whose SIM/device changed ``hours`` ago (active for longer)."""
        return {
            **self.never_swapped(camara, hours + 100),
            self.changed_seed: camara.ago(hours),
        }

    def never_swapped(self, camara: Camara, hours: float) -> dict[str, Any]:
        """Seed of a line activated (in its device) ``hours`` ago that never changed since."""
        seed: dict[str, Any] = {"activatedAt": camara.ago(hours)}
        if self.device:
            seed["imei"] = IMEI
        return seed


SIM_SWAP: Final = SwapApi(
    "/sim-swap/v2", "sim-swap", "simChangedAt", "latestSimChange", "CheckSimSwapInfo", "SimSwapInfo", False
)
DEVICE_SWAP: Final = SwapApi(
    "/device-swap/v1",
    "device-swap",
    "deviceChangedAt",
    "latestDeviceChange",
    "CheckDeviceSwapInfo",
    "DeviceSwapInfo",
    True,
)


@dataclass(frozen=True)
class Caller:
    """A token and the body that names the line, for one subscriber."""

    phone: str
    token: str
    line: dict[str, str]

    def body(self, **extra: Any) -> dict[str, Any]:
        """The request body: the line (if the token does not name it) and ``extra``."""
        return {**self.line, **extra}


async def caller(camara: Camara, api: SwapApi, line: str, operator: str, **seed: Any) -> Caller:
    """A fresh subscriber of ``operator`` seeded with ``seed``, asked about the way ``line`` says."""
    phone = await camara.subscriber(operator, **seed)
    if line == "2-legged":
        return Caller(phone, await camara.two_legged(api.scope), {"phoneNumber": phone})
    return Caller(phone, await camara.ciba(phone, api.scope), {})


def parsed(value: str) -> datetime:
    """An RFC 3339 timestamp with its zone."""
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, value
    return moment


# --- scenarios both features define ---------------------------------------------------------------


async def generic_check_success(camara: Camara, api: SwapApi, line: str) -> None:
    """200, JSON, x-correlator echoed, a CheckSimSwapInfo / CheckDeviceSwapInfo body."""
    who = await caller(camara, api, line, "cmcc", **api.swapped(camara, 5))
    assert_success(await camara.post(api.check, who.token, who.body()), api.check_schema)


async def check_answers(
    camara: Camara, api: SwapApi, line: str, seed: dict[str, Any], swapped: bool, max_age: int | None = None
) -> None:
    """``check`` (with ``maxAge`` if given) answers ``swapped`` for a line seeded with ``seed``."""
    who = await caller(camara, api, line, "cmcc", **seed)
    body = who.body() if max_age is None else who.body(maxAge=max_age)
    answer = assert_success(await camara.post(api.check, who.token, body), api.check_schema)
    assert answer == {"swapped": swapped}, (seed, max_age)


async def generic_date_success(camara: Camara, api: SwapApi, line: str) -> None:
    """200, JSON, x-correlator echoed, a SimSwapInfo / DeviceSwapInfo body."""
    who = await caller(camara, api, line, "cucc", **api.swapped(camara, 5))
    assert_success(await camara.post(api.retrieve_date, who.token, who.body()), api.date_schema)


async def date_is(
    camara: Camara, api: SwapApi, line: str, operator: str, seed: dict[str, Any]
) -> dict[str, Any]:
    """The retrieve-date answer for a line of ``operator`` seeded with ``seed`` (schema checked)."""
    who = await caller(camara, api, line, operator, **seed)
    return assert_success(await camara.post(api.retrieve_date, who.token, who.body()), api.date_schema)


async def unauthenticated(camara: Camara, api: SwapApi, path: str, failure: str) -> None:
    """401 UNAUTHENTICATED for a generic 401 scenario, with a valid body."""
    phone = await camara.subscriber("cmcc", **api.swapped(camara, 5))
    bearer = await camara.failing_authorization(failure, await camara.two_legged(api.scope))
    assert_error(await camara.post(path, bearer, {"phoneNumber": phone}), 401, "UNAUTHENTICATED")


async def phone_number_not_schema_compliant(camara: Camara, api: SwapApi, path: str, number: Any) -> None:
    """C02.01: 2-legged, a phoneNumber against the PhoneNumber schema: 400 INVALID_ARGUMENT."""
    token = await camara.two_legged(api.scope)
    assert_error(await camara.post(path, token, {"phoneNumber": number}), 400, "INVALID_ARGUMENT")


async def phone_number_not_found(camara: Camara, api: SwapApi, path: str, kind: str) -> None:
    """C02.02: 2-legged, a schema-valid number no served operator knows: 404 IDENTIFIER_NOT_FOUND."""
    token = await camara.two_legged(api.scope)
    number = camara.unregistered("cucc") if kind == "unregistered" else "+447700900123"
    assert_error(await camara.post(path, token, {"phoneNumber": number}), 404, "IDENTIFIER_NOT_FOUND")


async def unnecessary_phone_number(camara: Camara, api: SwapApi, path: str, same: bool) -> None:
    """C02.03: a 3-legged token and a phoneNumber (its own or another): 422 UNNECESSARY_IDENTIFIER."""
    who = await caller(camara, api, "3-legged", "ctcc", **api.swapped(camara, 5))
    number = who.phone if same else camara.unregistered("ctcc")
    resp = await camara.post(path, who.token, {"phoneNumber": number})
    assert_error(resp, 422, "UNNECESSARY_IDENTIFIER")


async def missing_phone_number(camara: Camara, api: SwapApi, path: str) -> None:
    """C02.04: 2-legged without phoneNumber: 422 MISSING_IDENTIFIER."""
    token = await camara.two_legged(api.scope)
    assert_error(await camara.post(path, token, {}), 422, "MISSING_IDENTIFIER")


async def phone_number_not_supported(camara: Camara, api: SwapApi, path: str, line: str) -> None:
    """C02.05: a line the operator does not serve for the API: 422 SERVICE_NOT_APPLICABLE."""
    who = await caller(camara, api, line, "cucc", eligible=False, **api.swapped(camara, 5))
    assert_error(await camara.post(path, who.token, who.body()), 422, "SERVICE_NOT_APPLICABLE")
