"""`make ui` on its own (issue 8, item 5): no sandbox running, no credential set.

It comes up listing the automation, without a supersession, venv, code-location or missing
dagster.yaml warning, and a SIGTERM to `make` ends every process it started within 10 s, although
it was started as a script's background job (fixtures/make_ui.py says why that matters).
Materializing from it: test_ui_materialize.py.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from zsync_assets.sandbox.runner import port_is_open
from zsync_assets_tests.fixtures.make_ui import descendants, groups_of, start_make_ui, survivors

STOP_WITHIN_S = 10.0


def test_make_ui_comes_up_on_its_own_without_warnings_and_stops_within_10_s(tmp_path):
    with start_make_ui(tmp_path) as ui:
        data = ui.graphql("""{ workspaceOrError { ... on Workspace { locationEntries { name
            locationOrLoadError { __typename ... on PythonError { message }
              ... on RepositoryLocation { repositories { sensors { name } schedules { name } jobs { name } } } } } } } }""")
        [entry] = data["workspaceOrError"]["locationEntries"]
        location = entry["locationOrLoadError"]
        assert entry["name"] == "zsync" and location["__typename"] == "RepositoryLocation", location
        [repo] = location["repositories"]
        assert {s["name"] for s in repo["sensors"]} == {"new_zuora_invoices", "new_netsuite_sales_orders"}
        assert {s["name"] for s in repo["schedules"]} == {"sync_all_schedule"}
        assert {"sync_all", "sync_invoices", "sync_subscriptions"} <= {j["name"] for j in repo["jobs"]}

        # From the launcher's first line on (make may have installed the venv before it): the
        # sandboxes' and Dagster's start-up lines, no warning and no telemetry banner.
        output = ui.output()
        output = output[output.index("zuora sandbox:"):]
        for text in ("WARNING", "warning", "dagster.yaml", "deprecated", "superseded", "Telemetry"):
            assert text not in output, output
        assert "sandboxes ready" in output

        tree = descendants(ui.make_pid)
        commands = " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
                            for pid in tree if Path(f"/proc/{pid}/cmdline").exists())
        for part in ("zsync_assets.ui", "zsync_assets.cli sandbox", "dg dev", "code-server", "dagster_webserver",
                     "dagster._daemon"):
            assert part in commands, (part, commands)
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
