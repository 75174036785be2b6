"""Durable state of the Zuora sandbox: one SQLite file in the data dir.

SQLite because a write and its idempotency record must commit together (a "commit then drop"
fault has to leave both behind, as a real tenant would) and everything, tokens included, must
survive a restart. Records are JSON documents keyed by (object, id); `updated_date` is kept in
its own column because incremental reads filter on it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zsync_assets.sandbox.zuora.model import OBJECTS

_SCHEMA = """
create table if not exists records (
    object text not null, id text not null, updated_date text not null, data text not null,
    primary key (object, id)
);
create index if not exists records_updated on records (object, updated_date);
create index if not exists records_invoice on records (object, json_extract(data, '$."invoiceId"'));
create index if not exists records_item on records (object, json_extract(data, '$."invoiceItemId"'));
create index if not exists records_payment on records (object, json_extract(data, '$."paymentId"'));
create index if not exists records_account on records (object, json_extract(data, '$."accountId"'));
create table if not exists tokens (token text primary key, expires_at real not null);
create table if not exists token_entities (token text not null, entity text not null);
create table if not exists idempotency (
    route text not null, key text not null, body_hash text not null, state text not null,
    status integer, body text, created_at real not null, primary key (route, key)
);
create table if not exists counters (name text primary key, value integer not null);
create table if not exists meta (key text primary key, value text not null);
"""

SANDBOX_USER_ID = "2c92c0f96abc17de016abd62bd0c5854"  # createdById / updatedById of API writes


def now_iso(at: datetime | None = None) -> str:
    """Zuora date-times carry milliseconds and an offset; always UTC here so strings sort."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+00:00"


def new_id() -> str:
    """Zuora ids are 32 lower-case hex characters."""
    return uuid.uuid4().hex


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One connection shared by the server's threads, serialised by a lock: the sandbox
        # handles requests on one event loop, so the lock is almost never contended.
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("pragma journal_mode=wal")
        self.conn.execute("pragma synchronous=normal")
        self.conn.executescript(_SCHEMA)
        self.lock = threading.RLock()
        self._depth = 0

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All-or-nothing. A nested one is a savepoint of the outer transaction: its failure
        undoes its own writes only (an action call's objects succeed or fail one by one inside
        the request's transaction)."""
        with self.lock:
            outer = self._depth == 0
            savepoint = f"sp{self._depth}"
            self.conn.execute("begin immediate" if outer else f"savepoint {savepoint}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                self.conn.execute("rollback" if outer else f"rollback to {savepoint}")
                if not outer:
                    self.conn.execute(f"release {savepoint}")
                raise
            self._depth -= 1
            self.conn.execute("commit" if outer else f"release {savepoint}")

    # -- metadata -----------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self.conn.execute("select value from meta where key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.conn.execute("insert or replace into meta values (?, ?)", (key, value))

    def next_number(self, name: str, start: int = 1) -> int:
        """Document numbers (A00000001, INV00000001, ...) from a durable counter."""
        with self.transaction():
            row = self.conn.execute("select value from counters where name = ?", (name,)).fetchone()
            value = row[0] + 1 if row else start
            self.conn.execute("insert or replace into counters values (?, ?)", (name, value))
        return value

    # -- records ------------------------------------------------------------------------

    def insert(self, obj: str, record: dict[str, Any], *, at: str | None = None) -> dict[str, Any]:
        """Store a new record with every declared field (unset ones null) and audit fields."""
        full = OBJECTS[obj].blank()
        full.update(record)
        full.setdefault("id", None)
        full["id"] = full["id"] or new_id()
        stamp = at or now_iso()
        for audit, value in (("createdDate", stamp), ("updatedDate", stamp)):
            if audit in full and not full[audit]:
                full[audit] = value
        for audit in ("createdById", "updatedById"):
            if audit in full and not full[audit]:
                full[audit] = SANDBOX_USER_ID
        self._write(obj, full)
        return full

    def insert_many(self, obj: str, records: list[dict[str, Any]]) -> None:
        """Bulk insert of complete records (the seed); no defaults are filled in."""
        with self.lock:
            self.conn.executemany(
                "insert or replace into records values (?, ?, ?, ?)",
                [(obj, r["id"], r["updatedDate"], json.dumps(r)) for r in records],
            )

    def update(self, obj: str, record_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply changes and bump `updatedDate`, which is what incremental readers key on."""
        record = self.get(obj, record_id)
        if record is None:
            raise KeyError(record_id)
        record.update(changes)
        record["updatedDate"] = now_iso()
        if "updatedById" in record:
            record["updatedById"] = SANDBOX_USER_ID
        self._write(obj, record)
        return record

    def _write(self, obj: str, record: dict[str, Any]) -> None:
        with self.lock:
            self.conn.execute(
                "insert or replace into records values (?, ?, ?, ?)",
                (obj, record["id"], record["updatedDate"], json.dumps(record)),
            )

    def get(self, obj: str, record_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute("select data from records where object = ? and id = ?", (obj, record_id)).fetchone()
        return json.loads(row[0]) if row else None

    def existing(self, obj: str, record_id: str) -> dict[str, Any]:
        """A record the caller knows is stored: one it just wrote, or one a stored record names."""
        record = self.get(obj, record_id)
        if record is None:
            raise KeyError(f"{obj} {record_id} is not in the sandbox store")
        return record

    def find(self, obj: str, **equals: Any) -> list[dict[str, Any]]:
        """Records whose fields equal the given values, in id order."""
        where = "".join(f" and json_extract(data, '$.\"{f}\"') = ?" for f in equals)
        return self.select(obj, where, list(equals.values()))

    def select(
        self, obj: str, where: str = "", params: list[Any] | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        sql = f"select data from records where object = ?{where} order by id"
        if limit is not None:
            sql += f" limit {int(limit)}"
        with self.lock:
            rows = self.conn.execute(sql, [obj, *(params or [])]).fetchall()
        return [json.loads(r[0]) for r in rows]

    def delete(self, obj: str, record_id: str) -> None:
        with self.lock:
            self.conn.execute("delete from records where object = ? and id = ?", (obj, record_id))

    def count(self, obj: str) -> int:
        with self.lock:
            return self.conn.execute("select count(*) from records where object = ?", (obj,)).fetchone()[0]
