"""Why did (or didn't) a record sync: everything zsync knows about one record, as a chain.

`explain(warehouse, key, sides)` finds the records a key names — a Zuora or NetSuite id, a
document number (invoice number, NetSuite tranId), an account number or name — in the staged
tables of the flows, in `zsync.links` and in the plans, and for each one gathers: the staged
source record, its plan row, its last push attempts, its link and target record, its status,
and, when the plan says it waits for a record of another flow (`blocked_by_*`, or a parent),
the same for that record, recursively. The CLI renders it (`zsync why`); this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from zsync_assets.audit import views as audit
from zsync_assets.lib.warehouse import Warehouse, qualified, quote_ident, table_exists

# Columns a person may type to name a record (human keys), besides the record's id.
KEY_COLUMNS = (
    "account_number",
    "invoice_number",
    "tran_id",
    "entity_id",
    "payment_number",
    "refund_number",
    "memo_number",
    "adjustment_number",
    "subscription_number",
    "number",
    "name",
    "company_name",
    "item_id",
)
UPDATED_COLUMNS = ("updated_date", "last_modified_date")
MAX_DEPTH = 4  # an invoice -> its account -> the account's parent -> ...
MAX_SUBJECTS = 10
ATTEMPTS = 5


@dataclass
class Explanation:
    flow: str
    source_id: str
    label: str | None = None
    status: str | None = None  # audit.sync_status: synced / pending / blocked / failed / skipped
    reason: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)  # step, state, at, detail
    blocked_by: Explanation | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "source_id": self.source_id,
            "label": self.label,
            "status": self.status,
            "reason": self.reason,
            "steps": self.steps,
            "blocked_by": self.blocked_by.as_dict() if self.blocked_by else None,
        }


@dataclass
class Answer:
    key: str
    explanations: list[Explanation] = field(default_factory=list)
    unlinked: list[dict[str, Any]] = field(default_factory=list)  # staged records no flow knows

    @property
    def problem(self) -> bool:
        return any(e.status in ("blocked", "failed") for e in self.explanations)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    return con.sql(sql, params=params).pl().to_dicts() if params else con.sql(sql).pl().to_dicts()


def _find(con: duckdb.DuckDBPyConnection, catalog: audit.Catalog, table: str, key: str) -> list[dict]:
    staged = catalog.staged(table)
    if staged is None:
        return []
    columns = [c for c in KEY_COLUMNS if catalog.has(table, c)]
    tests = [f"cast({quote_ident(staged.key)} as varchar) = $key"]
    tests += [f"lower(cast({quote_ident(c)} as varchar)) = lower($key)" for c in columns]
    shown = ", ".join(quote_ident(c) for c in columns)
    return [
        {"table": table, "id": str(r.pop("_id")), "keys": {k: v for k, v in r.items() if v is not None}}
        for r in _rows(
            con,
            f"select cast({quote_ident(staged.key)} as varchar) as _id{', ' if shown else ''}"
            f"{shown} from {qualified(table)} where {' or '.join(tests)} limit {MAX_SUBJECTS}",
            {"key": key},
        )
    ]


def _subjects(con: duckdb.DuckDBPyConnection, sides: Sequence[audit.FlowSides], key: str) -> tuple[list, list]:
    catalog = audit.Catalog(con)
    subjects: dict[tuple[str, str], None] = {}
    unlinked = []
    for row in _rows(
        con,
        "select flow, source_id from zsync.links where source_id = $key or target_id = $key "
        "union select flow, source_id from audit.plans where source_id = $key",
        {"key": key},
    ):
        subjects[(row["flow"], row["source_id"])] = None
    tables = dict.fromkeys(t for s in sides for t in (s.source_table, *s.target_tables) if t)
    for table in tables:
        for hit in _find(con, catalog, table, key):
            found = False
            for s in sides:
                if table == s.source_table:
                    subjects[(s.flow, hit["id"])] = None
                    found = True
                if table in s.target_tables:
                    for link in _rows(
                        con,
                        "select source_id from zsync.links where flow = $flow and target_id = $id",
                        {"flow": s.flow, "id": hit["id"]},
                    ):
                        subjects[(s.flow, link["source_id"])] = None
                        found = True
            if not found:
                unlinked.append({**hit, "issue": "staged, but no flow's plan or link knows it"})
    return list(subjects)[:MAX_SUBJECTS], unlinked


def _source_step(
    con: duckdb.DuckDBPyConnection, catalog: audit.Catalog, side: audit.FlowSides | None, source_id: str
) -> dict | None:
    table = side.source_table if side else None
    staged = catalog.staged(table)
    if staged is None:
        return None
    updated = next((c for c in UPDATED_COLUMNS if catalog.has(staged.table, c)), None)
    columns = [c for c in KEY_COLUMNS if catalog.has(staged.table, c)]
    select = ", ".join(
        [
            f"{quote_ident(updated)} as updated" if updated else "null as updated",
            "_deleted_at" if staged.deletable else "null as _deleted_at",
            *(quote_ident(c) for c in columns),
        ]
    )
    rows = _rows(
        con,
        f"select {select} from {qualified(staged.table)} where cast({quote_ident(staged.key)} as varchar) "
        "= $id limit 1",
        {"id": source_id},
    )
    if not rows:
        return {
            "step": "source",
            "state": "not staged",
            "at": None,
            "detail": f"no row {source_id} in {staged.table} (derived record, or not staged yet)",
        }
    row = rows[0]
    keys = ", ".join(f"{c} {row[c]}" for c in columns if row.get(c) is not None)
    state = "deleted at the source" if row["_deleted_at"] is not None else "staged"
    return {
        "step": "source",
        "state": state,
        "at": row["_deleted_at"] or row["updated"],
        "detail": f"{staged.table} {source_id}" + (f": {keys}" if keys else ""),
    }


def _explain(
    con: duckdb.DuckDBPyConnection,
    catalog: audit.Catalog,
    sides: dict[str, audit.FlowSides],
    flow: str,
    source_id: str,
    depth: int,
) -> Explanation:
    side = sides.get(flow)
    explanation = Explanation(flow, source_id)
    source = _source_step(con, catalog, side, source_id)
    if source:
        explanation.steps.append(source)
    plan: dict[str, Any] = {}
    if table_exists(con, f"zsync.plan_{flow}"):
        found = _rows(con, f"select * from {qualified(f'zsync.plan_{flow}')} where source_id = $id", {"id": source_id})
        plan = found[0] if found else {}
    explanation.label = plan.get("label")
    explanation.steps.append(
        {
            "step": "plan",
            "state": plan.get("action") or "not planned",
            "at": None,
            "detail": plan.get("reason")
            or ("" if plan else f"not in zsync.plan_{flow}: not staged, or the flow does not send it"),
        }
    )
    attempts = _rows(
        con,
        'select "at", action, status, error_code, error_class, message, target_id '
        'from zsync.push_log where flow = $flow and source_id = $id order by "at" desc '
        f"limit {ATTEMPTS}",
        {"flow": flow, "id": source_id},
    )
    if not attempts:  # said, not left out: "was it ever sent?" is the operator's next question
        explanation.steps.append({"step": "push", "state": "never attempted", "at": None, "detail": ""})
    for attempt in attempts:
        detail = " ".join(
            str(v)
            for v in (
                attempt["action"],
                attempt["error_code"],
                attempt["error_class"],
                attempt["message"],
                attempt["target_id"],
            )
            if v
        )
        explanation.steps.append({"step": "push", "state": attempt["status"], "at": attempt["at"], "detail": detail})
    link = _rows(
        con,
        "select target_system, target_id, synced_at, writeback_status from zsync.links "
        "where flow = $flow and source_id = $id",
        {"flow": flow, "id": source_id},
    )
    explanation.steps.append(
        {
            "step": "link",
            "state": "linked" if link else "not linked",
            "at": link[0]["synced_at"] if link else None,
            "detail": (
                f"{link[0]['target_system']} {link[0]['target_id']}, write-back "
                f"{link[0]['writeback_status'] or 'not done'}"
            )
            if link
            else "",
        }
    )
    status = _rows(
        con,
        "select status, reason, error_code, error_message from audit.sync_status "
        "where flow = $flow and source_id = $id",
        {"flow": flow, "id": source_id},
    )
    if status:
        explanation.status = status[0]["status"]
        explanation.reason = (
            f"{status[0]['error_code']}: {status[0]['error_message']}"
            if explanation.status == "failed"
            else status[0]["reason"]
        )
        explanation.steps.append(
            {"step": "status", "state": explanation.status, "at": None, "detail": explanation.reason or ""}
        )
    blocker = (plan.get("blocked_by_flow"), plan.get("blocked_by_id"))
    if blocker[0] and blocker[1] and depth < MAX_DEPTH:
        explanation.blocked_by = _explain(con, catalog, sides, blocker[0], blocker[1], depth + 1)
    return explanation


def explain(warehouse: Warehouse, key: str, sides: Sequence[audit.FlowSides]) -> Answer:
    """Everything the warehouse knows about the records `key` names (see the module doc)."""
    key = key.strip()
    with warehouse.connect() as con:
        audit.refresh_views(con, sides)
        known = {s.flow: s for s in audit.known_sides(con, sides)}  # flows seen only in links too
        subjects, unlinked = _subjects(con, list(known.values()), key)
        catalog = audit.Catalog(con)
        answer = Answer(key, unlinked=unlinked)
        answer.explanations = [_explain(con, catalog, known, flow, source_id, 0) for flow, source_id in subjects]
    return answer
