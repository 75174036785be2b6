"""The checks on every push: failed records fail an ERROR check, blocked ones a WARN check,
links really resolve (the NetSuite-born flows too), and no check passes on nothing.

End to end: real materializations of staging, plan, push and the checks through both sandboxes;
hand-built bookkeeping only where a flow's records need a long arrangement (NetSuite refunds,
credit memos entered in NetSuite).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl
import pytest

from zsync_assets.audit import views as audit
from zsync_assets.defs.checks import (
    FLOW_CHECKS,
    evaluate_flow_checks,
    flow_checks,
    flow_checks_step,
    reconciliation_check,
)
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.assets import push_key, table_key
from zsync_assets.flows import all_flows
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.warehouse import Warehouse, upsert
from zsync_assets_tests.fixtures.settlements import add_netsuite_payment

SKIPPED = "skipped: nothing to compare because "


def _checks(env) -> list:
    names = [f.name for f in env.flows]
    checks = [flow_checks_step(name) for name in names]
    if "invoices" in names:
        checks.append(reconciliation_check(push_key("invoices")))
    return checks


def _check(flow: str, name: str) -> dg.AssetChecksDefinition:
    return next(c for c in flow_checks(flow) if {spec.name for spec in c.check_specs} == {name})


def _assets(env) -> list:
    """What the flows need staged, plan and push, and the staging of every table their records
    land in (sync_all stages it all; links_resolve compares links with it)."""
    targets = {table_key(t) for side in audit.flow_sides(env.flows) for t in side.target_tables}
    return env.assets(env.flows, also_staging=targets)


def _evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.path[-1].removeprefix("push_"), e.check_name): e for e in result.get_asset_check_evaluations()}


def test_failed_and_blocked_records_fail_their_checks_and_nothing_passes_on_nothing(make_sync_env):
    env = make_sync_env()
    rejected = env.create_account(name="Rejected Subsidiary", accountNumber="BAD-CHECK", Subsidiary__NS="999")
    unmapped = env.create_account(
        name="Unmapped Subsidiary", accountNumber="UNMAPPED-CHECK", Subsidiary__NS="No Such Subsidiary"
    )
    first = dg.materialize([*_assets(env), *_checks(env)], resources=env.resources())
    assert first.success
    checks = _evaluations(first)

    failed = checks[("customers", "no_failed_records")]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.metadata["count"].value == 1
    assert failed.metadata["first_records"].value[0]["source_id"] == rejected

    blocked = checks[("customers", "no_blocked_records")]
    assert not blocked.passed and blocked.severity == dg.AssetCheckSeverity.WARN
    assert unmapped in {r["source_id"] for r in blocked.metadata["first_records"].value}
    assert any(
        "no NetSuite subsidiary named 'No Such Subsidiary'" in r["reason"]
        for r in blocked.metadata["top_reasons"].value
    )

    # Every link is younger than the target's staging in this run: nothing to compare, said so.
    for key in (("customers", "links_resolve"), ("invoices", "links_resolve"), ("invoices", "invoice_amounts_match")):
        evaluation = checks[key]
        assert evaluation.passed and evaluation.description.startswith(SKIPPED), (key, evaluation.description)
        assert evaluation.metadata["checked"].value == 0 and evaluation.metadata["skipped"].value is True
        reason = evaluation.metadata["nothing_to_compare"].value
        assert reason and evaluation.description == SKIPPED + reason

    # The plan asset shows its blocked and skipped records as a table, and the config it used.
    plan = first.asset_materializations_for_node("plan__plan_customers")[0].metadata
    table = plan["blocked_and_skipped"].value
    assert {r.data["source_id"] for r in table.records} >= {unmapped}
    assert [c.name for c in table.schema.columns] == ["source_id", "label", "action", "reason"]
    assert (
        "UNMAPPED-CHECK (Unmapped Subsidiary" in {r.data["source_id"]: r.data["label"] for r in table.records}[unmapped]
    )
    assert "from zsync.plan_customers" in plan["blocked_and_skipped_sql"].value
    assert plan["zsync/config"].value["tax_item_by_tax_code"]["source"].startswith("sandbox settings")

    second = dg.materialize([*_assets(env), *_checks(env)], resources=env.resources())
    checks = _evaluations(second)
    for key in (("customers", "links_resolve"), ("invoices", "links_resolve"), ("invoices", "invoice_amounts_match")):
        evaluation = checks[key]
        assert evaluation.passed and not evaluation.description.startswith(SKIPPED), (key, evaluation.description)
        assert evaluation.metadata["checked"].value > 0 and evaluation.metadata["skipped"].value is False


def test_a_broken_link_of_a_netsuite_born_payment_fails_links_resolve(make_sync_env):
    env = make_sync_env(payments_ns_to_zuora=True, default_tax_item="CA State Tax")
    env.run(["customers", "items", "invoices"])
    entered = add_netsuite_payment(env)
    env.run()
    env.run()  # stages the Zuora payment zsync created, after its link
    links_resolve = _check("netsuite_payments", "links_resolve")
    resource = WarehouseResource(path=str(env.warehouse_path))
    result = links_resolve(warehouse=resource)
    assert result.passed and result.metadata["checked"].value == 1, result.description
    zuora_payment = env.links("netsuite_payments").filter(pl.col("source_id") == entered["payment_id"])["target_id"][0]

    with env.warehouse.connect() as con:  # someone deleted the payment in Zuora (as staged)
        con.execute("delete from zuora.payments where id = ?", [zuora_payment])
    result = links_resolve(warehouse=resource)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["first_records"].value[0]["target_id"] == zuora_payment


@pytest.mark.parametrize(
    ("flow", "target_table"),
    [("netsuite_refunds", "zuora.refunds"), ("netsuite_credit_memos", "zuora.invoice_item_adjustments")],
)
def test_links_resolve_of_the_other_netsuite_born_flows_checks_their_zuora_tables(flow, target_table, warehouse_path):
    staged_at = datetime.now(UTC)
    warehouse = Warehouse(warehouse_path)
    with warehouse.connect() as con:
        upsert(con, target_table, pl.DataFrame({"id": ["z-kept"], "_staged_at": [staged_at]}))
        for source_id, target_id in (("ns-1", "z-kept"), ("ns-2", "z-gone")):
            bookkeeping.upsert_links(
                con,
                [
                    {
                        "flow": flow,
                        "source_system": "netsuite",
                        "source_id": source_id,
                        "target_system": "zuora",
                        "target_id": target_id,
                        "origin": "netsuite",
                        "payload_hash": "h",
                        "synced_at": staged_at - timedelta(hours=1),
                    }
                ],
            )
        audit.refresh_views(con, audit.flow_sides(f for f in all_flows() if f.name == flow))
    links_resolve = _check(flow, "links_resolve")
    result = links_resolve(warehouse=WarehouseResource(path=str(warehouse_path)))
    assert not result.passed and result.metadata["checked"].value == 2
    assert [r["target_id"] for r in result.metadata["first_records"].value] == ["z-gone"]


def test_every_flow_declares_staged_tables_on_both_sides():
    """The audit's registry is derived from the flow declarations: every flow, both directions."""
    from zsync_assets.defs.netsuite.columns import COLUMNS as NETSUITE
    from zsync_assets.defs.zuora.columns import COLUMNS as ZUORA

    staged = {f"netsuite.{t}" for t in NETSUITE} | {f"zuora.{t}" for t in ZUORA}
    for side in audit.flow_sides(all_flows()):
        assert side.source_table in staged, side
        assert side.target_tables and set(side.target_tables) <= staged, side


