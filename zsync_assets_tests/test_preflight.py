"""`zsync check`: the custom fields zsync needs, asked of both systems before any sync.

Against the two sandboxes, through the CLI: all present (exit 0); a Zuora tenant without one
`__NS` field and a NetSuite account without one script id (exit 1, each named with how to
create it); a system that cannot be reached (exit 2). The NetSuite account "without" a field is
the in-process sandbox with that field taken out of the definitions it has (its writes refuse
the field as well): the sandbox has no setting for its custom fields yet.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from click.testing import CliRunner

from zsync_assets.cli import main
from zsync_assets.cli.preflight import NETSUITE_KINDS, needed_fields
from zsync_assets.clients.netsuite.customization import get_customization_ids
from zsync_assets.flows import all_flows
from zsync_assets.lib.staging import snake_case
from zsync_assets.sandbox.netsuite import records
from zsync_assets.sandbox.zuora.model import BY_ZOQL, custom_fields_of
from zsync_assets.vendor import NETSUITE_WSDL

REPO = Path(__file__).resolve().parents[1]
ALL_FLOWS = {"payments_ns_to_zuora": True}  # every direction of payments and refunds too


def run_check(monkeypatch, tmp_path, zuora, netsuite, **config) -> tuple[int, str]:
    config_file = tmp_path / f"zsync-{len(list(tmp_path.glob('zsync-*.yaml')))}.yaml"  # current_config caches by path
    config_file.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("ZSYNC_CONFIG", str(config_file))
    monkeypatch.setenv("ZSYNC_DB", str(tmp_path / "zsync.duckdb"))
    monkeypatch.setenv("ZUORA_BASE_URL", zuora.url)
    monkeypatch.setenv("ZUORA_CLIENT_ID", zuora.client_id)
    monkeypatch.setenv("ZUORA_CLIENT_SECRET", zuora.client_secret)
    monkeypatch.setenv("NETSUITE_WSDL_URL", netsuite.wsdl_url)
    monkeypatch.setenv("NETSUITE_ENDPOINT_URL", netsuite.endpoint_url)
    result = CliRunner().invoke(main, ["check"])
    assert zuora.client_secret not in result.output
    return result.exit_code, result.output


def test_all_present_in_both_sandboxes(make_zuora_sandbox, netsuite_sandbox, monkeypatch, tmp_path):
    code, output = run_check(monkeypatch, tmp_path, make_zuora_sandbox(size=1), netsuite_sandbox, **ALL_FLOWS)
    assert code == 0, output
    assert "all present" in output and "MISSING" not in output


def test_missing_fields_are_named_with_how_to_create_them(make_zuora_sandbox, netsuite_sandbox, monkeypatch, tmp_path):
    payment_fields = [f for f in custom_fields_of(BY_ZOQL["payment"]) if f != "Origin__NS"]
    zuora = make_zuora_sandbox(size=1, custom_fields={"Payment": payment_fields})
    monkeypatch.delitem(records.CUSTOM_FIELDS, "custbody_zsync_origin")

    code, output = run_check(monkeypatch, tmp_path, zuora, netsuite_sandbox, **ALL_FLOWS)

    assert code == 1, output
    missing = re.findall(r"MISSING (\w+) (\w+)\.(\w+)", output)
    assert sorted(missing) == [
        ("netsuite", "transactionBodyCustomField", "custbody_zsync_origin"),
        ("zuora", "Payment", "Origin__NS"),
    ]
    assert "Transaction Body Fields > New: ID '_zsync_origin'" in output
    assert "Zuora Global Support" in output
    # Only the flows that use the field are named: refunds need Origin__NS on Refund, not on Payment.
    (zuora_line,) = [line for line in output.splitlines() if "Payment.Origin__NS" in line]
    assert "payments" in zuora_line and "refunds" not in zuora_line


def test_a_system_that_cannot_be_reached(make_zuora_sandbox, netsuite_sandbox, monkeypatch, tmp_path):
    zuora = make_zuora_sandbox(size=1)
    zuora.stop()  # nothing listens on its port any more
    code, output = run_check(monkeypatch, tmp_path, zuora, netsuite_sandbox)
    assert code == 2, output
    assert "zuora: cannot be reached" in output and "netsuite: cannot be reached" not in output
    assert "MISSING" not in output  # NetSuite was still asked, and has every field


def test_a_config_without_a_flow_does_not_need_its_fields(netsuite_sandbox, make_zuora_sandbox, monkeypatch, tmp_path):
    # netsuite_payments is off by default: Payment.Transaction__NS is only its field.
    zuora = make_zuora_sandbox(
        size=1, custom_fields={"Payment": [f for f in custom_fields_of(BY_ZOQL["payment"]) if f != "Transaction__NS"]}
    )
    assert run_check(monkeypatch, tmp_path, zuora, netsuite_sandbox)[0] == 0
    assert run_check(monkeypatch, tmp_path, zuora, netsuite_sandbox, **ALL_FLOWS)[0] == 1


def test_get_customization_id_answers_in_the_vendor_schema(netsuite_sandbox):
    """The sandbox's getCustomizationId read through the vendor's own WSDL (zeep parses the
    answer with the vendor XSDs), and through zsync's client."""
    _, service = netsuite_sandbox.zeep_service(NETSUITE_WSDL)
    result = service.getCustomizationId(
        customizationType={"getCustomizationType": "entityCustomField"},
        includeInactives=False,
        _soapheaders={"tokenPassport": netsuite_sandbox.passport()},
    )
    refs = result.body.getCustomizationIdResult.customizationRefList.customizationRef
    assert {r.scriptId for r in refs} == {
        "custentity_zsync_zuora_id",
        "custentity_zsync_send_to_zuora",
        "custentity_zsync_status",
    }
    assert all(r.type == "entityCustomField" and r.internalId for r in refs)
    from zsync_assets.clients.netsuite import NetSuiteResource

    client = NetSuiteResource(
        wsdl_url=netsuite_sandbox.wsdl_url,
        endpoint_url=netsuite_sandbox.endpoint_url,
        lock_dir=str(netsuite_sandbox.data_dir / "locks"),
    ).get_client()
    try:
        column = get_customization_ids(client, "transactionColumnCustomField")
        assert [r.script_id for r in column] == ["custcol_zsync_zuora_item_id"]
        assert get_customization_ids(client, "crmCustomField") == []
    finally:
        client.close()


