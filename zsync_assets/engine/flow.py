"""A flow, declared: what it reads, how it maps, where it writes, what it waits for.

Adding an integration point means one small file under `zsync_assets/flows/` that builds a
`Flow` plus a pure polars mapping function; the engine turns it into plan/push assets.

The mapping contract. `mapping(tables, config)` gets the staged frames by table name
(`tables["zuora.accounts"]`, also `"zsync.links"` rows of every flow) and returns one row per
source record with:

- `source_id` (str): the source record's id;
- payload columns: one per target field, named as the target expects; a null is OMITTED
  from the payload, so zsync never writes a null over a value someone set in the target;
  struct columns become nested objects (RecordRefs, address lists);
- control columns, all optional, all starting with `_`:
  - `_skip`: why this record is not synced (plain words), null when it is;
  - `_blocked`: why it cannot be synced yet (an unresolvable reference, naming the value);
  - `_only_if_linked`: the record is only sent if it was synced before (e.g. a Canceled
    account becomes inactive); otherwise it is skipped with this reason;
  - `_match_target_id` + `_match`: an existing target record this source record is the same
    as (first sync against pre-existing data): linked and updated, never duplicated;
  - `_after`: the source id of another record of this flow that must land first (a parent);
  - `_record_type`: the target record type of this row when it differs per row (items);
  - `_label`: how people name the record, human keys first and the id last
    (`A00000012 (Acme, 8a8a...)`, built with `flows.mapping.common.record_name`);
  - `_blocked_by_flow` + `_blocked_by_id`: the record of another flow that `_blocked` waits
    for (the invoice's account): the plan adds that record's own state and reason to the
    reason, and `zsync why` follows the chain;
  - `_reverse`: the source record was canceled or deleted after it synced, and its
    counterpart must be reversed (plain words, e.g. "payment was canceled in Zuora"). A
    linked record is planned `reverse` and the target sink undoes its counterpart
    (`Sink.reverse`: NetSuite deletes it, Zuora cancels it); a record never synced is skipped
    with this reason. The row is never created or updated. Set it on transactions only:
    zsync never reverses a master record (engine/reversals.py);
  - `_reverse_blocked`: why that reversal must wait (e.g. a refund of the payment still
    stands in the target and goes first); planned `blocked` until it is null.

Link references. A payload value `{"$link": {"flow": f, "source_id": s}}` stands for the
target id that record `s` of flow `f` has in `zsync.links`; push replaces it just before the
call, also with links made earlier in the same push (a parent created in wave 0 and its
child in wave 1). The plan hashes the reference, not the id, so the hash stays put once the
referenced record is linked. Build them with `flows.mapping.common.link_ref`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from zsync_assets.config import Config

System = Literal["zuora", "netsuite"]

MappingFunction = Callable[[Mapping[str, pl.DataFrame], Config], pl.DataFrame]
# The target system's plan-time check of mapped payloads: given the mapped frame, an expression
# naming what the target could not hold in a row (field, value, limit), or null; None: nothing to
# check. Supplied per target system by `zsync_assets/targets/field_rules.py`, so the engine
# knows no vendor's field names.
PayloadCheck = Callable[[pl.DataFrame], "pl.Expr | None"]

LINK_REF = "$link"
# Every NetSuite record zsync creates carries the externalId `zsync:<flow>:<source id>`
# (Flow.external_id): one whose externalId starts so was written by zsync.
EXTERNAL_ID_PREFIX = "zsync:"

CONTROL_COLUMNS = (
    "_skip",
    "_blocked",
    "_only_if_linked",
    "_match_target_id",
    "_match",
    "_after",
    "_record_type",
    "_label",
    "_blocked_by_flow",
    "_blocked_by_id",
    "_reverse",
    "_reverse_blocked",
)


@dataclass(frozen=True)
class WriteBack:
    """After a push, the source record learns its counterpart (the source system's sink does it).

    `record_type` is the source system's record type that receives the link, e.g. "Account";
    `field` the field of it that holds the target id, when the source system has no standard
    one (a NetSuite custom field, e.g. "custentity_zsync_zuora_id"; Zuora's connector fields
    are the same on every object: targets/zuora.py).
    """

    record_type: str
    field: str | None = None


@dataclass(frozen=True)
class CustomFields:
    """The custom fields a flow reads or writes, which each system must define before it syncs
    (`zsync check` asks both: cli/preflight.py). Zuora describes its fields per object, NetSuite
    lists its script ids per kind (the prefix says which)."""

    # object -> fields: {"Account": (...)}; left out of the hash (a dict has none), so a Flow stays hashable
    zuora: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    netsuite: tuple[str, ...] = ()  # script ids: ("custentity_zsync_zuora_id",)


@dataclass(frozen=True)
class SliceBy:
    """Which of its flow's records a staged row belongs to, so that a plan of many records can map
    them a slice at a time (engine/planning.py): `column` holds the record's source id, or, with
    `parent`, the row belongs to the rows of that staged table whose `parent_columns` hold the
    value of its `column` (an invoice's lines: `invoice_id` of `zuora.invoices.id`; an account's
    contacts: `id` of `zuora.accounts.bill_to_id` or `sold_to_id`). A row several records name
    is read with each of them."""

    column: str
    parent: str | None = None
    parent_columns: tuple[str, ...] = ("id",)


@dataclass(frozen=True)
class Flow:
    name: str  # "customers"; plan table zsync.plan_<name>, asset keys plan/<name>, push/<name>
    source_system: System
    target_system: System
    # What the target sink writes, e.g. "customer", "Account"; the sink's routes and the table the
    # audit finds the records in follow from the name (targets/zuora.py `route`, `staged_table`).
    target_record_type: str
    source_tables: tuple[str, ...]  # staged tables the mapping reads, e.g. ("zuora.accounts",)
    mapping: MappingFunction
    reference_tables: tuple[str, ...] = ()  # target-side lookups: ("netsuite.subsidiaries",)
    # The prefix of the deterministic target key: NetSuite externalId `zsync:<prefix>:<source id>`.
    external_id_prefix: str = ""
    depends_on: tuple[str, ...] = ()  # flows whose push must finish first
    # Other assets the plan waits for, as "system/what" (engine/catalog.py `system_key`): e.g.
    # "zuora/deletions", whose `_deleted_at` marks the mapping reads to reverse a deleted
    # document's counterpart.
    waits_for: tuple[str, ...] = ()
    write_back: WriteBack | None = None
    enabled: Callable[[Config], bool] = field(default=lambda config: True)
    description: str = ""
    # Record types some rows write instead (`_record_type`), e.g. a negative invoice -> creditMemo:
    # the audit looks for a link's target in each of their staged tables.
    also_writes: tuple[str, ...] = ()
    custom_fields: CustomFields = field(default_factory=CustomFields)
    # The staged columns the mapping reads, per table: a table named here is read with only those
    # of them that are staged, one not named is read whole. Zuora's invoice item has ~30 columns
    # and the mapping reads 9: at a million lines the rest were a gigabyte of the plan's peak.
    # A mapping that reads a column left out fails on it (polars: column not found), so list
    # here exactly what the mapping's own column lists name.
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    # How each source table's rows divide among the flow's records (`SliceBy`), for a mapping
    # that reads nothing of other records than theirs: such a plan of a million records maps,
    # encodes and writes them a slice at a time, so its memory follows the slice, not the
    # tenant. Tables not named (reference tables) are read whole, once. Empty: planned at once.
    slice_by: Mapping[str, SliceBy] = field(default_factory=dict, hash=False)

    def columns_read(self, table: str, staged: Sequence[str]) -> list[str]:
        """The columns of a staged table (`staged`: its columns) the mapping gets: those `columns`
        names that are staged; all of them when it names none for the table, or when none it names
        is staged (polars has no frame of rows without columns)."""
        wanted = self.columns.get(table)
        return [c for c in staged if wanted is None or c in wanted] or list(staged)

    @property
    def plan_table(self) -> str:
        return f"zsync.plan_{self.name}"

    @property
    def target_record_types(self) -> tuple[str, ...]:
        return (self.target_record_type, *self.also_writes)

    @property
    def tables(self) -> tuple[str, ...]:
        return self.source_tables + self.reference_tables

    def external_id(self, source_id: str) -> str:
        """Deterministic target key: a replay after a crash finds or updates the same record."""
        return f"{EXTERNAL_ID_PREFIX}{self.external_id_prefix or self.name}:{source_id}"

    def external_ids(self, source_ids: pl.Expr) -> pl.Expr:
        """`external_id` over a column of source ids (a mapping naming records of its own flow)."""
        return pl.lit(self.external_id("")) + source_ids
