"""SQLite persistence for the NetSuite sandbox: one row per record, the record kept as JSON.

One connection guarded by a lock: SOAP handlers run in worker threads, and SQLite serialises
writers anyway. Durable across restarts (the file lives in the sandbox data dir). A record is
addressed by its record type and internal id: ids are counted per id space (`RecordKind.id_space`),
so customer 1 and subsidiary 1 are different records.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zsync_assets.sandbox.netsuite.records import KINDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id_space TEXT NOT NULL,      -- which id counter numbers it (records.RecordKind.id_space)
    internal_id INTEGER NOT NULL,
    record_type TEXT NOT NULL,
    key_space TEXT NOT NULL,
    external_id TEXT,
    name_key TEXT,
    data TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (id_space, internal_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS records_external_id ON records (key_space, external_id);
CREATE INDEX IF NOT EXISTS records_type ON records (record_type, internal_id);
CREATE INDEX IF NOT EXISTS records_name ON records (key_space, name_key);
-- The last internal id handed out per id space; never reused, deletions included.
CREATE TABLE IF NOT EXISTS id_counters (id_space TEXT PRIMARY KEY, last_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS applications (
    source_id INTEGER NOT NULL,  -- payment, credit memo or refund (transaction ids)
    doc_id INTEGER NOT NULL,     -- the invoice, payment or credit memo it is applied to
    amount REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS applications_doc ON applications (doc_id);
CREATE INDEX IF NOT EXISTS applications_source ON applications (source_id);
-- What getDeleted reports: NetSuite keeps a deleted record's id, type and time.
CREATE TABLE IF NOT EXISTS deleted_records (
    internal_id INTEGER NOT NULL,
    record_type TEXT NOT NULL,
    external_id TEXT,
    deleted_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deleted_records_date ON deleted_records (deleted_date, internal_id);
-- Account-wide settings people make in the NetSuite UI (e.g. the last closed accounting period).
CREATE TABLE IF NOT EXISTS account_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def id_space(record_types: str | tuple[str, ...]) -> str:
    """The one id space of these record types (a lookup by id never spans two spaces)."""
    types = (record_types,) if isinstance(record_types, str) else tuple(record_types)
    spaces = {KINDS[t].id_space for t in types}
    if len(spaces) != 1:
        raise ValueError(f"record types {types} do not share one internal-id space")
    return spaces.pop()


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.row_factory = sqlite3.Row
        self._con.execute("PRAGMA journal_mode=WAL")
        # Each record's write is one transaction (a list call commits its good records only), and
        # with the default synchronous=FULL each commit waited for an fsync: 3.8 s of a 300-account
        # bench sync. In WAL mode NORMAL still survives a killed process, which is the durability
        # the sandbox promises (the Zuora sandbox does the same); only a power cut could lose the
        # last commits (https://www.sqlite.org/pragma.html#pragma_synchronous).
        self._con.execute("PRAGMA synchronous=NORMAL")
        _migrate_shared_counter(self._con)
        self._con.executescript(SCHEMA)
        self.lock = threading.RLock()
        self._depth = 0
        # What `all` decoded, by (record type, internal id), with the stored text it came from: a
        # search runs again for every page, as NetSuite's searchMoreWithId does, and decoding
        # every hit again per page was a third of the sandbox's CPU in the run after a
        # 1,000-account sync. A record whose text changed is decoded afresh. Callers only read
        # what `all` returns (search.as_record copies a record before it changes it).
        self._decoded: dict[tuple[str, int], tuple[str, dict[str, Any]]] = {}

    def close(self) -> None:
        self._con.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One record's write: all or nothing (a list call commits the good records only)."""
        with self.lock:
            if self._depth:  # nested (upsert -> add): the outer transaction decides
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            self._con.execute("BEGIN")
            try:
                yield
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            else:
                self._con.execute("COMMIT")
            finally:
                self._depth = 0

    def version(self) -> tuple[int, int]:
        """Changes whenever the stored data may have: rows this connection changed
        (`total_changes`, rolled back or not) and commits by any other connection to the file
        (`PRAGMA data_version`)."""
        with self.lock:
            return self._con.total_changes, self._con.execute("PRAGMA data_version").fetchone()[0]

    def is_empty(self) -> bool:
        with self.lock:
            return self._con.execute("SELECT count(*) FROM records").fetchone()[0] == 0

    @staticmethod
    def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
        return None if row is None else Store._record(row)

    @staticmethod
    def _record(row: sqlite3.Row, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """A stored record; `data`: its text already decoded."""
        decoded = json.loads(row["data"]) if data is None else data
        return {"internal_id": row["internal_id"], "record_type": row["record_type"], "data": decoded}

    def existing(self, internal_id: int | str, record_types: str | tuple[str, ...]) -> dict:
        """A record the caller knows is stored (it just wrote it)."""
        record = self.get(internal_id, record_types)
        if record is None:
            raise KeyError(f"{record_types} {internal_id} is not in the sandbox store")
        return record

    def get(self, internal_id: int | str, record_types: str | tuple[str, ...]) -> dict | None:
        """The record with this id, if it is one of `record_types` (which share an id space)."""
        types = (record_types,) if isinstance(record_types, str) else tuple(record_types)
        try:
            key = int(internal_id)
        except (TypeError, ValueError):
            return None
        with self.lock:
            row = self._con.execute(
                "SELECT * FROM records WHERE id_space = ? AND internal_id = ?", (id_space(types), key)
            ).fetchone()
        found = self._row(row)
        return found if found and found["record_type"] in types else None

    def by_external_id(self, key_space: str, external_id: str) -> dict | None:
        with self.lock:
            row = self._con.execute(
                "SELECT * FROM records WHERE key_space = ? AND external_id = ?", (key_space, external_id)
            ).fetchone()
        return self._row(row)

    def by_name(self, key_space: str, name: str) -> dict | None:
        with self.lock:
            row = self._con.execute(
                "SELECT * FROM records WHERE key_space = ? AND name_key = ?", (key_space, name.lower())
            ).fetchone()
        return self._row(row)

    def all(self, record_types: tuple[str, ...], *, modified_since: str | None = None) -> list[dict]:
        """Every record of these types, or only those whose last_modified text is not below
        `modified_since`."""
        marks = ",".join("?" * len(record_types))
        since, params = ("", record_types)
        if modified_since:
            since, params = "AND last_modified >= ?", (*record_types, modified_since)
        with self.lock:
            rows = self._con.execute(
                f"SELECT * FROM records WHERE record_type IN ({marks}) {since} ORDER BY internal_id", params
            ).fetchall()
            return [self._cached_record(r) for r in rows]

    def _cached_record(self, row: sqlite3.Row) -> dict[str, Any]:
        key, text = (row["record_type"], row["internal_id"]), row["data"]
        cached = self._decoded.get(key)
        if cached is None or cached[0] != text:
            cached = self._decoded[key] = (text, json.loads(text))
        return self._record(row, cached[1])

    def next_id(self, record_type: str) -> int:
        """Reserve the next internal id of this record type's id space (inside a transaction)."""
        space = id_space(record_type)
        row = self._con.execute("SELECT last_id FROM id_counters WHERE id_space = ?", (space,)).fetchone()
        value = (row[0] if row else 0) + 1
        self._con.execute("INSERT OR REPLACE INTO id_counters (id_space, last_id) VALUES (?, ?)", (space, value))
        return value

    def insert(self, record_type: str, internal_id: int, key_space: str, data: dict, name: str | None) -> None:
        self._con.execute(
            "INSERT INTO records (id_space, internal_id, record_type, key_space, external_id, name_key, data,"
            " last_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                id_space(record_type),
                int(internal_id),
                record_type,
                key_space,
                data.get("externalId"),
                name.lower() if name else None,
                json.dumps(data),
                data.get("lastModifiedDate", ""),
            ),
        )

    def save(self, record_type: str, internal_id: int, data: dict, name: str | None) -> None:
        self._con.execute(
            "UPDATE records SET data = ?, external_id = ?, name_key = ?, last_modified = ?"
            " WHERE id_space = ? AND internal_id = ?",
            (
                json.dumps(data),
                data.get("externalId"),
                name.lower() if name else None,
                data.get("lastModifiedDate", ""),
                id_space(record_type),
                int(internal_id),
            ),
        )

    def delete(self, record_type: str, internal_id: int, deleted_date: str) -> None:
        space, key = id_space(record_type), int(internal_id)
        self._con.execute(
            "INSERT INTO deleted_records (internal_id, record_type, external_id, deleted_date)"
            " SELECT internal_id, record_type, external_id, ? FROM records WHERE id_space = ? AND internal_id = ?",
            (deleted_date, space, key),
        )
        self._con.execute("DELETE FROM records WHERE id_space = ? AND internal_id = ?", (space, key))
        if space == "transaction":
            self._con.execute("DELETE FROM applications WHERE source_id = ?", (key,))

    def applied_to(self, doc_id: int, *, excluding_source: int | None = None) -> float:
        with self.lock:
            row = self._con.execute(
                "SELECT coalesce(sum(amount), 0) FROM applications WHERE doc_id = ? AND source_id IS NOT ?",
                (int(doc_id), excluding_source),
            ).fetchone()
        return float(row[0])

    def applied_from(self, source_id: int) -> float:
        with self.lock:
            row = self._con.execute(
                "SELECT coalesce(sum(amount), 0) FROM applications WHERE source_id = ?", (int(source_id),)
            ).fetchone()
        return float(row[0])

    def docs_of(self, source_id: int) -> list[int]:
        with self.lock:
            rows = self._con.execute("SELECT doc_id FROM applications WHERE source_id = ?", (int(source_id),))
            return [r[0] for r in rows.fetchall()]

    def set_applications(self, source_id: int, applications: list[tuple[int, float]]) -> None:
        self._con.execute("DELETE FROM applications WHERE source_id = ?", (int(source_id),))
        self._con.executemany(
            "INSERT INTO applications (source_id, doc_id, amount) VALUES (?, ?, ?)",
            [(int(source_id), int(doc), amount) for doc, amount in applications],
        )

    def has_dependents(self, doc_id: int) -> bool:
        with self.lock:
            return (
                self._con.execute("SELECT 1 FROM applications WHERE doc_id = ? LIMIT 1", (int(doc_id),)).fetchone()
                is not None
            )

    def setting(self, name: str) -> str | None:
        with self.lock:
            row = self._con.execute("SELECT value FROM account_settings WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_setting(self, name: str, value: str | None) -> None:
        with self.lock:
            if value is None:
                self._con.execute("DELETE FROM account_settings WHERE name = ?", (name,))
            else:
                self._con.execute("INSERT OR REPLACE INTO account_settings (name, value) VALUES (?, ?)", (name, value))

    def deleted(self, record_types: tuple[str, ...]) -> list[dict]:
        """Deleted records of these types, oldest first (for getDeleted)."""
        marks = ",".join("?" * len(record_types))
        with self.lock:
            rows = self._con.execute(
                f"SELECT internal_id, record_type, external_id, deleted_date FROM deleted_records"
                f" WHERE record_type IN ({marks}) ORDER BY deleted_date, internal_id",
                record_types,
            ).fetchall()
        return [dict(r) for r in rows]


def _migrate_shared_counter(con: sqlite3.Connection) -> None:
    """A data dir written before ids were counted per id space: keep every record and its id
    (old ids are unique across types, so they stay unique per space) and continue every
    counter above the old shared one, so no id is ever handed out twice."""
    columns = {row[1] for row in con.execute("PRAGMA table_info(records)")}
    if not columns or "id_space" in columns:
        return
    old = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
    con.execute("BEGIN")  # DDL is transactional in SQLite: all of it or none
    con.execute("ALTER TABLE records RENAME TO records_shared_counter")
    for index in ("records_external_id", "records_type", "records_name"):
        con.execute(f"DROP INDEX IF EXISTS {index}")
    for statement in _statements(SCHEMA):
        con.execute(statement)
    con.execute(
        "INSERT INTO records (id_space, internal_id, record_type, key_space, external_id, name_key, data,"
        " last_modified) SELECT '', internal_id, record_type, key_space, external_id, name_key, data,"
        " last_modified FROM records_shared_counter"
    )
    for kind in KINDS.values():
        con.execute("UPDATE records SET id_space = ? WHERE record_type = ?", (kind.id_space, kind.record_type))
    last = old[0] if old else con.execute("SELECT coalesce(max(internal_id), 0) FROM records").fetchone()[0]
    con.executemany(
        "INSERT OR REPLACE INTO id_counters (id_space, last_id) VALUES (?, ?)",
        [(space, last) for space in {k.id_space for k in KINDS.values()}],
    )
    con.execute("DROP TABLE records_shared_counter")
    con.execute("COMMIT")


def _statements(script: str) -> list[str]:
    lines = [line.split("--")[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
