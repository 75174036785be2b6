"""The API floor `zsync bench` divides wall times by (bench/floor.py) counts each write at the
records one call of it carries: Zuora write-backs of accounts, invoices and charges go 50 a call
(`/v1/action/update`), payments' and refunds' too without Invoice Settlement (one a call with it),
NetSuite's 100 a list call."""

from __future__ import annotations

from zsync_assets.bench.floor import write_back_per_call, write_s
from zsync_assets.bench.sandboxes import Latency
from zsync_assets.config import Config
from zsync_assets.flows import configured_flows


def test_write_backs_are_counted_at_the_objects_a_call_carries():
    flows = {f.name: f for f in configured_flows(Config(customer_master="zuora"))}
    names = ("customers", "items", "invoices", "payments", "refunds")
    without = {name: write_back_per_call(flows[name], invoice_settlement=False) for name in names}
    assert without == {"customers": 50, "items": 50, "invoices": 50, "payments": 50, "refunds": 50}
    # Zuora's action calls do not support Invoice Settlement: payments and refunds take PUTs there.
    with_settlement = {name: write_back_per_call(flows[name], invoice_settlement=True) for name in names}
    assert with_settlement == {**without, "payments": 1, "refunds": 1}
    netsuite_master = {f.name: f for f in configured_flows(Config(customer_master="netsuite"))}
    # told in NetSuite, whose list calls write_s counts
    assert write_back_per_call(netsuite_master["customers"], invoice_settlement=False) == 1


def test_a_zuora_stage_costs_its_calls_over_the_concurrency():
    latency = Latency(zuora_call_ms=150, zuora_concurrency=40)
    assert write_s("zuora", 894, latency) == 894 * 0.150 / 40
    assert write_s("zuora", 894, latency, per_call=50) == 0.150  # 18 calls: one round, its one call
    assert write_s("zuora", 4000, latency, per_call=50) == 80 * 0.150 / 40
    assert write_s("netsuite", 100, latency, per_call=50) == write_s("netsuite", 100, latency)
