"""What the flow checks look at, as plain functions over the `audit.*` views (Dagster-free).

Each returns a `Finding`: whether the check passed, how many records are concerned and the
first few of them, how many records it could compare at all, and, when that is none, why
(`nothing_to_compare`), so a check never passes silently on nothing. The Dagster checks
(defs/checks.py) and the tests read the same answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from zsync_assets.audit.sql import EPOCH, lit
from zsync_assets.audit.views import Catalog, FlowSides, declared_side, unlinked_targets_sql
from zsync_assets.engine.blockers import by_root_cause
from zsync_assets.lib.warehouse import qualified

SAMPLE = 5  # records shown in a check's metadata; the view has them all


@dataclass
class Finding:
    count: int
    sample: list[dict] = field(default_factory=list)
    query: str = ""  # the SQL that lists every concerned record, for people
    checked: int = 0  # records the check could compare
    nothing_to_compare: str | None = None  # why nothing could be compared (the check is skipped)
    details: dict[str, Any] = field(default_factory=dict)  # more to show, as JSON (e.g. top reasons)

    @property
    def passed(self) -> bool:
        return self.count == 0

    @property
    def skipped(self) -> bool:
        return self.nothing_to_compare is not None


def _finding(con: duckdb.DuckDBPyConnection, where_sql: str, columns: str, order: str, params: list) -> Finding:
    # The count and the first rows in one statement (a window counts before the limit): each
    # statement over the audit views runs their unions again.
    rows = (
        con.sql(
            f"select {columns}, count(*) over () as _concerned from {where_sql} order by {order} limit {SAMPLE}",
            params=params,
        )
        .pl()
        .to_dicts()
    )
    count = rows[0]["_concerned"] if rows else 0
    return Finding(int(count), [{k: _plain(v) for k, v in r.items() if k != "_concerned"} for r in rows])


def _plain(value: object) -> object:
    return value if value is None or isinstance(value, int | float | str | bool) else str(value)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return int(con.execute(sql, params or []).fetchall()[0][0] or 0)


# A flow's status findings while one unit of work evaluates its checks (`evaluating`): two checks
# read them, and each statement over audit.sync_status plans the view's unions again.
_STATUS: ContextVar[dict[str, dict[str, Finding]] | None] = ContextVar("_STATUS", default=None)


@contextmanager
def evaluating() -> Iterator[None]:
    """Read each flow's status findings once inside the block (nothing writes the warehouse meanwhile)."""
    token = _STATUS.set({})
    try:
        yield
    finally:
        _STATUS.reset(token)


# The failed and the blocked records (the first SAMPLE, and how many), the blocked records by
# reason, and how many records the flow has, in one statement over one read of audit.sync_status.
# The view is a union over every flow's plan, links and attempts and every staged table's
# deletions: DuckDB spent ~20 ms planning each statement over it whatever the warehouse's size
# (`zsync bench`, 40 accounts), and this was four of them per flow.
_STATUS_SQL = f"""
with s as materialized (select * from audit.sync_status where flow = $flow)
select 'total' as part, 0 as rank, null::varchar as source_id, null::varchar as error_code,
       null::varchar as error_class, null::varchar as error_message, null::bigint as failed_attempts,
       null::varchar as reason, count(*) as n
from s
union all
select 'failed', row_number() over (order by last_attempt_at desc, source_id), source_id, error_code,
       error_class, error_message, failed_attempts, null, count(*) over ()
from s where status = 'failed' qualify row_number() over (order by last_attempt_at desc, source_id) <= {SAMPLE}
union all
select 'blocked', row_number() over (order by reason, source_id), source_id, null, null, null, null, reason,
       count(*) over ()
from s where status = 'blocked' qualify row_number() over (order by reason, source_id) <= {SAMPLE}
union all
select 'reason', 0, null, null, null, null, null, reason, count(*) from s where status = 'blocked' group by reason
order by part, rank
"""
_SAMPLED = {
    "failed": ("source_id", "error_code", "error_class", "error_message", "failed_attempts"),
    "blocked": ("source_id", "reason"),
}


