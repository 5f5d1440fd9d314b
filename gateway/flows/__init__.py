"""Links and flows (contract §6): the landing page of push links, their holder-bound redemption,
and the flows a link opens (claim location, branch queue) with the branches' teller API.

- :mod:`~gateway.flows.rules` — the redemption state machine and claim steps (pure).
- :mod:`~gateway.flows.redemption` — landing preview (reads only) and redemption.
- :mod:`~gateway.flows.sessions` — flow sessions (opaque bearer, stored hashed, short-lived).
- :mod:`~gateway.flows.claim_location` — consent, share, decline.
- :mod:`~gateway.flows.queue` (pure) and :mod:`~gateway.flows.branches` — branches and tickets.
- :mod:`~gateway.flows.pages` and ``pages/`` — HTML (jinja2, autoescaped), CSP and headers.
- :mod:`~gateway.flows.views` — the routes.
"""

from __future__ import annotations

from gateway.flows.feature import Flows, build_flows

__all__ = ["Flows", "build_flows"]
