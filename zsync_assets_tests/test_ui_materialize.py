"""Materializing from `make ui`, and what the browser shows of it.

What this replaced: `zsync demo` stopped its sandboxes, and a run started from the UI afterwards
failed after minutes, naming no host. Here `make ui` starts on its own (fixtures/make_ui.py),
`sync_all` is launched from the UI through the daemon's run queue and reaches the sandboxes `make
ui` started; then headless Chromium, driven by Playwright, opens the asset graph, a push asset
with its checks and the plan asset's metadata. The tests share one UI and one run
(conftest.py SHARED_FIXTURE_MODULES keeps them on one worker), in any order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zsync_assets.lib.warehouse import Warehouse
from zsync_assets_tests.fixtures.make_ui import RunningUi, start_make_ui


@pytest.fixture(scope="module")
def running_ui(tmp_path_factory) -> Iterator[RunningUi]:
    with start_make_ui(tmp_path_factory.mktemp("make-ui")) as ui:
        yield ui


@pytest.fixture(scope="module")
def synced_from_the_ui(running_ui) -> str:
    """`sync_all`, launched from the UI, in one process: the multiprocess executor would start a
    process per step, most of a run's time on 2 cores (deploy/README.md)."""
    run_id = running_ui.launch("sync_all", {"execution": {"config": {"in_process": {}}}})
    status = running_ui.wait_for_run(run_id)
    assert status == "SUCCESS", (status, running_ui.output()[-3000:])
    return run_id


def test_sync_all_launched_from_the_ui_reaches_the_sandboxes_make_ui_started(running_ui, synced_from_the_ui):
    materialized = running_ui.graphql("""query($id: ID!) { runOrError(runId: $id) { ... on Run {
        assetMaterializations { assetKey { path } } } } }""", id=synced_from_the_ui)["runOrError"]
    keys = {"/".join(m["assetKey"]["path"]) for m in materialized["assetMaterializations"]}
    assert {"zuora/zuora_connection", "netsuite/netsuite_connection", "push/push_invoices"} <= keys
    # The pushes reached NetSuite: invoices are linked in the warehouse the UI's runs write to.
    linked = Warehouse(running_ui.env["ZSYNC_DB"]).query(
        "select count(*) as n from zsync.links where flow = 'invoices'")["n"][0]
    assert linked > 0


@pytest.mark.opt_in
def test_the_browser_shows_the_graph_a_push_with_its_checks_and_the_plan_metadata(running_ui, synced_from_the_ui,
                                                                                 browser_page, tmp_path):
    page, url = browser_page, running_ui.url
    try:
        # The flows group's lineage: every node labelled by a name of its own (engine/catalog.py).
        page.goto(f"{url}/locations/zsync/asset-groups/flows")
        for label in ("plan_invoices", "push_invoices", "plan_customers", "push_customers"):
            page.get_by_text(label, exact=True).first.wait_for()
        # A push asset with its checks, as the run above evaluated them.
        page.goto(f"{url}/assets/push/push_invoices?view=checks")
        for check in ("invoice_amounts_match", "no_data_errors", "links_resolve"):
            page.get_by_text(check, exact=True).first.wait_for()
        # The plan asset's metadata from its latest materialization.
        page.goto(f"{url}/assets/plan/plan_invoices")
        for entry in ("to_blocked", "blocked_and_skipped"):
            page.get_by_text(entry, exact=True).first.wait_for()
    except Exception:
        page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
        print(f"screenshot: {tmp_path / 'failed.png'}")
        raise
