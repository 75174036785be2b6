"""The asset graph as an operator sees it in Dagster: every node legible on its own.

Loads the real `Definitions` (zsync_assets/definitions.py) for the default config and for the
config that enables every flow, and checks each asset's properties rather than a list of names,
so a new asset that forgets one of them fails here.
"""

import dagster as dg
import pytest

from zsync_assets.defs.netsuite.columns import COLUMNS as NETSUITE_COLUMNS
from zsync_assets.defs.zuora.columns import COLUMNS as ZUORA_COLUMNS
from zsync_assets.lib.staging import STAGED_AT
from zsync_assets_tests.fixtures.definitions import definition_modules

DECLARED = {"zuora": ZUORA_COLUMNS, "netsuite": NETSUITE_COLUMNS}


# The default config, and the other side of each choice: NetSuite as customer master, invoice
# settlement and NetSuite payments on (the flows, and the line tables they read, that the default
# leaves out of the graph). Between them, every flow and every staged table is in a graph.
CONFIGS = {
    "default": {},
    "other_flows": {
        "ZSYNC_CUSTOMER_MASTER": "netsuite",
        "ZSYNC_INVOICE_SETTLEMENT": "true",
        "ZSYNC_PAYMENTS_NS_TO_ZUORA": "true",
    },
}


def load_definitions(monkeypatch, environ: dict[str, str]) -> dg.Definitions:
    """`Definitions` as Dagster loads them under this environment: the defs modules build the
    graph from the config when imported, so they are imported afresh (and put back afterwards)."""
    import sys

    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    for name in definition_modules():
        monkeypatch.delitem(sys.modules, name)
    from zsync_assets.definitions import defs

    return defs()


@pytest.fixture(scope="module")
def graphs() -> dict[str, dict[dg.AssetKey, dg.AssetSpec]]:
    with pytest.MonkeyPatch.context() as patch:
        loaded = {name: load_definitions(patch, env) for name, env in CONFIGS.items()}
        return {name: {spec.key: spec for spec in d.resolve_all_asset_specs()} for name, d in loaded.items()}


@pytest.fixture(params=list(CONFIGS))
def asset_specs(request, graphs) -> dict[dg.AssetKey, dg.AssetSpec]:
    return graphs[request.param]


def test_every_asset_is_labelled_by_a_name_of_its_own(asset_specs):
    # The graph labels a node with the last part of its key only (engine/catalog.py).
    labels = [key.path[-1] for key in asset_specs]
    assert sorted(set(labels)) == sorted(labels), [x for x in labels if labels.count(x) > 1]


def test_every_asset_has_a_group_kinds_an_owner_a_description_and_a_code_version(asset_specs):
    for key, spec in asset_specs.items():
        name = key.to_user_string()
        assert spec.group_name and spec.group_name != "default", name
        assert spec.kinds, name
        assert spec.owners, name
        assert spec.code_version, name
        assert spec.description and len(spec.description) > 40, name
        # Backticks come in pairs (`zuora.invoices`), or the UI's markdown swallows the rest.
        assert spec.description.count("`") % 2 == 0, (name, spec.description)


def test_every_staged_table_declares_its_name_and_columns(asset_specs):
    staged = [
        spec
        for spec in asset_specs.values()
        if spec.group_name in DECLARED
        and spec.key.path[-1]
        not in ("zuora_connection", "netsuite_connection", "zuora_deletions", "netsuite_deletions")
    ]
    assert len(staged) > 20
    for spec in staged:
        catalog, system, table = spec.metadata["dagster/table_name"].split(".")
        assert catalog == "warehouse"  # the name the file is attached as (lib/warehouse.py)
        schema = spec.metadata["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchema)
        declared = {**DECLARED[system][table], STAGED_AT: "TIMESTAMPTZ"}
        assert {c.name: c.type for c in schema.columns} == {k: v.lower() for k, v in declared.items()}
        assert spec.key.path[0] == system and spec.key.path[-1] == f"{system}_{table}"


def test_every_table_a_flow_reads_is_a_staging_asset(asset_specs):
    # A table a flow reads without a staging asset showed up as a stray asset in group "default"
    # (netsuite/sales_order_lines); every dependency must resolve to a defined asset.
    for spec in asset_specs.values():
        for dep in spec.deps:
            assert dep.asset_key in asset_specs, (spec.key.to_user_string(), dep.asset_key.to_user_string())


def test_every_declared_table_is_staged_by_an_asset(graphs):
    declared = {f"warehouse.{system}.{table}" for system, columns in DECLARED.items() for table in columns}
    staged = {spec.metadata.get("dagster/table_name") for specs in graphs.values() for spec in specs.values()}
    assert not declared - staged, declared - staged
