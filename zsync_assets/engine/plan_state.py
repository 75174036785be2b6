"""When a plan can be skipped: a fingerprint of everything `plan_flow` reads.

A plan is a pure function of the flow's staged tables, `zsync.links`, the flow's write attempts
in `zsync.push_log`, its re-queues, the configuration, the code and the day (effective dates,
cutover). The fingerprint covers each of them cheaply, in one DuckDB pass per table:

- a staged table: its row count and a hash of every row without `_staged_at` (staging rewrites
  rows it re-reads in its overlap window; a rewrite of the same values is no change);
- `zsync.links`: the same over all its rows (mappings read other flows' links);
- the flow's attempts and re-queues: count and latest time;
- the configuration (its JSON), the source files of zsync's flows, engine and targets (size and
  mtime: a developer's edit re-plans), and today's UTC date;
- the states of the records of other flows its blocked records wait for (`with_blockers`): a
  blocked reason ends with its blocker's state, read from that flow's plan and push log
  (engine/blockers.py), which change without any input of this flow changing (the NetSuite tax
  item the invoice a payment waits for needs appears; that invoice's push fails). Which records
  those are is read from the stored plan: with the flow's own inputs unchanged, a new plan would
  wait for the same ones.

`zsync.planned_inputs(flow, fingerprint, planned_at)` keeps the fingerprint of the inputs the last
written plan was made from. Not `zsync.plan_state`: `zsync.plan_<flow>` names a flow's plan, and
the audit views read every such table as one (audit/views.py). DuckDB's `hash` is only compared
with itself on the same file; a DuckDB upgrade that changes it costs one plan.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.blockers import read_blocker_states
from zsync_assets.engine.flow import Flow
from zsync_assets.lib.warehouse import qualified, scalar, table_exists

DDL = """
create schema if not exists zsync;
create table if not exists zsync.planned_inputs (
    flow varchar primary key,
    fingerprint varchar not null,
    planned_at timestamptz not null
);
"""

_CODE_DIRS = ("flows", "engine", "targets")


@lru_cache(maxsize=1)
def code_stamp() -> str:
    root = Path(__file__).resolve().parent.parent
    files = sorted(p for d in _CODE_DIRS for p in (root / d).rglob("*.py")) + [root / "config.py"]
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"select column_name from (describe {qualified(table)})").fetchall()}


def _table_digest(con: duckdb.DuckDBPyConnection, table: str) -> str:
    if not table_exists(con, table):
        return "missing"
    columns = _columns(con, table)
    body = f"(select * exclude (_staged_at) from {qualified(table)})" if "_staged_at" in columns else qualified(table)
    count, digest = con.execute(f"select count(*), coalesce(bit_xor(hash(t)), 0) from {body} t").fetchall()[0]
    return f"{count}:{digest}"


def fingerprint(con: duckdb.DuckDBPyConnection, flow: Flow, config: Config) -> str:
    parts: dict[str, Any] = {t: _table_digest(con, t) for t in (*flow.tables, "zsync.links")}
    attempts = con.execute(
        'select count(*), max("at")::varchar from zsync.push_log where flow = ? '
        "and action in ('create', 'update', 'lookup', 'reverse')",
        [flow.name],
    ).fetchall()[0]
    requeued = con.execute(
        "select count(*), max(requested_at)::varchar from zsync.requeue where flow = ?", [flow.name]
    ).fetchall()[0]
    parts.update(
        attempts=list(attempts),
        requeued=list(requeued),
        config=config.model_dump_json(),
        code=code_stamp(),
        day=datetime.now(UTC).date().isoformat(),
    )
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def with_blockers(inputs: str, states: pl.DataFrame) -> str:
    """`inputs` (the flow's own, `fingerprint`) together with the blocker states its plan appends
    to blocked reasons (`read_blocker_states`)."""
    rows = sorted(states.select(sorted(states.columns)).iter_rows())
    return hashlib.sha256(json.dumps([inputs, rows], default=str).encode()).hexdigest()


def unchanged(con: duckdb.DuckDBPyConnection, flow: Flow, inputs: str) -> bool:
    """True when the stored plan was made from `inputs` and the blockers it waits for are in the
    state it names."""
    kept = stored(con, flow)
    if kept is None or not {"blocked_by_flow", "blocked_by_id"} <= _columns(con, flow.plan_table):
        return False  # no plan, or one written before plans named what they wait for: plan again
    waits_for = con.sql(
        f"select distinct blocked_by_flow, blocked_by_id from {qualified(flow.plan_table)} "
        "where blocked_by_flow is not null"
    ).pl()
    return kept == with_blockers(inputs, read_blocker_states(con, waits_for, flow.name))


def stored(con: duckdb.DuckDBPyConnection, flow: Flow) -> str | None:
    con.execute(DDL)
    if not table_exists(con, flow.plan_table):
        return None
    return scalar(con, "select fingerprint from zsync.planned_inputs where flow = ?", [flow.name])


def remember(con: duckdb.DuckDBPyConnection, flow: Flow, value: str) -> None:
    con.execute(DDL)
    con.execute("insert or replace into zsync.planned_inputs values (?, ?, ?)", [flow.name, value, datetime.now(UTC)])
