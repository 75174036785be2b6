"""Asset checks on every flow's push, and the `audit/audit_views` asset.

A flow's three checks are evaluated at the end of its push step (`PUSH_CHECKS`, handed to the
engine's asset factory like the sinks, so the factory stays vendor- and audit-neutral): a step of
their own cost Dagster's fixed work per step, 40-80 ms here, in every run and for every flow.
They first rebuild the `audit.*` views, so a run that pushed a flow leaves views that know every
table it created. `flow_checks_step` gives them as a step of their own (over push assets made
without them), and `flow_checks` each on its own, for a test or a script.

- `no_failed_records` (ERROR): records whose latest attempt failed (the target rejected their
  data, or a transient failure the next run retries), with the count and the first ones.
- `no_blocked_records` (WARN): records the plan blocks (a master record not synced yet, a
  missing mapping, a value the target cannot hold), with the count and the top reasons.
- `links_resolve` (ERROR): a link must point at a record that exists in the staged target
  tables; a missing or deleted target means someone deleted or merged a synced record there.
- `invoice_amounts_match` (ERROR, blocking, only with an `invoices` flow): Zuora vs NetSuite
  amounts; a difference stops what is downstream of `push/push_invoices` in that run.

A check none of whose inputs changed since its last evaluation (a digest of the views, the flow's
plan, links, attempts and both sides' staged tables: audit/carry_over.py) re-emits its last finding,
failures included, with `carried_over: true`, `evaluated_at` and the time in its description; the
`audit/audit_views` asset keeps its summary the same way.

No check passes on nothing: one with nothing to compare (no records, no link old enough to be
staged on the other side, no linked invoice) passes with the description "skipped: nothing to
compare because ...", and `skipped: true`, `checked: 0` and the reason (`nothing_to_compare`) in
its metadata, so the UI and a query of the check history tell it from a real pass.

Why a pass marked skipped, not Dagster's own "Skipped" state: an `AssetCheckResult` is passed or
failed, nothing else (https://docs.dagster.io/api/asset-checks). The UI shows a check as
"Skipped" only when its step ran and emitted no result at all, which a subsettable
`multi_asset_check` may do (https://docs.dagster.io/guides/test/running-a-subset-of-asset-checks;
Dagster 1.13 resolves such a planned check to SKIPPED, "the run finished, didn't fail, but the
check didn't execute", dagster/_core/storage/asset_check_execution_record.py). With no result
there is no description and no metadata: the check would show "Skipped" and never say why, and
the reason is what the operator needs.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import dagster as dg
import duckdb

from zsync_assets.audit import carry_over
from zsync_assets.audit import views as audit
from zsync_assets.audit.checks import (
    Finding,
    blocked_records,
    broken_links,
    evaluating,
    failed_records,
    invoice_differences,
)
from zsync_assets.config import current_config
from zsync_assets.engine.assets import PushChecks, push_key, table_key
from zsync_assets.engine.catalog import OWNERS, source_version, system_key
from zsync_assets.flows import configured_flows
from zsync_assets.lib.resources import WarehouseResource

DELETION_KEYS = [system_key("netsuite", "deletions"), system_key("zuora", "deletions")]


def _result(
    finding: Finding,
    severity: dg.AssetCheckSeverity,
    what: str,
    evaluated_at: datetime | None = None,
    carried_from: datetime | None = None,
) -> dg.AssetCheckResult:
    """`carried_from`: the finding is the one evaluated then, re-emitted because nothing the
    check reads changed since (audit/carry_over.py)."""
    metadata: dict[str, dg.MetadataValue] = {
        "count": dg.MetadataValue.int(finding.count),
        "checked": dg.MetadataValue.int(finding.checked),
        "first_records": dg.MetadataValue.json(finding.sample),
        "query": dg.MetadataValue.text(finding.query),
        "skipped": dg.MetadataValue.bool(finding.skipped),
        **{name: dg.MetadataValue.json(value) for name, value in finding.details.items()},
    }
    if evaluated_at is not None:
        metadata["evaluated_at"] = dg.MetadataValue.timestamp(evaluated_at)
        metadata["carried_over"] = dg.MetadataValue.bool(carried_from is not None)
    if finding.skipped:
        description = f"skipped: nothing to compare because {finding.nothing_to_compare}"
        metadata["nothing_to_compare"] = dg.MetadataValue.text(finding.nothing_to_compare or "")
        passed = True
    else:
        counted = f"{finding.count} {what}" if finding.count else f"no {what}"
        description, passed = f"{counted} ({finding.checked} checked)", finding.passed
    if carried_from is not None:
        description += (
            f"; carried over from its evaluation at {carried_from.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, "
            "nothing it reads has changed since"
        )
    return dg.AssetCheckResult(passed=passed, severity=severity, description=description, metadata=metadata)


def _run(warehouse: WarehouseResource, look: Callable[[duckdb.DuckDBPyConnection], Finding]) -> Finding:
    with warehouse.get().connect() as con:
        audit.refresh_views(con, audit.configured_sides())
        return look(con)


@dataclass(frozen=True)
class FlowCheck:
    description: str  # with `{flow}`
    severity: dg.AssetCheckSeverity
    what: str  # what it counts, in the plural
    look: Callable[[duckdb.DuckDBPyConnection, str], Finding]  # its evaluation on an open connection


# Every flow's checks.
FLOW_CHECKS: dict[str, FlowCheck] = {
    "no_failed_records": FlowCheck(
        "No `{flow}` record's latest attempt failed (ERROR).",
        dg.AssetCheckSeverity.ERROR,
        "record(s) whose latest attempt failed",
        failed_records,
    ),
    "no_blocked_records": FlowCheck(
        "No `{flow}` record is blocked by a missing master record or mapping (WARN).",
        dg.AssetCheckSeverity.WARN,
        "blocked record(s)",
        blocked_records,
    ),
    "links_resolve": FlowCheck(
        "Every `{flow}` link points at a record staged from the target system.",
        dg.AssetCheckSeverity.ERROR,
        "link(s) to a missing or deleted target record",
        broken_links,
    ),
}


@lru_cache(maxsize=1)
def _checks_version() -> str:
    """Changes with the code that evaluates the checks: their findings are not carried over it."""
    return source_version(__name__, "zsync_assets.audit", "zsync_assets.engine.blockers")


def evaluate_flow_checks(warehouse: WarehouseResource, flow_name: str, names: list[str]) -> list[dg.AssetCheckResult]:
    """The named checks of a flow, in one unit of work on the file after one refresh of the views.
    A check none of whose inputs changed since its last evaluation re-emits that finding."""
    with warehouse.get().connect() as con:
        sides = audit.known_sides(con, audit.configured_sides())
        audit.refresh_views(con, sides)
        side = next((s for s in sides if s.flow == flow_name), None) or audit.FlowSides(flow_name, "", "")
        digest = carry_over.inputs(con, side, _checks_version())
        kept = carry_over.kept(con, flow_name, digest)
        now = datetime.now(UTC)
        with evaluating():
            fresh = {name: FLOW_CHECKS[name].look(con, flow_name) for name in names if name not in kept}
        carry_over.remember(con, flow_name, digest, fresh, now)
    results = []
    for name in names:
        check = FLOW_CHECKS[name]
        if name in fresh:
            result = _result(fresh[name], check.severity, check.what, now)
        else:
            finding, evaluated_at = kept[name]
            result = _result(finding, check.severity, check.what, evaluated_at, carried_from=evaluated_at)
        results.append(result._replace(asset_key=push_key(flow_name), check_name=name))
    return results


def flow_checks(flow_name: str) -> list[dg.AssetChecksDefinition]:
    """Each of a flow's checks on its own: what a test or a script evaluates alone."""

    def single(name: str) -> dg.AssetChecksDefinition:
        @dg.asset_check(
            asset=push_key(flow_name), name=name, description=FLOW_CHECKS[name].description.format(flow=flow_name)
        )
        def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
            [result] = evaluate_flow_checks(warehouse, flow_name, [name])
            return result

        return _check

    return [single(name) for name in FLOW_CHECKS]


