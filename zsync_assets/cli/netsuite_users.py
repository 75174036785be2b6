"""What users enter in NetSuite against records zsync synced, through zsync's SuiteTalk client:
an accountant's customer payments, refunds and credit memos on invoices zsync created, a sales
rep's sales orders for customers and items that came from Zuora (users.py has the handle these
take and the Zuora side).
"""

from __future__ import annotations

from dataclasses import dataclass

from zsync_assets.cli.users import UserActionFailed, linked_targets, ok_or_raise

# --- NetSuite payments and refunds ----------------------------------------------------------


def open_synced_netsuite_invoice(env) -> dict:
    """A NetSuite invoice zsync made from a Posted Zuora invoice that is still partly open in
    both systems (no adjustments: those travel in another flow)."""
    zuora = env.query(
        "select id, balance from zuora.invoices where status = 'Posted' and balance > 20 "
        "and coalesce(adjustment_amount, 0) = 0 order by id"
    )
    linked = linked_targets(env, "invoices")
    with env.netsuite_client() as client:
        for zuora_id, balance in zuora.iter_rows():
            if zuora_id in linked:
                invoice = client.get("invoice", internal_id=linked[zuora_id])
                if abs(invoice["amountRemaining"] - balance) < 0.005:
                    return {"zuora_id": zuora_id, "internal_id": linked[zuora_id], "invoice": invoice}
    raise UserActionFailed("no open invoice synced from Zuora")


def add_netsuite_payment(env, *, unapplied: float = 0.0, memo: str = "Cheque received in NetSuite") -> dict:
    """A customer payment of half an open synced invoice (+ `unapplied`); returns its ids."""
    target = open_synced_netsuite_invoice(env)
    invoice = target["invoice"]
    applied = round(invoice["amountRemaining"] / 2, 2)
    with env.netsuite_client() as client:
        (result,) = client.add_list(
            "customerPayment",
            [
                {
                    "customer": {"internalId": invoice["entity"]["internalId"]},
                    "currency": {"internalId": invoice["currency"]["internalId"]},
                    "payment": round(applied + unapplied, 2),
                    "memo": memo,
                    "applyList": {"apply": [{"doc": int(target["internal_id"]), "apply": True, "amount": applied}]},
                }
            ],
        )
    ok_or_raise(result)
    return {**target, "payment_id": str(result.internal_id), "applied": applied}


def add_netsuite_refund(env, payment_id: str, amount: float, memo: str = "Overpayment returned") -> str:
    with env.netsuite_client() as client:
        payment = client.get("customerPayment", internal_id=payment_id)
        (result,) = client.add_list(
            "customerRefund",
            [
                {
                    "customer": payment["customer"],
                    "currency": payment["currency"],
                    "memo": memo,
                    "applyList": {"apply": [{"doc": int(payment_id), "apply": True, "amount": amount}]},
                }
            ],
        )
    return str(ok_or_raise(result).internal_id)


# --- NetSuite credit memos ------------------------------------------------------------------


def netsuite_credit_memo(env, applications: list[tuple[str, float]], item: str, customer: str, memo: str = "goodwill"):
    """An accountant's credit memo in NetSuite on `applications` [(invoice internal id, amount)]."""
    total = round(sum(a for _, a in applications), 2)
    with env.netsuite_client() as client:
        (result,) = client.add_list(
            "creditMemo",
            [
                {
                    "entity": {"internalId": customer},
                    "memo": memo,
                    "itemList": {"item": [{"item": {"internalId": item}, "quantity": 1.0, "amount": total}]},
                    "applyList": {
                        "apply": [{"doc": int(doc), "apply": True, "amount": amount} for doc, amount in applications]
                    },
                }
            ],
        )
    return ok_or_raise(result).internal_id


