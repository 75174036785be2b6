"""`Idempotency-Key` on POST/PATCH, the way Zuora documents it.

- same key + same request: the first response is replayed (status and body, failures too)
  for 24 hours, also after a restart (the record is in the store, committed with the write);
- same key + a different request body: 422;
- same key while the first request is still being processed: 409.
Keys are scoped to the route (method + path), so one key cannot collide across endpoints.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

from zsync_assets.sandbox.zuora.store import Store

RETENTION_S = 24 * 3600


@dataclass
class Replay:
    status: int
    body: dict | list


@dataclass
class Conflict:
    status: int  # 409 in flight, 422 different request
    message: str


def _hash(body: bytes) -> str:
    try:  # the same JSON document with other whitespace or key order is the same request
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class IdempotencyLedger:
    def __init__(self, store: Store):
        self.store = store
        with store.lock:
            # A request still "in flight" in the file belongs to a process that is gone.
            store.conn.execute("delete from idempotency where state = 'in_flight'")

    def begin(self, route: str, key: str, body: bytes) -> Replay | Conflict | None:
        """Claim the key (None), or say what to answer instead of running the request."""
        digest = _hash(body)
        with self.store.transaction() as store:
            row = store.conn.execute(
                "select body_hash, state, status, body, created_at from idempotency where route = ? and key = ?",
                (route, key),
            ).fetchone()
            if row and row[4] < time.time() - RETENTION_S:
                store.conn.execute("delete from idempotency where route = ? and key = ?", (route, key))
                row = None
            if row is None:
                store.conn.execute(
                    "insert into idempotency values (?, ?, ?, 'in_flight', null, null, ?)",
                    (route, key, digest, time.time()),
                )
                return None
        hash_, state, status, stored, _ = row
        if hash_ != digest:
            return Conflict(422, "Idempotency-Key was already used with a different request body")
        if state == "in_flight":
            return Conflict(409, "a request with this Idempotency-Key is still being processed")
        return Replay(status, json.loads(stored))

    def complete(self, route: str, key: str, status: int, body: dict | list) -> None:
        """Store the response; called inside the write's transaction so both commit together."""
        with self.store.transaction() as store:
            store.conn.execute(
                "update idempotency set state = 'done', status = ?, body = ? where route = ? and key = ?",
                (status, json.dumps(body), route, key),
            )

    def abandon(self, route: str, key: str) -> None:
        with self.store.transaction() as store:
            store.conn.execute(
                "delete from idempotency where route = ? and key = ? and state = 'in_flight'", (route, key)
            )