def flow_check_specs(flow_name: str) -> list[dg.AssetCheckSpec]:
    key = push_key(flow_name)
    return [
        dg.AssetCheckSpec(name, asset=key, description=check.description.format(flow=flow_name))
        for name, check in FLOW_CHECKS.items()
    ]


def flow_checks_step(flow_name: str) -> dg.AssetChecksDefinition:
    """A flow's checks as one step of their own, over a push asset made without them (a test or a
    script): the DuckDB open and the views' refresh once for the three. Subsettable, and every
    selected check always gets a result (see above: never a silent "Skipped")."""
    key = push_key(flow_name)

    @dg.multi_asset_check(name=f"{flow_name}_checks", specs=flow_check_specs(flow_name), can_subset=True)
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        yield from evaluate_flow_checks(
            warehouse, flow_name, [n for n in FLOW_CHECKS if dg.AssetCheckKey(key, n) in selected]
        )

    return _checks


def reconciliation_check(asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    # Blocking, with ERROR severity: money that disagrees between the ledgers stops the run before
    # anything downstream (payments, adjustments applied to those invoices) is pushed on top of it.
    # It waits for NetSuite's invoices and credit memos to be staged in the same run, so an amount
    # changed in NetSuite since the last sync is what it compares.
    @dg.asset_check(
        asset=asset_key,
        name="invoice_amounts_match",
        blocking=True,
        additional_deps=[table_key("netsuite.invoices"), table_key("netsuite.credit_memos")],
        description="Every linked invoice has the same amount in Zuora and NetSuite; blocks the "
        "pushes downstream of invoices when not.",
    )
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
        code_version=source_version("zsync_assets.audit.views", "zsync_assets.audit.sql"),
        deps=[push_key(name) for name in flow_names] + DELETION_KEYS,
        description="(Re)creates the `audit.*` views people query (sync status, failures, blocked, "
        "unlinked, reconciliation, expired items). Idempotent: views only.",
    )
    def _views(warehouse: WarehouseResource) -> dg.MaterializeResult:
        with warehouse.get().connect() as con:
            views = audit.refresh_views(con, audit.configured_sides())
            # The summary scans every plan, link and attempt: kept while none of them changed.
            digest = carry_over.summary_inputs(con, _checks_version())
            kept = carry_over.kept_summary(con, digest)
            if kept is None:
                counted_at = datetime.now(UTC)
                summary = con.sql("select flow, status, records from audit.sync_summary order by all").pl().to_dicts()
                carry_over.remember_summary(con, digest, summary, counted_at)
            else:
                summary, counted_at = kept
        return dg.MaterializeResult(
            metadata={
                "views": dg.MetadataValue.text(", ".join(views)),
                "status_by_flow": dg.MetadataValue.json(summary),
                "status_by_flow_at": dg.MetadataValue.timestamp(counted_at),
            }
        )

    return _views


# What each push step evaluates once it has pushed (defs/flows.py); every selected check always
# gets a result (see above: never a silent "Skipped").
PUSH_CHECKS = PushChecks(flow_check_specs, evaluate_flow_checks)

_flows = [flow.name for flow in configured_flows(current_config())]
_checks = [reconciliation_check(push_key("invoices"))] if "invoices" in _flows else []

defs = dg.Definitions(assets=[audit_views_asset(_flows)], asset_checks=_checks)
