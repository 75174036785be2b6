"""Two runs at once: the second writes nothing the first already wrote.

Pushes of one flow take turns (a file lock), but each run planned before it got the lock. The
push now re-checks `zsync.links` once it holds the lock and leaves alone what another run
linked meanwhile, so the API traffic is that of one run, not two.
"""

from __future__ import annotations

from zsync_assets.config import Config


def test_a_second_run_started_meanwhile_writes_nothing_the_first_one_wrote(
    make_sync_env,
):
    env = make_sync_env(zuora_size=8, netsuite_size=0)
    # Both runs start together; whichever pushes first holds the flow lock for a while (a slow
    # NetSuite), so the other has planned everything as new by then and waits for the lock.
    env.netsuite.set_faults([{"route": "up*List", "latency_ms": 6000}])
    runs = [env.spawn_run(["customers"]), env.spawn_run(["customers"])]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]
    assert any("synced by another run meanwhile" in output for output in outputs), (
        "the runs did not overlap: the test proved nothing"
    )

    attempts = env.query(
        "select run_id, source_id from zsync.push_log "
        "where flow = 'customers' and action in ('create', 'update') and status = 'started'"
    )
    per_record = attempts.group_by("source_id").len()
    assert per_record.height == env.links("customers").height > 0
    assert per_record["len"].max() == 1, "a record was sent by both runs"
    assert attempts["run_id"].n_unique() == 1, "the second run sent something"
    assert len(env.netsuite_records("customer")) == per_record.height
    # One run's batches, at most one per request NetSuite allows at once; the second run sent none.
    assert env.write_calls()["netsuite"] <= Config().netsuite_concurrency


def test_runs_starting_together_on_a_fresh_dagster_home_all_get_its_storage(tmp_path):
    """Dagster creates its SQLite storage on first use; runs racing to create it on a fresh
    DAGSTER_HOME ended one of them in a raw traceback (seen with two `zsync demo`s, and with
    about 1 start in 6 here when four processes start at once). `zsync demo` creates it under a
    file lock: every process that starts together gets the instance."""
    import os
    import subprocess
    import sys
    import time

    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from zsync_assets.cli.runtime import _dagster_instance\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.001)\n"
        "_dagster_instance(Path(os.environ['DAGSTER_HOME']))\n"
    )
    for trial in range(2):
        home, go = tmp_path / f"home-{trial}", tmp_path / f"go-{trial}"
        home.mkdir()
        starts = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(go)],
                env={**os.environ, "DAGSTER_HOME": str(home)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(4)
        ]
        time.sleep(6)  # every process has imported Dagster and waits for the signal
        go.touch()
        for start in starts:
            output, _ = start.communicate(timeout=120)
            assert start.returncode == 0, output[-2000:]
