"""Zuora OAuth: the client-credentials token, and the cache every client of the process shares.

Vendor facts (developer.zuora.com): tokens come from `POST /oauth/token` (client credentials,
about 1 h, `scope` names the tenant as `tenant.<id>`). A sync builds a client per step, and a
token per client would cost one OAuth request each, so tokens are cached per credentials for
the whole process; when to use, refresh or drop one is the client's (`client.py`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zsync_assets.clients.zuora.errors import ZuoraAuthError, ZuoraError

TokenKey = tuple[str, str, str, str | None]


@dataclass(frozen=True)
class Token:
    access_token: str = field(repr=False)
    expires_at: float  # time.monotonic() deadline
    tenant_id: str | None


# OAuth tokens per (base URL, client id, secret digest, entity), for every client of the process.
TOKENS: dict[TokenKey, Token] = {}
TOKENS_LOCK = threading.RLock()


def token_key(base_url: str, client_id: str, client_secret: str, entity_id: str | None) -> TokenKey:
    secret = hashlib.sha256(client_secret.encode()).hexdigest()
    return (base_url, client_id, secret, entity_id)


def request_token(
    post: Callable[[str, Mapping[str, str]], Any], client_id: str, client_secret: str, refresh_margin_s: float
) -> Token:
    """A new token, asked for with `post(path, form)`; refused credentials raise `ZuoraAuthError`."""
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
    }
    try:
        body = post("/oauth/token", form)
    except ZuoraError as exc:
        if exc.status in (400, 401, 403):
            raise ZuoraAuthError(
                "OAuth token request rejected: check ZUORA_CLIENT_ID / ZUORA_CLIENT_SECRET "
                "(the OAuth client's credentials) and ZUORA_BASE_URL (the tenant's REST endpoint)",
                method=exc.method,
                route=exc.route,
                status=exc.status,
                reasons=exc.reasons,
                request_id=exc.request_id,
            ) from None
        raise
    ttl = float(body.get("expires_in") or 3600)
    # Refresh ahead of expiry, by at most a fifth of the lifetime for very short tokens.
    margin = min(refresh_margin_s, ttl / 5)
    scope = str(body.get("scope") or "")
    tenant = next((p.split(".", 1)[1] for p in scope.split() if p.startswith("tenant.")), None)
    return Token(body["access_token"], time.monotonic() + ttl - margin, tenant)
