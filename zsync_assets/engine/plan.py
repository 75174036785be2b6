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

import gc
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
import polars as pl

from zsync_assets.config import FieldOverrides
from zsync_assets.engine.flow import CONTROL_COLUMNS, Flow, PayloadCheck
from zsync_assets.engine.payload_json import (
    canonical_json,
    hash_series,
    payload_digest,
    payload_hash,
    payload_json,
    payloads,
)

if TYPE_CHECKING:
    from polars._typing import PolarsDataType
    from polars.expr.whenthen import ChainedThen, Then

__all__ = [
    "PLAN_SCHEMA",
    "SENDABLE",
    "build_plan",
    "canonical_json",
    "payload_hash",
    "payloads",
    "plan_counts",
    "reusable_hashes",
    "settle_parents",
]

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
    "input_digest": pl.UInt64,
}

SENDABLE = ("create", "update")


# A JSON number of 19 digits or more: an integer beyond 64 bits, which orjson reads as a float (so
# two such integers could compare equal); text holding one is read by `json`. A number in
# canonical JSON follows `:`, `,` or `[`; the same characters in a string only cost the slower read.
LONG_NUMBER = r"[:,\[]-?[0-9]{19}"


def _loads(text: str) -> Any:
    """orjson reads a payload in about half of `json`'s time (`zsync bench`'s 50,000 customer
    updates), to the same values, except for NaN, which `json.dumps` writes and orjson refuses,
    and the long integers above."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def changed_fields(new_json: str, old_json: str | None, *, long_numbers: bool = True) -> list[str]:
    """The top-level fields of the payload `new_json` whose value differs from the payload last
    synced (`old_json`); all of them when there is none. `long_numbers=False`: neither text holds
    a `LONG_NUMBER`, so the faster parser reads them exactly."""
    loads = json.loads if long_numbers else _loads
    payload: dict[str, Any] = loads(new_json)
    if not old_json:
        return sorted(payload)
    old = loads(old_json)
    return sorted(k for k, v in payload.items() if old.get(k) != v)


def _with_controls(mapped: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, pl.Utf8).alias(c) for c in CONTROL_COLUMNS if c not in mapped.columns]
    return mapped.with_columns(missing).with_columns(pl.col("source_id").cast(pl.Utf8))


def _empty(frame: pl.DataFrame | None, schema: dict[str, Any]) -> pl.DataFrame:
    if frame is None or frame.is_empty():
        return pl.DataFrame(schema=schema)
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


class Rule(NamedTuple):
    when: pl.Expr
    action: pl.Expr
    reason: pl.Expr
    # False: the plan row keeps no payload text (a record unchanged since its last sync: the
    # same text is its link's, `zsync.links.payload`, and it is 90% of a settled plan's bytes).
    keeps_payload: bool = True


def _unanswered() -> pl.Expr:
    """The last attempt has a `started` row and no result, or ended `unknown` (the vendor may
    have written it, nobody heard): push looks the record up before sending anything."""
    return (
        (pl.col("last_status") == "started")
        | ((pl.col("last_status") == "failed") & (pl.col("last_class") == "unknown"))
    ).fill_null(False)


def _rules(flow: Flow) -> list[Rule]:
    """What the plan does with a mapped row, and why, in order: the first rule whose condition
    holds decides both. "send" is update for a record linked or matched before, else create."""
    linked, match = pl.col("linked"), pl.col("_match_target_id")
    last_failed = pl.col("last_status") == "failed"
    send = pl.when(linked | match.is_not_null()).then(pl.lit("update")).otherwise(pl.lit("create"))
    skip, blocked = pl.lit("skip"), pl.lit("blocked")
    linked_note = pl.when(linked).then(pl.format(" (already synced as {}; left as is)", pl.col("link_target_id")))
    return [
        Rule(pl.col("_skip").is_not_null(), skip, pl.col("_skip") + linked_note.otherwise(pl.lit(""))),
        Rule(pl.col("_only_if_linked").is_not_null() & ~linked, skip, pl.col("_only_if_linked")),
        Rule(pl.col("_blocked").is_not_null(), blocked, pl.col("_blocked")),
        # a DATA error on the last attempt with this very payload: re-sending it would fail the same way
        Rule(
            last_failed
            & (pl.col("last_class") == "data")
            & (pl.col("last_hash") == pl.col("payload_hash"))
            & ~pl.col("requeued"),
            blocked,
            pl.format(
                "rejected by {}: {}: {}; waits until the source record changes or `zsync requeue {} {}`",
                pl.lit(flow.target_system),
                pl.col("last_error_code"),
                pl.col("last_message").fill_null(""),
                pl.lit(flow.name),
                pl.col("source_id"),
            ),
        ),
        Rule(
            linked & (pl.col("link_hash") == pl.col("payload_hash")) & ~pl.col("requeued"),
            skip,
            pl.lit("unchanged since the last sync"),
            keeps_payload=False,
        ),
        Rule(_unanswered(), send, pl.lit("an earlier attempt got no answer: looked up on the target before sending")),
        Rule(pl.col("requeued"), send, pl.lit("re-queued by an operator")),
        Rule(
            last_failed & (pl.col("last_class") == "transient"),
            send,
            pl.format("retry after transient {}", pl.col("last_error_code").fill_null("failure")),
        ),
        Rule(last_failed, send, pl.lit("source changed since it was rejected")),
        Rule(
            ~linked & match.is_not_null(),
            send,
            pl.format("first sync: matched existing {} record {}", pl.lit(flow.target_system), match),
        ),
        Rule(pl.lit(True), send, pl.lit(None, pl.Utf8)),  # everything else: sent, nothing to explain
    ]


def _first_rule(rules: list[Rule]) -> pl.Expr:
    """The index of the first rule whose condition holds (the last one always does)."""
    first: Then | ChainedThen = pl.when(rules[0].when).then(pl.lit(0))
    for i, rule in enumerate(rules[1:-1], start=1):
        first = first.when(rule.when).then(pl.lit(i))
    return first.otherwise(pl.lit(len(rules) - 1))


def _by_rule(rules: list[Rule], part: Callable[[Rule], pl.Expr]) -> pl.Expr:
    """One part (action or reason) of the rule `_rule` names: each condition is evaluated once."""
    chosen: Then | ChainedThen = pl.when(pl.col("_rule") == 0).then(part(rules[0]))
    for i, rule in enumerate(rules[1:], start=1):
        chosen = chosen.when(pl.col("_rule") == i).then(part(rule))
    return chosen


def _known_hashes(frame: pl.DataFrame) -> pl.Series:
    """The hash `encoded` took over for a record it did not encode, else the link's stored hash
    where the payload is the very text it was computed from: hashing is most of a no-change
    plan's work, and the same text has the same hash."""
    same_text = pl.when(pl.col("payload") == pl.col("link_payload")).then(pl.col("link_hash"))
    return frame.select(pl.coalesce(pl.col("_known_hash"), same_text)).to_series()


