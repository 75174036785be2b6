"""What a blocked record waits for, in its own words: the blocker's state added to the reason.

A mapping names the record of another flow its record waits for (`_blocked_by_flow` +
`_blocked_by_id`, e.g. the invoice's account); its reason says only that it is not synced (by
the record's bare id, at worst: the blocker's plan `label` then takes the id's place).
Here the plan reads that record's row of its own flow's plan and its last push attempt, and
appends why it is not synced ("it is blocked: contact ...: country 'Atlantis' ..."), so the
reason an operator reads names the record to fix and what is wrong with it. Vendor-neutral:
only zsync's own bookkeeping tables are read.

Counting reasons (`zsync status`, the plan's log, the `no_blocked_records` check) groups the
records that wait on others by the state at the end of their chain (`root_cause`): 54 payments
each waiting on a different blocked invoice are one line, "waits on a record that is blocked: no
NetSuite tax item for Zuora tax code 'CT-JP'", not 50 lines of one record each.
"""

from __future__ import annotations

import duckdb
import polars as pl

from zsync_assets.engine import bookkeeping
from zsync_assets.lib.warehouse import qualified, table_exists

STATE_SCHEMA = {
    "blocked_by_flow": pl.Utf8,
    "blocked_by_id": pl.Utf8,
    "blocker_label": pl.Utf8,
    "blocker_state": pl.Utf8,
}


# How `_with_state` joins a blocker's state to a reason (the `_state` texts start so); the last
# one in a reason is the state at the end of its chain, which `root_cause` reads back.
STATE_JOINS = {
    "; it is ": "waits on a record that is ",
    "; its last push failed: ": "waits on a record whose last push failed: ",
}


def _state(flow: str, planned: dict | None, attempt: dict | None) -> str:
    if attempt and attempt["status"] == "failed":
        return (
            f"its last push failed: {attempt['error_code'] or 'error'}: {' '.join((attempt['message'] or '').split())}"
        )
    if planned is None:
        return f"it is not in the {flow} plan (not staged, or not a record that flow sends)"
    action, reason = planned["action"], planned["reason"] or "no reason given"
    if action == "skip":
        return f"it is skipped: {reason}"
    if action == "blocked":
        return f"it is blocked: {reason}"
    return f"it is planned for {action} and not pushed yet"


def read_blocker_states(con: duckdb.DuckDBPyConnection, plan: pl.DataFrame, flow_name: str) -> pl.DataFrame:
    """One row per (flow, id) that blocked rows of `plan` wait for in another flow, with its state."""
    wanted = plan.filter(pl.col("blocked_by_flow").is_not_null() & (pl.col("blocked_by_flow") != flow_name))
    rows = []
    for (flow,), group in wanted.group_by("blocked_by_flow"):
        ids = group["blocked_by_id"].unique().to_list()
        plan_table = f"zsync.plan_{flow}"
        planned = {}
        if table_exists(con, plan_table):
            found = con.sql(
                f"select source_id, label, action, reason from {qualified(plan_table)} "
                "where source_id in (select unnest($ids::varchar[]))",
                params={"ids": ids},
            ).pl()
            planned = {r["source_id"]: r for r in found.to_dicts()}
        attempts = {r["source_id"]: r for r in bookkeeping.read_last_attempts(con, flow, ids).to_dicts()}
        rows += [
            {
                "blocked_by_flow": flow,
                "blocked_by_id": i,
                "blocker_label": (planned.get(i) or {}).get("label"),
                "blocker_state": _state(flow, planned.get(i), attempts.get(i)),
            }
            for i in ids
        ]
    return pl.DataFrame(rows, schema=STATE_SCHEMA)


def with_blocker_states(plan: pl.DataFrame, states: pl.DataFrame) -> pl.DataFrame:
    """The plan with each blocked row's reason followed by its blocker's state."""
    if states.is_empty():
        return plan
    joined = plan.join(states, on=["blocked_by_flow", "blocked_by_id"], how="left", maintain_order="left")
    reasons = [
        _with_state(reason, blocker, label, state) if action == "blocked" and state else reason
        for action, reason, blocker, label, state in joined.select(
            "action", "reason", "blocked_by_id", "blocker_label", "blocker_state"
        ).iter_rows()
    ]
    return joined.with_columns(reason=pl.Series(reasons, dtype=pl.Utf8)).drop("blocker_state", "blocker_label")


def _with_state(reason: str | None, blocker_id: str, label: str | None, state: str) -> str:
    """`reason; state`, the blocker's bare id replaced by its label (human keys first) when the
    mapping named it by id only."""
    text = reason or ""
    if label and label not in text:
        text = text.replace(blocker_id, label, 1)
    return f"{text}; {state}"


def root_cause(reason: str | None) -> str | None:
    """The state at the end of a blocked record's chain, in the words of `STATE_JOINS` ("waits on a
    record that is blocked: no NetSuite tax item ..."); the reason itself when it waits on nothing."""
    if not reason:
        return reason
    at, join = max((reason.rfind(j), j) for j in STATE_JOINS)
    return STATE_JOINS[join] + reason[at + len(join) :] if at >= 0 else reason


def by_root_cause(counts: pl.DataFrame, keys: list[str], limit: int | None = None) -> pl.DataFrame:
    """`counts` (keys, reason, records) regrouped by `root_cause` of each reason, the most
    frequent first; the first `limit` groups."""
    causes = counts.with_columns(reason=pl.col("reason").map_elements(root_cause, return_dtype=pl.Utf8))
    grouped = (
        causes.group_by([*keys, "reason"])
        .agg(pl.col("records").sum())
        .sort(["records", *keys, "reason"], descending=[True, *[False] * (len(keys) + 1)], nulls_last=True)
    )
    return grouped if limit is None else grouped.head(limit)
