import dagster as dg

from zsync_assets.config import current_config
from zsync_assets.definitions import defs
from zsync_assets.defs.netsuite.assets import STAGED as NETSUITE_STAGED
from zsync_assets.defs.netsuite.assets import family_specs
from zsync_assets.defs.stage_all import staging
from zsync_assets.defs.zuora.assets import STAGED as ZUORA_STAGED
from zsync_assets.engine.catalog import system_key, table_key
from zsync_assets.flows import configured_flows


def test_definitions_load_and_the_main_job_resolves():
    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    assert loaded.resolve_job_def("sync_all") is not None


def test_sync_all_stages_and_detects_deletions_in_one_step_and_sync_invoices_only_its_tables():
    loaded = defs()
    steps = {node.name for node in loaded.resolve_job_def("sync_all").graph.node_defs}
    assert "staging" in steps and not {"zuora_staging", "netsuite_staging"} & steps
    staged = {table_key(obj.table) for obj, _, _ in ZUORA_STAGED}
    staged |= {spec.key for family in NETSUITE_STAGED for spec in family_specs(family)}
    deletions = {system_key("zuora", "deletions"), system_key("netsuite", "deletions")}
    assert set(staging.keys) == staged | deletions  # every sync_all detects deletions
    invoices = loaded.resolve_job_def("sync_invoices")
    assert "staging" in {node.name for node in invoices.graph.node_defs}
    selected = invoices.asset_layer.selected_asset_keys
    [flow] = [f for f in configured_flows(current_config()) if f.name == "invoices"]
    assert selected & staged == {table_key(t) for t in flow.source_tables}


def test_each_flows_checks_are_evaluated_in_its_push_step_not_a_step_of_their_own():
    from zsync_assets.defs.checks import FLOW_CHECKS
    from zsync_assets.engine.catalog import push_key

    loaded = defs()
    steps = {node.name for node in loaded.resolve_job_def("sync_all").graph.node_defs}
    assert not {step for step in steps if step.endswith("_checks")}, steps
    for flow in configured_flows(current_config()):
        push = loaded.resolve_assets_def(push_key(flow.name))
        assert {spec.name for spec in push.check_specs} >= set(FLOW_CHECKS), flow.name
