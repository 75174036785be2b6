"""A plan does not encode again a record unchanged since its sync (engine/plan.py `encoded`,
`reusable_hashes`; engine/payload_json.py `payload_digest`): it compares a digest of the mapped
values with the last plan's, and keeps no payload text for such a record (its link has it).
Everything that could make the skip wrong must make the record be encoded and compared again:
any change of a value (nested, null or swapped), a link that moved, a re-queue, new overrides.

Through `plan_flow` and `push_flow` on a real DuckDB file; the target is an in-memory sink that
follows the Sink contract (the vendor sinks are exercised through both sandboxes elsewhere).
"""

from __future__ import annotations

import json

import polars as pl
import pytest

import zsync_assets.engine.plan as plan_module
from zsync_assets.config import Config, FieldOverrides
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.planning import plan_flow
from zsync_assets.engine.push import push_flow
from zsync_assets.engine.sink import Outcome
from zsync_assets.lib.warehouse import Warehouse, replace_table

GADGET = {"id": pl.Utf8, "name": pl.Utf8, "color": pl.Utf8, "size": pl.Utf8, "city": pl.Utf8}


def _gadgets(tables, config) -> pl.DataFrame:
    gadgets = tables["zuora.gadgets"]
    return gadgets.select(
        pl.col("id").alias("source_id"),
        "name",
        "color",
        "size",
        # nested in a list of objects, as a customer's addresses are
        pl.struct(pl.concat_list(pl.struct(pl.col("city").alias("city"))).alias("addresses")).alias("addressbook"),
    )


FLOW = Flow(
    name="gadgets",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="gadget",
    source_tables=("zuora.gadgets",),
    mapping=_gadgets,
)


class Target:
    """Records by external id, like NetSuite upserts (a field left out keeps its value)."""

    system = "netsuite"

    def __init__(self):
        self.records: dict[str, dict] = {}
        self.sent: list[str] = []

    def instance_id(self):
        return "ACCT1"

    def batch_size(self, config, action):
        return 50

    def parallel_batches(self, config):
        return 1

    def write(self, records):
        out = []
        for rec in records:
            target = rec.target_id or self.records.get(rec.external_id, {}).get("id") or f"T-{rec.source_id}"
            self.records[rec.external_id] = {**self.records.get(rec.external_id, {}), "id": target, **rec.payload}
            self.sent.append(rec.source_id)
            out.append(Outcome(rec.source_id, True, target))
        return out

    def lookup(self, records):
        return {r.source_id: self.records[r.external_id]["id"] for r in records if r.external_id in self.records}

    def reverse(self, records):
        raise AssertionError("gadgets are never reversed")

    def write_back(self, write_back, notices):
        raise AssertionError("gadgets declare no write-back")


@pytest.fixture
def warehouse(warehouse_path):
    return Warehouse(warehouse_path)


@pytest.fixture
def encoded_rows(monkeypatch) -> list[int]:
    """How many rows each plan encoded to text (the work the digest saves)."""
    counts: list[int] = []
    real = plan_module.payload_json

    def counting(mapped, overrides=None):
        counts.append(mapped.height)
        return real(mapped, overrides)

    monkeypatch.setattr(plan_module, "payload_json", counting)
    return counts


def stage(warehouse, rows: dict[str, dict]) -> None:
    frame = pl.DataFrame([{"id": k, **v} for k, v in rows.items()], schema=GADGET)
    with warehouse.connect() as con:
        replace_table(con, "zuora.gadgets", frame)


BASE: dict[str, dict] = {
    "g1": {"name": "one", "color": "red", "size": "S", "city": "Oslo"},
    "g2": {"name": "two", "color": "blue", "size": "M", "city": "Rome"},
    "g3": {"name": "three", "color": None, "size": "L", "city": None},
}


def synced(warehouse, rows, config=None) -> Target:
    """`rows` staged, planned and pushed, then planned once more: the state of a settled sync."""
    target = Target()
    stage(warehouse, rows)
    plan_flow(FLOW, warehouse, config or Config())
    assert push_flow(FLOW, warehouse, target, config or Config()).succeeded == len(rows)
    plan_flow(FLOW, warehouse, config or Config())
    return target


def by_id(plan: pl.DataFrame) -> dict[str, dict]:
    return {r["source_id"]: r for r in plan.to_dicts()}


