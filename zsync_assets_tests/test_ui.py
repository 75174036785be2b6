"""`make ui` on its own (issue 8, item 5): it lists the automation without warnings, a run launched
from it reaches the sandboxes it started, a browser shows the graph, a push's checks, the plan
metadata and, in the plan's blocked-records table, a blocked invoice with its reason, and a
SIGTERM to `make` ends every process it started (zsync_assets/ui.py bounds each stage of the
stop, together well under 10 s; the test waits for the end, it does not time it).

What this replaced: `zsync demo` stopped its sandboxes, and a run started from the UI afterwards
failed after minutes, naming no host. Here no sandbox runs and no credential is set before `make
ui` starts, as a script's background job (fixtures/make_ui.py says why that matters).

One `make ui` serves the module, since its start-up and the run are most of the module's time.
Whatever needs it up is a module fixture that records what it saw, and the tests assert on those
records; the stop test asks for all of them, so in whatever order pytest-randomly puts the tests,
the UI is stopped only after they ran. conftest.py SHARED_FIXTURE_MODULES keeps the module on one
xdist worker.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from zsync_assets.engine.plan_metadata import SHOWN
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets.sandbox.runner import port_is_open
from zsync_assets_tests.fixtures.make_ui import RunningUi, descendants, groups_of, start_make_ui, survivors

# How long the stop test waits for the last process to end before it names the survivors: a bound
# on the wait on a loaded machine, not the stop's budget (ui.py CLEAN_SHUTDOWN_S, TERM_S).
WAIT_FOR_STOP_S = 60.0


@dataclass
class Listing:
    location: dict  # the code location as the UI's GraphQL API lists it
    output: str  # what make ui printed from the launcher's first line on, once the UI was up
    commands: str  # the command lines of every process make ui started


@dataclass
class Launched:
    run_id: str
    status: str | None
    materialized: set[str]  # asset keys, "a/b"


@pytest.fixture(scope="module")
def running_ui(tmp_path_factory) -> Iterator[RunningUi]:
    with start_make_ui(tmp_path_factory.mktemp("make-ui")) as ui:
        yield ui


@pytest.fixture(scope="module")
def listing(running_ui) -> Listing:
    data = running_ui.graphql("""{ workspaceOrError { ... on Workspace { locationEntries { name
        locationOrLoadError { __typename ... on PythonError { message }
          ... on RepositoryLocation { repositories { sensors { name } schedules { name } jobs { name } } } } } } } }""")
    [entry] = data["workspaceOrError"]["locationEntries"]
    output = running_ui.output()
    # From the launcher's first line on: make may have installed the venv before it.
    output = output[output.find("zuora sandbox:") :]
    tree = descendants(running_ui.make_pid)
    commands = " ".join(
        Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
        for pid in tree
        if Path(f"/proc/{pid}/cmdline").exists()
    )
    return Listing({"name": entry["name"], **entry["locationOrLoadError"]}, output, commands)


@pytest.fixture(scope="module")
def launched(running_ui) -> Launched:
    """`sync_all`, launched from the UI, in one process: the multiprocess executor would start a
    process per step, most of a run's time on 2 cores (deploy/README.md)."""
    run_id = running_ui.launch("sync_all", {"execution": {"config": {"in_process": {}}}})
    status = running_ui.wait_for_run(run_id)
    run = running_ui.graphql(
        """query($id: ID!) { runOrError(runId: $id) { ... on Run {
        assetMaterializations { assetKey { path } } } } }""",
        id=run_id,
    )["runOrError"]
    return Launched(run_id, status, {"/".join(m["assetKey"]["path"]) for m in run["assetMaterializations"]})


# Texts each page must show once `sync_all` ran: the flows group's lineage with every node
# labelled by a name of its own (engine/catalog.py), a push asset with the checks the run
# evaluated, and the plan asset's metadata from its latest materialization.
PAGES = {
    "/locations/zsync/asset-groups/flows": ("plan_invoices", "push_invoices", "plan_customers", "push_customers"),
    "/assets/push/push_invoices?view=checks": ("invoice_amounts_match", "no_failed_records", "links_resolve"),
    "/assets/plan/plan_invoices": ("to_blocked", "blocked_and_skipped"),
}


@pytest.fixture(scope="module")
def seen_in_the_browser(running_ui, launched, browser_page, tmp_path_factory) -> dict[str, list[str]]:
    """page -> the expected texts it did not show within the page timeout (a screenshot of each
    such page is kept, its path printed)."""
    missing: dict[str, list[str]] = {}
    shots = tmp_path_factory.mktemp("screenshots")
    for number, (path, texts) in enumerate(PAGES.items()):
        browser_page.goto(f"{running_ui.url}{path}")
        for text in texts:
            try:
                browser_page.get_by_text(text, exact=True).first.wait_for()
            except Exception:  # noqa: BLE001 - Playwright's TimeoutError: recorded, asserted by the test
                missing.setdefault(path, []).append(text)
        if path in missing:
            browser_page.screenshot(path=str(shots / f"page-{number}.png"), full_page=True)
            print(f"screenshot of {path}: {shots / f'page-{number}.png'}")
    return missing


