"""The config file validates at load and names the offending key."""

from datetime import date

import pytest
import yaml

from zsync_assets.config import (
    DEFAULT_CONFIG_PATH,
    SANDBOX_CONFIG_PATH,
    Config,
    ConfigError,
    config_sources,
    load_config,
    parse_config,
    write_demo_settings,
)

REAL_TENANT = {"ZUORA_CLIENT_ID": "x" * 36}


def test_the_committed_default_file_loads_and_matches_the_built_in_defaults():
    assert DEFAULT_CONFIG_PATH.exists()
    assert load_config(environ=REAL_TENANT) == parse_config({})


def test_with_the_sandboxes_their_settings_sit_under_the_file_and_the_environment(tmp_path):
    """One configuration everywhere: with no credential set, every process reads the sandbox
    pair's settings (its tax-code mapping) under the config file, so the demo, `zsync plan` and
    the UI agree; a real tenant never sees them; the file and ZSYNC_<KEY> still win."""
    sandbox = yaml.safe_load(SANDBOX_CONFIG_PATH.read_text())
    assert sandbox["tax_item_by_tax_code"]["VAT-DE"] == "DE VAT 19"
    assert load_config(environ={}).tax_item_by_tax_code == sandbox["tax_item_by_tax_code"]
    assert config_sources(environ={})["tax_item_by_tax_code"].startswith("sandbox settings")
    assert config_sources(environ={})["customer_master"] == str(DEFAULT_CONFIG_PATH)
    assert load_config(environ=REAL_TENANT).tax_item_by_tax_code == {}
    assert config_sources(environ=REAL_TENANT)["tax_item_by_tax_code"] == "default"

    file = tmp_path / "zsync.yaml"
    file.write_text("tax_item_by_tax_code: {SALES: Exempt}\n")
    assert load_config(environ={"ZSYNC_CONFIG": str(file)}).tax_item_by_tax_code == {"SALES": "Exempt"}
    env = {"ZSYNC_CONFIG": str(file), "ZSYNC_TAX_ITEM_BY_TAX_CODE": "{SALES: CA State Tax}"}
    assert load_config(environ=env).tax_item_by_tax_code == {"SALES": "CA State Tax"}
    assert config_sources(environ=env)["tax_item_by_tax_code"] == "ZSYNC_TAX_ITEM_BY_TAX_CODE"


def test_the_demo_settings_kept_with_the_sandbox_data_hold_for_every_command_until_the_next_demo(tmp_path):
    """`zsync demo [--settlement]` writes what it turns on beside the sandbox data: every later
    process that talks to those sandboxes reads it, above the committed zsync.yaml (which spells
    out `invoice_settlement: false`) and under ZSYNC_<KEY>; a real tenant never sees it."""
    env = {"ZSYNC_SANDBOX_DATA": str(tmp_path / "sandbox")}
    assert load_config(environ=env).payments_ns_to_zuora is False
    path = write_demo_settings(True, env)
    assert path.parent == tmp_path / "sandbox"
    config = load_config(environ=env)
    assert (config.invoice_settlement, config.payments_ns_to_zuora, config.default_tax_item) == (
        True,
        True,
        "CA State Tax",
    )
    assert config_sources(environ=env)["invoice_settlement"] == f"demo settings ({path})"
    assert write_demo_settings(None, env) == path and load_config(environ=env).invoice_settlement  # `make ui` keeps it
    assert load_config(environ={**env, "ZSYNC_INVOICE_SETTLEMENT": "false"}).invoice_settlement is False
    assert load_config(environ={**env, **REAL_TENANT}) == load_config(environ=REAL_TENANT)

    write_demo_settings(False, env)  # the plain demo on the same data turns the variant off
    config = load_config(environ=env)
    assert (config.invoice_settlement, config.payments_ns_to_zuora, config.default_tax_item) == (False, True, None)
    assert config_sources(environ=env)["invoice_settlement"] == str(DEFAULT_CONFIG_PATH)


def test_the_sandbox_settings_map_every_seeded_tax_code_but_the_one_left_out_on_purpose():
    from zsync_assets.sandbox.netsuite.seed import TAX_ITEMS as NETSUITE_TAX_ITEMS
    from zsync_assets.sandbox.zuora.seed import TAX as ZUORA_TAX

    mapping = yaml.safe_load(SANDBOX_CONFIG_PATH.read_text())["tax_item_by_tax_code"]
    assert set(mapping.values()) <= {name for name, _ in NETSUITE_TAX_ITEMS}
    assert {code for *_, code in ZUORA_TAX.values()} - set(mapping) == {"CT-JP"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"customer_master": "sap"}, "customer_master: must be 'zuora' or 'netsuite', got 'sap'"),
        (
            {"batch_sizes": {"netsuite_upsert_list": 500}},
            "batch_sizes: netsuite_upsert_list must be between 1 and the vendor limit 100",
        ),
        (
            {"batch_sizes": {"netsuite_delete_everything": 5}},
            "batch_sizes: unknown operation 'netsuite_delete_everything'",
        ),
        ({"cutover_date": "yesterday"}, "cutover_date:"),
        ({"custmer_master": "zuora"}, "custmer_master: unknown key"),
        (
            {"item_type_by_charge_type": {"Recurring": "Foo"}},
            "item_type_by_charge_type.Recurring: must be 'NonInventorySaleItem' or 'ServiceSaleItem', got 'Foo'",
        ),
        ({"subsidiary_by_currency": {"EURO": "x"}}, "subsidiary_by_currency: keys must be ISO 4217 currency codes"),
        ({"netsuite_concurrency": 0}, "netsuite_concurrency:"),
        ({"field_overrides": {"customers": {"constant": {}}}}, "field_overrides.customers.constant: unknown key"),
    ],
)
def test_invalid_values_fail_with_the_key_named(raw, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert message in str(caught.value)


def test_environment_wins_over_the_file(tmp_path):
    file = tmp_path / "zsync.yaml"
    file.write_text("customer_master: zuora\ncutover_date: 2023-01-01\n")
    config = load_config(
        environ={
            "ZSYNC_CONFIG": str(file),
            "ZSYNC_CUSTOMER_MASTER": "netsuite",
            "ZSYNC_BATCH_SIZES": "{netsuite_upsert_list: 20}",
        }
    )
    assert config.customer_master == "netsuite"
    assert config.cutover_date == date(2023, 1, 1)
    assert config.batch_size("netsuite_upsert_list") == 20
    assert config.batch_size("netsuite_add_list") == 200


def test_a_bad_environment_override_names_the_key():
    with pytest.raises(ConfigError, match="customer_master: must be 'zuora' or 'netsuite', got 'sap'"):
        load_config(environ={"ZSYNC_CUSTOMER_MASTER": "sap"})


def test_a_missing_file_named_by_zsync_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(environ={"ZSYNC_CONFIG": str(tmp_path / "nope.yaml")})


def test_netsuite_concurrency_and_list_sizes_reach_the_netsuite_resource(monkeypatch):
    from zsync_assets.defs.netsuite.resources import netsuite_resource

    resource = netsuite_resource(Config(netsuite_concurrency=15, batch_sizes={"netsuite_upsert_list": 50}))
    assert (resource.concurrency, resource.upsert_batch_size, resource.add_batch_size) == (15, 50, 200)
    # the environment still wins, for throttling one deployment without a commit
    monkeypatch.setenv("NETSUITE_CONCURRENCY", "3")
    assert netsuite_resource(Config(netsuite_concurrency=15)).concurrency.get_value() == 3