def link_hashes(warehouse) -> dict[str, str]:
    with warehouse.connect() as con:
        return {r["source_id"]: r["payload_hash"] for r in bookkeeping.read_links(con, FLOW.name).to_dicts()}


def test_an_unchanged_record_is_not_encoded_again_and_its_plan_row_keeps_no_text(warehouse, encoded_rows):
    synced(warehouse, BASE)
    encoded_rows.clear()

    plan = by_id(plan_flow(FLOW, warehouse, Config()).plan)

    assert encoded_rows in ([], [0])  # nothing encoded: every record's digest and hash were known
    hashes = link_hashes(warehouse)
    for source_id in BASE:
        assert (plan[source_id]["action"], plan[source_id]["reason"]) == ("skip", "unchanged since the last sync")
        assert plan[source_id]["payload"] is None
        assert plan[source_id]["payload_hash"] == hashes[source_id]


def payload_of(gadget: dict) -> dict:
    """The payload the mapping makes of a staged gadget, nulls omitted."""
    payload = {k: gadget[k] for k in ("name", "color", "size") if gadget[k] is not None}
    # an object left empty stays as a list element (engine/payload_json.py)
    address = {"city": gadget["city"]} if gadget["city"] is not None else {}
    return {**payload, "addressbook": {"addresses": [address]}}


@pytest.mark.parametrize(
    ("edit", "changed"),
    [
        ({"name": "one!"}, ["name"]),  # a plain value
        ({"city": "Bergen"}, ["addressbook"]),  # one inside a list of objects
        # a value removed: omitted from the payload, never blanked on the target, so no field is
        # named, but the record is sent (its payload differs from the one synced)
        ({"color": None}, []),
        ({"color": "S", "size": "red"}, ["color", "size"]),  # two columns' values swapped
    ],
)
def test_any_change_of_a_mapped_value_is_encoded_and_sent(warehouse, encoded_rows, edit, changed):
    target = synced(warehouse, BASE)
    edited = {**BASE, "g1": {**BASE["g1"], **edit}}
    stage(warehouse, edited)
    encoded_rows.clear()

    plan = by_id(plan_flow(FLOW, warehouse, Config()).plan)

    assert sum(encoded_rows) == 1
    assert (plan["g1"]["action"], plan["g1"]["changed_fields"]) == ("update", changed)
    assert json.loads(plan["g1"]["payload"]) == payload_of(edited["g1"])
    assert {plan[s]["action"] for s in ("g2", "g3")} == {"skip"}
    push_flow(FLOW, warehouse, target, Config())
    assert payload_of(edited["g1"]).items() <= target.records["zsync:gadgets:g1"].items()


def test_a_record_whose_link_moved_since_the_last_plan_is_encoded_and_compared_again(warehouse, encoded_rows):
    synced(warehouse, BASE)
    with warehouse.connect() as con:  # its counterpart written with another payload since (another run)
        con.execute("update zsync.links set payload_hash = 'elsewhere', payload = '{}' where source_id = 'g2'")
    encoded_rows.clear()

    plan = by_id(plan_flow(FLOW, warehouse, Config()).plan)

    assert sum(encoded_rows) == 1
    assert plan["g2"]["action"] == "update"
    assert json.loads(plan["g2"]["payload"]) == payload_of(BASE["g2"])


def test_a_requeued_unchanged_record_is_planned_with_its_payload(warehouse, encoded_rows):
    synced(warehouse, BASE)
    with warehouse.connect() as con:
        bookkeeping.requeue(con, FLOW.name, ["g3"])
    encoded_rows.clear()

    plan = by_id(plan_flow(FLOW, warehouse, Config()).plan)

    assert sum(encoded_rows) == 1
    assert (plan["g3"]["action"], plan["g3"]["reason"]) == ("update", "re-queued by an operator")
    assert json.loads(plan["g3"]["payload"]) == payload_of(BASE["g3"])


def test_new_field_overrides_encode_every_record_again(warehouse, encoded_rows):
    synced(warehouse, BASE)
    config = Config(field_overrides={FLOW.name: FieldOverrides(constants={"isInactive": False})})
    encoded_rows.clear()

    plan = by_id(plan_flow(FLOW, warehouse, config).plan)

    assert sum(encoded_rows) == len(BASE)
    assert {r["action"] for r in plan.values()} == {"update"}
    assert all(json.loads(r["payload"])["isInactive"] is False for r in plan.values())


