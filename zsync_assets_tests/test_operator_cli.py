"""What an operator sees after a sync: `zsync status`, `zsync why`, `zsync plan`, the formats.

End to end: a real sync through both sandboxes (in a process of its own where the demo's is
meant), then the real commands through click's runner in this process, reading the same
warehouse with the same configuration layers.
"""

from __future__ import annotations

import csv
import io
import json

import polars as pl
import pytest
from click.testing import CliRunner

from zsync_assets.cli import main
from zsync_assets_tests.fixtures.sync_env import credentials_env

UNKNOWN_SUBSIDIARY = "No Such Subsidiary"


def _cli(*args: str):
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "100"}, catch_exceptions=False)
    return result


def _account_with_posted_invoices(env) -> tuple[dict, list[dict]]:
    """An Active top-level account that syncs (not JPY: its tax code is unmapped on purpose),
    with Posted invoices; chosen by its properties, never by position."""
    accounts = env.zuora_records("accounts")
    parents = {a.get("parentId") for a in accounts}
    invoices = env.zuora_records("invoices")
    for account in sorted(accounts, key=lambda a: a["accountNumber"]):
        mine = [i for i in invoices if i["accountId"] == account["id"] and i["status"] == "Posted"]
        if (
            mine
            and account["status"] == "Active"
            and account.get("SynctoNetSuite__NS") != "No"
            and not account.get("parentId")
            and account["id"] not in parents
            and account["currency"] != "JPY"
        ):
            return account, mine
    raise AssertionError("the seeded tenant has no plain account with posted invoices")


@pytest.fixture
def synced(make_sync_env):
    """A sync like the demo's, run in its own process, with one account blocked by a missing
    mapping (a subsidiary NetSuite does not have): its invoices wait for it."""
    env = make_sync_env()
    account, invoices = _account_with_posted_invoices(env)
    env.update_account(account["id"], Subsidiary__NS=UNKNOWN_SUBSIDIARY)
    run = env.spawn_run([f.name for f in env.flows])
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output[-3000:]
    return env, account, invoices


def _status_shows_per_flow_counts_and_the_top_reasons_and_exits_1_when_blocked(synced):
    env, _, _ = synced
    result = _cli("status")
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "Records per flow" in text and "Top blocked and failed reasons" in text
    assert f"no NetSuite subsidiary named '{UNKNOWN_SUBSIDIARY}'" in text
    assert "Bound instance" in text and "Last push: run" in text
    for line in result.output.splitlines():
        assert len(line) <= 100, line  # fits the terminal: reasons wrap instead

    document = json.loads(_cli("status", "--format", "json").output)
    flows = {f["flow"]: f for f in document["flows"]}
    linked = env.query("select flow, count(*) as n from zsync.links group by flow").rows()
    assert {flow: n for flow, n in linked} == {f: v["linked"] for f, v in flows.items() if v["linked"]}
    assert flows["customers"]["blocked"] >= 1 and flows["invoices"]["blocked"] >= 1
    assert document["problems"] == sum(f["blocked"] + f["failed"] for f in flows.values())
    rows = list(csv.DictReader(io.StringIO(_cli("status", "--format", "csv").output)))
    assert rows and set(rows[0]) == {"flow", "direction", "linked", "pending", "blocked", "failed", "skipped"}


def _status_counts_records_that_wait_on_one_blocked_record_by_its_reason(synced):
    """The account's invoices each name it as their blocker; the screen counts them on one line,
    by the account's own reason, and every blocked or failed record is in exactly one line."""
    from zsync_assets.audit.status import read_status
    from zsync_assets.audit.views import configured_sides

    env, account, _ = synced
    waiting = env.plan("invoices").filter(
        (pl.col("action") == "blocked") & pl.col("reason").str.starts_with(f"account {account['accountNumber']} ")
    )
    assert waiting.height >= 1 and waiting["reason"].n_unique() == 1
    status = read_status(env.warehouse, configured_sides(), reasons=1000)
    cause = f"waits on a record that is blocked: no NetSuite subsidiary named '{UNKNOWN_SUBSIDIARY}'"
    lines = [r for r in status.reasons if r["flow"] == "invoices" and r["reason"].startswith(cause)]
    assert [r["records"] for r in lines] == [waiting.height], status.reasons
    assert sum(r["records"] for r in status.reasons) == status.problems and status.more_reasons == 0
    assert len({(r["flow"], r["status"], r["reason"]) for r in status.reasons}) == len(status.reasons)