@pytest.mark.parametrize("flow", all_flows(), ids=lambda f: f"{f.name}-{f.source_system}")
def test_every_mapping_reads_only_the_tables_its_flow_declares(flow):
    """An undeclared table reads as empty (no rows, no dependency on its staging): the invoices
    mapping once looked for skipped accounts in a table it never got, and showed every invoice of
    a deliberately unsynced account as blocked. The plan's table mapping refuses such a read."""
    from zsync_assets.config import Config
    from zsync_assets.engine.planning import DeclaredTables, UndeclaredTable

    tables = DeclaredTables(flow.name, {name: pl.DataFrame() for name in (*flow.tables, "zsync.links")})
    flow.mapping(tables, Config(customer_master=flow.source_system if flow.name == "customers" else "zuora"))
    with pytest.raises(UndeclaredTable, match=f"flow {flow.name} reads zuora.not_declared without declaring it"):
        tables.get("zuora.not_declared")


def test_links_are_read_for_a_mapping_only_when_it_asks_and_once():
    """A million links are 0.8 GB: the plan hands them to a mapping on its first read of
    `zsync.links` (the customers mapping never reads them), and never reads them twice."""
    from zsync_assets.config import Config
    from zsync_assets.engine.planning import DeclaredTables
    from zsync_assets.flows.customers import CUSTOMERS_TO_NETSUITE as customers
    from zsync_assets.flows.invoices import INVOICES as invoices

    reads = []
    links = pl.DataFrame({"flow": ["customers"], "source_system": ["zuora"], "source_id": ["a"], "target_id": ["1"]})

    def read_links() -> pl.DataFrame:
        reads.append(1)
        return links

    customer_tables = DeclaredTables(customers.name, {n: pl.DataFrame() for n in customers.tables}, links=read_links)
    customers.mapping(customer_tables, Config(customer_master="zuora"))
    assert reads == [] and "zsync.links" not in customer_tables
    invoice_tables = DeclaredTables(invoices.name, {n: pl.DataFrame() for n in invoices.tables}, links=read_links)
    invoices.mapping(invoice_tables, Config(customer_master="zuora"))
    assert reads == [1] and invoice_tables["zsync.links"] is links and reads == [1]


