"""When a plan can be skipped: a fingerprint of everything `plan_flow` reads.

A plan is a pure function of the flow's staged tables, `zsync.links`, the flow's write attempts
in `zsync.push_log`, its re-queues, the configuration, the code and the day (effective dates,
cutover). The fingerprint covers each of them cheaply, in one DuckDB statement (a pass per table):

- a staged table: its row count and a hash of every row without `_staged_at` (staging rewrites
  rows it re-reads in its overlap window; a rewrite of the same values is no change), of the
  columns the mapping gets (`Flow.columns_read`): a change in another column cannot change the
  plan, and hashing 13 of the 60 columns of a million accounts takes a fraction of the time;
- `zsync.links`: the same over all its rows (mappings read other flows' links), without the
  payload texts, whose hashes stand for them;
- the flow's attempts and re-queues: count and latest time;
- the configuration (its JSON), the source files of zsync's flows, engine and targets (size and
  mtime: a developer's edit re-plans), and today's UTC date;
- the states of the records of other flows its blocked records wait for (`with_blockers`): a
  blocked reason ends with its blocker's state, read from that flow's plan and push log
  (engine/blockers.py), which change without any input of this flow changing (the NetSuite tax
  item the invoice a payment waits for needs appears; that invoice's push fails). Which records
  those are is read from the stored plan: with the flow's own inputs unchanged, a new plan would
  wait for the same ones.

`zsync.planned_inputs(flow, fingerprint, planned_at, inputs)` keeps the fingerprint of the inputs
the last written plan was made from, with its blockers' states and without them (`inputs`). Not
`zsync.plan_state`: `zsync.plan_<flow>` names a flow's plan, and the audit views read every such
table as one (audit/views.py). DuckDB's `hash` is only compared with itself on the same file; a
DuckDB upgrade that changes it costs one plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine.blockers import read_blocker_states
from zsync_assets.engine.flow import Flow
from zsync_assets.lib.ddl import ensure_once
from zsync_assets.lib.warehouse import qualified, quote_ident, table_columns

DDL = """
create schema if not exists zsync;
create table if not exists zsync.planned_inputs (
    flow varchar primary key,
    fingerprint varchar not null,
    planned_at timestamptz not null
);
alter table zsync.planned_inputs add column if not exists inputs varchar;
"""

_CODE_DIRS = ("flows", "engine", "targets")

# What the plan step reads of a plan it keeps (counts, matches, blocked and skipped records).
KEPT_COLUMNS = ("source_id", "label", "action", "reason", "match")


@lru_cache(maxsize=1)
def code_stamp() -> str:
    root = Path(__file__).resolve().parent.parent
    files = sorted(p for d in _CODE_DIRS for p in (root / d).rglob("*.py")) + [root / "config.py"]
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def digest_select(part: int, table: str, columns: Sequence[str] | None, where: str = "") -> str:
    """A select of one row, (`part`, `<rows>:<xor of the rows' hashes>`), of `columns` (None: all)
    of `table`, of the rows `where` keeps; digests of several tables go as one `union all`. Staging
    rewrites rows it re-reads in its overlap window: a caller leaves out `_staged_at`
    (`staged_values`), so that a rewrite of the same values is no change."""
    selected = "*" if columns is None else ", ".join(quote_ident(c) for c in columns)
    return (
        f"select {part} as part, count(*)::varchar || ':' || coalesce(bit_xor(hash(t)), 0)::varchar as digest "
        f"from (select {selected} from {qualified(table)} {where}) t"
    )


def staged_values(columns: Sequence[str]) -> list[str]:
    """The columns whose values a digest covers: all but `_staged_at`."""
    return [c for c in columns if c != "_staged_at"]


def catalog_of(con: duckdb.DuckDBPyConnection, flow: Flow) -> dict[str, list[str]]:
    """The columns of every table a plan of `flow` reads or keeps (its staged tables, the links,
    its plan), in one catalog query: a query per table and question cost a small plan more than
    its mapping did."""
    return table_columns(con, [*flow.tables, "zsync.links", flow.plan_table])


def _digested(flow: Flow, table: str, columns: Sequence[str]) -> list[str]:
    """The columns of `table` whose values the fingerprint covers. Of the links, not the payload
    text: `payload_hash` is its hash, written with it, and the texts were two thirds of the
    links' digest (950,000 customers' links: 0.30 s with them, 0.10 s without)."""
    if table == "zsync.links":
        return [c for c in columns if c != "payload"]
    return staged_values(flow.columns_read(table, columns))


def fingerprint(con: duckdb.DuckDBPyConnection, flow: Flow, config: Config, catalog: dict[str, list[str]]) -> str:
    """`catalog`: `catalog_of(con, flow)`."""
    tables = (*flow.tables, "zsync.links")
    columns = catalog
    present = [t for t in tables if t in columns]
    # The tables in one statement, a union of their digests: scalar subqueries, or a query per
    # table after its existence and columns, each took twice the CPU.
    digests = {t: "missing" for t in tables}
    if present:
        union = " union all ".join(digest_select(i, t, _digested(flow, t, columns[t])) for i, t in enumerate(present))
        digests.update({present[i]: digest for i, digest in con.execute(union).fetchall()})
    attempts = con.execute(
        'select count(*), max("at")::varchar from zsync.push_log where flow = ? '
        "and action in ('create', 'update', 'lookup', 'reverse')",
        [flow.name],
    ).fetchall()[0]
    requeued = con.execute(
        "select count(*), max(requested_at)::varchar from zsync.requeue where flow = ?", [flow.name]
    ).fetchall()[0]
    parts: dict[str, Any] = dict(digests)
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


def unchanged(con: duckdb.DuckDBPyConnection, flow: Flow, inputs: str, catalog: dict[str, list[str]]) -> bool:
    """True when the stored plan was made from `inputs` and the blockers it waits for are in the
    state it names. `catalog`: `catalog_of(con, flow)`."""
    ensure_table(con)
    columns = set(catalog.get(flow.plan_table, ()))
    if not {"blocked_by_flow", "blocked_by_id", *KEPT_COLUMNS} <= columns:
        return False  # no plan, or one written before plans named what they wait for: plan again
    rows = con.execute("select fingerprint, inputs from zsync.planned_inputs where flow = ?", [flow.name]).fetchall()
    kept = rows[0] if rows else None
    if kept is None or (kept[1] is not None and kept[1] != inputs):
        # Its own inputs changed (after a push: the links): no need to read the states of the
        # records it waits for, statements that cost each plan step ~20 ms (`zsync bench`).
        return False
    waits_for = con.sql(
        f"select distinct blocked_by_flow, blocked_by_id from {qualified(flow.plan_table)} "
        "where blocked_by_flow is not null"
    ).pl()
    return kept[0] == with_blockers(inputs, read_blocker_states(con, waits_for, flow.name))


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    ensure_once(con, "zsync.planned_inputs", lambda c: c.execute(DDL))


def remember(con: duckdb.DuckDBPyConnection, flow: Flow, value: str, inputs: str | None = None) -> None:
    """`value`: what `unchanged` compares (`with_blockers`); `inputs`: the flow's own fingerprint
    within it, which tells a change of the flow's own inputs without reading a blocker's state."""
    ensure_table(con)
    con.execute(
        "insert or replace into zsync.planned_inputs (flow, fingerprint, planned_at, inputs) values (?, ?, ?, ?)",
        [flow.name, value, datetime.now(UTC), inputs],
    )


def last_planned(
    con: duckdb.DuckDBPyConnection, flow: Flow, catalog: dict[str, list[str]], ids: str | None = None
) -> pl.DataFrame | None:
    """`source_id, input_digest, payload_hash` of the stored plan's rows (None when it has no
    digests: no plan yet, or one written before plans kept them), for `plan.reusable_hashes`;
    `ids`: a relation whose `source_id`s name the rows wanted (a slice's), else all of them.
    `catalog`: `catalog_of(con, flow)`."""
    if not {"source_id", "input_digest", "payload_hash"} <= set(catalog.get(flow.plan_table, ())):
        return None
    wanted = f"semi join {quote_ident(ids)} i on p.source_id = i.source_id " if ids else ""
    return con.sql(
        f"select p.source_id, p.input_digest, p.payload_hash from {qualified(flow.plan_table)} p {wanted}"
        "where p.input_digest is not null and p.payload_hash is not null"
    ).pl()
