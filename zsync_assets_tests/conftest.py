"""Shared fixtures live in zsync_assets_tests/fixtures/, one module per area.

Suite rules enforced here (markers registered in pyproject.toml):
- `conformance`: a test that validates against the vendor schemas shipped in
  `zsync_assets/vendor/`. Every test using `vendor_xsd` or `zuora_spec` gets it; others that read
  the vendor files carry it explicitly. The run ends with "conformance checks run: N".
- No silent skips: a test that skips fails, unless it is marked `opt_in` (it needs something a
  plain `make test` cannot provide and says so in its skip reason).
"""

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "zsync_assets_tests.fixtures.zuora_sandbox",
    "zsync_assets_tests.fixtures.netsuite_sandbox",
    "zsync_assets_tests.fixtures.vendor_xsd",
    "zsync_assets_tests.fixtures.zuora_spec",
    "zsync_assets_tests.fixtures.definitions",
    "zsync_assets_tests.fixtures.sync_env",
    "zsync_assets_tests.fixtures.browser",
    "zsync_assets_tests.fixtures.postgres",
]

CONFORMANCE_FIXTURES = {"vendor_xsd", "zuora_spec"}

# Modules whose tests share one expensive module-scoped fixture (a running `make ui`, a PostgreSQL
# server with a finished run) and so must run on one xdist worker (in any order). pytest-xdist's
# `--dist loadgroup` is meant for this, but under pytest 9 its worker-side rename of node ids
# (`item._nodeid = ...`, xdist/remote.py) no longer takes effect (pytest 9 keeps ids in
# `Node._id`), so the controller never sees the groups; this scheduler groups these modules itself
# (`make test` asks for `--dist load`, whose scheduler this replaces; worksteal's it does not).
SHARED_FIXTURE_MODULES = ("test_ui.py", "test_deploy_postgres.py", "test_demo.py")


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None  # another mode asked for explicitly: xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module.rsplit("/", 1)[-1] in SHARED_FIXTURE_MODULES else nodeid

    return SharedFixtureModules(config, log)


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


@pytest.fixture(autouse=True)
def _own_sandbox_data(tmp_path, monkeypatch):
    # `zsync demo` keeps its settings beside the sandbox data (config.py `demo_settings_path`):
    # neither a developer's data/sandbox nor one test's demo may turn flows on in another test.
    monkeypatch.setenv("ZSYNC_SANDBOX_DATA", str(tmp_path / "sandbox"))


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    # Every sandbox has its own port, so its WSDL would be one more entry in the developer's
    # cache dir per test; the suite keeps its downloads to itself (subprocesses inherit this).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZSYNC_CACHE_DIR", str(tmp_path_factory.mktemp("zsync-cache")))
        yield


def pytest_collection_modifyitems(config, items):
    for item in items:
        if CONFORMANCE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.conformance)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and item.get_closest_marker("opt_in") is None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"skipped without the opt_in marker ({reason}): a test that cannot find what it "
            f"needs fails; mark it opt_in only if plain `make test` is not meant to run it"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped:  # a whole module skipped at import (e.g. pytest.importorskip)
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{collector.nodeid} skipped at collection without the opt_in marker: {reason}"


_conformance_run = 0


def pytest_runtest_logreport(report):
    # On the xdist controller this sees every worker's reports.
    global _conformance_run
    if report.when == "call" and "conformance" in report.keywords and not report.skipped:
        _conformance_run += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(f"conformance checks run: {_conformance_run}")
