"""The bad-input catalogue: what an operator can get wrong, and what zsync answers.

Each case runs the real `zsync` command (click's runner, in this process) and asserts: exit
code 2, one line naming the problem and what to do, no traceback, and that the warehouse and
both sandboxes are as they were (nothing half-written, not one write request sent).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from zsync_assets.cli import main
from zsync_assets_tests.fixtures.sync_env import credentials_env, netsuite_write_calls, zuora_write_calls


@dataclass
class Case:
    args: list[str]
    expect: list[str]  # texts the one-line message must contain
    env: dict[str, str] = field(default_factory=dict)
    config: str | None = None  # zsync.yaml text for this case
    warehouse: str = "seeded"  # seeded | none | corrupt | locked


def _cases(z, n) -> dict[str, Case]:
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    return {
        "config value": Case(
            ["plan"], ["customer_master: must be 'zuora' or 'netsuite', got 'sap'"], config="customer_master: sap\n"
        ),
        "config unknown key": Case(["plan"], ["custmer_master: unknown key"], config="custmer_master: zuora\n"),
        "config invalid YAML": Case(
            ["plan"], ["zsync.yaml", "not valid YAML", "line 3"], config="customer_master: zuora\ncutover_date: [2024\n"
        ),
        "config file missing": Case(
            ["plan"], ["nope.yaml does not exist", "ZSYNC_CONFIG"], env={"ZSYNC_CONFIG": "/nonexistent/nope.yaml"}
        ),
        "env override invalid YAML": Case(
            ["plan"], ["ZSYNC_BATCH_SIZES: not valid YAML"], env={"ZSYNC_BATCH_SIZES": "{netsuite_add_list: [1"}
        ),
        "env override over the vendor limit": Case(
            ["plan"],
            ["netsuite_add_list must be between 1 and the vendor limit 200"],
            env={"ZSYNC_BATCH_SIZES": "{netsuite_add_list: 500}"},
        ),
        "Zuora credentials refused": Case(
            ["demo"],
            ["Zuora refused the credentials", "ZUORA_CLIENT_SECRET"],
            env=credentials_env(z, n, ZUORA_CLIENT_SECRET="wrong-secret"),
        ),
        "NetSuite signature refused": Case(
            ["demo"],
            ["NetSuite refused the token-based authentication", "NETSUITE_TOKEN_SECRET"],
            env=credentials_env(z, n, NETSUITE_TOKEN_SECRET="wrong-token-secret"),
        ),
        "Zuora host unreachable": Case(
            ["demo"],
            [f"cannot reach Zuora at {dead}", "ZUORA_BASE_URL"],
            env=credentials_env(z, n, ZUORA_BASE_URL=dead),
        ),
        "NetSuite host unreachable": Case(
            ["demo"],
            ["cannot reach NetSuite at http://127.0.0.1:9"],
            env=credentials_env(z, n, NETSUITE_WSDL_URL=f"{dead}/wsdl", NETSUITE_ENDPOINT_URL=f"{dead}/services"),
        ),
        "warehouse locked": Case(
            ["sql", "select 1"],
            ["stayed locked by another process"],
            env={"ZSYNC_LOCK_TIMEOUT_S": "1"},
            warehouse="locked",
        ),
        "warehouse corrupt": Case(["sql", "select 1"], ["DuckDB:"], warehouse="corrupt"),
        "no warehouse yet": Case(["sql", "select 1"], ["no warehouse at", "make demo"], warehouse="none"),
        "requeue unknown id": Case(
            ["requeue", "customers", "no-such-account"],
            ["flow customers knows no record no-such-account", "nothing was re-queued"],
        ),
        "requeue unknown flow": Case(["requeue", "invoicez", "x"], ["no configured flow 'invoicez'"]),
        "plan unknown flow": Case(["plan", "invoicez"], ["no configured flow 'invoicez'"]),
        "sql delete": Case(["sql", "delete from zsync.links"], ["read-only", "DELETE"]),
        "sql drop table": Case(["sql", "drop table zsync.links"], ["read-only", "DROP"]),
        "sql syntax error": Case(["sql", "selec * from zsync.links"], ["SQL: Parser Error", "selec"]),
        "sql unknown table": Case(["sql", "select * from zsync.nope"], ["SQL:", "nope"]),
        "rebind without --yes": Case(["rebind"], ["zsync rebind --yes"]),
        "unknown command option": Case(["plan", "--limitt", "3"], ["No such option '--limitt'"]),
        "sync unknown option": Case(["sync", "--jobb", "sync_all"], ["No such option '--jobb'"]),
        "sync credentials refused": Case(
            ["sync"],
            ["Zuora refused the credentials", "ZUORA_CLIENT_SECRET"],
            env=credentials_env(z, n, ZUORA_CLIENT_SECRET="wrong-secret"),
        ),
    }


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture
def bad_input_world(make_zuora_sandbox, make_netsuite_sandbox, tmp_path):
    z, n = make_zuora_sandbox(size=3), make_netsuite_sandbox(size=0)
    seeded = tmp_path / "seeded.duckdb"
    with duckdb.connect(str(seeded)) as con:  # a warehouse with a link in it, as after a sync
        con.execute(
            "create schema zsync; create table zsync.links (flow varchar, source_id varchar, "
            "target_id varchar); insert into zsync.links values ('customers', 'A1', '7')"
        )
    return z, n, seeded


CASES = [
    "config value",
    "config unknown key",
    "config invalid YAML",
    "config file missing",
    "env override invalid YAML",
    "env override over the vendor limit",
    "Zuora credentials refused",
    "NetSuite signature refused",
    "Zuora host unreachable",
    "NetSuite host unreachable",
    "warehouse locked",
    "warehouse corrupt",
    "no warehouse yet",
    "requeue unknown id",
    "requeue unknown flow",
    "plan unknown flow",
    "sql delete",
    "sql drop table",
    "sql syntax error",
    "sql unknown table",
    "rebind without --yes",
    "unknown command option",
    "sync unknown option",
    "sync credentials refused",
]


def test_the_catalogue_lists_every_case(bad_input_world):
    assert sorted(CASES) == sorted(_cases(*bad_input_world[:2])) and len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gets_one_clear_line_and_changes_nothing(name, bad_input_world, tmp_path, monkeypatch):
    z, n, seeded = bad_input_world
    case = _cases(z, n)[name]
    warehouse = tmp_path / "zsync.duckdb"
    if case.warehouse in ("seeded", "locked"):
        warehouse.write_bytes(seeded.read_bytes())
    elif case.warehouse == "corrupt":
        warehouse.write_bytes(b"this is not a DuckDB file" * 100)
    monkeypatch.chdir(tmp_path)  # ./data is the case's own
    env = {"ZSYNC_DB": str(warehouse), "DAGSTER_HOME": str(tmp_path / "dagster_home"), **case.env}
    if case.config is not None:
        (tmp_path / "zsync.yaml").write_text(case.config)
        env["ZSYNC_CONFIG"] = str(tmp_path / "zsync.yaml")
    before = (_digest(warehouse), zuora_write_calls(z.stats()), netsuite_write_calls(n.stats()))

    holder = duckdb.connect(str(warehouse)) if case.warehouse == "locked" else None
    try:
        # Another process holds the file: DuckDB's lock is per process, so hold it from a child.
        if holder is not None:
            holder.close()
            locker = _hold_file_lock(warehouse)
        result = CliRunner().invoke(main, case.args, env=env, catch_exceptions=True)
    finally:
        if holder is not None:
            locker.kill()
            locker.wait()

    output = result.output.strip()
    assert result.exit_code == 2, f"{name}: exit {result.exit_code}\n{output}\n{result.exception!r}"
    assert isinstance(result.exception, SystemExit), f"{name}: raised {result.exception!r}"
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    message = lines[-1]
    assert message.startswith(("zsync: error:", "Error:")), output
    if message.startswith("zsync: error:"):
        assert len(lines) == 1, f"{name}: more than one line:\n{output}"
    for text in case.expect:
        assert text in message, f"{name}: {text!r} not in {message!r}"
    assert "wrong-secret" not in output and "wrong-token-secret" not in output  # never echo a secret
    after = (_digest(warehouse), zuora_write_calls(z.stats()), netsuite_write_calls(n.stats()))
    assert after == before, f"{name}: the warehouse or a sandbox changed"


def _hold_file_lock(path: Path):
    import subprocess
    import sys
    import time

    code = f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(120)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env={**os.environ})
    assert proc.stdout is not None  # a pipe (PIPE above)
    assert proc.stdout.readline().strip() == "held"
    time.sleep(0.1)
    return proc
