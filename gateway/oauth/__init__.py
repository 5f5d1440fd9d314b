"""The OAuth 2.0 / OpenID Connect authorization server (contract §2, CAMARA ICM), one module per concern.

- :mod:`~gateway.oauth.keys`, :mod:`~gateway.oauth.tokens`, :mod:`~gateway.oauth.id_tokens`:
  ES256 keys, access tokens (RFC 9068), ID tokens; :mod:`~gateway.oauth.revocation` revoked tokens.
- :mod:`~gateway.oauth.client_auth`: client authentication; :mod:`~gateway.oauth.assertions`: the
  RFC 7523 assertion verifier it shares with the JWT-bearer grant.
- :mod:`~gateway.oauth.authorize`, :mod:`~gateway.oauth.telco_finder`, :mod:`~gateway.oauth.codes`,
  :mod:`~gateway.oauth.pkce`: the code flow with network-based authentication.
- :mod:`~gateway.oauth.ciba`, :mod:`~gateway.oauth.jwt_bearer`, :mod:`~gateway.oauth.subjects`:
  backend flows naming the subscriber by login hint.
- :mod:`~gateway.oauth.token_endpoint` (grant handlers by ``grant_type``),
  :mod:`~gateway.oauth.user_tokens`: grants and responses;
  :mod:`~gateway.oauth.server` wires it all, :mod:`~gateway.oauth.views` is the HTTP surface.
"""
