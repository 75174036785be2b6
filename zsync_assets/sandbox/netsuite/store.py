"""SQLite persistence for the NetSuite sandbox: one row per record, the record kept as JSON.

One connection guarded by a lock: SOAP handlers run in worker threads, and SQLite serialises
writers anyway. Durable across restarts (the file lives in the sandbox data dir).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    internal_id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_type TEXT NOT NULL,
    key_space TEXT NOT NULL,
    external_id TEXT,
    name_key TEXT,
    data TEXT NOT NULL,
    last_modified TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_external_id ON records (key_space, external_id);
CREATE INDEX IF NOT EXISTS records_type ON records (record_type, internal_id);
CREATE INDEX IF NOT EXISTS records_name ON records (key_space, name_key);
CREATE TABLE IF NOT EXISTS applications (
    source_id INTEGER NOT NULL,  -- payment, credit memo or refund
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
"""


class Store:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.row_factory = sqlite3.Row
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.executescript(SCHEMA)
        self.lock = threading.RLock()
        self._depth = 0

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

    def is_empty(self) -> bool:
        with self.lock:
            return self._con.execute("SELECT count(*) FROM records").fetchone()[0] == 0

    @staticmethod
    def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {"internal_id": row["internal_id"], "record_type": row["record_type"],
                "data": json.loads(row["data"])}

    def get(self, internal_id: int | str, record_types: tuple[str, ...] | None = None) -> dict | None:
        with self.lock:
            try:
                row = self._con.execute("SELECT * FROM records WHERE internal_id = ?", (int(internal_id),)).fetchone()
            except ValueError:
                return None
        found = self._row(row)
        if found and record_types and found["record_type"] not in record_types:
            return None
        return found

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

    def all(self, record_types: tuple[str, ...]) -> list[dict]:
        marks = ",".join("?" * len(record_types))
        with self.lock:
            rows = self._con.execute(
                f"SELECT * FROM records WHERE record_type IN ({marks}) ORDER BY internal_id", record_types
            ).fetchall()
        return [self._row(r) for r in rows]

    def next_id(self) -> int:
        row = self._con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        return (row[0] if row else 0) + 1

    def insert(self, record_type: str, key_space: str, data: dict, name: str | None) -> int:
        cur = self._con.execute(
            "INSERT INTO records (record_type, key_space, external_id, name_key, data, last_modified)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (record_type, key_space, data.get("externalId"), name.lower() if name else None,
             json.dumps(data), data.get("lastModifiedDate", "")),
        )
        return cur.lastrowid

    def save(self, internal_id: int, data: dict, name: str | None) -> None:
        self._con.execute(
            "UPDATE records SET data = ?, external_id = ?, name_key = ?, last_modified = ? WHERE internal_id = ?",
            (json.dumps(data), data.get("externalId"), name.lower() if name else None,
             data.get("lastModifiedDate", ""), int(internal_id)),
        )

    def delete(self, internal_id: int, deleted_date: str | None = None) -> None:
        self._con.execute(
            "INSERT INTO deleted_records (internal_id, record_type, external_id, deleted_date)"
            " SELECT internal_id, record_type, external_id, ? FROM records WHERE internal_id = ?",
            (deleted_date or "", int(internal_id)),
        )
        self._con.execute("DELETE FROM records WHERE internal_id = ?", (int(internal_id),))
        self._con.execute("DELETE FROM applications WHERE source_id = ?", (int(internal_id),))

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
            return self._con.execute(
                "SELECT 1 FROM applications WHERE doc_id = ? LIMIT 1", (int(doc_id),)
            ).fetchone() is not None

    def deleted(self, record_types: tuple[str, ...]) -> list[dict]:
        """Deleted records of these types, oldest first (for getDeleted)."""
        marks = ",".join("?" * len(record_types))
        with self.lock:
            rows = self._con.execute(
                f"SELECT internal_id, record_type, external_id, deleted_date FROM deleted_records"
                f" WHERE record_type IN ({marks}) ORDER BY deleted_date, internal_id", record_types
            ).fetchall()
        return [dict(r) for r in rows]
