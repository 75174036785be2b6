"""Turn a declared `Flow` into Dagster assets: `plan/plan_<flow>` and `push/push_<flow>` (write-back
inside push; key names: engine/catalog.py).

Vendor code is injected (`open_sinks`), so this module stays vendor-neutral. Why re-running a
push is harmless: it sends only what the fresh plan says changed, NetSuite writes are upserts
by a deterministic externalId, Zuora creates carry an Idempotency-Key, and unanswered attempts
are looked up before anything is re-sent.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass

import dagster as dg

from zsync_assets.config import current_config
from zsync_assets.engine.catalog import (
    OWNERS,
    plan_key,
    push_key,
    source_version,
    system_key,
    table_key,
    table_name,
)
from zsync_assets.engine.flow import Flow, PayloadCheck
from zsync_assets.engine.instance import InstanceMismatch, bind_instances
from zsync_assets.engine.outgoing import has_work
from zsync_assets.engine.plan_metadata import blocked_and_skipped_metadata, config_metadata, top_reasons
from zsync_assets.engine.planning import plan_flow
from zsync_assets.engine.push import push_flow
from zsync_assets.engine.reverse_push import reverse_flow
from zsync_assets.engine.sink import Sink
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.warehouse import Warehouse

# (system, context) -> a context manager yielding that system's Sink (closes its client).
OpenSink = Callable[[str, dg.AssetExecutionContext], AbstractContextManager[Sink]]
# system -> that target's plan-time payload check (None: no check).
Checks = Callable[[str], PayloadCheck | None]

POOLS = {"netsuite": "netsuite_api", "zuora": "zuora_api"}


@dataclass(frozen=True)
class PushChecks:
    """Asset checks a flow's push step evaluates once it has pushed (injected, like the sinks: the
    engine does not know what they look at). In the push's own step, not one of their own: a step
    is fixed work in Dagster (its events, its storage writes), 40-80 ms here whatever it does, and
    a run has one push per flow."""

    specs: Callable[[str], list[dg.AssetCheckSpec]]  # flow name -> its checks on `push_key(flow)`
    # (warehouse, flow name, the names of the checks the run selected) -> their results
    evaluate: Callable[[WarehouseResource, str, list[str]], list[dg.AssetCheckResult]]


def refuse_other_instance(warehouse: Warehouse, system: str, instance_id: str) -> None:
    """Stop a step that reaches another tenant/account than the warehouse is bound to, without
    Dagster retries: retrying cannot change the answer (`zsync rebind` can)."""
    try:
        bind_instances(warehouse, {system: instance_id})
    except InstanceMismatch as mismatch:
        raise dg.Failure(description=str(mismatch), allow_retries=False) from None


__all__ = ["PushChecks", "flow_assets", "plan_key", "push_key", "refuse_other_instance", "table_key"]


def plan_version(flow: Flow) -> str:
    """Changes with the flow's own module (declaration + mapping), the shared mapping helpers
    (`flows/mapping/`) and the engine's planning code."""
    return source_version(
        flow.mapping.__module__,
        "zsync_assets.flows.mapping",
        "zsync_assets.engine.plan",
        "zsync_assets.engine.payload_json",
    )


def push_version(flow: Flow) -> str:
    """Changes with the engine's push and the target system's sink."""
    return source_version(
        "zsync_assets.engine.push",
        "zsync_assets.engine.push_result",
        "zsync_assets.engine.outgoing",
        "zsync_assets.engine.sending",
        "zsync_assets.engine.link_refs",
        "zsync_assets.engine.write_back",
        "zsync_assets.engine.bookkeeping",
        "zsync_assets.engine.bookkeeping_rows",
        "zsync_assets.engine.bookkeeping_writer",
        f"zsync_assets.targets.{flow.target_system}",
    )


