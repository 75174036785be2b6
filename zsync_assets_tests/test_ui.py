"""`make ui` on its own (issue 8, item 5): no sandboxes running, no credentials set.

One scenario, shared by the tests of this module (conftest.py SHARED_FIXTURE_MODULES: one
worker runs them, in order): `make ui` is started the way a script starts a background job
(`make ui &` in a non-interactive shell: SIGINT ignored, which `dg dev` would turn into an
ignored SIGTERM for everything below it unless zsync_assets/ui.py prevents it). The UI lists the
automation; `sync_all`, launched from the UI, reaches the sandboxes `make ui` started (what this
replaced: after `zsync demo` had stopped them, a run from the UI failed minutes later naming no
host); the browser shows what it materialized (opt-in where Chromium is absent); and a SIGTERM to `make` ends
every process within 10 s.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from zsync_assets.config import REPO_ROOT
from zsync_assets.sandbox.runner import free_port, port_is_open

SHIPPED_HOME = REPO_ROOT / "data" / "dagster_home"
LOCATION = {"repositoryLocationName": "zsync", "repositoryName": "__repository__"}
STOP_WITHIN_S = 10.0


@dataclass
class RunningUi:
    url: str
    ports: dict[str, int]
    shell: subprocess.Popen  # `bash -c 'make ui & wait'`
    make_pid: int
    log: Path
    env: dict[str, str]

    def graphql(self, query: str, **variables) -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def clean_environment(**extra: str) -> dict[str, str]:
    """The test's environment without any real-tenant setting (as the autouse fixture does for
    function-scoped tests), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZUORA_", "NETSUITE_", "PYTEST_"))}
    return {**env, **extra}


def process_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, pgid, sid) of every live (non-zombie) process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                table[int(entry.name)] = (int(fields[1]), int(fields[2]), int(fields[3]))
    return table


def descendants(root: int) -> set[int]:
    table, found, frontier = process_table(), set(), {root}
    while frontier:
        found |= frontier
        frontier = {pid for pid, (ppid, _, _) in table.items() if ppid in frontier} - found
    return found


def groups_of(pids: set[int]) -> set[int]:
    """Process groups and sessions these processes belong to: a process started later inside one of
    them (a code server restarted during shutdown) is still found."""
    table = process_table()
    return {g for pid in pids if pid in table for g in table[pid][1:]}


def survivors(pids: set[int], groups: set[int], shell: int) -> set[int]:
    table = process_table()
    return {pid for pid, (_, pgid, sid) in table.items()
            if pid != shell and (pid in pids or pgid in groups or sid in groups)}