def reusable_hashes(last_planned: pl.DataFrame, links: pl.DataFrame, requeued: Iterable[str] = ()) -> pl.DataFrame:
    """The rows of the last plan (`source_id, input_digest, payload_hash`) whose payload is the
    one last synced (their link holds that hash) and that no operator re-queued: while such a
    record's digest stays the same, its plan is a skip that needs no payload text (`encoded`)."""
    requeued_ids = pl.Series("source_id", list(requeued), dtype=pl.Utf8).implode()
    return (
        last_planned.join(links.select("source_id", link_hash="payload_hash"), on="source_id")
        .filter((pl.col("payload_hash") == pl.col("link_hash")) & ~pl.col("source_id").is_in(requeued_ids))
        .select("source_id", "input_digest", "payload_hash")
    )


def build_plan(
    flow: Flow,
    mapped: pl.DataFrame,
    links: pl.DataFrame | None = None,
    last_attempts: pl.DataFrame | None = None,
    requeued: Iterable[str] = (),
    overrides: FieldOverrides | None = None,
    check: PayloadCheck | None = None,
) -> pl.DataFrame:
    return classify(flow, encoded(mapped, overrides, check), links, last_attempts, requeued)


def _may_repeat(ids: pl.Series) -> bool:
    """False when no id occurs twice. As many distinct 64-bit hashes as ids proves it, and takes a
    seventh of the time of counting the distinct ids themselves (a million customers' source
    ids: 0.06 s against 0.44 s for `is_duplicated`); a collision only means the exact count."""
    return ids.hash().n_unique() != ids.len() and ids.n_unique() != ids.len()