def plan_asset(flow: Flow, checks: Checks = lambda system: None) -> dg.AssetsDefinition:
    @dg.asset(
        key=plan_key(flow.name),
        group_name="flows",
        kinds={"polars", "duckdb"},
        owners=OWNERS,
        code_version=plan_version(flow),
        deps=[table_key(t) for t in flow.tables]
        + [push_key(d) for d in flow.depends_on]
        + [system_key(*key.split("/")) for key in flow.waits_for],
        metadata={"dagster/table_name": table_name(flow.plan_table)},
        description=f"Plan of `{flow.name}` ({flow.source_system} to {flow.target_system}): what a push "
        f"would do with every source record (create, update, skip, blocked or reverse) and "
        f"why, written to `{flow.plan_table}`. Writes nothing to either system.",
    )
    def _plan(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        result = plan_flow(
            flow, warehouse.get(), current_config(), check=checks(flow.target_system), skip_unchanged=True
        )
        if result.missing_tables:
            # An empty plan here would let the push "succeed" with nothing sent: fail loudly.
            raise dg.Failure(description=f"{flow.name}: {result.not_staged}", allow_retries=False)
        counts = ", ".join(f"{n} {a}" for a, n in result.counts.items())
        if result.unchanged:
            # One line, not the reasons again: each is an event in Dagster's storage (~4 ms), and
            # they are unchanged in the metadata (`top_reasons`) and in the run that made the plan.
            context.log.info(f"plan {flow.name}: kept, nothing it reads changed: {counts}")
        else:
            # One event for the counts and the top reasons, a line each.
            reasons = [f"\n  {row['records']} {row['action']}: {row['reason']}" for row in top_reasons(result.plan)]
            context.log.info(f"plan {flow.name}: {counts}" + "".join(reasons))
        return dg.MaterializeResult(
            metadata={
                **{f"to_{a}": dg.MetadataValue.int(n) for a, n in result.counts.items()},
                "dagster/row_count": dg.MetadataValue.int(result.plan.height),
                "matched_existing": dg.MetadataValue.int(int(result.plan["match"].is_not_null().sum())),
                "not_staged": dg.MetadataValue.text(", ".join(result.missing_tables) or "none"),
                **blocked_and_skipped_metadata(flow, result.plan),
                "table": dg.MetadataValue.text(flow.plan_table),
                **config_metadata(),
                # Nothing it reads changed since the stored plan was made: that plan stands.
                "unchanged_inputs": dg.MetadataValue.bool(result.unchanged),
            }
        )

    return _plan


def push_asset(flow: Flow, open_sink: OpenSink, checks: PushChecks | None = None) -> dg.AssetsDefinition:
    check_specs = checks.specs(flow.name) if checks is not None else []

    def checked(context: dg.AssetExecutionContext, metadata: dict[str, dg.MetadataValue]) -> dg.MaterializeResult:
        """The push's materialization with the results of the checks the run selected."""
        if checks is None:
            return dg.MaterializeResult(metadata=metadata)
        selected = [spec.name for spec in check_specs if spec.key in context.selected_asset_check_keys]
        results = checks.evaluate(context.resources.warehouse, flow.name, selected) if selected else []
        return dg.MaterializeResult(metadata=metadata, check_results=results)

    @dg.asset(
        key=push_key(flow.name),
        group_name="flows",
        kinds={flow.target_system, "duckdb"},
        owners=OWNERS,
        code_version=push_version(flow),
        deps=[plan_key(flow.name)],
        pool=POOLS[flow.target_system],
        required_resource_keys={"warehouse", "zuora", "netsuite"},
        check_specs=check_specs or None,
        description=f"Push of `{flow.name}`: reverses the counterparts of canceled or deleted records, "
        f"then sends the planned creates and updates to {flow.target_system}, "
        f"logs every attempt in `zsync.push_log` and keeps `zsync.links`"
        + (", and write the link back to the source." if flow.write_back else "."),
    )
    def _push(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse = context.resources.warehouse.get()
        if not has_work(warehouse, flow):
            # No vendor client, token or call: a plan with nothing to send and nothing to write back.
            # No log line either (an event in Dagster's storage): the metadata says it.
            return checked(context, {"sent": dg.MetadataValue.int(0), "nothing_to_do": dg.MetadataValue.bool(True)})
        # Process CPU covers the push's worker threads; steps of one process run one at a time.
        started_at, cpu_at = time.perf_counter(), time.process_time()
        with ExitStack() as stack:
            sink = stack.enter_context(open_sink(flow.target_system, context))
            source_sink = stack.enter_context(open_sink(flow.source_system, context)) if flow.write_back else None
            # Reversals first: a document deleted and recreated at the source loses its old
            # counterpart before the new one is written (engine/reverse_push.py).
            reversed_ = reverse_flow(
                flow, warehouse, sink, current_config(), run_id=context.run_id, log=context.log.info
            )
            result = push_flow(
                flow,
                warehouse,
                sink,
                current_config(),
                source_sink=source_sink,
                run_id=context.run_id,
                log=context.log.info,
            )
        return checked(
            context,
            {
                **{k: dg.MetadataValue.int(v) for k, v in result.metadata().items() if isinstance(v, int)},
                **{k: dg.MetadataValue.int(v) for k, v in reversed_.metadata().items()},
                "errors_by_code": dg.MetadataValue.json(
                    {**result.errors, **{code: result.errors.get(code, 0) + n for code, n in reversed_.errors.items()}}
                ),
                "first_failures": dg.MetadataValue.json(result.failures),
                "push_wall_s": dg.MetadataValue.float(round(time.perf_counter() - started_at, 3)),
                "push_cpu_s": dg.MetadataValue.float(round(time.process_time() - cpu_at, 3)),
            },
        )

    return _push


def flow_assets(
    flows: list[Flow],
    open_sink: OpenSink,
    checks: Checks = lambda system: None,
    push_checks: PushChecks | None = None,
) -> Iterator[dg.AssetsDefinition]:
    """`checks`: each target's plan-time payload check; `push_checks`: the asset checks each push
    step evaluates (none: a caller defines them as checks of their own)."""
    for flow in flows:
        yield plan_asset(flow, checks)
        yield push_asset(flow, open_sink, push_checks)