def _plan_after_a_sync_in_another_process_agrees_with_what_the_sync_did(synced):
    """The demo's settings are the configuration of every process: a plan made here sends
    nothing the sync could have sent, and blocks on no tax code the sandboxes map."""
    env, _, _ = synced
    result = _cli("plan", "invoices", "--format", "json")
    assert result.exit_code == 1, result.output  # something is blocked (on purpose)
    (plan,) = json.loads(result.output)
    assert plan["counts"]["create"] == plan["counts"]["update"] == 0
    by_sync = env.plan("invoices").filter(pl.col("action") == "blocked")
    assert {r["source_id"] for r in plan["records"] if r["action"] == "blocked"} == set(by_sync["source_id"])
    tax_blocks = {r["detail"] for r in plan["records"] if "tax code" in r["detail"]}
    assert all("'CT-JP'" in reason for reason in tax_blocks), tax_blocks
    synced_with_vat = env.query(
        "select count(*) as n from zsync.links k join zuora.invoice_items i "
        "on i.invoice_id = k.source_id join zuora.taxation_items t on t.invoice_item_id = i.id "
        "where k.flow = 'invoices' and t.tax_code <> 'SALES'"
    )
    assert synced_with_vat["n"][0] > 0  # the mapping was in force for the sync too
    rows = list(csv.DictReader(io.StringIO(_cli("plan", "invoices", "--format", "csv").output)))
    assert rows and set(rows[0]) == {"flow", "action", "source_id", "label", "detail"}


def _why_explains_a_blocked_invoice_by_its_account_and_the_accounts_own_reason(synced):
    _, account, invoices = synced
    number = invoices[0]["invoiceNumber"]
    result = _cli("why", number)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert f"invoices {number}" in text
    assert f"account {account['accountNumber']} ({account['name']}, {account['id']}) is not synced yet" in text
    assert f"blocked by: customers {account['accountNumber']}" in text
    assert f"it is blocked: no NetSuite subsidiary named '{UNKNOWN_SUBSIDIARY}'" in text
    assert len(result.output.splitlines()) <= 45  # one screen

    explained = json.loads(_cli("why", number, "--format", "json").output)["records"][0]
    assert (explained["flow"], explained["status"]) == ("invoices", "blocked")
    assert explained["blocked_by"]["source_id"] == account["id"]
    assert explained["blocked_by"]["status"] == "blocked"
    assert {s["step"]: s["state"] for s in explained["steps"]}["push"] == "never attempted"
    rows = list(csv.DictReader(io.StringIO(_cli("why", number, "--format", "csv").output)))
    assert {r["flow"] for r in rows} == {"invoices", "customers"} and "step" in rows[0]

    by_number = _cli("why", account["accountNumber"])
    text = " ".join(by_number.output.split())
    assert by_number.exit_code == 1 and f"customers {account['accountNumber']}" in text
    assert f"no NetSuite subsidiary named '{UNKNOWN_SUBSIDIARY}'" in text


def _why_by_netsuite_id_and_tranid_of_a_synced_invoice_exits_0(synced):
    env, _, _ = synced
    # A positive invoice: in NetSuite an invoice whose tranId is the Zuora invoice number.
    zuora_id, netsuite_id, number = env.query(
        "select k.source_id, k.target_id, z.invoice_number from zsync.links k join zuora.invoices z "
        "on z.id = k.source_id where k.flow = 'invoices' and z.amount > 0 order by z.invoice_number limit 1"
    ).row(0)
    for key in (netsuite_id, zuora_id):
        result = _cli("why", key, "--format", "json")
        assert result.exit_code == 0, result.output
        records = json.loads(result.output)["records"]
        mine = next(r for r in records if r["flow"] == "invoices" and r["source_id"] == zuora_id)
        assert mine["status"] == "synced"
        assert {s["step"]: s["state"] for s in mine["steps"]}["link"] == "linked"
        assert any(s["step"] == "push" and s["state"] == "succeeded" for s in mine["steps"])
    assert _cli("why", number).exit_code == 0
    missing = _cli("why", "NO-SUCH-KEY-42")
    assert missing.exit_code == 2 and "no record matches 'NO-SUCH-KEY-42'" in missing.output