def test_every_write_back_to_netsuite_names_the_custom_field_that_holds_the_link():
    """NetSuite has no standard field for another system's id: the declaration names it (Zuora's
    connector fields, IntegrationId__NS and the rest, are the same on every Zuora object)."""
    for flow in all_flows():
        if flow.write_back and flow.source_system == "netsuite":
            assert flow.write_back.field, f"{flow.name}: WriteBack({flow.write_back.record_type!r}) names no field"


def _customers_bookkeeping(con, staged_at: datetime) -> None:
    """One customer of each kind, by hand: linked, blocked and failed (a plan, links, a push log, both sides staged)."""
    accounts = pl.DataFrame({"id": ["a-1", "a-2"], "name": ["Kept", "Blocked"], "_staged_at": staged_at})
    deleted_at = pl.lit(None, pl.Datetime("us", "UTC")).alias("_deleted_at")
    upsert(con, "zuora.accounts", accounts.with_columns(deleted_at))
    customers = pl.DataFrame({"internal_id": ["n-1"], "entity_id": ["Kept"], "_staged_at": staged_at})
    upsert(con, "netsuite.customers", customers.with_columns(deleted_at), key="internal_id")
    link = {"flow": "customers", "source_system": "zuora", "source_id": "a-1", "target_system": "netsuite"}
    bookkeeping.upsert_links(
        con,
        [
            {
                **link,
                "target_id": "n-1",
                "origin": "zuora",
                "payload_hash": "h",
                "synced_at": staged_at + timedelta(hours=1),
            }
        ],
    )
    failed = {"run_id": "r", "flow": "customers", "source_id": "a-2", "action": "create", "status": "failed"}
    bookkeeping.log_attempts(con, [{**failed, "error_code": "USER_ERROR", "error_class": "data", "message": "no"}])
    con.execute(
        "create table zsync.plan_customers as select * from (values "
        "('a-1', 'skip', 'unchanged', 'n-1', 'h', null), ('a-2', 'blocked', 'no subsidiary', null, null, null)) "
        "t(source_id, action, reason, target_id, payload_hash, last_error_code)"
    )


