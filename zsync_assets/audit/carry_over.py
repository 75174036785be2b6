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
when they were evaluated (`zsync.audit_findings`); any change evaluates them afresh.

The `audit/audit_views` asset shows the records of every flow by status (`audit.sync_summary`,
a scan of every plan, link and attempt): it is kept the same way, on a digest of the plans'
fingerprints, all links and the whole push log (`summary_inputs`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import duckdb

from zsync_assets.audit.checks import Finding
from zsync_assets.audit.sql import PLAN_COLUMNS, lit
from zsync_assets.audit.views import SCHEMA, FlowSides
from zsync_assets.engine.plan_state import digest_select, ensure_table, staged_values
from zsync_assets.lib.ddl import ensure_once
from zsync_assets.lib.warehouse import qualified, table_columns

DDL = """
create schema if not exists zsync;
create table if not exists zsync.audit_findings (
    subject varchar not null,           -- a flow (its checks), or `audit_views`
    name varchar not null,              -- the check, or what the asset shows
    inputs varchar not null,            -- the digest of what it read
    evaluated_at timestamptz not null,
    finding varchar not null,           -- as JSON
    primary key (subject, name)
);
"""
SUMMARY = ("audit_views", "status_by_flow")


def _views_digest(part: int) -> str:
    return (
        f"select {part} as part, string_agg(distinct comment, ',') as digest from duckdb_views() "
        f"where database_name = current_database() and schema_name = '{SCHEMA}'"
    )


def _push_log(part: int, where: str = "") -> str:
    return (
        f"select {part} as part, count(*)::varchar || ':' || coalesce(max(\"at\")::varchar, '') as digest "
        f"from zsync.push_log {where}"
    )


def _digests(con: duckdb.DuckDBPyConnection, selects: list[str]) -> list[str | None]:
    """The digests of `selects` (each `digest_select`-shaped, numbered in order), in one statement:
    a union costs half the CPU of scalar subqueries or a query each."""
    found = dict(con.execute(" union all ".join(selects)).fetchall())
    return [found.get(i) for i in range(len(selects))]


def inputs(con: duckdb.DuckDBPyConnection, side: FlowSides, code: str) -> str:
    """The digest of everything `side.flow`'s checks read (the module doc); `code`: the version
    of the code that evaluates them."""
    plan = f"zsync.plan_{side.flow}"
    staged = [t for t in dict.fromkeys((side.source_table, *side.target_tables)) if t]
    columns = table_columns(con, [plan, *staged])
    flow = f"where flow = {lit(side.flow)}"
    selects = [_views_digest(0), digest_select(1, "zsync.links", None, flow), _push_log(2, flow)]
    if plan in columns:
        selects.append(digest_select(len(selects), plan, [c for c in PLAN_COLUMNS if c in columns[plan]]))
    for table in staged:
        if table in columns:
            selects.append(digest_select(len(selects), table, staged_values(columns[table])))
    for table in side.target_tables:
        if "_staged_at" in columns.get(table, ()):
            selects.append(
                f"select {len(selects)} as part, count(*)::varchar as digest from zsync.links {flow} "
                f"and synced_at < (select max(_staged_at) from {qualified(table)})"
            )
    named = [side.flow, code, sorted(columns.items()), _digests(con, selects)]
    return hashlib.sha256(json.dumps(named, default=str).encode()).hexdigest()


def summary_inputs(con: duckdb.DuckDBPyConnection, code: str) -> str:
    """The digest of what `audit.sync_summary` reads: the views, every plan, all links, the whole
    push log. A plan by its stored fingerprint and time (`zsync.planned_inputs`): every plan is
    written by engine/planning.py `plan_flow`, which records both, and nine plan digests cost more
    than the summary itself on a small tenant."""
    ensure_table(con)
    selects = [
        _views_digest(0),
        digest_select(1, "zsync.links", None),
        _push_log(2),
        "select 3 as part, string_agg(flow || ':' || fingerprint || ':' || planned_at::varchar, ',' order by flow) "
        "as digest from zsync.planned_inputs",
    ]
    return hashlib.sha256(json.dumps([code, _digests(con, selects)], default=str).encode()).hexdigest()


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_once(con, "zsync.audit_findings", lambda c: c.execute(DDL))


def _kept(con: duckdb.DuckDBPyConnection, subject: str, digest: str) -> dict[str, tuple[Any, datetime]]:
    _ensure_table(con)
    rows = con.execute(
        "select name, finding, evaluated_at from zsync.audit_findings where subject = ? and inputs = ?",
        [subject, digest],
    ).fetchall()
    return {name: (json.loads(finding), at) for name, finding, at in rows}


def _remember(con: duckdb.DuckDBPyConnection, subject: str, digest: str, values: dict[str, Any], at: datetime) -> None:
    if not values:
        return
    _ensure_table(con)
    rows = [[subject, name, digest, at, json.dumps(value, default=str)] for name, value in values.items()]
    # One statement: DuckDB's executemany runs one per row, 3x the time for a flow's 3 findings.
    con.execute(
        "insert or replace into zsync.audit_findings select * from (values "
        + ", ".join(["(?, ?, ?, ?::timestamptz, ?)"] * len(rows))
        + ")",
        [value for row in rows for value in row],
    )


def kept(con: duckdb.DuckDBPyConnection, flow: str, digest: str) -> dict[str, tuple[Finding, datetime]]:
    """check name -> its last finding and when it was evaluated, of the checks of `flow` last
    evaluated on inputs with this digest."""
    return {name: (Finding(**value), at) for name, (value, at) in _kept(con, flow, digest).items()}


def remember(
    con: duckdb.DuckDBPyConnection, flow: str, digest: str, findings: dict[str, Finding], at: datetime | None = None
) -> None:
    values = {name: dataclasses.asdict(finding) for name, finding in findings.items()}
    _remember(con, flow, digest, values, at or datetime.now(UTC))


def kept_summary(con: duckdb.DuckDBPyConnection, digest: str) -> tuple[list[dict], datetime] | None:
    """The records by flow and status last read on inputs with this digest, and when."""
    subject, name = SUMMARY
    return _kept(con, subject, digest).get(name)


def remember_summary(con: duckdb.DuckDBPyConnection, digest: str, summary: list[dict], at: datetime) -> None:
    subject, name = SUMMARY
    _remember(con, subject, digest, {name: summary}, at)
