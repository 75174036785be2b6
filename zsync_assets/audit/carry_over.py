"""When a flow's checks need not look again: a digest of everything they read.

A flow's checks (defs/checks.py) read the `audit.*` views over the flow's plan, its links and
write attempts, and the staged tables on both sides: the source table (records not linked,
deleted at the source) and the tables its target records are staged in (links whose target is
missing or deleted). In a run that changed nothing they found the same as in the run before,
at 0.1-0.3 s a flow. The digest covers each input, in one statement:

- the view definitions (their digest, audit/views.py: which tables exist, the configured flows);
- the flow's plan, in the columns `audit.plans` reads;
- the flow's links and its push log (append-only: its row count and latest time);
- each staged table on either side, without `_staged_at`, as the plan's fingerprint does
  (engine/plan_state.py): staging rewrites what it re-reads in its overlap window;
- how many links are older than each target table's last staging (what `links_resolve` can
  compare grows as staging catches up, with no value changing);
- the code of the checks and views.

With an equal digest the last findings are re-emitted as they were, failures included, saying
when they were evaluated (`zsync.check_findings`); any change evaluates them afresh.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime

import duckdb

from zsync_assets.audit.checks import Finding
from zsync_assets.audit.sql import PLAN_COLUMNS
from zsync_assets.audit.views import SCHEMA, FlowSides
from zsync_assets.engine.plan_state import digest_sql, staged_values, table_columns
from zsync_assets.lib.ddl import ensure_once
from zsync_assets.lib.warehouse import qualified

DDL = """
create schema if not exists zsync;
create table if not exists zsync.check_findings (
    flow varchar not null,
    check_name varchar not null,
    inputs varchar not null,            -- the digest of what the check read (`inputs`)
    evaluated_at timestamptz not null,
    finding varchar not null,           -- the `Finding`, as JSON
    primary key (flow, check_name)
);
"""


def inputs(con: duckdb.DuckDBPyConnection, side: FlowSides, code: str) -> str:
    """The digest of everything `side.flow`'s checks read (the module doc); `code`: the version
    of the code that evaluates them."""
    plan = f"zsync.plan_{side.flow}"
    staged = [t for t in dict.fromkeys((side.source_table, *side.target_tables)) if t]
    columns = table_columns(con, [plan, *staged])
    parts = [
        f"(select string_agg(distinct comment, ',') from duckdb_views() where database_name = current_database() "
        f"and schema_name = '{SCHEMA}')",
        digest_sql("zsync.links", None, "where flow = $flow"),
        "(select count(*)::varchar || ':' || coalesce(max(\"at\")::varchar, '') "
        "from zsync.push_log where flow = $flow)",
    ]
    if plan in columns:
        parts.append(digest_sql(plan, [c for c in PLAN_COLUMNS if c in columns[plan]]))
    for table in staged:
        if table in columns:
            parts.append(digest_sql(table, staged_values(columns[table])))
    for table in side.target_tables:
        if "_staged_at" in columns.get(table, ()):
            parts.append(
                f"(select count(*) from zsync.links where flow = $flow "
                f"and synced_at < (select max(_staged_at) from {qualified(table)}))"
            )
    row = con.execute("select " + ", ".join(parts), {"flow": side.flow}).fetchall()[0]
    named = [side.flow, code, sorted(columns.items()), list(row)]
    return hashlib.sha256(json.dumps(named, default=str).encode()).hexdigest()


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_once(con, "zsync.check_findings", lambda c: c.execute(DDL))


def kept(con: duckdb.DuckDBPyConnection, flow: str, digest: str) -> dict[str, tuple[Finding, datetime]]:
    """check name -> its last finding and when it was evaluated, of the checks of `flow` last
    evaluated on inputs with this digest."""
    _ensure_table(con)
    rows = con.execute(
        "select check_name, finding, evaluated_at from zsync.check_findings where flow = ? and inputs = ?",
        [flow, digest],
    ).fetchall()
    return {name: (Finding(**json.loads(finding)), at) for name, finding, at in rows}


def remember(
    con: duckdb.DuckDBPyConnection, flow: str, digest: str, findings: dict[str, Finding], at: datetime | None = None
) -> None:
    if not findings:
        return
    _ensure_table(con)
    at = at or datetime.now(UTC)
    con.executemany(
        "insert or replace into zsync.check_findings values (?, ?, ?, ?, ?)",
        [
            [flow, name, digest, at, json.dumps(dataclasses.asdict(finding), default=str)]
            for name, finding in findings.items()
        ],
    )