def test_what_an_operator_sees_after_one_sync_with_a_blocked_account(synced):
    """Each view below only reads the sync, which takes most of this test's time: one sync for
    all of them instead of one each (five syncs were ~70 s of the suite's CPU). A failure's
    traceback names the view."""
    for view in (
        _status_shows_per_flow_counts_and_the_top_reasons_and_exits_1_when_blocked,
        _status_counts_records_that_wait_on_one_blocked_record_by_its_reason,
        _plan_after_a_sync_in_another_process_agrees_with_what_the_sync_did,
        _why_explains_a_blocked_invoice_by_its_account_and_the_accounts_own_reason,
        _why_by_netsuite_id_and_tranid_of_a_synced_invoice_exits_0,
    ):
        view(synced)


def test_status_exits_0_when_nothing_is_blocked_or_failed(make_sync_env):
    env = make_sync_env()
    env.run(["items"])
    assert env.plan_counts("items")["blocked"] == 0 and env.links("items").height > 0
    result = _cli("status")
    assert result.exit_code == 0, result.output
    assert "Nothing blocked or failed." in result.output


def test_sync_exits_0_when_everything_synced_and_1_once_a_record_is_blocked(
    make_sync_env, tmp_path, definitions_afresh
):
    """`zsync sync` against the sandboxes (README "Exit codes"; 2 is in test_bad_input.py): a
    one-account tenant whose every tax code posts somewhere syncs whole (the seed puts the expired
    product and the accounts left out on purpose on other accounts); then its account gets a
    subsidiary NetSuite lacks, and the next sync says in its exit code that records are blocked."""
    env = make_sync_env(zuora_size=1, netsuite_size=0, default_tax_item="CA State Tax")
    run_env = {
        **credentials_env(env.zuora, env.netsuite),
        "ZSYNC_DB": str(env.warehouse_path),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }

    definitions_afresh()
    first = CliRunner().invoke(main, ["sync"], env={**run_env, "COLUMNS": "100"}, catch_exceptions=False)
    assert first.exit_code == 0, first.output[-3000:]
    assert "Nothing blocked or failed." in first.output
    assert env.links("invoices").height > 0

    account, _ = _account_with_posted_invoices(env)
    env.update_account(account["id"], Subsidiary__NS=UNKNOWN_SUBSIDIARY)
    definitions_afresh()
    second = CliRunner().invoke(main, ["sync", "--format", "json"], env=run_env, catch_exceptions=False)
    assert second.exit_code == 1, second.output[-3000:]
    assert f"no NetSuite subsidiary named '{UNKNOWN_SUBSIDIARY}'" in second.output


def test_zsync_config_shows_the_effective_values_and_their_sources(sync_env):
    sync_env.configure(overlap_minutes=7)
    document = json.loads(_cli("config", "--format", "json").output)
    by_key = {row["key"]: row for row in document}
    assert by_key["tax_item_by_tax_code"]["value"]["VAT-DE"] == "DE VAT 19"
    assert by_key["tax_item_by_tax_code"]["source"].startswith("sandbox settings")
    assert by_key["overlap_minutes"]["value"] == 7 and by_key["overlap_minutes"]["source"].endswith(".yaml")
    assert by_key["customer_master"]["source"] == "default"
    table = _cli("config")
    assert table.exit_code == 0 and "the embedded sandboxes" in table.output
    assert "secret" not in table.output.lower()


def test_version_is_the_installed_package_version():
    from importlib.metadata import version

    result = _cli("--version")
    assert result.exit_code == 0 and result.output.strip() == f"zsync, version {version('zsync')}"


def test_tables_fit_the_terminal_and_never_cut_a_reason(monkeypatch):
    from zsync_assets.cli.output import table_text

    monkeypatch.setenv("COLUMNS", "60")
    reason = " ".join(f"word{i}" for i in range(60)) + " " + "x" * 90
    text = table_text([{"flow": "invoices", "source_id": "8a8a" * 8, "reason": reason}])
    assert all(len(line) <= 60 for line in text.splitlines()), text
    assert text.count("x") == 90  # the long word folds over lines, whole
    assert all(f"word{i}" in text for i in range(60))


def test_long_steps_print_progress_lines_when_run_from_the_cli(sync_env, capsys):
    from zsync_assets.cli.runtime import _progress_lines

    with _progress_lines():
        sync_env.run(["items"])
    err = capsys.readouterr().err
    assert "staging zuora.product_rate_plan_charges: page 1," in err
    assert "push items: batch 1 of" in err
    sync_env.run(["items"])  # without the CLI's handler: no progress line is printed
    assert "staging zuora." not in capsys.readouterr().err
