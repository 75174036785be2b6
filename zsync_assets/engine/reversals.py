"""Reversals, planned: a synced document canceled or deleted at its source is undone in the target.

A flow's mapping says which source records must be reversed (`_reverse`, the reason in plain
words: a canceled Zuora payment, a customer refund deleted in NetSuite). Where the engine sees
them, after `build_plan` (plan.py knows nothing of this; its rows for these records are
replaced here):

- `reverse`: linked, and not reversed yet. The target sink undoes the counterpart (push:
  engine/reverse_push.py). Also when the record is not linked but an earlier create got no
  answer (it may exist on the target): push looks it up first (`needs_lookup`).
- `skip`: reversed already (reason: when and why), or never synced (nothing to reverse).
- `blocked`: the target refused the last reversal for its data (a NetSuite transaction in a
  closed period, a Zuora payment with refunds): it waits for a person, listed in
  `audit.manual_actions`, until `zsync requeue <flow> <id>`; or the mapping says it must wait
  (`_reverse_blocked`, e.g. a refund of the payment is still in the target).

The reversal state lives in `zsync.links` (`reversed_at`, `reversal`) and every attempt in
`zsync.push_log` (action `reverse`). A reversed link is no counterpart any more: the plan of a
record that is no longer to be reversed (a Zuora deletion mark that turned out wrong) creates
it afresh (`live_links`).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import polars as pl

from zsync_assets.engine.flow import Flow

REVERSE = "reverse"

_LAST_REVERSALS = """
    select source_id, status, error_code, error_class, message, "at" from (
        select *, row_number() over (
            partition by source_id order by "at" desc, case status when 'started' then 1 else 0 end
        ) as rn
        from zsync.push_log where flow = $flow and action = 'reverse'
    ) where rn = 1