# One edit to each input the checks read (audit/carry_over.py), as the warehouse would see it.
EDITS = {
    "plan": "update zsync.plan_customers set reason = 'no NetSuite currency' where source_id = 'a-2'",
    "links": "update zsync.links set payload_hash = 'h2'",
    "push log": 'insert into zsync.push_log (flow, source_id, action, status, "at") '
    "values ('customers', 'a-2', 'create', 'started', now())",
    "source table": "update zuora.accounts set _deleted_at = now() where id = 'a-1'",
    "target table": "delete from netsuite.customers",
    # A later staging makes the link older than it: now there is something to compare.
    "a link becomes comparable": "update netsuite.customers set _staged_at = now() + interval 2 hour",
}


@pytest.mark.parametrize("edit", EDITS)
def test_a_check_is_carried_over_until_one_of_its_inputs_changes(edit, warehouse_path):
    """A run that changes nothing re-emits the last findings (a failure keeps failing), saying
    from when; an edit to any input evaluates them afresh. Staging the same values again
    (only `_staged_at` moves) is no change."""
    staged_at = datetime.now(UTC) - timedelta(hours=3)
    warehouse = Warehouse(warehouse_path)
    with warehouse.connect() as con:
        _customers_bookkeeping(con, staged_at)
    resource = WarehouseResource(path=str(warehouse_path))

    def evaluate() -> dict[str, dg.AssetCheckResult]:
        return {str(r.check_name): r for r in evaluate_flow_checks(resource, "customers", list(FLOW_CHECKS))}

    first = evaluate()
    with warehouse.connect() as con:  # staged again, same values, before the link was made
        con.execute("update netsuite.customers set _staged_at = ?", [staged_at - timedelta(minutes=90)])
        con.execute("update netsuite.customers set _staged_at = ?", [staged_at])
    again = evaluate()

    assert not first["no_failed_records"].passed and first["no_failed_records"].metadata["count"].value == 1
    for name, result in again.items():
        assert result.metadata["carried_over"].value is True, name
        assert first[name].metadata["carried_over"].value is False, name
        assert (result.passed, result.severity) == (first[name].passed, first[name].severity), name
        assert result.metadata["first_records"].value == first[name].metadata["first_records"].value, name
        evaluated_at = first[name].metadata["evaluated_at"].value
        assert result.metadata["evaluated_at"].value == evaluated_at, name
        when = datetime.fromtimestamp(evaluated_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        carried = f"; carried over from its evaluation at {when} UTC, nothing it reads has changed since"
        assert result.description == first[name].description + carried, (name, result.description)

    with warehouse.connect() as con:
        con.execute(EDITS[edit])
    for name, result in evaluate().items():
        assert result.metadata["carried_over"].value is False, (edit, name)


def test_the_audit_views_asset_keeps_its_summary_until_a_plan_link_or_attempt_changes(warehouse_path):
    from zsync_assets.defs.checks import audit_views_asset

    warehouse = Warehouse(warehouse_path)
    with warehouse.connect() as con:
        _customers_bookkeeping(con, datetime.now(UTC) - timedelta(hours=3))
    views = audit_views_asset(["customers"])
    resource = WarehouseResource(path=str(warehouse_path))

    def summary() -> tuple[dict[str, int], float]:
        metadata = views(warehouse=resource).metadata
        counts = {r["status"]: r["records"] for r in metadata["status_by_flow"].value if r["flow"] == "customers"}
        return counts, metadata["status_by_flow_at"].value

    first, counted_at = summary()
    assert first == {"synced": 1, "failed": 1}
    assert summary() == (first, counted_at)
    with warehouse.connect() as con:  # the failed record is sent again and succeeds
        bookkeeping.log_attempts(
            con, [{"flow": "customers", "source_id": "a-2", "action": "create", "status": "succeeded"}]
        )
    after, recounted_at = summary()
    assert after == {"synced": 1, "blocked": 1} and recounted_at > counted_at