def encoded(
    mapped: pl.DataFrame,
    overrides: FieldOverrides | None = None,
    check: PayloadCheck | None = None,
    reusable: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The mapped rows as `classify` reads them: source id, control columns, the payload's digest
    and text. Apart from `build_plan` so that a caller can let go of the mapped frame's payload
    columns (a million customers: ~0.5 GB) before the plan is classified.

    `reusable` (`reusable_hashes`): records last planned unchanged since their sync. One whose
    digest is the same again is not encoded: its payload stays null and its hash is taken over
    (`_known_hash`), the rule it then meets keeping no payload either."""
    mapped = _with_controls(mapped)
    if _may_repeat(mapped["source_id"]):  # a copy of the whole mapped frame, so only when needed
        mapped = mapped.unique("source_id", keep="last", maintain_order=True)
    problem = check(mapped) if check is not None else None
    if problem is not None:
        # A value the target cannot hold blocks its record here, named, instead of failing at the
        # vendor (on NetSuite, with the whole list call it travels in).
        mapped = mapped.with_columns(_blocked=pl.coalesce(pl.col("_blocked"), problem))
    rows = mapped.select(["source_id", *CONTROL_COLUMNS]).with_columns(payload_digest(mapped, overrides))
    if reusable is None or reusable.is_empty():
        return rows.with_columns(payload=payload_json(mapped, overrides), _known_hash=pl.lit(None, pl.Utf8))
    rows = rows.join(
        reusable.rename({"payload_hash": "_known_hash"}),
        on=["source_id", "input_digest"],
        how="left",
        maintain_order="left",
    )
    todo = rows["_known_hash"].is_null()
    payload = pl.Series("payload", [None] * rows.height, dtype=pl.Utf8)
    if todo.any():
        payload = payload.scatter(todo.arg_true(), payload_json(mapped.filter(todo), overrides))
    return rows.with_columns(payload)


def classify(
    flow: Flow,
    rows: pl.DataFrame,
    links: pl.DataFrame | None = None,
    last_attempts: pl.DataFrame | None = None,
    requeued: Iterable[str] = (),
    *,
    settle: bool = True,
) -> pl.DataFrame:
    """The plan of `encoded` rows: each one's action and reason (`_rules`), parent and wave.
    `settle=False`: `rows` are a slice of the flow's records, whose parents may lie in another
    slice: orphans are not blocked and every row is in wave 0 until `settle_parents` runs over
    the whole plan."""
    links = _empty(
        links, {"source_id": pl.Utf8, "target_id": pl.Utf8, "payload_hash": pl.Utf8, "payload": pl.Utf8}
    ).rename({"target_id": "link_target_id", "payload_hash": "link_hash", "payload": "link_payload"})
    attempts = _empty(
        last_attempts,
        {
            "source_id": pl.Utf8,
            "status": pl.Utf8,
            "error_code": pl.Utf8,
            "error_class": pl.Utf8,
            "message": pl.Utf8,
            "payload_hash": pl.Utf8,
        },
    ).rename(
        {
            "status": "last_status",
            "error_code": "last_error_code",
            "error_class": "last_class",
            "message": "last_message",
            "payload_hash": "last_hash",
        }
    )
    requeued_ids = pl.Series("source_id", list(requeued), dtype=pl.Utf8)

    frame = (
        rows.join(links, on="source_id", how="left")
        .join(attempts, on="source_id", how="left")
        .with_columns(
            requeued=pl.col("source_id").is_in(requeued_ids.implode()),
            linked=pl.col("link_target_id").is_not_null(),
        )
    )
    frame = frame.with_columns(payload_hash=hash_series(frame["payload"], known=_known_hashes(frame)))
    rules = _rules(flow)
    frame = frame.with_columns(_rule=_first_rule(rules))
    action, reason = _by_rule(rules, lambda r: r.action), _by_rule(rules, lambda r: r.reason)
    unanswered = _unanswered()
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
    # A record unchanged since its sync keeps no payload text: its link has the same one.
    without_text = [i for i, rule in enumerate(rules) if not rule.keeps_payload]
    frame = frame.with_columns(payload=pl.when(~pl.col("_rule").is_in(without_text)).then(pl.col("payload")))
    frame = frame.drop("_rule")
    if settle:
        frame = _with_waves(_with_changed_fields(_block_orphans(frame, links, flow.name)))
    else:
        frame = _with_changed_fields(frame).with_columns(wave=pl.lit(0, pl.Int32))
    return frame.select([pl.col(c).cast(t) for c, t in PLAN_SCHEMA.items()])


def settle_parents(plan: pl.DataFrame, links: pl.DataFrame, flow_name: str) -> pl.DataFrame:
    """What `classify(settle=False)` left out, over rows of a whole plan (`source_id, label,
    action, reason, after, blocked_by_flow, blocked_by_id`): children of parents that are
    neither linked nor sent blocked, and the waves. Enough rows: every child and every row a
    child names. A row blocked here changed no fields (`changed_fields` is for updates)."""
    return _with_waves(_block_orphans(plan, links, flow_name))


def _with_changed_fields(frame: pl.DataFrame) -> pl.DataFrame:
    """Top-level fields that differ from the last synced payload, for updates only (a few percent
    of a run: the per-row JSON parsing stays here, off the skip/create majority)."""
    updates = frame.filter(pl.col("action") == "update").select(
        "source_id",
        "payload",
        "link_payload",
        # one vectorized scan of the texts instead of a Python regex each (a third of the time)
        long_numbers=pl.col("payload").str.contains(LONG_NUMBER).fill_null(False)
        | pl.col("link_payload").str.contains(LONG_NUMBER).fill_null(False),
    )
    # (record, field) pairs grouped into lists: polars builds a list column from Python lists
    # one small series per row, which took longer than the JSON parsing. The cycle collector is
    # off meanwhile: the parsed payloads are dicts that only reference counts free, yet with it on
    # CPython scanned them every 700 allocations (`gc.get_threshold`), 40% of this loop's time at
    # 50,000 updates (`zsync bench`, customers).
    collecting = gc.isenabled()
    gc.disable()
    try:
        pairs = pl.DataFrame(
            [
                (source_id, name)
                for source_id, new, old, long_numbers in updates.iter_rows()
                for name in changed_fields(new, old, long_numbers=long_numbers)
            ],
            schema={"source_id": pl.Utf8, "changed_fields": pl.Utf8},
            orient="row",
        )
    finally:
        if collecting:
            gc.enable()
    changed = pairs.group_by("source_id", maintain_order=True).agg("changed_fields")
    return frame.join(changed, on="source_id", how="left", maintain_order="left").with_columns(
        pl.col("changed_fields").fill_null(pl.lit([], pl.List(pl.Utf8)))
    )


def _block_orphans(frame: pl.DataFrame, links: pl.DataFrame, flow_name: str) -> pl.DataFrame:
    """A child whose parent neither is linked nor lands in this run is blocked, naming the parent
    (by its label when the mapping gave one) and why the parent is not sent.

    Only rows with an unlinked parent can be orphans: each pass joins those (2% of the bench's
    customers) to their parents and writes the verdicts back by row, instead of re-joining the
    whole plan (a gather of every column of a million rows per pass)."""
    with_parent = frame.with_row_index("_row").filter(pl.col("after").is_not_null()).select("_row", "after")
    # The linked parents, by probing the links with the few parents (a set of these, not of every
    # link: the bench's 950,000 customers' links made a set as big on every plan).
    linked = links["source_id"].filter(links["source_id"].is_in(with_parent["after"].unique().implode()))
    children = with_parent.filter(~pl.col("after").is_in(linked.implode()))
    # The rows of those parents that are in the plan, found once: joining the children to every
    # row of the plan hashed a million source ids on each pass (0.45 s for the bench's customers).
    parent_rows = (
        frame.with_row_index("_parent_row")
        .filter(pl.col("source_id").is_in(children["after"].unique().implode()))
        .select("_parent_row", after=pl.col("source_id"))
    )
    for _ in range(16):  # parent chains are short; each pass settles one more level
        at = parent_rows["_parent_row"]
        parents = parent_rows.select(
            "after",
            parent_action=frame["action"].gather(at),
            parent_reason=frame["reason"].gather(at),
            parent_known=pl.lit(True),
            parent_label=frame["label"].gather(at),
        )
        current = children.with_columns(action=frame["action"].gather(children["_row"]))
        joined = current.join(parents, on="after", how="left", maintain_order="left")
        orphans = joined.filter(
            pl.col("action").is_in(SENDABLE) & ~pl.col("parent_action").is_in(SENDABLE).fill_null(False)
        )
        if orphans.is_empty():
            break
        why = pl.format("parent {} is not synced", pl.coalesce("parent_label", "after")) + pl.when(
            pl.col("parent_known")
        ).then(
            pl.format(" ({}: {})", pl.col("parent_action").fill_null("None"), pl.col("parent_reason").fill_null("None"))
        ).otherwise(pl.lit(""))
        verdicts = orphans.select(
            "_row",
            action=pl.lit("blocked"),
            reason=why,
            blocked_by_flow=pl.lit(flow_name),
            blocked_by_id=pl.col("after"),
        )
        frame = _by_row(frame, verdicts)
    return frame


def _by_row(frame: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    """`frame` with the values of `changes` (its `_row` index and some of its columns) written
    into those rows."""
    rows = changes["_row"]
    return frame.with_columns(
        [frame[c].clone().scatter(rows, changes[c].cast(frame.schema[c])) for c in changes.columns if c != "_row"]
    )


def _with_waves(frame: pl.DataFrame) -> pl.DataFrame:
    """Wave 0 goes first; a record waits one wave after a parent that is sent in the same run.
    Only a sent child of a sent parent leaves wave 0, so the passes run over those rows alone."""
    sent = pl.col("action").is_in(SENDABLE)
    frame = frame.with_columns(wave=pl.lit(0, pl.Int32))
    sent_ids = frame.filter(sent)["source_id"].implode()
    children = (
        frame.with_row_index("_row")
        .filter(sent & pl.col("after").is_in(sent_ids))
        .select("_row", "source_id", "after", wave=pl.lit(1, pl.Int32))
    )
    for _ in range(33):  # one pass per generation; a (never expected) parent cycle stops here
        parents = children.select(pl.col("source_id").alias("after"), parent_wave=pl.col("wave") + 1)
        # a parent that is no child itself goes in wave 0, so its children in wave 1
        waved = children.join(parents, on="after", how="left", maintain_order="left").select(
            "_row", "source_id", "after", wave=pl.col("parent_wave").fill_null(1).cast(pl.Int32)
        )
        if waved["wave"].equals(children["wave"]):
            break
        children = waved
    return _by_row(frame, children.select("_row", "wave"))


def plan_counts(plan: pl.DataFrame) -> dict[str, int]:
    counts = dict.fromkeys(("create", "update", "skip", "blocked"), 0)
    for action, n in plan.group_by("action").len().iter_rows():
        counts[action] = n
    return counts
