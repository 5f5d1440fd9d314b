"""CAMARA HTTP views: the exact CAMARA paths, scopes and response bodies over :mod:`gateway.camara` services.

Every body is validated (400) before the token is judged beyond its scope, so a malformed request
is 400 INVALID_ARGUMENT whatever the token (NumberVerification r3.2 test C02.01 sends an invalid
``phoneNumber`` with a 2-legged token); everything else follows the order of the services.
"""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import principal, requires_scope
from gateway.camara.schemas import KycMatchRequest, NumberVerifyRequest, SwapCheckRequest, SwapDateRequest
from gateway.camara.services import CamaraServices
from gateway.camara.swap import SwapService
from gateway.wire import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()


def _camara(request: web.Request) -> CamaraServices:
    return request.app[RUNTIME].camara


@routes.post("/number-verification/v2/verify")
@requires_scope("number-verification:verify")
async def number_verify(request: web.Request) -> web.Response:
    """Whether the number (plain or hashed) is the one of the device the token was issued on."""
    service = _camara(request).number_verification
    who = principal(request)
    body = await read_json(request, NumberVerifyRequest)
    subscriber = service.subscriber(who)
    verified = await service.verify(
        who, subscriber, phone_number=body.phoneNumber, hashed_phone_number=body.hashedPhoneNumber
    )
    return json_response({"devicePhoneNumberVerified": verified})


@routes.get("/number-verification/v2/device-phone-number")
@requires_scope("number-verification:device-phone-number:read")
async def number_share(request: web.Request) -> web.Response:
    """The number of the device the token was issued on."""
    service = _camara(request).number_verification
    who = principal(request)
    number = await service.device_phone_number(who, service.subscriber(who))
    return json_response({"devicePhoneNumber": number})


async def _check(request: web.Request, service: SwapService) -> web.Response:
    body = await read_json(request, SwapCheckRequest)
    swapped = await service.check(principal(request), phone_number=body.phoneNumber, max_age=body.maxAge)
    return json_response({"swapped": swapped})


async def _retrieve_date(request: web.Request, service: SwapService, field: str) -> web.Response:
    body = await read_json(request, SwapDateRequest)
    answer = await service.retrieve_date(principal(request), phone_number=body.phoneNumber)
    latest = answer.latest_change
    out: dict[str, object] = {field: latest.isoformat(timespec="seconds") if latest is not None else None}
    if answer.monitored_days is not None:
        out["monitoredPeriod"] = answer.monitored_days
    return json_response(out)


@routes.post("/sim-swap/v2/check")
@requires_scope("sim-swap:check", "sim-swap")
async def sim_swap_check(request: web.Request) -> web.Response:
    """Whether the SIM changed within ``maxAge`` hours."""
    return await _check(request, _camara(request).sim_swap)


@routes.post("/sim-swap/v2/retrieve-date")
@requires_scope("sim-swap:retrieve-date", "sim-swap")
async def sim_swap_retrieve_date(request: web.Request) -> web.Response:
    """When the SIM last changed."""
    return await _retrieve_date(request, _camara(request).sim_swap, "latestSimChange")


@routes.post("/device-swap/v1/check")
@requires_scope("device-swap:check", "device-swap")
async def device_swap_check(request: web.Request) -> web.Response:
    """Whether the device changed within ``maxAge`` hours."""
    return await _check(request, _camara(request).device_swap)


@routes.post("/device-swap/v1/retrieve-date")
@requires_scope("device-swap:retrieve-date", "device-swap")
async def device_swap_retrieve_date(request: web.Request) -> web.Response:
    """When the device last changed."""
    return await _retrieve_date(request, _camara(request).device_swap, "latestDeviceChange")


@routes.post("/kyc-match/v0.4/match")
@requires_scope("kyc-match:match")
async def kyc_match(request: web.Request) -> web.Response:
    """Match identity attributes against the operator's verified customer record."""
    body = await read_json(request, KycMatchRequest)
    verdicts = await _camara(request).kyc_match.match(
        principal(request), phone_number=body.phoneNumber, attributes=body.attributes()
    )
    out: dict[str, object] = {}
    for attribute, verdict in verdicts.items():
        out[f"{attribute}Match"] = verdict.result
        if verdict.score is not None:
            out[f"{attribute}MatchScore"] = verdict.score
    return json_response(out)
