"""What the flow checks look at, as plain functions over the `audit.*` views (Dagster-free).

Each returns a `Finding`: whether the check passed, how many records are concerned and the
first few of them, so the Dagster check (defs/checks.py) and tests read the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

SAMPLE = 5  # records shown in a check's metadata; the view has them all


@dataclass
class Finding:
    count: int
    sample: list[dict] = field(default_factory=list)
    query: str = ""  # the SQL that lists every concerned record, for people

    @property
    def passed(self) -> bool:
        return self.count == 0


def _finding(con: duckdb.DuckDBPyConnection, where_sql: str, columns: str, order: str,
             params: list) -> Finding:
    count = con.execute(f"select count(*) from {where_sql}", params).fetchall()[0][0]
    rows = con.sql(f"select {columns} from {where_sql} order by {order} limit {SAMPLE}",
                   params=params).pl().to_dicts() if count else []
    return Finding(int(count), [{k: _plain(v) for k, v in r.items()} for r in rows])


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, int | float | str | bool) else str(value)


def data_errors(con: duckdb.DuckDBPyConnection, flow: str) -> Finding:
    """Records of `flow` whose latest attempt the target rejected for their data (not a transient
    failure): they wait for a fix in the source (or `zsync requeue`)."""
    finding = _finding(
        con, "audit.failures where flow = ? and error_class = 'data'",
        "source_id, error_code, error_message, failed_attempts", "last_attempt_at desc, source_id", [flow])
    finding.query = f"select * from audit.failures where flow = '{flow}' and error_class = 'data'"
    return finding


BROKEN_LINK = "(issue = 'linked target not found' or (linked_to is not null and deleted_at is not null))"


def broken_links(con: duckdb.DuckDBPyConnection, flow: str) -> Finding:
    """Links of `flow` whose target record is not in the staged target table (any more), or was
    deleted in the target system (NetSuite getDeleted / Zuora id reconciliation)."""
    where = f"audit.unlinked where flow = ? and side = 'target' and {BROKEN_LINK}"
    finding = _finding(con, where, "record_id as target_id, linked_to as source_id, issue, deleted_at",
                       "record_id", [flow])
    finding.query = f"select * from audit.unlinked where flow = '{flow}' and side = 'target' and {BROKEN_LINK}"
    return finding


def invoice_differences(con: duckdb.DuckDBPyConnection) -> Finding:
    """Linked invoices whose Zuora and NetSuite amounts differ, or whose NetSuite side is missing."""
    where = "audit.reconciliation where level = 'invoice' and status in ('mismatch', 'missing in netsuite')"
    finding = _finding(con, where, "zuora_invoice_id, invoice_number, netsuite_id, currency, zuora_amount, "
                                   "netsuite_amount, difference, status", "abs(difference) desc, zuora_invoice_id", [])
    finding.query = f"select * from {where}"
    return finding
