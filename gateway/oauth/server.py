"""The authorization server's services, built once per process from the runtime's resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from carrier_adapters import NetworkAuthenticator, OneTapExchanger
from gateway.clock import Clock
from gateway.crypto import BlindIndex, FieldCipher
from gateway.oauth.authorize import AuthorizationService, CodeFallback
from gateway.oauth.ciba import BackchannelAuthentication
from gateway.oauth.client_auth import ClientAuthenticator
from gateway.oauth.codes import CodeStore
from gateway.oauth.id_tokens import IdTokens
from gateway.oauth.jwt_bearer import JwtBearerGrant
from gateway.oauth.keys import KeyStore
from gateway.oauth.request_objects import RequestObjects
from gateway.oauth.revocation import Revocations
from gateway.oauth.subjects import SubjectResolver
from gateway.oauth.telco_finder import TelcoFinder, parse_networks
from gateway.oauth.token_endpoint import TokenEndpoint
from gateway.oauth.tokens import AccessTokens
from gateway.oauth.user_tokens import UserTokens
from gateway.replay import ReplayCache
from gateway.settings import OPERATORS, Settings
from gateway.tenants.service import TenantService

__all__ = [
    "NetworkAuthentication",
    "OAuthServer",
    "build_oauth_server",
    "client_audiences",
    "network_authentication",
]


def client_audiences(issuer: str) -> set[str]:
    """The ``aud`` values a client's signed assertion may carry: the issuer or the endpoint it is sent to."""
    return {issuer, f"{issuer}/oauth2/token", f"{issuer}/oauth2/bc-authorize"}


@dataclass(frozen=True)
class OAuthServer:
    """Authorization endpoint, CIBA and token endpoint."""

    authorization: AuthorizationService
    backchannel: BackchannelAuthentication
    token_endpoint: TokenEndpoint

    async def aclose(self) -> None:
        """Stop background work (pending CIBA authentications)."""
        await self.backchannel.aclose()


@dataclass(frozen=True)
class NetworkAuthentication:
    """The operators' network authentication and the telco finder that picks one by source address
    (shared by the authorization endpoint and the verification workflow)."""

    authenticators: Mapping[str, NetworkAuthenticator]
    finder: TelcoFinder


def network_authentication(settings: Settings, exchangers: Mapping[str, object]) -> NetworkAuthentication:
    """The operators among ``exchangers`` that authenticate by network, and the configured finder."""
    return NetworkAuthentication(
        authenticators={
            operator: exchanger
            for operator, exchanger in exchangers.items()
            if isinstance(exchanger, NetworkAuthenticator)
        },
        finder=TelcoFinder(
            {op: parse_networks(getattr(settings, f"{op}_cidrs")) for op in OPERATORS},
            trusted_proxies=parse_networks(settings.trusted_proxies),
        ),
    )


def build_oauth_server(
    settings: Settings,
    *,
    engine: AsyncEngine,
    clock: Clock,
    cipher: FieldCipher,
    index: BlindIndex,
    keys: KeyStore,
    tokens: AccessTokens,
    revocations: Revocations,
    tenants: TenantService,
    client_auth: ClientAuthenticator,
    replay: ReplayCache,
    exchangers: Mapping[str, OneTapExchanger],
    network: NetworkAuthentication,
    code_fallback: CodeFallback | None = None,
) -> OAuthServer:
    """Wire the authorization server; operators without network authentication serve CIBA/JWT-bearer only."""
    issuer = settings.issuer
    authenticators, finder = network.authenticators, network.finder
    codes = CodeStore(engine, cipher, clock, retention=settings.access_token_ttl)
    subjects = SubjectResolver(exchangers, replay, clock)
    request_objects = RequestObjects(replay, clock, issuer=issuer)
    require_signed = settings.require_signed_request_object
    backchannel = BackchannelAuthentication(
        engine=engine,
        subjects=subjects,
        cipher=cipher,
        clock=clock,
        interval=settings.ciba_interval,
        expires_in=settings.ciba_expires_in,
        request_objects=request_objects,
        require_signed=require_signed,
    )
    user_tokens = UserTokens(tokens, IdTokens(keys, clock, issuer=issuer), index, clock)
    return OAuthServer(
        authorization=AuthorizationService(
            engine=engine,
            tenants=tenants,
            authenticators=authenticators,
            finder=finder,
            codes=codes,
            clock=clock,
            issuer=issuer,
            request_objects=request_objects,
            require_signed=require_signed,
            code_fallback=code_fallback,
        ),
        backchannel=backchannel,
        token_endpoint=TokenEndpoint(
            client_auth=client_auth,
            tokens=tokens,
            user_tokens=user_tokens,
            codes=codes,
            revocations=revocations,
            backchannel=backchannel,
            jwt_bearer_grant=JwtBearerGrant(
                tenants=tenants,
                subjects=subjects,
                replay=replay,
                clock=clock,
                audiences={issuer, f"{issuer}/oauth2/token"},
            ),
            clock=clock,
        ),
    )
