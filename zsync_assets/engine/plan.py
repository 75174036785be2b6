"""The plan: what a push would do to each source record, and why. Pure polars, no I/O.

`build_plan(flow, mapped, links, last_attempts, requeued)` classifies every mapped row:

- skip: the mapping said so (`_skip`, `_only_if_linked` for a never-synced record), or the
  payload hash equals the one last written (nothing changed);
- blocked: an unresolvable reference (`_blocked`), a parent that is not synced, or a DATA
  error on the last attempt with this very payload (re-sending it would fail the same way;
  it waits until the source changes or an operator re-queues it). Whether a failure was data
  is the verdict the vendor client recorded in `zsync.push_log.error_class`, read as is;
- update: linked before (or matched to a pre-existing target record) and the payload changed;
- create: everything else.

A record whose last attempt has a `started` row and no result, or ended `unknown` (the vendor
may have written it, nobody heard), gets `needs_lookup`: push looks it up on the target before
sending anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import polars as pl

from zsync_assets.config import FieldOverrides
from zsync_assets.engine.flow import CONTROL_COLUMNS, Flow, PayloadCheck
from zsync_assets.engine.payload_json import canonical_json, hash_series, payload_hash, payload_json, payloads

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

__all__ = ["PLAN_SCHEMA", "SENDABLE", "build_plan", "canonical_json", "payload_hash", "payloads", "plan_counts"]

PLAN_SCHEMA: dict[str, PolarsDataType] = {
    "source_id": pl.Utf8,
    "label": pl.Utf8,
    "action": pl.Utf8,
    "reason": pl.Utf8,
    "blocked_by_flow": pl.Utf8,
    "blocked_by_id": pl.Utf8,
    "match": pl.Utf8,
    "changed_fields": pl.List(pl.Utf8),
    "target_id": pl.Utf8,
    "external_id": pl.Utf8,
    "after": pl.Utf8,
    "record_type": pl.Utf8,
    "wave": pl.Int32,
    "needs_lookup": pl.Boolean,
    "last_error_code": pl.Utf8,
    "payload": pl.Utf8,
    "payload_hash": pl.Utf8,
}

SENDABLE = ("create", "update")


def changed_fields(new: dict[str, Any], old_json: str | None) -> list[str]:
    if not old_json:
        return sorted(new)
    old = json.loads(old_json)
    return sorted(k for k, v in new.items() if old.get(k) != v)


def _with_controls(mapped: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, pl.Utf8).alias(c) for c in CONTROL_COLUMNS if c not in mapped.columns]
    return mapped.with_columns(missing).with_columns(pl.col("source_id").cast(pl.Utf8))


def _empty(frame: pl.DataFrame | None, schema: dict[str, Any]) -> pl.DataFrame:
    if frame is None or frame.is_empty():
        return pl.DataFrame(schema=schema)
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


def build_plan(
    flow: Flow,
    mapped: pl.DataFrame,
    links: pl.DataFrame | None = None,
    last_attempts: pl.DataFrame | None = None,
    requeued: Iterable[str] = (),
    overrides: FieldOverrides | None = None,
    check: PayloadCheck | None = None,
) -> pl.DataFrame:
    mapped = _with_controls(mapped).unique("source_id", keep="last", maintain_order=True)
    problem = check(mapped) if check is not None else None
    if problem is not None:
        # A value the target cannot hold blocks its record here, named, instead of failing at the
        # vendor (on NetSuite, with the whole list call it travels in).
        mapped = mapped.with_columns(_blocked=pl.coalesce(pl.col("_blocked"), problem))
    body = payload_json(mapped, overrides)
    links = _empty(links, {"source_id": pl.Utf8, "target_id": pl.Utf8, "payload_hash": pl.Utf8,
                           "payload": pl.Utf8}).rename(
        {"target_id": "link_target_id", "payload_hash": "link_hash", "payload": "link_payload"})
    attempts = _empty(last_attempts, {"source_id": pl.Utf8, "status": pl.Utf8, "error_code": pl.Utf8,
                                      "error_class": pl.Utf8, "message": pl.Utf8,
                                      "payload_hash": pl.Utf8}).rename(
        {"status": "last_status", "error_code": "last_error_code", "error_class": "last_class",
         "message": "last_message", "payload_hash": "last_hash"})
    requeued_ids = pl.Series("source_id", list(requeued), dtype=pl.Utf8)

    frame = (
        mapped.select(["source_id", *CONTROL_COLUMNS])
        .with_columns(
            payload=body,
            payload_hash=hash_series(body),
        )
        .join(links, on="source_id", how="left")
        .join(attempts, on="source_id", how="left")
        .with_columns(
            requeued=pl.col("source_id").is_in(requeued_ids.implode()),
            linked=pl.col("link_target_id").is_not_null(),
        )
    )
    data_rejected = (
        (pl.col("last_status") == "failed") & (pl.col("last_class") == "data")
        & (pl.col("last_hash") == pl.col("payload_hash")) & ~pl.col("requeued")
    )
    linked_note = pl.format(" (already synced as {}; left as is)", pl.col("link_target_id"))
    unanswered = ((pl.col("last_status") == "started")
                  | ((pl.col("last_status") == "failed") & (pl.col("last_class") == "unknown"))).fill_null(False)
    action = (
        pl.when(pl.col("_skip").is_not_null()).then(pl.lit("skip"))
        .when(pl.col("_only_if_linked").is_not_null() & ~pl.col("linked")).then(pl.lit("skip"))
        .when(pl.col("_blocked").is_not_null()).then(pl.lit("blocked"))
        .when(data_rejected).then(pl.lit("blocked"))
        .when(pl.col("linked") & (pl.col("link_hash") == pl.col("payload_hash")) & ~pl.col("requeued"))
        .then(pl.lit("skip"))
        .when(pl.col("linked") | pl.col("_match_target_id").is_not_null()).then(pl.lit("update"))
        .otherwise(pl.lit("create"))
    )
    reason = (
        pl.when(pl.col("_skip").is_not_null())
        .then(pl.col("_skip") + pl.when(pl.col("linked")).then(linked_note).otherwise(pl.lit("")))
        .when(pl.col("_only_if_linked").is_not_null() & ~pl.col("linked")).then(pl.col("_only_if_linked"))
        .when(pl.col("_blocked").is_not_null()).then(pl.col("_blocked"))
        .when(data_rejected).then(pl.format(
            "rejected by {}: {}: {}; waits until the source record changes or `zsync requeue {} {}`",
            pl.lit(flow.target_system), pl.col("last_error_code"),
            pl.col("last_message").fill_null(""), pl.lit(flow.name), pl.col("source_id")))
        .when(pl.col("linked") & (pl.col("link_hash") == pl.col("payload_hash")) & ~pl.col("requeued"))
        .then(pl.lit("unchanged since the last sync"))
        .when(unanswered)
        .then(pl.lit("an earlier attempt got no answer: looked up on the target before sending"))
        .when(pl.col("requeued")).then(pl.lit("re-queued by an operator"))
        .when((pl.col("last_status") == "failed") & (pl.col("last_class") == "transient"))
        .then(pl.format("retry after transient {}", pl.col("last_error_code").fill_null("failure")))
        .when(pl.col("last_status") == "failed").then(pl.lit("source changed since it was rejected"))
        .when(~pl.col("linked") & pl.col("_match_target_id").is_not_null())
        .then(pl.format("first sync: matched existing {} record {}", pl.lit(flow.target_system),
                        pl.col("_match_target_id")))
    )
    mapping_blocks = pl.col("_blocked").is_not_null() & (pl.col("action") == "blocked")
    frame = frame.with_columns(action=action, reason=reason).with_columns(
        match=pl.when(~pl.col("linked")).then(pl.col("_match")),
        target_id=pl.coalesce("link_target_id", "_match_target_id"),
        # Flow.external_id(s) is `zsync:<prefix>:<s>`: the same text as one expression.
        external_id=pl.lit(flow.external_id("")) + pl.col("source_id"),
        after=pl.col("_after").cast(pl.Utf8),
        record_type=pl.col("_record_type").fill_null(flow.target_record_type),
        needs_lookup=unanswered,
        label=pl.col("_label"),
        # the record of another flow this one waits for, only while the mapping's block holds
        blocked_by_flow=pl.when(mapping_blocks).then(pl.col("_blocked_by_flow")),
        blocked_by_id=pl.when(mapping_blocks).then(pl.col("_blocked_by_id")),
    )
    frame = _block_orphans(frame, links, flow.name)
    return _with_waves(_with_changed_fields(frame)).select([pl.col(c).cast(t) for c, t in PLAN_SCHEMA.items()])


def _with_changed_fields(frame: pl.DataFrame) -> pl.DataFrame:
    """Top-level fields that differ from the last synced payload, for updates only (a few percent
    of a run: the per-row JSON parsing stays here, off the skip/create majority)."""
    updates = frame.filter(pl.col("action") == "update").select("source_id", "payload", "link_payload")
    changed = updates.select("source_id", changed_fields=pl.Series([
        changed_fields(json.loads(new), old) for _, new, old in updates.iter_rows()
    ], dtype=pl.List(pl.Utf8)))
    return frame.join(changed, on="source_id", how="left", maintain_order="left").with_columns(
        pl.col("changed_fields").fill_null(pl.lit([], pl.List(pl.Utf8))))


def _block_orphans(frame: pl.DataFrame, links: pl.DataFrame, flow_name: str) -> pl.DataFrame:
    """A child whose parent neither is linked nor lands in this run is blocked, naming the parent
    (by its label when the mapping gave one) and why the parent is not sent."""
    linked_ids = links["source_id"].implode()
    for _ in range(16):  # parent chains are short; each pass settles one more level
        parents = frame.select(pl.col("source_id").alias("after"), parent_action=pl.col("action"),
                               parent_reason=pl.col("reason"), parent_known=pl.lit(True),
                               parent_label=pl.col("label"))
        checked = frame.join(parents, on="after", how="left", maintain_order="left")
        orphan = (
            pl.col("action").is_in(SENDABLE) & pl.col("after").is_not_null()
            & ~pl.col("after").is_in(linked_ids) & ~pl.col("parent_action").is_in(SENDABLE).fill_null(False)
        )
        if not checked.select(orphan.any()).item():
            break
        why = pl.format("parent {} is not synced", pl.coalesce("parent_label", "after")) + pl.when(pl.col("parent_known")).then(
            pl.format(" ({}: {})", pl.col("parent_action").fill_null("None"),
                      pl.col("parent_reason").fill_null("None"))).otherwise(pl.lit(""))
        frame = checked.with_columns(
            action=pl.when(orphan).then(pl.lit("blocked")).otherwise("action"),
            reason=pl.when(orphan).then(why).otherwise("reason"),
            blocked_by_flow=pl.when(orphan).then(pl.lit(flow_name)).otherwise("blocked_by_flow"),
            blocked_by_id=pl.when(orphan).then(pl.col("after")).otherwise("blocked_by_id"),
        ).select(frame.columns)
    return frame


def _with_waves(frame: pl.DataFrame) -> pl.DataFrame:
    """Wave 0 goes first; a record waits one wave after a parent that is sent in the same run."""
    sent = pl.col("action").is_in(SENDABLE)
    frame = frame.with_columns(wave=pl.lit(0, pl.Int32))
    for _ in range(33):  # one pass per generation; a (never expected) parent cycle stops here
        parents = frame.filter(sent).select(pl.col("source_id").alias("after"),
                                            parent_wave=pl.col("wave") + 1)
        waved = frame.join(parents, on="after", how="left", maintain_order="left").with_columns(
            wave=pl.when(sent).then(pl.col("parent_wave").fill_null(0)).otherwise(0).cast(pl.Int32))
        if waved["wave"].equals(frame["wave"]):
            break
        frame = waved.drop("parent_wave")
    return frame


def plan_counts(plan: pl.DataFrame) -> dict[str, int]:
    counts = dict.fromkeys(("create", "update", "skip", "blocked"), 0)
    for action, n in plan.group_by("action").len().iter_rows():
        counts[action] = n
    return counts