def status_findings(con: duckdb.DuckDBPyConnection, flow: str) -> dict[str, Finding]:
    """`failed` and `blocked` findings of `flow` (see `failed_records`, `blocked_records`)."""
    cached = _STATUS.get()
    if cached is not None and flow in cached:
        return cached[flow]
    rows = con.sql(_STATUS_SQL, params={"flow": flow}).pl()
    part = {name: rows.filter(pl.col("part") == name) for name in ("total", "failed", "blocked", "reason")}
    checked = int(part["total"]["n"].sum())
    findings = {}
    for name, columns in _SAMPLED.items():
        sampled = part[name]
        finding = Finding(
            int(sampled["n"][0]) if sampled.height else 0,
            [{k: _plain(v) for k, v in r.items()} for r in sampled.select(columns).to_dicts()],
            checked=checked,
        )
        if not checked:
            finding.nothing_to_compare = (
                f"flow {flow} has no records yet (nothing planned, linked or attempted): "
                f"run its plan/{flow} and push/{flow}"
            )
        findings[name] = finding
    findings["failed"].query = f"select * from audit.failures where flow = {lit(flow)}"
    findings["blocked"].query = f"select * from audit.sync_status where flow = {lit(flow)} and status = 'blocked'"
    # The most frequent root causes (engine/blockers.py), with their counts.
    reasons = part["reason"].select("reason", records=pl.col("n"))
    findings["blocked"].details = {"top_reasons": by_root_cause(reasons, [], SAMPLE).to_dicts()}
    if cached is not None:
        cached[flow] = findings
    return findings


def failed_records(con: duckdb.DuckDBPyConnection, flow: str) -> Finding:
    """Records of `flow` whose latest attempt failed and has not succeeded since: a data error
    waits for a fix at the source (or `zsync requeue`), a transient one is retried next run."""
    return status_findings(con, flow)["failed"]


def blocked_records(con: duckdb.DuckDBPyConnection, flow: str) -> Finding:
    """Records of `flow` its plan blocks: a master record not synced yet, a missing mapping
    (tax code, currency), a value the target cannot hold. The reason names what to fix; the
    finding's `top_reasons` detail counts them by root cause."""
    return status_findings(con, flow)["blocked"]


BROKEN_LINK = "(issue = 'linked target not found' or (linked_to is not null and deleted_at is not null))"


def broken_links(con: duckdb.DuckDBPyConnection, flow: str | FlowSides) -> Finding:
    """Links of `flow` whose target record is not in the staged target tables (any more), or was
    deleted in the target system (NetSuite getDeleted / Zuora id reconciliation)."""
    side = flow if isinstance(flow, FlowSides) else declared_side(con, flow)
    name = side.flow if side else str(flow)
    catalog = Catalog(con)
    scoped = unlinked_targets_sql(catalog, side or FlowSides(name, "", ""))  # the view's rows of this flow
    where = f"({scoped}) unlinked where {BROKEN_LINK}"
    finding = _finding(con, where, "record_id as target_id, linked_to as source_id, issue, deleted_at", "record_id", [])
    finding.query = f"select * from audit.unlinked where flow = '{name}' and side = 'target' and {BROKEN_LINK}"
    links = _scalar(con, "select count(*) from zsync.links where flow = ?", [name])
    wanted = list(side.target_tables) if side else []
    staged = [t for t in wanted if t in catalog.columns]
    if not wanted or len(staged) < len(wanted):
        missing = ", ".join(t for t in wanted if t not in staged) or "no staged table is known for them"
        finding.nothing_to_compare = f"the records {name} writes are not all staged ({missing})"
        return finding
    last = "least(" + ", ".join(f"(select max(_staged_at) from {qualified(t)})" for t in staged) + ")"
    finding.checked = _scalar(
        con, f"select count(*) from zsync.links where flow = ? and synced_at < coalesce({last}, {EPOCH})", [name]
    )
    if not links:
        finding.nothing_to_compare = f"flow {name} has no links yet"
    elif not finding.checked:
        finding.nothing_to_compare = (
            f"all {links} link(s) of {name} were made after the last staging of "
            f"{', '.join(staged)}; the next run stages them and checks them"
        )
    return finding


def invoice_differences(con: duckdb.DuckDBPyConnection) -> Finding:
    """Linked invoices whose Zuora and NetSuite amounts differ, or whose NetSuite side is missing."""
    where = "audit.reconciliation where level = 'invoice' and status in ('mismatch', 'missing in netsuite')"
    finding = _finding(
        con,
        where,
        "zuora_invoice_id, invoice_number, netsuite_id, currency, zuora_amount, netsuite_amount, difference, status",
        "abs(difference) desc, zuora_invoice_id",
        [],
    )
    finding.query = f"select * from {where}"
    counts = dict(
        con.execute(
            "select status = 'not staged yet', count(*) from audit.reconciliation where level = 'invoice' group by 1"
        ).fetchall()
    )
    finding.checked, waiting = int(counts.get(False, 0)), int(counts.get(True, 0))
    if not finding.checked:
        finding.nothing_to_compare = (
            f"all {waiting} linked invoice(s) were created after NetSuite's last staging; the next run stages "
            "them and compares them"
            if waiting
            else "no invoice is linked yet (or zuora.invoices is not staged)"
        )
    return finding
