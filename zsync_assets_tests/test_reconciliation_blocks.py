"""`invoice_amounts_match` is a blocking check: an invoice whose amount someone changed in NetSuite
fails it, naming the invoice, and nothing downstream of the invoices push runs in that run.

Everything goes through the real sandboxes and clients: the invoice is changed with a SuiteTalk
`updateList` through zsync's NetSuite client, as a NetSuite user's edit would arrive.
"""

from __future__ import annotations

import dagster as dg

from zsync_assets.defs.checks import reconciliation_check
from zsync_assets.engine.catalog import plan_key, push_key, table_key
from zsync_assets_tests.test_sync_invoices import TAX_ITEMS

DOWNSTREAM = ("payments", "adjustments")  # flows whose plan depends on push/push_invoices


def _raise_first_line(env, internal_id: str, by: float) -> None:
    """Edit a NetSuite invoice: its largest line's rate goes up by `by` (quantity x rate stays exact)."""
    with env.netsuite_client() as client:
        invoice = client.get("invoice", internal_id=internal_id)
        lines = invoice["itemList"]["item"]
        largest = max(lines, key=lambda line: float(line["amount"]))
        edited = []
        for line in lines:
            rate = line.get("rate")
            kept = {
                "item": {"internalId": line["item"]["internalId"]},
                "quantity": line.get("quantity"),
                **({"rate": rate} if rate not in (None, "") else {"amount": line["amount"]}),
                **({"customFieldList": line["customFieldList"]} if line.get("customFieldList") else {}),
            }
            if line is largest:
                quantity = line.get("quantity") or 1.0
                kept.pop("amount", None)
                kept.update(quantity=quantity, rate=f"{float(line['amount']) / quantity + by:.2f}")
            edited.append(kept)
        (result,) = client.update_list("invoice", [{"internalId": internal_id, "itemList": {"item": edited}}])
        assert result.ok, result


def test_an_invoice_changed_in_netsuite_fails_the_check_and_blocks_the_pushes_after_it(make_sync_env):
    env = make_sync_env(tax_item_by_tax_code=TAX_ITEMS)
    env.run(["customers", "items", "invoices"])
    linked = env.query(
        "select l.source_id, l.target_id, cast(i.amount as double) as amount, i.invoice_number "
        "from zsync.links l join zuora.invoices i on i.id = l.source_id "
        "where l.flow = 'invoices' and i.amount > 0 order by i.amount desc, l.source_id"
    )
    assert linked.height >= 2
    victim = linked.row(0, named=True)  # the largest positive invoice synced
    _raise_first_line(env, victim["target_id"], by=10.0)

    netsuite_documents = {table_key("netsuite.invoices"), table_key("netsuite.credit_memos")}
    result = dg.materialize(
        [
            *env.assets(env.flows, also_staging=netsuite_documents),
            reconciliation_check(push_key("invoices")),
        ],
        resources=env.resources(),
        raise_on_error=False,
    )

    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == "invoice_amounts_match"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    [named] = evaluation.metadata["first_records"].value
    assert (named["zuora_invoice_id"], named["netsuite_id"], named["invoice_number"]) == (
        victim["source_id"],
        victim["target_id"],
        victim["invoice_number"],
    )
    assert named["status"] == "mismatch" and abs(named["difference"]) >= 10.0

    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert push_key("invoices") in materialized  # the invoices push itself ran, then the check
    for flow in DOWNSTREAM:
        assert plan_key(flow) not in materialized and push_key(flow) not in materialized, flow
    assert env.push_log("payments").height == 0  # no payment was sent on top of the disagreement
