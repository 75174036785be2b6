"""What a push sends: the plan rows still to send, and the `Outgoing` records and batches made of
them (push.py sends them wave by wave).

A row goes out as an update when its target record is known, else as a create; its attempt key
lets Zuora tell a retry of the same payload from a changed one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Literal, TypeVar

import polars as pl

from zsync_assets.engine import bookkeeping
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.link_refs import Linked, UnresolvedLink, load_payload
from zsync_assets.engine.push_result import PushResult
from zsync_assets.engine.sink import Outgoing
from zsync_assets.lib.warehouse import Warehouse, scalar, table_exists

T = TypeVar("T")


def attempt_key(flow: str, source_id: str, payload_hash: str) -> str:
    """Zuora replays a key's first answer for 24 h, failures included: the payload hash is part
    of the key so that a fixed record is sent afresh instead of replaying the old failure."""
    return hashlib.sha256(f"{flow}|{source_id}|{payload_hash}".encode()).hexdigest()[:40]


def pending(warehouse: Warehouse, flow: Flow) -> pl.DataFrame:
    with warehouse.connect() as con:
        bookkeeping.ensure_tables(con)
        if not table_exists(con, flow.plan_table):
            return pl.DataFrame()
        schema, table = flow.plan_table.split(".")
        return con.sql(
            f"select * from \"{schema}\".\"{table}\" where action in ('create', 'update') order by wave, source_id"
        ).pl()


def has_work(warehouse: Warehouse, flow: Flow) -> bool:
    """Whether a push of `flow` would call a vendor at all: a planned create/update/reverse, or a link or
    rejection the source has not been told of. False lets the push step skip building clients."""
    with warehouse.connect() as con:
        bookkeeping.ensure_tables(con)
        if not table_exists(con, flow.plan_table):
            return True  # push_flow says what is missing
        schema, table = flow.plan_table.split(".")
        planned = f"exists (select 1 from \"{schema}\".\"{table}\" where action in ('create', 'update', 'reverse'))"
        if flow.write_back is None:
            return bool(scalar(con, f"select {planned}"))
        # One statement: the step of a flow with nothing to do is mostly this question.
        [(answer,)] = con.execute(
            f"select {planned} or exists (select 1 from zsync.links where flow = $flow "
            "and writeback_status in ('pending', 'failed')) "
            f"or exists ({bookkeeping.UNREPORTED_REJECTIONS})",
            {"flow": flow.name},
        ).fetchall()
        return bool(answer)


def write_action(row: dict) -> Literal["create", "update"]:
    """How a plan row goes out: an update when its target record is known (linked when planned,
    linked by another run meanwhile, or found by a lookup), else a create."""
    return "update" if row["target_id"] else "create"


def outgoing(flow: Flow, row: dict, linked: Linked | None = None) -> Outgoing:
    return Outgoing(
        source_id=row["source_id"],
        action=write_action(row),
        record_type=row["record_type"] or flow.target_record_type,
        payload=load_payload(row["payload"], linked),
        external_id=row["external_id"],
        attempt_key=attempt_key(flow.name, row["source_id"], row["payload_hash"]),
        target_id=row["target_id"],
    )


def not_synced_meanwhile(
    warehouse: Warehouse, flow: Flow, rows: list[dict], result: PushResult, log: Callable[[str], None]
) -> list[dict]:
    """The plan was made before this push got the flow lock; another run may have pushed the same
    records meanwhile (two runs at once). A row whose payload is now linked is done, unless an
    operator re-queued it after that link was written (`zsync requeue`: send it again as it is,
    e.g. over a hand edit on the target); a create whose record got linked meanwhile becomes an
    update of that target record."""
    if not rows:
        return rows
    with warehouse.connect() as con:
        # The link's hash, and whether a re-queue asks for more than that link's write.
        linked = {
            s: (t, h, asked)
            for s, t, h, asked in con.execute(
                "select l.source_id, l.target_id, l.payload_hash, coalesce(q.requested_at > l.synced_at, false) "
                "from zsync.links l left join zsync.requeue q on q.flow = l.flow and q.source_id = l.source_id "
                "where l.flow = ? and l.reversed_at is null",
                [flow.name],
            ).fetchall()
        }
    pending = []
    for row in rows:
        link = linked.get(row["source_id"])
        if link and link[1] == row["payload_hash"] and not link[2]:
            result.already_synced += 1
            continue
        pending.append({**row, "target_id": row["target_id"] or link[0]} if link else row)
    if result.already_synced:
        log(f"push {flow.name}: {result.already_synced} record(s) were synced by another run meanwhile")
    return pending


def chunks(rows: list[T], batch_size: int, workers: int) -> list[list[T]]:
    """Batches of at most `batch_size` and of even size, as many as `workers` or a multiple of
    it. The batches of a wave go out `workers` at a time and the wave ends with its slowest
    call, whose time grows with its records (NetSuite: about 20 ms a record on top of the call;
    Zuora: one call per record). 600 NetSuite records at 5 calls at once in full batches of 100
    are two rounds of 2.3 s (300 ms + 100 x 20 ms), the second one call alone; 10 batches of 60
    are two full rounds of 1.5 s. And 114 records go as 5 calls of 23 (0.8 s), not 100 + 14."""
    if not rows:
        return []
    count = math.ceil(len(rows) / max(1, batch_size))
    count = min(len(rows), math.ceil(count / max(1, workers)) * max(1, workers))
    size = math.ceil(len(rows) / count)
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def prepare_batch(flow: Flow, chunk: list[dict], linked: Linked) -> tuple[list[Outgoing], set[str]]:
    """The batch's records with link references filled in, and the ids that must wait."""
    records, waiting = [], set()
    for row in chunk:
        try:
            records.append(outgoing(flow, row, linked))
        except UnresolvedLink:
            # The referenced record failed earlier in this push (or vanished): planned again next run.
            waiting.add(row["source_id"])
    return records, waiting