def test_every_flow_declares_the_custom_fields_it_uses():
    """A flow's custom fields are declared on it (`Flow.custom_fields`): a flow declaring none, or
    a field named in flows/ or targets/ that no flow declares, fails here."""
    for flow in all_flows():
        assert flow.custom_fields.zuora and flow.custom_fields.netsuite, (flow.name, flow.source_system)
    zuora, netsuite = needed_fields(all_flows())
    declared = {name for _, name in zuora}
    sources = "\n".join(
        p.read_text() for folder in ("flows", "targets") for p in (REPO / "zsync_assets" / folder).rglob("*.py")
    )
    used = set(re.findall(r"\b([A-Z][A-Za-z]*__NS)\b", sources))
    # customers.py names these to say SuiteTalk's Customer has nowhere to put them: not used.
    used -= {"Class__NS", "Department__NS", "Location__NS"}
    assert used and used <= declared, used - declared
    used_columns = set(re.findall(r"\b([a-z][a-z_]*__ns)\b", sources))
    assert used_columns <= {snake_case(name) for name in declared}, used_columns - {snake_case(n) for n in declared}
    script_ids = set(re.findall(r"\b(cust(?:entity|item|body|col)_zsync_\w+)", sources))
    assert script_ids and script_ids <= set(netsuite), script_ids - set(netsuite)
    assert {s.split("_", 1)[0] for s in netsuite} <= set(NETSUITE_KINDS)
    # Every declared Zuora field is one the sandbox models (so the check can find it there).
    for obj, name in zuora:
        assert name in custom_fields_of(BY_ZOQL[obj.lower()]), (obj, name)
