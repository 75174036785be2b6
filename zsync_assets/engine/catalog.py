"""How zsync's assets are named and described in Dagster: keys, owners, code versions, table metadata.

Keys. Dagster's asset graph labels a node with the LAST part of its key only (the webserver's
asset node renders `assetKey.path[assetKey.path.length - 1]`), so `zuora/invoices`,
`netsuite/invoices`, `plan/invoices` and `push/invoices` would all read "invoices". Every key
therefore ends in a name that stands on its own: `zuora/zuora_invoices` (table `zuora.invoices`),
`netsuite/netsuite_invoices`, `plan/plan_invoices` (table `zsync.plan_invoices`),
`push/push_invoices`. The first part stays the DuckDB schema (or the layer), so the catalog's
folder view still groups them. `zsync_assets_tests/test_asset_catalog.py` keeps labels unique.

Code versions are derived from what defines an asset, so Dagster marks an asset (and what is
downstream of it) as changed exactly when its definition changed: a staged table's declaration
(columns, key, cursor field, how it is fetched), a flow's module and the shared mapping helpers,
the engine and target code of a push.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from zsync_assets.lib.staging import STAGED_AT
from zsync_assets.lib.warehouse import CATALOG

# Who answers for these assets. Dagster accepts an email or `team:<name>`; a deployment that wants
# its own team on every asset changes this one constant.
OWNERS = ["team:zsync"]


def table_key(table: str) -> dg.AssetKey:
    """`zuora.invoices` -> `zuora/zuora_invoices`: schema first, a self-explaining last part."""
    schema, _, name = table.partition(".")
    return dg.AssetKey([schema, f"{schema}_{name}"])


def system_key(system: str, what: str) -> dg.AssetKey:
    """A vendor-level asset that is not a table: `zuora/zuora_connection`, `netsuite/netsuite_deletions`."""
    return dg.AssetKey([system, f"{system}_{what}"])


def plan_key(flow_name: str) -> dg.AssetKey:
    return dg.AssetKey(["plan", f"plan_{flow_name}"])


def push_key(flow_name: str) -> dg.AssetKey:
    return dg.AssetKey(["push", f"push_{flow_name}"])


def version_of(*parts: object) -> str:
    """A short, stable digest of the given parts (their `repr`, in order)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def source_version(*modules: str) -> str:
    """A digest of these modules' source text: it changes when their code changes."""
    texts: list[str] = []
    for name in modules:
        module = importlib.import_module(name)
        path = Path(inspect.getfile(module))
        files = sorted(path.parent.glob("*.py")) if path.name == "__init__.py" else [path]
        texts.extend(f.read_text() for f in files)
    return version_of(*texts)


def table_name(table: str) -> str:
    """The qualified name Dagster shows: the warehouse file is attached as `warehouse`
    (lib/warehouse.py CATALOG), so `zuora.invoices` is `warehouse.zuora.invoices` in any session."""
    return f"{CATALOG}.{table}"


def staged_table_metadata(table: str, columns: Mapping[str, str]) -> dict[str, object]:
    """Definition metadata of a staged table: its name and declared columns (defs/*/columns.py),
    plus `_staged_at`, which staging adds to every table (lib/staging.py ensure_staged_table)."""
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name, kind.lower()) for name, kind in {**columns, STAGED_AT: "TIMESTAMPTZ"}.items()]
    )
    return {"dagster/table_name": table_name(table), "dagster/column_schema": schema}