def _wait_until_up(ui: RunningUi, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert ui.shell.poll() is None, ui.output()
        try:
            if httpx.get(f"{ui.url}/server_info", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"make ui did not serve {ui.url} within {timeout_s:.0f} s:\n{ui.output()}")


@pytest.fixture(scope="module")
def running_ui(tmp_path_factory) -> Iterator[RunningUi]:
    work = tmp_path_factory.mktemp("make-ui")
    ports = {"zuora": free_port(), "netsuite": free_port(), "ui": free_port()}
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(SHIPPED_HOME / "dagster.yaml", home / "dagster.yaml")  # what `make ui` finds in data/
    env = clean_environment(DAGSTER_HOME=str(home), ZSYNC_DB=str(work / "zsync.duckdb"))
    sandbox_dir = work / "sandbox"

    assert not port_is_open(ports["zuora"]) and not port_is_open(ports["netsuite"])
    started = time.monotonic()

    # `make ui &` from a script; free ports and a small tenant through UI_ARGS.
    log = work / "make-ui.log"
    pid_file = work / "make.pid"
    ui_args = (f"--zuora-port {ports['zuora']} --netsuite-port {ports['netsuite']} "
               f"--sandbox-data-dir {sandbox_dir} --sandbox-size 8")
    script = (f"make -s ui UI_PORT={ports['ui']} UI_ARGS='{ui_args}' >{log} 2>&1 & "
              f"echo $! >{pid_file}; wait")
    shell = subprocess.Popen(["bash", "-c", script], cwd=REPO_ROOT, env=env, start_new_session=True)
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        time.sleep(0.05)
    ui = RunningUi(f"http://127.0.0.1:{ports['ui']}", ports, shell, int(pid_file.read_text()), log, env)
    try:
        _wait_until_up(ui)
        print(f"make ui served {ui.url} after {time.monotonic() - started:.0f} s")
        yield ui
    finally:
        if shell.poll() is None:  # a failed test left it running: end it all, by group and by pid
            tree = descendants(shell.pid)
            for group in groups_of(tree):
                try:
                    os.killpg(group, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            shell.wait(timeout=10)


def test_the_ui_comes_up_with_its_automation_listed_and_no_warnings(running_ui):
    data = running_ui.graphql("""{ workspaceOrError { ... on Workspace { locationEntries { name
        locationOrLoadError { __typename ... on PythonError { message }
          ... on RepositoryLocation { repositories { sensors { name } schedules { name } jobs { name } } } } } } } }""")
    [entry] = data["workspaceOrError"]["locationEntries"]
    location = entry["locationOrLoadError"]
    assert entry["name"] == "zsync" and location["__typename"] == "RepositoryLocation", location
    [repo] = location["repositories"]
    assert {s["name"] for s in repo["sensors"]} == {"new_zuora_invoices", "new_netsuite_sales_orders"}
    assert {s["name"] for s in repo["schedules"]} == {"sync_all_schedule"}
    assert {"sync_all", "sync_invoices", "sync_subscriptions"} <= {j["name"] for j in repo["jobs"]}
    # From the launcher's first line on (before it, make may have installed the venv).
    output = running_ui.output()
    output = output[output.index("zuora sandbox:"):]
    # No supersession, virtual-environment, code-location or missing-dagster.yaml warning, and no
    # telemetry banner: the output is the sandboxes' and Dagster's start-up lines only.
    for text in ("WARNING", "warning", "dagster.yaml", "deprecated", "superseded", "Telemetry"):
        assert text not in output, output
    assert "sandboxes ready" in output


def launch(ui: RunningUi, job: str, run_config: dict) -> str:
    launched = ui.graphql("""mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
        __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
        ... on RunConfigValidationInvalid { errors { message } } } }""",
                          params={"selector": {**LOCATION, "jobName": job}, "runConfigData": run_config})
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess", launched
    return launched["launchRun"]["run"]["runId"]


def wait_for_run(ui: RunningUi, run_id: str, timeout_s: float = 600) -> str | None:
    deadline, status = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        status = ui.graphql("query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                            id=run_id)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    return status


@pytest.fixture(scope="module")
def synced_from_the_ui(running_ui) -> str:
    """`sync_all`, launched from the UI through the daemon's run queue, in one process: the
    multiprocess executor would start a process per step, most of a run's time on 2 cores."""
    run_id = launch(running_ui, "sync_all", {"execution": {"config": {"in_process": {}}}})
    status = wait_for_run(running_ui, run_id)
    assert status == "SUCCESS", (status, running_ui.output()[-3000:])
    return run_id


def test_sync_all_launched_from_the_ui_reaches_the_sandboxes_make_ui_started(running_ui, synced_from_the_ui):
    materialized = running_ui.graphql("""query($id: ID!) { runOrError(runId: $id) { ... on Run {
        assetMaterializations { assetKey { path } } } } }""", id=synced_from_the_ui)["runOrError"]
    keys = {"/".join(m["assetKey"]["path"]) for m in materialized["assetMaterializations"]}
    assert {"zuora/zuora_connection", "netsuite/netsuite_connection", "push/push_invoices"} <= keys
    # The pushes reached NetSuite: invoices are linked in the warehouse the UI's runs write to.
    from zsync_assets.lib.warehouse import Warehouse

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
        # A push asset with its checks, evaluated by the run above.
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


def test_stopping_make_ui_ends_every_process_within_10_s(running_ui):
    ui = running_ui
    tree = descendants(ui.make_pid)
    commands = " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") for pid in tree
                        if Path(f"/proc/{pid}/cmdline").exists())
    assert all(part in commands for part in ("zsync_assets.ui", "sandbox", "dg\0dev", "code-server", "dagster_webserver",
                                             "dagster._daemon")), commands.replace("\0", " ")
    groups = groups_of(tree)
    started = time.monotonic()
    os.kill(ui.make_pid, signal.SIGTERM)
    while survivors(tree, groups, ui.shell.pid) and time.monotonic() - started < 30:
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    left = survivors(tree, groups, ui.shell.pid)
    assert not left, {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in left}
    assert elapsed < STOP_WITHIN_S, f"took {elapsed:.1f} s"
    assert not any(port_is_open(p) for p in ui.ports.values())
    assert ui.shell.wait(timeout=10) == 0
