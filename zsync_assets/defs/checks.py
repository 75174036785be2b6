"""Asset checks on every flow's push, and the `audit/views` asset.

Separate `dg.asset_check`s (not `check_specs` on the push assets) so the engine's asset factory
stays vendor- and audit-neutral. Each check first rebuilds the `audit.*` views, so a run that
pushed a flow leaves views that know every table it created.

- `no_data_errors` (WARN): records the target rejected for their data wait for a fix at the
  source; the sync itself is fine, so the run stays green but the check shows them.
- `links_resolve` (ERROR): a link must point at a record that exists in the staged target
  table; a missing or deleted target means someone deleted or merged a synced record there.
- `invoice_amounts_match` (ERROR, blocking, only with an `invoices` flow): Zuora vs NetSuite
  amounts; a difference stops what is downstream of `push/push_invoices` in that run.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg
import duckdb

from zsync_assets.config import current_config
from zsync_assets.engine.assets import push_key, table_key
from zsync_assets.engine.catalog import OWNERS, source_version, system_key
from zsync_assets.flows import configured_flows
from zsync_assets.lib import audit
from zsync_assets.lib.audit_checks import Finding, broken_links, data_errors, invoice_differences
from zsync_assets.lib.resources import WarehouseResource

DELETION_KEYS = [system_key("netsuite", "deletions"), system_key("zuora", "deletions")]


def _result(finding: Finding, severity: dg.AssetCheckSeverity, what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=finding.passed,
        severity=severity,
        description=f"{finding.count} {what}" if finding.count else f"no {what}",
        metadata={
            "count": dg.MetadataValue.int(finding.count),
            "first_records": dg.MetadataValue.json(finding.sample),
            "query": dg.MetadataValue.text(finding.query),
        },
    )


def _run(warehouse: WarehouseResource, look: Callable[[duckdb.DuckDBPyConnection], Finding]) -> Finding:
    with warehouse.get().connect() as con:
        audit.refresh_views(con, audit.configured_sides())
        return look(con)


def flow_checks(flow_name: str) -> list[dg.AssetChecksDefinition]:
    key = push_key(flow_name)

    @dg.asset_check(asset=key, name="no_data_errors",
                    description=f"No `{flow_name}` record is waiting with a data error from the target.")
    def _no_data_errors(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        finding = _run(warehouse, lambda con: data_errors(con, flow_name))
        return _result(finding, dg.AssetCheckSeverity.WARN, "record(s) rejected for their data")

    @dg.asset_check(asset=key, name="links_resolve",
                    description=f"Every `{flow_name}` link points at a record staged from the target system.")
    def _links_resolve(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        finding = _run(warehouse, lambda con: broken_links(con, flow_name))
        return _result(finding, dg.AssetCheckSeverity.ERROR, "link(s) to a missing or deleted target record")

    return [_no_data_errors, _links_resolve]


def reconciliation_check(asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    # Blocking, with ERROR severity: money that disagrees between the ledgers stops the run before
    # anything downstream (payments, adjustments applied to those invoices) is pushed on top of it.
    # It waits for NetSuite's invoices and credit memos to be staged in the same run, so an amount
    # changed in NetSuite since the last sync is what it compares.
    @dg.asset_check(asset=asset_key, name="invoice_amounts_match", blocking=True,
                    additional_deps=[table_key("netsuite.invoices"), table_key("netsuite.credit_memos")],
                    description="Every linked invoice has the same amount in Zuora and NetSuite; blocks the "
                                "pushes downstream of invoices when not.")
    def _invoice_amounts_match(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        finding = _run(warehouse, invoice_differences)
        return _result(finding, dg.AssetCheckSeverity.ERROR, "invoice(s) whose amounts differ or are missing")

    return _invoice_amounts_match


def audit_views_asset(flow_names: list[str]) -> dg.AssetsDefinition:
    @dg.asset(
        key=["audit", "audit_views"],
        group_name="audit",
        kinds={"duckdb"},
        owners=OWNERS,
        code_version=source_version("zsync_assets.lib.audit", "zsync_assets.lib.audit_sql"),
        deps=[push_key(name) for name in flow_names] + DELETION_KEYS,
        description="(Re)creates the `audit.*` views people query (sync status, failures, blocked, "
                    "unlinked, reconciliation, expired items). Idempotent: views only.",
    )
    def _views(warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get().connect() as con:
            views = audit.refresh_views(con, audit.configured_sides())
            summary = con.sql("select flow, status, records from audit.sync_summary").pl().to_dicts()
        return dg.MaterializeResult(metadata={
            "views": dg.MetadataValue.text(", ".join(views)),
            "status_by_flow": dg.MetadataValue.json(summary),
        })

    return _views


_flows = [flow.name for flow in configured_flows(current_config())]
_checks = [check for name in _flows for check in flow_checks(name)]
if "invoices" in _flows:
    _checks.append(reconciliation_check(push_key("invoices")))

defs = dg.Definitions(assets=[audit_views_asset(_flows)], asset_checks=_checks)