"""


def read_last_reversals(con: duckdb.DuckDBPyConnection, flow: str) -> pl.DataFrame:
    """The latest reversal attempt per source record (its `started` row if no answer came)."""
    return con.sql(_LAST_REVERSALS, params={"flow": flow}).pl()


def live_links(links: pl.DataFrame) -> pl.DataFrame:
    """Links whose counterpart was not reversed: what the plan may update or leave as is."""
    if links.is_empty() or "reversed_at" not in links.columns:
        return links
    return links.filter(pl.col("reversed_at").is_null())


def _frame(frame: pl.DataFrame | None, schema: dict) -> pl.DataFrame:
    if frame is None or frame.is_empty():
        return pl.DataFrame(schema=schema)
    return frame.select(
        [pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in schema.items()]
    )


def _unanswered(status: pl.Expr, kind: pl.Expr) -> pl.Expr:
    """A `started` attempt without a result, or one whose outcome nobody heard (`unknown`)."""
    return ((status == "started") | ((status == "failed") & (kind == "unknown"))).fill_null(False)


def plan_reversals(
    flow: Flow,
    mapped: pl.DataFrame,
    plan: pl.DataFrame,
    links: pl.DataFrame | None,
    last_attempts: pl.DataFrame | None,
    last_reversals: pl.DataFrame | None,
    requeued: Iterable[str] = (),
) -> pl.DataFrame:
    """`plan` with the rows of records the mapping wants reversed classified as above.
    `links`: every link of the flow (reversed ones included); `last_attempts`: the latest
    create/update/lookup attempt per record; `last_reversals`: `read_last_reversals`."""
    if "_reverse" not in mapped.columns:
        return plan
    wanted = (
        mapped.filter(pl.col("_reverse").is_not_null())
        .select(
            pl.col("source_id").cast(pl.Utf8),
            pl.col("_reverse").cast(pl.Utf8),
            (pl.col("_reverse_blocked") if "_reverse_blocked" in mapped.columns else pl.lit(None))
            .cast(pl.Utf8)
            .alias("_reverse_blocked"),
        )
        .unique("source_id", keep="last", maintain_order=True)
    )
    if wanted.is_empty():
        return plan
    link = _frame(
        links,
        {"source_id": pl.Utf8, "target_id": pl.Utf8, "reversed_at": pl.Datetime("us", "UTC"), "reversal": pl.Utf8},
    ).rename({"target_id": "link_target"})
    attempt = _frame(last_attempts, {"source_id": pl.Utf8, "status": pl.Utf8, "error_class": pl.Utf8}).rename(
        {"status": "create_status", "error_class": "create_class"}
    )
    reversal = _frame(
        last_reversals,
        {"source_id": pl.Utf8, "status": pl.Utf8, "error_code": pl.Utf8, "error_class": pl.Utf8, "message": pl.Utf8},
    )
    frame = (
        wanted.join(link, on="source_id", how="left")
        .join(attempt, on="source_id", how="left")
        .join(reversal, on="source_id", how="left")
        .with_columns(requeued=pl.col("source_id").is_in(pl.Series(list(requeued), dtype=pl.Utf8).implode()))
    )
    linked = pl.col("link_target").is_not_null()
    reversed_ = pl.col("reversed_at").is_not_null()
    unanswered_create = _unanswered(pl.col("create_status"), pl.col("create_class"))
    unanswered = _unanswered(pl.col("status"), pl.col("error_class"))
    refused = ((pl.col("status") == "failed") & (pl.col("error_class") == "data") & ~pl.col("requeued")).fill_null(
        False
    )
    target = pl.lit(flow.target_system)
    action = (
        pl.when(reversed_)
        .then(pl.lit("skip"))
        .when(~linked & unanswered_create)
        .then(pl.lit(REVERSE))
        .when(~linked)
        .then(pl.lit("skip"))
        .when(pl.col("_reverse_blocked").is_not_null())
        .then(pl.lit("blocked"))
        .when(refused)
        .then(pl.lit("blocked"))
        .otherwise(pl.lit(REVERSE))
    )
    reason = (
        pl.when(reversed_)
        .then(
            pl.format(
                "{}: reversed in {} on {} ({})",
                pl.col("_reverse"),
                target,
                pl.col("reversed_at").dt.strftime("%Y-%m-%d %H:%M UTC"),
                pl.col("reversal").fill_null(""),
            )
        )
        .when(~linked & unanswered_create)
        .then(
            pl.format(
                "{}; an earlier create got no answer: looked up on {} and reversed if it exists",
                pl.col("_reverse"),
                target,
            )
        )
        .when(~linked)
        .then(pl.format("{}; it never synced: nothing to reverse", pl.col("_reverse")))
        .when(pl.col("_reverse_blocked").is_not_null())
        .then(pl.format("{}; its reversal waits: {}", pl.col("_reverse"), pl.col("_reverse_blocked")))
        .when(refused)
        .then(
            pl.format(
                "{}, but {} refused to reverse {}: {}: {}; reverse it there by hand (audit.manual_actions), "
                "then `zsync requeue {} {}`",
                pl.col("_reverse"),
                target,
                pl.col("link_target"),
                pl.col("error_code"),
                pl.col("message").fill_null(""),
                pl.lit(flow.name),
                pl.col("source_id"),
            )
        )
        .when(unanswered)
        .then(
            pl.format("{} (an earlier reversal got no answer: sent again, reversing is idempotent)", pl.col("_reverse"))
        )
        .when(pl.col("status") == "failed")
        .then(pl.format("{} (retry after {} {})", pl.col("_reverse"), pl.col("error_class"), pl.col("error_code")))
        .when(pl.col("requeued"))
        .then(pl.format("{} (re-queued by an operator)", pl.col("_reverse")))
        .otherwise(pl.col("_reverse"))
    )
    decided = frame.select(
        "source_id",
        action.alias("action"),
        reason.alias("reason"),
        pl.col("link_target").alias("target_id"),
        (~linked & unanswered_create).alias("needs_lookup"),
        pl.col("error_code").alias("last_error_code"),
        pl.lit([], pl.List(pl.Utf8)).alias("changed_fields"),
        pl.lit(None, pl.Utf8).alias("match"),
        pl.lit(0, pl.Int32).alias("wave"),
    )
    ours = pl.col("source_id").is_in(decided["source_id"].implode())
    replaced = decided.columns[1:]
    decided = decided.rename({c: f"_r_{c}" for c in replaced})
    return (
        plan.join(decided, on="source_id", how="left", maintain_order="left")
        .with_columns(
            [pl.when(ours).then(pl.col(f"_r_{c}")).otherwise(pl.col(c)).cast(plan.schema[c]).alias(c) for c in replaced]
        )
        .select(plan.columns)
    )
