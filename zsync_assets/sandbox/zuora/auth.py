"""OAuth 2.0 client credentials, as Zuora's `POST /oauth/token` does it.

Tokens are persisted (they outlive a sandbox restart, like a real tenant's) and expire after a
configurable TTL (Zuora: about an hour; tests use 1-2 s). The `scope` names the tenant as
`tenant.<id>`, which is how a client learns which tenant it reached, and every entity the token
is valid for as `entity.<id>` (entities.py).
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.requests import Request

from zsync_assets.sandbox.zuora.store import Store

if TYPE_CHECKING:
    from zsync_assets.sandbox.zuora.entities import OAuthClient


def _oauth_error(status: int, error: str, description: str) -> tuple[int, dict]:
    # RFC 6749 section 5.2 error body; never echoes the submitted secret.
    return status, {"error": error, "error_description": description}


def issue_token(store: Store, *, ttl_s: float, tenant_id: str, entities: Sequence[str]) -> dict:
    token = secrets.token_hex(16)
    with store.lock:
        store.conn.execute("insert into tokens values (?, ?)", (token, time.time() + ttl_s))
        store.conn.executemany("insert into token_entities values (?, ?)", [(token, e) for e in entities])
        store.conn.execute(
            "delete from token_entities where token in (select token from tokens where expires_at < ?)",
            (time.time() - 86400,),
        )
        store.conn.execute("delete from tokens where expires_at < ?", (time.time() - 86400,))
    user = uuid.uuid5(uuid.NAMESPACE_URL, f"zuora-sandbox-user-{tenant_id}").hex
    entity_scopes = " ".join(f"entity.{e} entity.{e}.user.{user}" for e in entities)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ttl_s,
        "scope": f"user.{user} {entity_scopes} service.echo.read service.genesis.read service.genesis.write "
        f"tenant.{tenant_id}",
        "jti": uuid.uuid4().hex,
    }


def token_response(
    body: bytes,
    *,
    clients: Mapping[str, OAuthClient],
    ttl_s: float,
    tenant_id: str,
    store: Store,
    entity: str | None = None,
) -> tuple[int, dict]:
    """`entity`: the request's `Zuora-Entity-Ids` header, which limits the token to that entity."""
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    given_id, given_secret = str(form.get("client_id") or ""), str(form.get("client_secret") or "")
    if not given_id or not given_secret:
        return _oauth_error(400, "invalid_request", "client_id and client_secret are required")
    ok = False
    for client_id, client in clients.items():  # compare against every client: no early exit to time
        ok |= hmac.compare_digest(given_id.encode(), client_id.encode()) & hmac.compare_digest(
            given_secret.encode(), client.secret.encode()
        )
    if not ok:
        return _oauth_error(401, "invalid_client", "Bad client credentials")
    reach = clients[given_id].entities
    if entity is not None:
        if entity.strip() not in reach:
            return _oauth_error(400, "invalid_scope", f"this OAuth client cannot access entity '{entity}'")
        reach = (entity.strip(),)
    return 200, issue_token(store, ttl_s=ttl_s, tenant_id=tenant_id, entities=reach)


def bearer_entities(store: Store, request: Request) -> list[str] | None:
    """The entities the request's bearer token is valid for, or None when it is not valid."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    with store.lock:
        row = store.conn.execute("select expires_at from tokens where token = ?", (token.strip(),)).fetchone()
        if not row or row[0] <= time.time():
            return None
        rows = store.conn.execute("select entity from token_entities where token = ?", (token.strip(),)).fetchall()
    return [r[0] for r in rows]
