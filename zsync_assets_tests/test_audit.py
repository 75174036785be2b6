"""The `audit.*` views and the flow checks, over real DuckDB files.

Hand-built bookkeeping rows where a case is hard to reach through the sandboxes (an unanswered
attempt, a flow that does not exist yet), and a real sync against both sandboxes for the rest.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import polars as pl
import pytest
from click.testing import CliRunner

from zsync_assets.audit import views as audit
from zsync_assets.audit.checks import SAMPLE, blocked_records, broken_links, failed_records, invoice_differences
from zsync_assets.cli import main
from zsync_assets.defs.checks import flow_checks, flow_checks_step, reconciliation_check
from zsync_assets.engine import bookkeeping
from zsync_assets.engine.catalog import push_key, table_key
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.warehouse import Warehouse, replace_table, upsert

STAGED_AT = datetime.now(UTC).replace(microsecond=0)
T0 = STAGED_AT - timedelta(days=30)
CUSTOMERS = audit.FlowSides("customers", "zuora", "netsuite")
ITEMS = audit.FlowSides("items", "zuora", "netsuite")
INVOICES = audit.FlowSides("invoices", "zuora", "netsuite")


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _log(
    con,
    source_id: str,
    minutes: int,
    status: str,
    *,
    action: str = "create",
    code: str | None = None,
    error_class: str | None = None,
    target_id: str | None = None,
    flow: str = "customers",
) -> None:
    bookkeeping.log_attempts(
        con,
        [
            {
                "run_id": f"run-{minutes}",
                "flow": flow,
                "source_id": source_id,
                "action": action,
                "status": status,
                "error_code": code,
                "error_class": error_class,
                "message": f"{code} message" if code else None,
                "target_id": target_id,
                "attempt_key": f"key-{source_id}",
                "payload_hash": f"h-{source_id}",
                "at": _at(minutes),
            }
        ],
    )


def _link(
    con, source_id: str, target_id: str, minutes: int, *, flow: str = "customers", payload_hash: str | None = None
) -> None:
    bookkeeping.upsert_links(
        con,
        [
            {
                "flow": flow,
                "source_system": "zuora",
                "source_id": source_id,
                "target_system": "netsuite",
                "target_id": target_id,
                "origin": "zuora",
                "payload_hash": payload_hash or f"h-{source_id}",
                "synced_at": _at(minutes),
            }
        ],
    )


def _plan(con, flow: str, rows: list[tuple[str, str, str | None]]) -> None:
    replace_table(
        con,
        f"zsync.plan_{flow}",
        pl.DataFrame(
            [
                {
                    "source_id": s,
                    "action": a,
                    "reason": r,
                    "target_id": None,
                    "payload_hash": f"h-{s}",
                    "last_error_code": None,
                }
                for s, a, r in rows
            ]
        ),
    )


def _status(warehouse: Warehouse) -> dict[str, dict]:
    rows = warehouse.query("select * from audit.sync_status order by source_id").to_dicts()
    return {r["source_id"]: r for r in rows}


def test_every_view_exists_on_an_empty_warehouse_and_is_empty(warehouse_path):
    warehouse = Warehouse(warehouse_path)
    views = audit.refresh(warehouse, [CUSTOMERS])
    assert views == [f"audit.{v}" for v in audit.VIEWS]
    for view in views:
        assert warehouse.query(f"select count(*) as n from {view}")["n"][0] == (1 if view == "audit.flows" else 0)
    assert audit.refresh(warehouse, [CUSTOMERS]) == views  # idempotent


def test_sync_status_failures_and_blocked_from_the_bookkeeping_tables(warehouse_path):
    warehouse = Warehouse(warehouse_path)
    with warehouse.connect() as con:
        _plan(
            con,
            "customers",
            [
                ("synced", "create", None),
                ("rejected", "blocked", "rejected by netsuite: INVALID_KEY_OR_REF: ..."),
                ("retried-ok", "update", "retry after transient 503"),
                ("orphan", "blocked", "parent p1 is not synced"),
                ("inactive", "skip", "SynctoNetSuite__NS is No"),
                ("new", "create", None),
                ("unanswered", "create", None),
            ],
        )
        _log(con, "synced", 0, "started")
        _log(con, "synced", 1, "succeeded", target_id="41")
        _link(con, "synced", "41", 1)
        for minutes in (0, 10):  # rejected twice for its data
            _log(con, "rejected", minutes, "started")
            _log(con, "rejected", minutes + 1, "failed", code="INVALID_KEY_OR_REF", error_class="data")
        _log(con, "retried-ok", 0, "failed", code="HTTP_503", error_class="transient")
        _log(con, "retried-ok", 5, "succeeded", target_id="42")
        _link(con, "retried-ok", "42", 5)
        _log(con, "unanswered", 0, "failed", code="HTTP_503", error_class="transient")
        _log(con, "unanswered", 3, "started")
        audit.refresh_views(con, [CUSTOMERS])

    status = _status(warehouse)
    assert {k: v["status"] for k, v in status.items()} == {
        "synced": "synced",
        "rejected": "failed",
        "retried-ok": "synced",
        "orphan": "blocked",
        "inactive": "skipped",
        "new": "pending",
        "unanswered": "pending",
    }
    assert status["synced"]["target_id"] == "41" and status["synced"]["source_system"] == "zuora"
    assert "looks the record up" in status["unanswered"]["reason"]
    assert status["retried-ok"]["error_code"] is None  # a later success clears the error

    failures = warehouse.query("select * from audit.failures")
    assert failures.select("source_id", "error_code", "error_class", "failed_attempts").rows() == [
        ("rejected", "INVALID_KEY_OR_REF", "data", 2)
    ]
    blocked = warehouse.query("select source_id, reason from audit.blocked order by source_id")
    assert blocked.rows() == [
        ("orphan", "parent p1 is not synced"),
        ("rejected", "rejected by netsuite: INVALID_KEY_OR_REF: ..."),
    ]
    summary = dict(warehouse.query("select status, records from audit.sync_summary").rows())
    assert summary == {"synced": 2, "failed": 1, "blocked": 1, "skipped": 1, "pending": 2}

    with warehouse.connect() as con:
        finding = failed_records(con, "customers")
    assert not finding.passed and finding.count == 1 and finding.sample[0]["source_id"] == "rejected"


def test_status_findings_count_all_and_show_the_first_records_as_the_views_order_them(warehouse_path):
    """The failed and blocked findings come from one statement over audit.sync_status: each must
    agree with the views queried directly, past the sample's size and with another flow beside."""
    warehouse = Warehouse(warehouse_path)
    with warehouse.connect() as con:
        rows = [(f"bad-{i}", "update", None) for i in range(SAMPLE + 2)]
        rows += [(f"orphan-{i}", "blocked", f"parent p{i % 2} is not synced") for i in range(SAMPLE + 1)]
        rows += [("unmapped", "blocked", "no NetSuite currency with ISO code 'XYZ'")]
        _plan(con, "customers", rows)
        _plan(con, "items", [("item-bad", "update", None), ("item-blocked", "blocked", "no tax item")])
        for i in range(SAMPLE + 2):  # rejected at different times: the latest come first
            _log(con, f"bad-{i}", 10 + (i * 7) % (SAMPLE + 2), "failed", code=f"E{i}", error_class="data")
        _log(con, "item-bad", 30, "failed", code="E", error_class="data", flow="items")
        audit.refresh_views(con, [CUSTOMERS, ITEMS])
        failed, blocked = failed_records(con, "customers"), blocked_records(con, "customers")
        failures = con.sql(
            "select source_id, error_code, error_class, error_message, failed_attempts from audit.failures "
            "where flow = 'customers' order by last_attempt_at desc, source_id"
        ).pl()
        blocks = con.sql(
            "select source_id, reason from audit.sync_status where flow = 'customers' and status = 'blocked' "
            "order by reason, source_id"
        ).pl()
        records = con.execute("select count(*) from audit.sync_status where flow = 'customers'").fetchall()[0]

    assert failed.count == failures.height == SAMPLE + 2 and not failed.passed
    assert failed.sample == failures.head(SAMPLE).to_dicts()
    assert blocked.count == blocks.height == SAMPLE + 2
    assert blocked.sample == blocks.head(SAMPLE).to_dicts()
    assert failed.checked == blocked.checked == records[0] == len(rows)
    # By reason, the most frequent first, as the view counts them.
    by_reason = blocks.group_by("reason").len("records").sort(["records", "reason"], descending=[True, False])
    assert blocked.details["top_reasons"] == by_reason.head(SAMPLE).to_dicts()
    assert len(blocked.details["top_reasons"]) == 3


