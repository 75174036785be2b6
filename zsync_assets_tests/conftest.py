"""Shared fixtures live in zsync_assets_tests/fixtures/, one module per area."""

import os
from pathlib import Path

import pytest

pytest_plugins = ["zsync_assets_tests.fixtures.zuora_sandbox", "zsync_assets_tests.fixtures.netsuite_sandbox",
                  "zsync_assets_tests.fixtures.vendor_xsd", "zsync_assets_tests.fixtures.sync_env"]


@pytest.fixture
def warehouse_path(tmp_path, monkeypatch) -> Path:
    """A fresh DuckDB file for one test; ZSYNC_DB points at it so resources pick it up."""
    path = tmp_path / "zsync.duckdb"
    monkeypatch.setenv("ZSYNC_DB", str(path))
    return path


@pytest.fixture(autouse=True)
def _no_real_tenant(monkeypatch):
    # Tests never reach a real tenant, whatever the developer's shell exports.
    for name in list(os.environ):
        if name.startswith(("ZUORA_", "NETSUITE_")):
            monkeypatch.delenv(name)
