"""Where the sync stands, from the warehouse alone: what `zsync status` and the end of `zsync
demo` print (the CLI renders it; this module only reads).

Per flow the records by status (linked, pending, blocked, failed, skipped, as `audit.sync_status`
decides them), the most frequent blocked and failed reasons, the last push run, the staging
marks and the bound instances. Reasons are counted by their root cause
(`engine/blockers.py`, `root_cause`): records that wait on different blocked records for one
cause count together. Something is wrong (`problems`) when a record is blocked or
failed: pending records are sent by the next push, skipped ones never are, on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from zsync_assets.audit import views as audit
from zsync_assets.engine.blockers import by_root_cause
from zsync_assets.lib.warehouse import Warehouse, table_exists

STATUSES = ("linked", "pending", "blocked", "failed", "skipped")


@dataclass
class Status:
    flows: list[dict] = field(default_factory=list)  # flow, direction, linked .. skipped
    reasons: list[dict] = field(default_factory=list)  # flow, status, records, reason
    more_reasons: int = 0  # (flow, status, root cause) groups not listed
    last_push: dict | None = None  # run_id, started_at, finished_at, written, failed
    cursors: list[dict] = field(default_factory=list)  # table, high_water, staged_at
    instance: list[dict] = field(default_factory=list)  # system, instance_id, bound_at

    @property
    def problems(self) -> int:
        """Records blocked or failed, over every flow."""
        return sum(f["blocked"] + f["failed"] for f in self.flows)

    def as_dict(self) -> dict:
        return {
            "flows": self.flows,
            "top_reasons": self.reasons,
            "more_reasons": self.more_reasons,
            "last_push": self.last_push,
            "cursors": self.cursors,
            "instance": self.instance,
            "problems": self.problems,
        }


_REASONS = """
select flow, status, count(*) as records,
       case when status = 'failed' then coalesce(error_code || ': ' || error_message, error_code, reason)
            else reason end as reason
from audit.sync_status where status in ('blocked', 'failed')
group by all
"""


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    relation = con.sql(sql, params=params) if params else con.sql(sql)
    return relation.pl().to_dicts()


def read_status(warehouse: Warehouse, flows: Sequence[audit.FlowSides], reasons: int = 5) -> Status:
    """Refresh the audit views and read the status of `flows` (flows only seen in links too)."""
    with warehouse.connect() as con:
        audit.refresh_views(con, flows)
        counts = {(r["flow"], r["status"]): r["records"] for r in _dicts(con, "select * from audit.sync_summary")}
        directions = {
            r["flow"]: f"{r['source_system']} -> {r['target_system']}" for r in _dicts(con, "select * from audit.flows")
        }
        names = list(dict.fromkeys([f.flow for f in flows] + [flow for flow, _ in counts]))
        status = Status(
            flows=[
                {
                    "flow": name,
                    "direction": directions.get(name, ""),
                    **{s: int(counts.get((name, "synced" if s == "linked" else s), 0)) for s in STATUSES},
                }
                for name in names
            ]
        )
        grouped = by_root_cause(con.sql(_REASONS).pl(), ["flow", "status"]).to_dicts()
        status.reasons, status.more_reasons = grouped[:reasons], max(0, len(grouped) - reasons)
        pushes = _dicts(
            con,
            """
            select run_id, min("at") as started_at, max("at") as finished_at,
                   count(*) filter (where status = 'succeeded' and action in ('create', 'update')) as written,
                   count(*) filter (where status = 'failed') as failed
            from zsync.push_log group by run_id order by finished_at desc limit 1""",
        )
        status.last_push = pushes[0] if pushes else None
        if table_exists(con, "zsync.cursors"):
            status.cursors = _dicts(
                con, "select name as table, high_water, updated_at as staged_at from zsync.cursors order by name"
            )
        if table_exists(con, "zsync.instance"):
            status.instance = _dicts(con, "select system, instance_id, bound_at from zsync.instance order by system")
    return status


def cursor_summary(cursors: list[dict]) -> list[dict]:
    """Per system: how many tables have a mark, the oldest and newest mark, the last staging."""
    systems: dict[str, list[dict]] = {}
    for c in cursors:
        systems.setdefault(str(c["table"]).split(".")[0], []).append(c)
    rows = []
    for system, marks in systems.items():
        dated = [m for m in marks if m["high_water"] is not None]
        oldest = min(dated, key=lambda m: m["high_water"]) if dated else None
        rows.append(
            {
                "system": system,
                "tables": len(marks),
                "oldest_mark": oldest["high_water"] if oldest else None,
                "oldest_table": oldest["table"] if oldest else None,
                "newest_mark": max(m["high_water"] for m in dated) if dated else None,
                "last_staged": max((m["staged_at"] for m in marks if m["staged_at"]), default=None),
            }
        )
    return rows