@dataclass
class BlockedRecordInTheTable:
    record: dict  # the plan row picked in the warehouse: source_id, label, reason
    reason_shown: bool  # its reason is a cell of its row in the plan asset's blocked_and_skipped table


@pytest.fixture(scope="module")
def blocked_record_in_the_table(running_ui, launched, browser_page, tmp_path_factory) -> BlockedRecordInTheTable:
    """An invoice the run blocked on a tax code the sandbox settings leave unmapped, picked in the
    warehouse among the rows the table shows (engine/plan_metadata.py: its order, the first
    SHOWN), then looked for in the plan asset's page: Dagster's overview renders a table metadata
    entry as a table in the entry's row, so the record's row there must hold its reason."""
    rows = Warehouse(running_ui.env["ZSYNC_DB"]).query(
        "select source_id, label, action, reason from zsync.plan_invoices where action in ('blocked', 'skip') "
        f"order by action, reason, source_id limit {SHOWN}"
    )
    candidates = [r for r in rows.to_dicts() if r["action"] == "blocked" and "Zuora tax code" in (r["reason"] or "")]
    assert candidates, rows.to_dicts()
    record = candidates[0]
    browser_page.goto(f"{running_ui.url}/assets/plan/plan_invoices")
    entry = browser_page.get_by_text("blocked_and_skipped", exact=True).first.locator("xpath=ancestor::tr[1]")
    row = entry.locator("tr", has=browser_page.get_by_text(record["source_id"], exact=True))
    try:
        row.get_by_text(record["reason"], exact=True).wait_for()
        shown = True
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: recorded, asserted by the test
        shown = False
        shot = tmp_path_factory.mktemp("screenshots") / "blocked-table.png"
        browser_page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the plan page: {shot}")
    return BlockedRecordInTheTable(record, shown)


def test_make_ui_comes_up_on_its_own_listing_the_automation_without_warnings(listing):
    location = listing.location
    assert location["name"] == "zsync" and location["__typename"] == "RepositoryLocation", location
    [repo] = location["repositories"]
    assert {s["name"] for s in repo["sensors"]} == {"new_zuora_invoices", "new_netsuite_sales_orders"}
    assert {s["name"] for s in repo["schedules"]} == {"sync_all_schedule"}
    assert {"sync_all", "sync_invoices", "sync_subscriptions"} <= {j["name"] for j in repo["jobs"]}
    # The sandboxes' and Dagster's start-up lines, no warning and no telemetry banner.
    assert "sandboxes ready" in listing.output, listing.output
    for text in ("WARNING", "warning", "dagster.yaml", "deprecated", "superseded", "Telemetry"):
        assert text not in listing.output, listing.output
    for part in (
        "zsync_assets.ui",
        "zsync_assets.cli sandbox",
        "dg dev",
        "code-server",
        "dagster_webserver",
        "dagster._daemon",
    ):
        assert part in listing.commands, (part, listing.commands)


def test_sync_all_launched_from_the_ui_reaches_the_sandboxes_make_ui_started(running_ui, launched):
    assert launched.status == "SUCCESS", (launched.status, running_ui.output()[-3000:])
    assert {"zuora/zuora_connection", "netsuite/netsuite_connection", "push/push_invoices"} <= launched.materialized
    # The pushes reached NetSuite: invoices are linked in the warehouse the UI's runs write to.
    linked = Warehouse(running_ui.env["ZSYNC_DB"]).query(
        "select count(*) as n from zsync.links where flow = 'invoices'"
    )["n"][0]
    assert linked > 0


def test_the_browser_shows_the_graph_a_push_with_its_checks_and_the_plan_metadata(seen_in_the_browser):
    assert seen_in_the_browser == {}


def test_the_plan_assets_blocked_records_table_shows_a_blocked_invoice_with_its_reason(blocked_record_in_the_table):
    found = blocked_record_in_the_table
    assert found.reason_shown, found.record


def test_a_sigterm_to_make_ui_ends_everything_it_started(
    running_ui, listing, launched, seen_in_the_browser, blocked_record_in_the_table
):
    # Asks for every fixture that needs the UI up, so they all ran before this stops it.
    tree = descendants(running_ui.make_pid)
    groups = groups_of(tree)
    started = time.monotonic()
    os.kill(running_ui.make_pid, signal.SIGTERM)
    while survivors(tree, groups, running_ui.shell.pid) and time.monotonic() - started < WAIT_FOR_STOP_S:
        time.sleep(0.1)
    print(f"make ui stopped after {time.monotonic() - started:.1f} s")
    left = survivors(tree, groups, running_ui.shell.pid)
    assert not left, {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left}
    assert not any(port_is_open(p) for p in running_ui.ports.values())
    assert running_ui.shell.wait(timeout=10) == 0
