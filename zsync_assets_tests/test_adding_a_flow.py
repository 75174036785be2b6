"""Adding a flow is writing one file and its fixture (README "Adding a flow").

A toy flow (zsync_assets_tests/plugin_flows/toy_contacts.py: Zuora contacts -> NetSuite
individual customers, a declaration and a mapping) and its fixture
(zsync_assets_tests/flow_fixtures/toy_contacts.py), registered as a plugin through the
`zsync.flows` entry point group for this test only, are picked up, end to end through both
sandboxes, by the generic suite every flow gets, by the asset graph, by `links_resolve` and by
the audit views, with no edit anywhere else.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from zsync_assets.audit import views as audit
from zsync_assets.config import current_config
from zsync_assets.defs.checks import flow_checks
from zsync_assets.defs.flows import open_sink, payload_check
from zsync_assets.engine.assets import flow_assets, plan_key, push_key, table_key
from zsync_assets.flows import PLUGIN_GROUP, all_flows, configured_flows
from zsync_assets_tests.fixtures.flow_suite import reruns_silently_and_turns_one_edit_into_one_update

TOY = "toy_contacts"


def register_plugin(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `pip install` of a package declaring the entry point leaves on sys.path."""
    dist = site / "zsync_toy_flow-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: zsync-toy-flow\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[{PLUGIN_GROUP}]\n{TOY} = zsync_assets_tests.plugin_flows.{TOY}\n")
    monkeypatch.syspath_prepend(str(site))


def test_a_flow_in_one_file_is_synced_checked_and_audited_with_no_other_edit(make_sync_env, tmp_path, monkeypatch):
    assert TOY not in {f.name for f in all_flows()}, "the toy flow is not shipped"
    register_plugin(tmp_path / "site", monkeypatch)
    (toy,) = [f for f in all_flows() if f.name == TOY]

    # The generic suite: the first run creates, a second sends nothing, one edit is one update.
    env = reruns_silently_and_turns_one_edit_into_one_update(toy, make_sync_env)
    linked = env.links(TOY)
    assert not linked.is_empty() and set(linked["target_system"]) == {"netsuite"}

    # The asset graph the product builds from the configured flows holds the toy's plan and push.
    graph = {key for a in flow_assets(configured_flows(current_config()), open_sink, payload_check) for key in a.keys}
    assert {plan_key(TOY), push_key(TOY)} <= graph

    # links_resolve compares the toy's links with the table its target record type is staged in,
    # staged after the links were made.
    checks = {spec.name: c for c in flow_checks(TOY) for spec in c.check_specs}
    result = dg.materialize(
        [*env.assets([toy], also_staging={table_key("netsuite.customers")}), checks["links_resolve"]],
        resources=env.resources(),
    )
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "links_resolve"]
    assert evaluation.passed and evaluation.metadata["checked"].value == linked.height, evaluation.description

    # The audit views know the toy's sides, its records' status, and a link whose target is gone.
    audit.refresh(env.warehouse)
    sides = env.query(f"select * from audit.flows where flow = '{TOY}'").to_dicts()
    assert sides == [
        {
            "flow": TOY,
            "source_system": "zuora",
            "target_system": "netsuite",
            "source_table": "zuora.contacts",
            "target_table": "netsuite.customers",
        }
    ]
    statuses = env.query(f"select source_id, status from audit.sync_status where flow = '{TOY}'")
    assert set(statuses["source_id"]) == set(linked["source_id"])
    assert set(statuses["status"]) == {"synced"}, statuses.to_dicts()

    gone = linked.sort("source_id").row(0, named=True)  # any linked contact
    with env.warehouse.connect() as con:  # someone deleted the customer in NetSuite (as staged)
        con.execute("delete from netsuite.customers where internal_id = ?", [gone["target_id"]])
    audit.refresh(env.warehouse)
    missing = env.query(
        f"select record_id, linked_to from audit.unlinked where flow = '{TOY}' and issue = 'linked target not found'"
    )
    assert missing.to_dicts() == [{"record_id": gone["target_id"], "linked_to": gone["source_id"]}]
    after = checks["links_resolve"](warehouse=env.resources()["warehouse"])
    assert isinstance(after, dg.AssetCheckResult), after
    assert not after.passed
    first_records = after.metadata["first_records"].value
    assert isinstance(first_records, list), first_records
    assert [(r["target_id"], r["source_id"]) for r in first_records] == [(gone["target_id"], gone["source_id"])]
