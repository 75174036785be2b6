"""Plan a flow from what is staged (the I/O around the pure `encoded` and `classify`, which
together are `build_plan`), for assets and the CLI."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from zsync_assets.config import Config
from zsync_assets.engine import bookkeeping, plan_state, reversals
from zsync_assets.engine.blockers import STATE_SCHEMA, read_blocker_states, with_blocker_states
from zsync_assets.engine.flow import Flow, PayloadCheck
from zsync_assets.engine.plan import (
    PLAN_SCHEMA,
    classify,
    encoded,
    plan_counts,
    reusable_hashes,
    settle_parents,
)
from zsync_assets.engine.push import flow_lock
from zsync_assets.lib.warehouse import Warehouse, qualified, quote_ident, replace_table

LINKS = "zsync.links"
_LINK_COLUMNS = ("source_id", "target_id", "payload_hash", "reversed_at", "reversal")


class UndeclaredTable(KeyError):
    """A mapping read a table its flow does not declare: it would silently see nothing."""


class DeclaredTables(dict):
    """The staged frames a mapping gets. Reading a table the flow does not declare is an error:
    an absent table reads as empty, and a mapping that quietly saw no accounts once showed every
    invoice of a deliberately unsynced account as blocked instead of skipped."""

    def __init__(
        self,
        flow_name: str,
        frames: dict[str, pl.DataFrame],
        links: Callable[[], pl.DataFrame] | None = None,
    ):
        super().__init__(frames)
        self.flow_name = flow_name
        # `zsync.links`, read when the mapping first asks for it: every mapping may, many never
        # do (customers), and a million links are 0.8 GB next to the staged tables.
        self._links = links

    def get(self, name, default=None):  # noqa: ANN001, ANN201 - dict's signature
        if name == LINKS and name not in self and self._links is not None:
            self[name] = self._links()
        if name not in self:
            raise UndeclaredTable(
                f"flow {self.flow_name} reads {name} without declaring it (Flow.source_tables "
                "or reference_tables): it would see no rows"
            )
        return super().get(name, default)

    def __missing__(self, name: str) -> pl.DataFrame:
        return self.get(name)


@dataclass
class PlanResult:
    plan: pl.DataFrame
    missing_tables: list[str] = field(default_factory=list)
    # True: nothing the plan reads changed since the stored plan was made (`plan_state.py`);
    # `plan` is then that stored plan's light columns (`plan_state.KEPT_COLUMNS`).
    unchanged: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return plan_counts(self.plan)

    @property
    def not_staged(self) -> str:
        """What to run first, naming each staging asset that never ran ('' when all have)."""
        return not_staged_message(self.missing_tables)


def not_staged_message(tables: list[str]) -> str:
    if not tables:
        return ""
    from zsync_assets.engine.catalog import table_key

    assets = ", ".join(table_key(t).to_user_string() for t in tables)
    return (
        f"not staged yet: {', '.join(tables)}; the staging asset(s) {assets} never ran on this "
        f"warehouse. Materialize them (the sync_all job, or `zsync demo`) before planning."
    )


# Bytes of the plan per slice handed to DuckDB (`replace_table`): it reads a polars frame through
# a copy in Arrow, and a slice bounds that copy. In bytes, not rows: an invoice's payload, with
# its lines, is ten times a customer's.
_WRITE_BYTES = 128 * 2**20
_CHECKPOINT_ROWS = 100_000


def _write_plan(
    con: duckdb.DuckDBPyConnection, table: str, plan: pl.DataFrame, *, append: bool = False, checkpoint: bool = False
) -> None:
    """Replace the plan table (`append`: add to it), compressed with zstd: DuckDB's default
    string compression (dict_fsst) was 5 of the write's 8 s of CPU on a million-row plan (`zsync
    bench`), for a table rewritten on every run and read once by push; without any, the text took
    ~3.5x the disk, and writing and reading it back cost more than zstd's work. The invoices of
    `zsync bench` (330,000, 564 MB of payload text), written apart from the plan on this 2-core
    machine: 1.41 s and 671 MB uncompressed, 0.9 s and 41 MB with zstd (3.1 s and 241 MB by
    default); push's read of their 160,000 payloads 1.29 s against 0.32 s.

    DuckDB's memory is capped meanwhile: it otherwise kept the plan's written blocks in its
    buffer pool (up to 80% of RAM by default), ~0.9 GB over the plan itself for the invoices of
    `zsync bench`. Capped, it evicts blocks it has written (0.25 GB), at no measurable CPU cost.
    Both settings are the DuckDB instance's, not the connection's, and `Warehouse` lends the
    instance to the next unit of work (lib/warehouse.py): they are reset after the write, and a
    write that fails takes the instance with it.

    Nor is insertion order kept: no reader takes a plan's rows in table order (push sorts by wave
    and source id, `audit.*` and the CLI by their own keys). Without it DuckDB's threads write the
    row groups they fill as they are; a million customers' plan took 1.3 s instead of 2.1 s to
    write and 338 MB of the file instead of 633 MB (measured apart from the plan, on this 2-core
    machine); with the rest of the plan, 1.6 s instead of 1.7-2.4 s (customers) and 2.4 s instead
    of 3.5 s (invoices)."""
    con.execute("set force_compression = 'zstd'")
    con.execute("set memory_limit = '512MB'")
    con.execute("set preserve_insertion_order = false")
    try:
        rows = max(1_000, plan.height * _WRITE_BYTES // max(1, int(plan.estimated_size())))
        replace_table(con, table, plan, slice_rows=rows, append=append)
        if checkpoint or plan.height >= _CHECKPOINT_ROWS:
            # Here, under the cap: left to the connection's close, the checkpoint ran with the
            # default limit and took 0.6 GB more than the whole write had (`zsync bench`,
            # customers). A small plan's costs more than its write (27 ms of 45 for the demo's).
            con.execute("checkpoint")
    finally:
        con.execute("reset force_compression")
        con.execute("reset memory_limit")
        con.execute("reset preserve_insertion_order")


# Staged bytes read above which a plan has DuckDB let go of its cached blocks (`_release_buffers`).
_RELEASE_BYTES = 128 * 2**20


def _release_buffers(con: duckdb.DuckDBPyConnection) -> None:
    """Let DuckDB give back the blocks it keeps cached from the reads: lowering its memory limit
    evicts them (DuckDB's buffer pool evicts down to a new limit at once). A million customers'
    fingerprint and staged tables left 0.3 GB of them in it for the rest of the plan (`zsync
    bench`); for a small plan the blocks are worth more cached: the next reads of the run find
    them (evicting them after every plan made the end-to-end tests 10% slower). An instance-wide
    setting, like `_write_plan`'s, reset at once; if the blocks that other work on the instance
    holds pinned exceed the low limit, DuckDB refuses it and nothing changes."""
    try:
        con.execute("set memory_limit = '32MB'")
    except duckdb.OutOfMemoryException:
        pass
    finally:
        con.execute("reset memory_limit")


def _read(warehouse: Warehouse, read: Callable[[duckdb.DuckDBPyConnection], pl.DataFrame]) -> pl.DataFrame:
    with warehouse.connect() as con:
        return read(con)


def _read_staged(
    con: duckdb.DuckDBPyConnection, flow: Flow, table: str, staged: list[str], where: str = "true"
) -> pl.DataFrame:
    """A staged table as the mapping reads it: only the columns the flow names for it
    (`Flow.columns_read`), of those that are `staged`; its rows `where` holds."""
    columns = flow.columns_read(table, staged)
    return con.sql(f"select {', '.join(quote_ident(c) for c in columns)} from {qualified(table)} where {where}").pl()


# Rows of the largest sliced table per slice of a plan made a slice at a time (`Flow.slice_by`,
# `_Slicing`). A million customers at once peaked at 2.4 GB, most of it the mapping's frames;
# in slices of 500,000 1.5-1.7 GB in 6.8-6.9 s, of 400,000 1.2-1.3 GB in 7.1 s, and a million
# invoice lines (3 slices either way) 1.4 GB (`zsync bench`'s plan phase, 2026-12-02).
_SLICE_ROWS = 400_000


def _slice_count(con: duckdb.DuckDBPyConnection, flow: Flow) -> int:
    """How many slices the flow's plan is made in: one per `_SLICE_ROWS` rows of its largest
    sliced table, 1 for a flow that declares no slices."""
    if not flow.slice_by:
        return 1
    rows = max(int(con.sql(f"select count(*) from {qualified(t)}").fetchall()[0][0]) for t in flow.slice_by)
    return max(1, -(-rows // _SLICE_ROWS))


def _in_slice(flow: Flow, table: str, part: int, slices: int) -> str:
    """The condition that holds for the rows of `table` in slice `part` of `slices`: a record's
    slice is DuckDB's hash of its source id (the same within one plan, which is all it needs)."""
    by = flow.slice_by[table]
    if by.parent is None:
        return f"hash({quote_ident(by.column)}) % {slices} = {part}"
    named = " union all ".join(
        f"select {quote_ident(c)} from {qualified(by.parent)} where {_in_slice(flow, by.parent, part, slices)}"
        for c in by.parent_columns
    )
    return f"{quote_ident(by.column)} in ({named})"


def _links_for_mapping(con: duckdb.DuckDBPyConnection, flow_name: str) -> pl.DataFrame:
    """Every flow's links, as a mapping reads them (references to other flows' records), with
    payload text only for the flow's own: a mapping compares its own last payloads at most
    (subscriptions), and the other flows' texts were most of the frame (a customer's is 0.5 kB)."""
    bookkeeping.ensure_tables(con)
    return con.sql(
        "select * replace (case when flow = $flow then payload end as payload) from zsync.links",
        params={"flow": flow_name},
    ).pl()


def _with_sent_payloads(warehouse: Warehouse, flow: Flow, live: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """`live` links with the payload text last sent, where `classify` compares it: records encoded
    again (`rows.payload` set) that have a link (a text equal to the link's takes its hash, and an
    update names the fields that changed). Read by source id and hash: a link a push rewrote since
    `live` was read keeps no text, and its record's hash is computed from its own."""
    if "payload" in live.columns:
        return live
    wanted = (
        rows.filter(pl.col("payload").is_not_null())
        .select("source_id")
        .join(live.select("source_id", "payload_hash"), on="source_id", how="inner")
    )
    if wanted.is_empty():
        return live.with_columns(payload=pl.lit(None, pl.Utf8))

    def read(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
        con.register("_zsync_wanted", wanted)
        try:
            # The texts by rowid of the links found: DuckDB then reads the text of those rows
            # only, not of every link the join scans (a million customers' links, 24,000 wanted:
            # 0.04-0.05 s against 0.09-0.17 s; the more so for an invoice's 3 kB of text).
            return con.sql(
                "select source_id, payload from zsync.links where rowid in ("
                "select l.rowid from zsync.links l join _zsync_wanted w "
                "on l.source_id = w.source_id and l.payload_hash = w.payload_hash "
                "where l.flow = $flow and l.reversed_at is null)",
                params={"flow": flow.name},
            ).pl()
        finally:
            con.unregister("_zsync_wanted")

    sent = _read(warehouse, read).unique("source_id", keep="any")
    return live.join(sent, on="source_id", how="left", maintain_order="left")


def plan_flow(
    flow: Flow,
    warehouse: Warehouse,
    config: Config,
    *,
    write: bool = True,
    check: PayloadCheck | None = None,
    skip_unchanged: bool = False,
) -> PlanResult:
    """Map the staged tables and classify every record; `write=False` is a pure dry run.
    `check`: the target system's payload check (values it could not hold are blocked).
    `skip_unchanged`: keep the stored plan when none of its inputs changed since it was made."""
    with warehouse.connect() as con:
        bookkeeping.migrate(con)
        catalog = plan_state.catalog_of(con, flow)
        inputs = plan_state.fingerprint(con, flow, config, catalog) if write else None
        if skip_unchanged and inputs is not None and plan_state.unchanged(con, flow, inputs, catalog):
            # What the plan step shows of a plan (counts, matches, blocked and skipped records):
            # not the payloads, the bulk of a plan's bytes.
            light = ", ".join(quote_ident(c) for c in plan_state.KEPT_COLUMNS)
            kept = con.sql(f"select {light} from {qualified(flow.plan_table)}").pl()
            return PlanResult(kept, unchanged=True)
        missing = [t for t in flow.tables if t not in catalog]
        # A dry run (`write=False`) returns the whole plan, so it is made at once.
        slices = _slice_count(con, flow) if write and not missing else 1
        attempts = bookkeeping.read_last_attempts(con, flow.name)
        last_reversals = reversals.read_last_reversals(con, flow.name)
        requeued = bookkeeping.read_requeued(con, flow.name)["source_id"].to_list()
        if slices == 1:
            last_planned = plan_state.last_planned(con, flow, catalog)
            tables = DeclaredTables(
                flow.name,
                {t: _read_staged(con, flow, t, catalog[t]) for t in flow.tables if t not in missing},
                links=lambda: _read(warehouse, lambda con: _links_for_mapping(con, flow.name)),
            )
            if sum(int(frame.estimated_size()) for frame in tables.values()) > _RELEASE_BYTES:
                _release_buffers(con)
    states = pl.DataFrame(schema=STATE_SCHEMA)
    if missing:
        # A table exists from its first staging on, empty or not (lib/staging.py), so a missing
        # one means its staging never ran: no plan can be made, and the caller says so.
        plan = pl.DataFrame(schema=PLAN_SCHEMA)
    elif slices > 1:
        assert inputs is not None  # a sliced plan is a written one
        # Two runs may plan the flow at once (pushes take turns later, engine/push.py): their
        # slices would go to the same next table, so sliced plans of a flow take turns too.
        with flow_lock(warehouse, flow.name, work="plan"):
            plan, states = _Slicing(flow, warehouse, config, check, catalog, slices).plan(
                attempts, last_reversals, requeued
            )
            with warehouse.connect() as con:
                plan_state.remember(con, flow, plan_state.with_blockers(inputs, states), inputs)
        return PlanResult(plan)
    else:
        mapped = flow.mapping(tables, config)
        # The flow's own links, of those the mapping read if it did (no second scan of the table),
        # in the columns classify and plan_reversals read.
        if LINKS in tables:
            links = tables[LINKS].filter(pl.col("flow") == flow.name).select(*_LINK_COLUMNS, "payload")
        else:
            # Without their payload text: classify reads it only for the records encoded again
            # (`_with_sent_payloads`), and a million customers' is 0.5 GB and 1.7 s of reading.
            links = _read(warehouse, lambda con: bookkeeping.read_links(con, flow.name, _LINK_COLUMNS))
        del tables  # the staged frames: the largest memory the plan holds, not needed past the mapping
        # What plan_reversals reads of the mapped rows; the payload columns go once encoded.
        to_reverse = mapped.select(c for c in ("source_id", "_reverse", "_reverse_blocked") if c in mapped.columns)
        # A reversed counterpart is no counterpart: the plan sees live links only, and the
        # records the mapping wants reversed are classified by engine/reversals.py.
        live = reversals.live_links(links)
        # The same links decide which records need no encoding (`reusable`) and classify them:
        # a push between two reads could otherwise leave a record unencoded yet sendable.
        reusable = reusable_hashes(last_planned, live, requeued) if last_planned is not None else None
        rows = encoded(mapped, config.field_overrides.get(flow.name), check, reusable)
        del mapped
        live = _with_sent_payloads(warehouse, flow, live, rows)
        plan = classify(flow, rows, live, attempts, requeued)
        del rows
        plan = reversals.plan_reversals(flow, to_reverse, plan, links, attempts, last_reversals, requeued)
        # The links with their payloads: ~0.5 GB at a million customers, not needed past here,
        # and the write below holds the plan's Arrow slices and DuckDB's buffers.
        del links
        with warehouse.connect() as con:  # zsync's bookkeeping only: no staged table is read here
            states = read_blocker_states(con, plan, flow.name)
            plan = with_blocker_states(plan, states)
    if write:
        with warehouse.connect() as con:
            _write_plan(con, flow.plan_table, plan)
            if not missing and inputs is not None:  # inputs is set whenever the plan is written
                plan_state.remember(con, flow, plan_state.with_blockers(inputs, states), inputs)
            else:
                # No plan to keep; recorded all the same: every written plan moves `planned_at`,
                # which the audit summary's digest reads instead of the plans (audit/carry_over.py).
                plan_state.remember(con, flow, f"not staged: {', '.join(missing)}")
    return PlanResult(plan, missing)


@dataclass
class _Slicing:
    """A plan made a slice of records at a time (`Flow.slice_by`): each slice's staged rows are
    read, mapped, encoded, classified and appended to the next plan's table before the next slice
    is read, and so are the slice's links and the last plan's digests of its records: the memory
    a plan holds follows `_SLICE_ROWS`, not the tenant. What one slice cannot know is settled
    over the written plan afterwards: a child whose parent lies in another slice
    (`settle_parents`). Reversals are planned per slice, before that (their records are the
    mapping's own; no flow both reverses and has parents).

    The slices go to `zsync.next_plan_<flow>`, which replaces the plan table only once whole:
    meanwhile the last plan stays what readers see and what the slices' digests are compared
    with, and a crash between two slices leaves it and its stored fingerprint as they were."""

    flow: Flow
    warehouse: Warehouse
    config: Config
    check: PayloadCheck | None
    catalog: dict[str, list[str]]
    slices: int

    @property
    def next_table(self) -> str:
        return f"zsync.next_plan_{self.flow.name}"

    def plan(
        self, attempts: pl.DataFrame, last_reversals: pl.DataFrame, requeued: list[str]
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The plan's light columns (`plan_state.KEPT_COLUMNS`: the rest is in the table) and the
        states of the records of other flows it waits for."""
        flow = self.flow
        with self.warehouse.connect() as con:
            whole = {t: _read_staged(con, flow, t, self.catalog[t]) for t in flow.tables if t not in flow.slice_by}
        # Every flow's links as the mapping reads them: read once for all slices, if it asks.
        mapping_links = functools.cache(lambda: _read(self.warehouse, lambda con: _links_for_mapping(con, flow.name)))

        states = [pl.DataFrame(schema=STATE_SCHEMA)]
        for part in range(self.slices):
            with self.warehouse.connect() as con:
                staged = {
                    t: _read_staged(con, flow, t, self.catalog[t], where=_in_slice(flow, t, part, self.slices))
                    for t in flow.slice_by
                }
                # every slice scans the whole tables: their blocks would stay cached for the next
                _release_buffers(con)
            mapped = flow.mapping(DeclaredTables(flow.name, {**whole, **staged}, links=mapping_links), self.config)
            del staged
            to_reverse = mapped.select(c for c in ("source_id", "_reverse", "_reverse_blocked") if c in mapped.columns)
            links, live, reusable = self._links_and_digests(mapped, requeued)
            rows = encoded(mapped, self.config.field_overrides.get(flow.name), self.check, reusable)
            del mapped, reusable
            plan = classify(
                flow, rows, _with_sent_payloads(self.warehouse, flow, live, rows), attempts, requeued, settle=False
            )
            del rows
            plan = reversals.plan_reversals(flow, to_reverse, plan, links, attempts, last_reversals, requeued)
            with self.warehouse.connect() as con:
                states.append(read_blocker_states(con, plan, flow.name))
                _write_plan(
                    con, self.next_table, with_blocker_states(plan, states[-1]), append=part > 0, checkpoint=True
                )
            del plan
        with self.warehouse.connect() as con:
            self._settle(con)
            con.execute("begin")
            con.execute(f"drop table if exists {qualified(flow.plan_table)}")
            con.execute(
                f"alter table {qualified(self.next_table)} rename to {quote_ident(flow.plan_table.split('.')[1])}"
            )
            con.execute("commit")
            light = ", ".join(quote_ident(c) for c in plan_state.KEPT_COLUMNS)
            kept = con.sql(f"select {light} from {qualified(flow.plan_table)}").pl()
        return kept, pl.concat(states).unique()

    def _links_and_digests(
        self, mapped: pl.DataFrame, requeued: list[str]
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
        """The flow's links of the slice's records, the live ones of them, and the last plan's
        `reusable_hashes` of them, read together: the same links decide which records need no
        encoding and classify them."""
        ids = mapped.select(pl.col("source_id").cast(pl.Utf8)).unique()
        with self.warehouse.connect() as con:
            con.register("_zsync_slice_ids", ids)
            try:
                links = bookkeeping.read_links(con, self.flow.name, _LINK_COLUMNS, ids="_zsync_slice_ids")
                last_planned = plan_state.last_planned(con, self.flow, self.catalog, ids="_zsync_slice_ids")
            finally:
                con.unregister("_zsync_slice_ids")
        live = reversals.live_links(links)
        return links, live, reusable_hashes(last_planned, live, requeued) if last_planned is not None else None

    def _settle(self, con: duckdb.DuckDBPyConnection) -> None:
        """Orphans and waves over the written plan (`settle_parents`), from its children and the
        rows they name; the rows that change are updated in place."""
        table = qualified(self.next_table)
        columns = ("source_id", "label", "action", "reason", "after", "blocked_by_flow", "blocked_by_id", "wave")
        related = con.sql(
            f"select {', '.join(columns)} from {table} "
            f"where after is not null or source_id in (select after from {table} where after is not null)"
        ).pl()
        if related.is_empty():
            return
        # The parents that are linked (live links): a child of one is no orphan.
        linked = con.sql(
            "select source_id from zsync.links where flow = $flow and reversed_at is null "
            f"and source_id in (select after from {table} where after is not null)",
            params={"flow": self.flow.name},
        ).pl()
        settled = settle_parents(related, linked, self.flow.name)
        compared = ("action", "reason", "blocked_by_flow", "blocked_by_id", "wave")
        changed = settled.filter(pl.any_horizontal(pl.col(c).ne_missing(related[c]) for c in compared)).select(
            "source_id", *compared
        )
        if changed.is_empty():
            return
        con.register("_zsync_settled", changed)
        try:
            con.execute(
                f"update {table} as p set action = s.action, reason = s.reason, "
                "blocked_by_flow = s.blocked_by_flow, blocked_by_id = s.blocked_by_id, wave = s.wave, "
                # a row blocked here is no update: it names no changed fields (as `classify`)
                "changed_fields = case when s.action = 'blocked' and p.action != 'blocked' "
                "then []::varchar[] else p.changed_fields end "
                "from _zsync_settled s where p.source_id = s.source_id"
            )
        finally:
            con.unregister("_zsync_settled")