def _invoices(con) -> None:
    upsert(
        con,
        "zuora.invoices",
        pl.DataFrame(
            {
                "id": ["zi1", "zi2", "zi3", "zi4", "zi5", "zi6"],
                "account_id": ["acc1", "acc1", "acc2", "acc2", "acc2", "acc3"],
                "invoice_number": ["INV1", "INV2", "INV3", "INV4", "INV5", "INV6"],
                "invoice_date": [
                    date(2026, 1, 1),
                    date(2026, 1, 15),
                    date(2026, 2, 1),
                    date(2026, 2, 1),
                    date(2026, 2, 3),
                    date(2026, 3, 1),
                ],
                "currency": ["USD", "USD", "EUR", "EUR", "EUR", "GBP"],
                "amount": [100.0, 50.0, 200.0, -30.0, 70.0, 10.0],
                "status": ["Posted"] * 6,
            }
        ),
    )
    upsert(
        con,
        "netsuite.invoices",
        pl.DataFrame(
            {
                "internal_id": ["n1", "n2", "n3"],
                "entity_internal_id": ["c1", "c1", "c2"],
                "tran_id": ["INV-N1", "INV-N2", "INV-N3"],
                "total": [100.0, 50.0, 190.0],
                "_staged_at": STAGED_AT,
            }
        ),
        key="internal_id",
    )
    # INV4 is negative: NetSuite holds it as a credit memo (a positive total).
    upsert(
        con,
        "netsuite.credit_memos",
        pl.DataFrame(
            {
                "internal_id": ["m4"],
                "entity_internal_id": ["c2"],
                "tran_id": ["CM-4"],
                "total": [30.0],
                "_staged_at": STAGED_AT,
            }
        ),
        key="internal_id",
    )
    for zuora_id, netsuite_id in (("zi1", "n1"), ("zi2", "n2"), ("zi3", "n3"), ("zi4", "m4"), ("zi5", "n-gone")):
        _link(con, zuora_id, netsuite_id, 0, flow="invoices")
    # Linked after NetSuite was last staged: not comparable yet, and not counted as a difference.
    _link(con, "zi6", "n-new", int((STAGED_AT - T0).total_seconds() // 60) + 5, flow="invoices")


def test_reconciliation_by_invoice_customer_and_period_through_invoice_links(warehouse_path):
    warehouse = Warehouse(warehouse_path)
    with warehouse.connect() as con:
        _invoices(con)
        audit.refresh_views(con, [CUSTOMERS, INVOICES])
        finding = invoice_differences(con)

    invoices = warehouse.query(
        "select zuora_invoice_id, netsuite_amount, difference, status from audit.reconciliation "
        "where level = 'invoice' order by zuora_invoice_id"
    )
    assert invoices.rows() == [
        ("zi1", 100.0, 0.0, "match"),
        ("zi2", 50.0, 0.0, "match"),
        ("zi3", 190.0, 10.0, "mismatch"),
        ("zi4", -30.0, 0.0, "match"),
        ("zi5", None, 70.0, "missing in netsuite"),
        ("zi6", None, 10.0, "not staged yet"),
    ]
    customers = warehouse.query(
        "select zuora_account_id, currency, invoices, zuora_amount, netsuite_amount, status "
        "from audit.reconciliation where level = 'customer' order by 1"
    )
    assert customers.rows() == [
        ("acc1", "USD", 2, 150.0, 150.0, "match"),
        ("acc2", "EUR", 3, 240.0, 160.0, "mismatch"),
        ("acc3", "GBP", 1, 10.0, 0.0, "not staged yet"),
    ]
    periods = warehouse.query(
        "select period, currency, zuora_amount, difference from audit.reconciliation where level = 'period' order by 1"
    )
    assert periods.rows() == [
        (date(2026, 1, 1), "USD", 150.0, 0.0),
        (date(2026, 2, 1), "EUR", 240.0, 80.0),
        (date(2026, 3, 1), "GBP", 10.0, 10.0),
    ]
    assert finding.count == 2 and {r["zuora_invoice_id"] for r in finding.sample} == {"zi3", "zi5"}

    # The Dagster check reads the same answer (direct invocation with the resource).
    check = reconciliation_check(push_key("invoices"))
    result = check(warehouse=WarehouseResource(path=str(warehouse_path)))
    assert not result.passed and result.metadata["count"].value == 2


def test_expired_items_lists_synced_charges_whose_plan_or_product_ended(warehouse_path):
    warehouse = Warehouse(warehouse_path)
    past, future = date.today() - timedelta(days=3), date(2099, 12, 31)
    with warehouse.connect() as con:
        upsert(
            con,
            "zuora.products",
            pl.DataFrame(
                {"id": ["prod-live", "prod-gone"], "name": ["Live", "Gone"], "effective_end_date": [future, past]}
            ),
        )
        upsert(
            con,
            "zuora.product_rate_plans",
            pl.DataFrame(
                {
                    "id": ["plan-live", "plan-ended", "plan-of-gone"],
                    "name": ["Monthly", "Legacy", "Old"],
                    "product_id": ["prod-live", "prod-live", "prod-gone"],
                    "effective_end_date": [future, past, future],
                }
            ),
        )
        upsert(
            con,
            "zuora.product_rate_plan_charges",
            pl.DataFrame(
                {
                    "id": ["c-live", "c-plan-ended", "c-product-gone", "c-never-synced"],
                    "name": ["Seat", "Legacy seat", "Old seat", "Other"],
                    "product_rate_plan_id": ["plan-live", "plan-ended", "plan-of-gone", "plan-ended"],
                }
            ),
        )
        for charge, item in (("c-live", "i1"), ("c-plan-ended", "i2"), ("c-product-gone", "i3")):
            _link(con, charge, item, 0, flow="items")
        audit.refresh_views(con, [ITEMS])
    expired = warehouse.query(
        "select charge_id, expired, expired_on, netsuite_item_id from audit.expired_items order by charge_id"
    )
    assert expired.rows() == [("c-plan-ended", "plan", past, "i2"), ("c-product-gone", "product", past, "i3")]


def test_a_real_sync_shows_in_the_audit_and_the_checks_fail_when_they_should(sync_env):
    env = sync_env
    bad = env.create_account(name="Wrong Subsidiary", accountNumber="BAD-AUDIT", Subsidiary__NS="999")
    env.run(["customers", "items"])
    env.run(["customers", "items"])  # stages what the first run created in NetSuite, so links can be checked
    warehouse = env.warehouse
    resource = WarehouseResource(path=str(env.warehouse_path))
    no_failed_records, _, links_resolve = flow_checks("customers")

    result = no_failed_records(warehouse=resource)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["first_records"].value[0]["source_id"] == bad
    assert links_resolve(warehouse=resource).passed
    assert all(check(warehouse=resource).passed for check in flow_checks("items"))

    status = _status(warehouse)
    assert status[bad]["status"] == "failed" and status[bad]["error_class"] == "data"
    linked = dict(env.links("customers").select("source_id", "target_id").iter_rows())
    assert linked and all(status[s]["status"] == "synced" and status[s]["target_id"] == t for s, t in linked.items())
    plan = env.plan("customers")
    skipped = set(plan.filter(pl.col("action") == "skip")["source_id"]) - set(linked)
    assert skipped and all(status[s]["status"] == "skipped" for s in skipped)

    unlinked = env.query("select * from audit.unlinked where flow = 'customers'")
    hand_made = {r["internalId"] for r in env.netsuite_records("customer")} - set(linked.values())
    assert hand_made and set(unlinked.filter(pl.col("side") == "target")["record_id"]) == hand_made
    assert bad in set(unlinked.filter(pl.col("side") == "source")["record_id"])

    # A link whose target vanished from the staged NetSuite table breaks the links check.
    source_id, target_id = next(iter(linked.items()))
    with warehouse.connect() as con:
        con.execute("delete from netsuite.customers where internal_id = ?", [target_id])
        assert broken_links(con, "customers").sample[0] == {
            "target_id": target_id,
            "source_id": source_id,
            "issue": "linked target not found",
            "deleted_at": None,
        }
        # The check reads one flow's part of audit.unlinked, not the view: the same rows.
        compared = {}
        for side in audit.known_sides(con, audit.configured_sides()):
            view = "select * from audit.unlinked where flow = ? and side = 'target' order by all"
            rows = con.sql(view, params=[side.flow]).fetchall()
            scoped = audit.unlinked_targets_sql(audit.Catalog(con), side)
            assert con.sql(f"select * from ({scoped}) order by all").fetchall() == rows
            compared[side.flow] = len(rows)
        assert compared["customers"] == len(hand_made) + 1, compared
    assert not links_resolve(warehouse=resource).passed


def test_zsync_audit_command_prints_a_view(sync_env):
    sync_env.run(["customers"])
    runner = CliRunner()
    summary = runner.invoke(main, ["audit"])
    assert summary.exit_code == 0, summary.output
    assert "customers" in summary.output and "synced" in summary.output
    # csv: the table format wraps its headers to the terminal, which is narrow under CliRunner.
    unlinked = runner.invoke(main, ["audit", "unlinked", "--format", "csv"])
    assert unlinked.exit_code == 0 and "issue" in unlinked.output.splitlines()[0].split(","), unlinked.output
    assert runner.invoke(main, ["audit", "nonsense"]).exit_code != 0


@pytest.mark.parametrize("flow", ["customers", "items"])
def test_every_configured_flow_has_its_checks_in_the_definitions(flow):
    from zsync_assets.definitions import defs

    keys = defs().resolve_asset_graph().asset_check_keys
    names = ("no_failed_records", "no_blocked_records", "links_resolve")
    assert {dg.AssetCheckKey(push_key(flow), n) for n in names} <= keys


def test_one_run_of_every_asset_evaluates_each_flows_checks_and_leaves_the_views(sync_env):
    from zsync_assets.defs.checks import audit_views_asset
    from zsync_assets.defs.netsuite.deletions import netsuite_deletions
    from zsync_assets.defs.zuora.deletions import zuora_deletions

    env = sync_env
    flows = [f.name for f in env.flows]
    assets = env.assets(env.flows)  # staging of what the flows read, plan and push of each
    checks = [flow_checks_step(name) for name in flows]
    result = dg.materialize(
        [*assets, netsuite_deletions, zuora_deletions, audit_views_asset(flows), *checks], resources=env.resources()
    )
    assert result.success
    evaluations = {
        (e.asset_key.path[-1].removeprefix("push_"), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }
    names = ("no_failed_records", "no_blocked_records", "links_resolve")
    assert {(f, n) for f in flows for n in names} <= set(evaluations)
    assert all(
        evaluations[("customers", n)] and evaluations[("items", n)] for n in ("no_failed_records", "links_resolve")
    )
    views = result.asset_materializations_for_node("audit__audit_views")[0].metadata
    assert "audit.sync_status" in views["views"].value
    synced = {r["flow"] for r in views["status_by_flow"].value if r["status"] == "synced"}
    assert {"customers", "items"} <= synced


def test_reconciliation_of_a_real_invoice_sync_matches_then_flags_a_changed_total(make_sync_env):
    from zsync_assets.defs.netsuite.assets import netsuite_staging_step
    from zsync_assets_tests.test_sync_invoices import TAX_ITEMS

    env = make_sync_env(tax_item_by_tax_code=TAX_ITEMS)
    if "invoices" not in {f.name for f in env.flows}:
        pytest.skip("no invoices flow declared")
    env.run(["customers", "items", "invoices"])
    documents = {table_key("netsuite.invoices"), table_key("netsuite.credit_memos")}
    netsuite_documents = [netsuite_staging_step(documents)]
    assert dg.materialize(netsuite_documents, resources=env.resources()).success
    audit.refresh(env.warehouse)
    statuses = dict(
        env.query("select status, count(*) from audit.reconciliation where level = 'invoice' group by status").rows()
    )
    assert statuses.get("match", 0) >= 5 and set(statuses) == {"match"}, statuses
    check = reconciliation_check(push_key("invoices"))
    resource = WarehouseResource(path=str(env.warehouse_path))
    assert check(warehouse=resource).passed

    # Someone edits a synced invoice in NetSuite (as staged): the check names it.
    netsuite_id = env.query(
        "select k.target_id from zsync.links k join netsuite.invoices n "
        "on n.internal_id = k.target_id where k.flow = 'invoices' order by 1 limit 1"
    )["target_id"][0]
    with env.warehouse.connect() as con:
        con.execute("update netsuite.invoices set total = total + 1 where internal_id = ?", [netsuite_id])
    result = check(warehouse=resource)
    assert not result.passed and result.metadata["first_records"].value[0]["netsuite_id"] == netsuite_id