def test_a_plan_table_without_digests_is_planned_in_full_and_then_reused(warehouse, encoded_rows):
    """A plan written before plans kept digests (an upgrade): nothing to reuse, nothing resent."""
    synced(warehouse, BASE)
    with warehouse.connect() as con:
        con.execute(f"alter table {FLOW.plan_table} drop column input_digest")
    encoded_rows.clear()

    first = by_id(plan_flow(FLOW, warehouse, Config()).plan)
    second = by_id(plan_flow(FLOW, warehouse, Config()).plan)

    assert encoded_rows[0] == len(BASE) and sum(encoded_rows[1:]) == 0
    assert {r["action"] for r in [*first.values(), *second.values()]} == {"skip"}


def test_a_record_encoded_again_is_compared_with_the_text_its_link_holds_now(warehouse):
    """classify reads a link's text only for records encoded again (`_with_sent_payloads`), after
    the links were read: a link a push rewrote in between lends its new text to no old hash."""
    from zsync_assets.engine.planning import _with_sent_payloads

    synced(warehouse, BASE)
    with warehouse.connect() as con:
        live = bookkeeping.read_links(con, FLOW.name, ("source_id", "target_id", "payload_hash"))
        sent = dict(con.execute("select source_id, payload from zsync.links").fetchall())
        con.execute("update zsync.links set payload_hash = 'rewritten', payload = '{}' where source_id = 'g2'")
    rows = pl.DataFrame(
        {"source_id": ["g1", "g2", "g3"], "payload": ["{}", "{}", None]},
        schema={"source_id": pl.Utf8, "payload": pl.Utf8},
    )

    texts = dict(_with_sent_payloads(warehouse, FLOW, live, rows).select("source_id", "payload").iter_rows())

    # g1: encoded, its link unchanged; g2: its link rewritten since it was read; g3: not encoded
    assert texts == {"g1": sent["g1"], "g2": None, "g3": None}


def test_a_requeued_unchanged_record_is_sent_once_and_then_skips(warehouse):
    """`zsync requeue` of a record synced as it is (say, over a hand edit on the target): push
    sends it although its link holds the same hash. A push of the same plan after that (a second
    run at once) finds it sent since the request and sends nothing."""
    target = synced(warehouse, BASE)
    target.sent.clear()
    with warehouse.connect() as con:
        bookkeeping.requeue(con, FLOW.name, ["g3"])
    assert by_id(plan_flow(FLOW, warehouse, Config()).plan)["g3"]["action"] == "update"

    first = push_flow(FLOW, warehouse, target, Config())
    again = push_flow(FLOW, warehouse, target, Config())

    assert target.sent == ["g3"]
    assert (first.succeeded, first.already_synced, again.succeeded, again.already_synced) == (1, 0, 0, 1)
    after = by_id(plan_flow(FLOW, warehouse, Config()).plan)
    assert (after["g3"]["action"], after["g3"]["reason"]) == ("skip", "unchanged since the last sync")
    with warehouse.connect() as con:
        assert bookkeeping.read_requeued(con, FLOW.name).is_empty()


def test_a_written_plan_holds_every_planned_row_and_leaves_the_instance_at_duckdbs_defaults(warehouse):
    """The plan is written with instance-wide settings (engine/planning.py `_write_plan`: no
    dict_fsst, a memory cap, no insertion order); the process's next unit of work gets the same
    DuckDB instance (lib/warehouse.py), and a staging upsert or a log write after a plan must not
    run capped or unordered. The table holds each planned row once, whatever its order."""
    settings = (
        "select current_setting('memory_limit'), current_setting('preserve_insertion_order'), "
        "current_setting('disabled_compression_methods')"
    )
    with warehouse.connect() as con:
        [defaults] = con.execute(settings).fetchall()
    stage(warehouse, BASE)
    plan = plan_flow(FLOW, warehouse, Config()).plan

    with warehouse.connect() as con:
        assert con.execute(settings).fetchall() == [defaults]
        written = con.sql(f"select * from {FLOW.plan_table}").pl()
    assert defaults[1] is True
    assert written.sort("source_id").equals(plan.sort("source_id"))
