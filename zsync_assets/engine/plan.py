"""The plan: what a push would do to each source record, and why. Pure polars, no I/O.

`build_plan(flow, mapped, links, last_attempts, requeued)` classifies every mapped row:

- skip: the mapping said so (`_skip`, `_only_if_linked` for a never-synced record), or the
  payload hash equals the one last written (nothing changed);
- blocked: an unresolvable reference (`_blocked`), a parent that is not synced, or a DATA
  error on the last attempt with this very payload (re-sending it would fail the same way;
  it waits until the source changes or an operator re-queues it);
- update: linked before (or matched to a pre-existing target record) and the payload changed;
- create: everything else.

A record whose last attempt has a `started` row and no result gets `needs_lookup`: push looks
it up on the target before sending anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import polars as pl

from zsync_assets.config import FieldOverrides
from zsync_assets.engine.errors import classify
from zsync_assets.engine.flow import CONTROL_COLUMNS, Flow

PLAN_SCHEMA = {
    "source_id": pl.Utf8,
    "action": pl.Utf8,
    "reason": pl.Utf8,
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


def _without_nulls(value: Any) -> Any:
    """Null fields are omitted, recursively: zsync never writes a null over a target value."""
    if isinstance(value, dict):
        cleaned = {k: _without_nulls(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in cleaned.items() if v != {} and v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def canonical_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def payload_hash(payload_json: str) -> str:
    return hashlib.sha256(payload_json.encode()).hexdigest()[:32]


def payloads(mapped: pl.DataFrame, overrides: FieldOverrides | None = None) -> list[dict[str, Any]]:
    """The target payload per row: non-control columns, nulls omitted, config overrides applied."""
    columns = [c for c in mapped.columns if c != "source_id" and not c.startswith("_")]
    result = []
    for row in mapped.select(columns).to_dicts() if columns else [{}] * mapped.height:
        payload = _without_nulls(row)
        if overrides:
            for old, new in overrides.renames.items():
                if old in payload:
                    payload[new] = payload.pop(old)
            payload.update(overrides.constants)
        result.append(payload)
    return result


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
) -> pl.DataFrame:
    mapped = _with_controls(mapped).unique("source_id", keep="last", maintain_order=True)
    rows = payloads(mapped, overrides)
    body = [canonical_json(p) for p in rows]
    links = _empty(links, {"source_id": pl.Utf8, "target_id": pl.Utf8, "payload_hash": pl.Utf8,
                           "payload": pl.Utf8}).rename(
        {"target_id": "link_target_id", "payload_hash": "link_hash", "payload": "link_payload"})
    attempts = _empty(last_attempts, {"source_id": pl.Utf8, "status": pl.Utf8, "error_code": pl.Utf8,
                                      "message": pl.Utf8, "payload_hash": pl.Utf8}).rename(
        {"status": "last_status", "error_code": "last_error_code", "message": "last_message",
         "payload_hash": "last_hash"})
    requeued_ids = pl.Series("source_id", list(requeued), dtype=pl.Utf8)

    frame = (
        mapped.select(["source_id", *CONTROL_COLUMNS])
        .with_columns(
            payload=pl.Series(body, dtype=pl.Utf8),
            payload_hash=pl.Series([payload_hash(b) for b in body], dtype=pl.Utf8),
        )
        .join(links, on="source_id", how="left")
        .join(attempts, on="source_id", how="left")
        .with_columns(
            requeued=pl.col("source_id").is_in(requeued_ids.implode()),
            linked=pl.col("link_target_id").is_not_null(),
            last_class=pl.col("last_error_code").map_elements(classify, return_dtype=pl.Utf8),
        )
    )
    data_rejected = (
        (pl.col("last_status") == "failed") & (pl.col("last_class") == "data")
        & (pl.col("last_hash") == pl.col("payload_hash")) & ~pl.col("requeued")
    )
    linked_note = pl.format(" (already synced as {}; left as is)", pl.col("link_target_id"))
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
        .when(pl.col("last_status") == "started")
        .then(pl.lit("an earlier attempt got no answer: looked up on the target before sending"))
        .when(pl.col("requeued")).then(pl.lit("re-queued by an operator"))
        .when((pl.col("last_status") == "failed") & (pl.col("last_class") == "transient"))
        .then(pl.format("retry after transient {}", pl.col("last_error_code").fill_null("failure")))
        .when(pl.col("last_status") == "failed").then(pl.lit("source changed since it was rejected"))
        .when(~pl.col("linked") & pl.col("_match_target_id").is_not_null())
        .then(pl.format("first sync: matched existing {} record {}", pl.lit(flow.target_system),
                        pl.col("_match_target_id")))
    )
    frame = frame.with_columns(action=action, reason=reason).with_columns(
        match=pl.when(~pl.col("linked")).then(pl.col("_match")),
        target_id=pl.coalesce("link_target_id", "_match_target_id"),
        external_id=pl.col("source_id").map_elements(flow.external_id, return_dtype=pl.Utf8),
        after=pl.col("_after"),
        record_type=pl.col("_record_type").fill_null(flow.target_record_type),
        needs_lookup=(pl.col("last_status") == "started").fill_null(False),
    )
    frame = _block_orphans(frame, links)
    changed = [
        changed_fields(p, old) if act == "update" else []
        for p, old, act in zip(rows, frame["link_payload"].to_list(), frame["action"].to_list(), strict=True)
    ]
    frame = frame.with_columns(changed_fields=pl.Series(changed, dtype=pl.List(pl.Utf8)))
    return _with_waves(frame).select([pl.col(c).cast(t) for c, t in PLAN_SCHEMA.items()])


def _block_orphans(frame: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """A child whose parent neither is linked nor lands in this run is blocked, naming the parent."""
    linked_ids = set(links["source_id"].to_list())
    for _ in range(16):  # parent chains are short; each pass settles one more level
        status = dict(zip(frame["source_id"], frame["action"], strict=True))
        reasons = dict(zip(frame["source_id"], frame["reason"], strict=True))
        new_actions, new_reasons, changed = [], [], False
        for sid, act, why, parent in frame.select("source_id", "action", "reason", "after").iter_rows():
            parent_ok = (
                parent is None or parent in linked_ids or status.get(parent) in SENDABLE
            )
            if act in SENDABLE and not parent_ok:
                why = f"parent {parent} is not synced" + (
                    f" ({status[parent]}: {reasons[parent]})" if parent in status else "")
                act, changed = "blocked", True
            new_actions.append(act)
            new_reasons.append(why)
        frame = frame.with_columns(action=pl.Series(new_actions, dtype=pl.Utf8),
                                   reason=pl.Series(new_reasons, dtype=pl.Utf8))
        if not changed:
            break
    return frame


def _with_waves(frame: pl.DataFrame) -> pl.DataFrame:
    """Wave 0 goes first; a record waits one wave after a parent that is sent in the same run."""
    pending = {sid: parent for sid, act, parent in frame.select("source_id", "action", "after").iter_rows()
               if act in SENDABLE}
    waves: dict[str, int] = {}

    def wave(sid: str, depth: int = 0) -> int:
        if sid not in waves:
            parent = pending.get(sid)
            waves[sid] = 0 if parent not in pending or depth > 32 else wave(parent, depth + 1) + 1
        return waves[sid]

    return frame.with_columns(
        wave=pl.Series([wave(s) if s in pending else 0 for s in frame["source_id"]], dtype=pl.Int32)
    )


def plan_counts(plan: pl.DataFrame) -> dict[str, int]:
    counts = dict.fromkeys(("create", "update", "skip", "blocked"), 0)
    for action, n in plan.group_by("action").len().iter_rows():
        counts[action] = n
    return counts
