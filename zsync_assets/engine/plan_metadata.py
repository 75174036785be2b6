"""What a plan asset shows in Dagster: the blocked and skipped records as a table, the top
reasons, and the configuration the plan was made with (the same `zsync config` prints)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from zsync_assets.config import current_config, current_config_sources
from zsync_assets.engine.blockers import by_root_cause
from zsync_assets.engine.flow import Flow

SHOWN = 50  # rows of the blocked/skipped table in the UI; the SQL beside it lists them all
NOT_SENT = ("blocked", "skip")

SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("source_id", "string", description="id of the source record"),
        dg.TableColumn("label", "string", description="human keys: number, name (id)"),
        dg.TableColumn("action", "string", description="blocked: waits for a fix; skip: never sent, on purpose"),
        dg.TableColumn("reason", "string", description="why, naming the record or value to fix"),
    ]
)


def top_reasons(plan: pl.DataFrame, limit: int = 5) -> list[dict]:
    """The most frequent (action, root cause) of the blocked rows, then of the skipped ones."""
    counts = plan.filter(pl.col("action").is_in(NOT_SENT)).group_by("action", "reason").len("records")
    return by_root_cause(counts, ["action"]).sort("action", maintain_order=True).head(limit).to_dicts()


def blocked_and_skipped_metadata(flow: Flow, plan: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    rows = plan.filter(pl.col("action").is_in(NOT_SENT)).sort(["action", "reason", "source_id"])
    shown = rows.head(SHOWN)
    records = [
        dg.TableRecord({k: ("" if v is None else str(v)) for k, v in r.items()})
        for r in shown.select("source_id", "label", "action", "reason").iter_rows(named=True)
    ]
    return {
        "blocked_and_skipped": dg.MetadataValue.table(records, schema=SCHEMA),
        "blocked_and_skipped_not_shown": dg.MetadataValue.int(rows.height - shown.height),
        "blocked_and_skipped_sql": dg.MetadataValue.text(
            f"select source_id, label, action, reason from {flow.plan_table} "
            "where action in ('blocked', 'skip') order by action, reason, source_id"
        ),
        "top_reasons": dg.MetadataValue.json(top_reasons(plan)),
    }


def config_metadata() -> dict[str, dg.MetadataValue]:
    """The effective configuration and where each value comes from (no credentials: none are in it)."""
    values = current_config().model_dump(mode="json")
    sources = current_config_sources()
    return {"zsync/config": dg.MetadataValue.json({k: {"value": v, "source": sources[k]} for k, v in values.items()})}