def add_netsuite_credit_memo(env, amount: float = 25.0, memo: str = "goodwill") -> str:
    """A NetSuite credit memo of `amount` applied to one synced invoice Zuora can still credit."""
    invoices = linked_targets(env, "invoices")
    zuora = {i["id"]: i for i in env.zuora_records("invoices")}
    invoice_id = next(
        (
            i
            for i in sorted(invoices)
            if zuora.get(i, {}).get("status") == "Posted" and zuora[i]["balance"] >= 2 * amount
        ),
        None,
    )
    if invoice_id is None:
        raise UserActionFailed(f"no synced Posted invoice with a balance of {2 * amount} or more")
    with env.netsuite_client() as client:
        record = client.get("invoice", internal_id=invoices[invoice_id])
    return netsuite_credit_memo(
        env,
        [(invoices[invoice_id], amount)],
        record["itemList"]["item"][0]["item"]["internalId"],
        record["entity"]["internalId"],
        memo,
    )


# --- NetSuite sales orders ------------------------------------------------------------------

# Zuora seed charge names (sandbox/zuora/seed.py CATALOG) the orders sell: two charges of one
# plan, one per-unit charge of another plan.
CHARGES = ("Platform Fee", "Onboarding", "Per Seat")


@dataclass(frozen=True)
class SalesOrder:
    internal_id: str
    tran_id: str
    customer_id: str
    lines: list[dict]  # {"charge_id", "item_id", "quantity", "rate"}


def linked_items(env) -> dict[str, dict]:
    """Charge name -> {charge_id, item_id, plan_id, model} for the synced Zuora charges."""
    charges = env.query("select id, name, product_rate_plan_id, charge_model from zuora.product_rate_plan_charges")
    items = linked_targets(env, "items")
    return {
        name: {"charge_id": cid, "item_id": items[cid], "plan_id": plan, "model": model}
        for cid, name, plan, model in charges.iter_rows()
        if cid in items
    }


def linked_customers(env) -> list[str]:
    """NetSuite internal ids of customers linked to a Zuora account, either direction."""
    links = env.links("customers")
    return [t if s == "zuora" else i for s, i, t in links.select("source_system", "source_id", "target_id").iter_rows()]


def add_sales_order(
    env, customer_id: str, lines: list[tuple[str, float, float]], memo: str = "Subscription order entered in NetSuite"
) -> SalesOrder:
    """`lines`: (NetSuite item internal id, quantity, rate). NetSuite approves an order entered
    by a user with approval rights: it starts Pending Fulfillment, which the subscriptions flow reads."""
    with env.netsuite_client() as client:
        (added,) = client.add_list(
            "salesOrder",
            [
                {
                    "entity": {"internalId": customer_id},
                    "itemList": {
                        "item": [
                            {"item": {"internalId": item}, "quantity": qty, "rate": f"{rate:.2f}"}
                            for item, qty, rate in lines
                        ]
                    },
                    "memo": memo,
                }
            ],
        )
        ok_or_raise(added)
        record = client.get("salesOrder", internal_id=added.internal_id)
    by_item = {i["item_id"]: i for i in linked_items(env).values()}
    return SalesOrder(
        added.internal_id,
        record["tranId"],
        customer_id,
        [
            {"charge_id": by_item.get(item, {}).get("charge_id"), "item_id": item, "quantity": qty, "rate": rate}
            for item, qty, rate in lines
        ],
    )


def add_sales_orders(env, count: int = 2, memo: str = "Subscription order entered in NetSuite") -> list[SalesOrder]:
    """`count` orders of linked customers for linked items: Platform Fee + Onboarding (one plan)
    and 5..n seats at a negotiated rate (another plan)."""
    items = linked_items(env)
    customers = linked_customers(env)
    missing = [name for name in CHARGES if name not in items]
    if missing or not customers:
        raise UserActionFailed(f"the items flow did not sync {missing} or no customer is linked: {sorted(items)}")
    return [
        add_sales_order(
            env,
            customers[n % len(customers)],
            [
                (items["Platform Fee"]["item_id"], 1.0, 99.0),
                (items["Onboarding"]["item_id"], 1.0, 500.0),
                (items["Per Seat"]["item_id"], 5.0 + n, 12.5),
            ],
            memo,
        )
        for n in range(count)
    ]
