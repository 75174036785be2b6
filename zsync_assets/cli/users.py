"""What users do in Zuora and NetSuite after zsync synced their records, through the vendors' APIs.

The demo's second pass (`zsync demo`) and the end-to-end tests act as users through these
functions: an accountant enters a customer payment, a refund or a credit memo in NetSuite against
an invoice zsync created there; a sales rep enters a sales order for a customer and items that
came from Zuora; a billing user cancels a payment or sets an invoice item's rev-rec date in Zuora.
None of it can be seeded: the NetSuite documents point at records zsync creates in the same run.

Each function takes a handle with `query`, `links`, `zuora_api`, `zuora_records`,
`zuora_action_update` and `netsuite_client`: `Tenants` here (the configured vendors and
warehouse), or the tests' `SyncEnv`. Zuora is reached over REST with httpx, NetSuite through
zsync's SuiteTalk client (a user's addList is the same SOAP call).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import polars as pl

from zsync_assets.clients.netsuite.interface import NetSuiteClient
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets.sandbox import defaults


class UserActionFailed(RuntimeError):
    """A vendor refused what a user asked of it; the message carries the vendor's answer."""


def _ok(result: Any) -> Any:
    if not result.ok:
        raise UserActionFailed(str(result))
    return result


@dataclass
class Tenants:
    """Both vendors as zsync's settings reach them (the sandboxes when no credential is set), and
    the warehouse that says which records zsync synced."""

    warehouse: Warehouse
    zuora: ZuoraResource
    netsuite: Any  # NetSuiteResource

    def query(self, sql: str) -> pl.DataFrame:
        return self.warehouse.query(sql)

    def links(self, flow: str) -> pl.DataFrame:
        return self.query(f"select * from zsync.links where flow = '{flow}' order by source_id")

    @contextmanager
    def zuora_api(self) -> Iterator[httpx.Client]:
        """An httpx client with a bearer token: the REST calls a user's script makes."""
        base = self.zuora.base_url or defaults.zuora_url()
        form = {
            "grant_type": "client_credentials",
            "client_id": self.zuora.client_id or defaults.ZUORA_CLIENT_ID,
            "client_secret": self.zuora.client_secret or defaults.ZUORA_CLIENT_SECRET,
        }
        token = httpx.post(f"{base}/oauth/token", data=form, timeout=30)
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            yield client

    def zuora_records(self, obj: str, **equals: str) -> list[dict]:
        with self.zuora.get_client() as client:
            filters = [f"{k}.EQ:{v}" for k, v in equals.items()]
            return [r for page in client.query_objects(obj, filters=filters) for r in page]

    def zuora_action_update(self, zuora_type: str, **fields: Any) -> None:
        with self.zuora_api() as api:
            response = api.post("/v1/action/update", json={"type": zuora_type, "objects": [fields]})
        if response.status_code != 200 or not response.json()[0]["Success"]:
            raise UserActionFailed(response.text)

    @contextmanager
    def netsuite_client(self) -> Iterator[NetSuiteClient]:
        client = self.netsuite.get_client()
        try:
            yield client
        finally:
            client.close()


def linked_targets(env, flow: str) -> dict[str, str]:
    return dict(env.links(flow).select("source_id", "target_id").iter_rows())


# --- Zuora ----------------------------------------------------------------------------------


def zuora_call(env, method: str, path: str, json: Any = None) -> dict:
    with env.zuora_api() as api:
        response = api.request(method, path, json=json)
    if response.status_code != 200 or not response.json().get("success", True):
        raise UserActionFailed(f"{method} {path}: {response.text}")
    return response.json()


def cancel_zuora(env, kind: str, record_id: str, *, delete: bool = False) -> None:
    """Cancel a Zuora payment / refund / credit memo / debit memo (a Posted memo is unposted
    first, as Zuora requires), and delete it too with `delete`."""
    path = f"/v1/{kind}/{record_id}"
    if kind.endswith("memos"):
        zuora_call(env, "PUT", f"{path}/unpost")
    zuora_call(env, "PUT", f"{path}/cancel")
    if delete:
        zuora_call(env, "DELETE", path)


def set_rev_rec_date(env, invoice_id: str, start: str = "2024-02-15") -> None:
    # Zuora sets an invoice item's rev rec trigger date later (e.g. on customer acceptance).
    (item, *_) = env.zuora_records("invoice-items", invoiceId=invoice_id)
    env.zuora_action_update("InvoiceItem", Id=item["id"], RevRecStartDate=start)


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
    _ok(result)
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
    return str(_ok(result).internal_id)


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
    return _ok(result).internal_id


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
        _ok(added)
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


# --- the demo's second pass -----------------------------------------------------------------

# Each document the demo enters carries one of these memos: a re-run finds it (staged by the
# first pass) and does not enter it again.
DEMO_PAYMENT_MEMO = "Cheque received in NetSuite (zsync demo)"
DEMO_REFUND_MEMO = "Overpayment returned (zsync demo)"
DEMO_CREDIT_MEMO = "Goodwill credit entered in NetSuite (zsync demo)"
DEMO_ORDER_MEMO = "Subscription order entered in NetSuite (zsync demo)"
DEMO_UNAPPLIED = 20.0  # of the NetSuite payment, returned by the NetSuite refund
DEMO_ACCEPTANCE_DAYS = 14  # after the invoice date: the rev-rec start the demo sets


def _entered(tenants: Tenants, table: str, memo: str) -> list[str]:
    """NetSuite documents with `memo` as the last staging saw them."""
    if not tenants.warehouse.table_exists(table):
        return []
    rows = tenants.warehouse.query(f"select internal_id from {table} where memo = ? order by internal_id", [memo])
    return rows["internal_id"].to_list()


def _payment_to_cancel(tenants: Tenants) -> tuple[str | None, bool]:
    """(the synced Zuora payment the demo cancels, whether it is canceled already): the first by
    number among synced, Processed, External payments with no refund on an active account (what
    Zuora lets a user cancel, sandbox/zuora/cancellations.py). Once canceled it is the first
    synced payment that is Canceled."""
    synced = (
        "select source_id from zsync.push_log where flow = 'payments' and action = 'create' and status = 'succeeded'"
    )
    rows = tenants.warehouse.query(f"""
        select p.id, p.status = 'Canceled' as canceled
        from zuora.payments p join zuora.accounts a on a.id = p.account_id
        where p.id in ({synced}) and (p.status = 'Canceled' or (p.status = 'Processed' and p.type = 'External'
              and coalesce(p.refund_amount, 0) = 0 and a.status = 'Active'))
        order by canceled desc, p.payment_number limit 1""")
    return (rows["id"][0], rows["canceled"][0]) if rows.height else (None, False)


def _invoice_for_rev_rec(tenants: Tenants) -> tuple[str | None, str | None, bool]:
    """(the synced Zuora invoice whose rev-rec start date the demo sets, that date, whether it is
    set already): the first synced Posted invoice by number, recognized from two weeks after its
    invoice date (a customer's acceptance, say; the seed starts recognition on the invoice date)."""
    rows = tenants.warehouse.query(f"""
        with accepted as (
            select *, cast(invoice_date + interval {DEMO_ACCEPTANCE_DAYS} day as date) as accepted_on
            from zuora.invoices
        )
        select i.id, cast(i.accepted_on as varchar) as day, bool_or(it.rev_rec_start_date = i.accepted_on) as done
        from accepted i join zuora.invoice_items it on it.invoice_id = i.id
        where i.status = 'Posted' and i.id in (select source_id from zsync.links where flow = 'invoices')
        group by i.id, i.accepted_on, i.invoice_number order by i.invoice_number limit 1""")
    return (rows["id"][0], rows["day"][0], bool(rows["done"][0])) if rows.height else (None, None, False)


def act_as_users(tenants: Tenants, *, netsuite_payments: bool, netsuite_credit_memos: bool) -> list[str]:
    """What the demo's users do between its two syncs; returns one line per action (done now,
    or found done by an earlier demo on this data)."""
    done: list[str] = []
    if netsuite_payments:
        payments = _entered(tenants, "netsuite.customer_payments", DEMO_PAYMENT_MEMO)
        if payments:
            payment_id = payments[0]
            done.append(f"NetSuite customer payment {payment_id}: entered by an earlier demo")
        else:
            entered = add_netsuite_payment(tenants, unapplied=DEMO_UNAPPLIED, memo=DEMO_PAYMENT_MEMO)
            payment_id = entered["payment_id"]
            done.append(
                f"NetSuite customer payment {payment_id}: {entered['applied']:.2f} applied to invoice "
                f"{entered['invoice']['tranId']}, {DEMO_UNAPPLIED:.2f} unapplied"
            )
        if _entered(tenants, "netsuite.customer_refunds", DEMO_REFUND_MEMO):
            done.append("NetSuite customer refund: entered by an earlier demo")
        else:
            refund = add_netsuite_refund(tenants, payment_id, DEMO_UNAPPLIED, memo=DEMO_REFUND_MEMO)
            done.append(f"NetSuite customer refund {refund}: {DEMO_UNAPPLIED:.2f} of payment {payment_id} returned")
    if netsuite_credit_memos:
        if _entered(tenants, "netsuite.credit_memos", DEMO_CREDIT_MEMO):
            done.append("NetSuite credit memo: entered by an earlier demo")
        else:
            memo = add_netsuite_credit_memo(tenants, 25.0, memo=DEMO_CREDIT_MEMO)
            done.append(f"NetSuite credit memo {memo}: 25.00 applied to a synced invoice")
    if _entered(tenants, "netsuite.sales_orders", DEMO_ORDER_MEMO):
        done.append("NetSuite sales orders: entered by an earlier demo")
    else:
        orders = add_sales_orders(tenants, 2, memo=DEMO_ORDER_MEMO)
        done.append(
            f"NetSuite sales orders {', '.join(o.tran_id for o in orders)}: approved, for customers "
            "and items that came from Zuora"
        )
    payment, canceled = _payment_to_cancel(tenants)
    if payment is not None:
        if not canceled:
            cancel_zuora(tenants, "payments", payment)
        done.append(f"Zuora payment {payment}: canceled" + (" by an earlier demo" if canceled else ""))
    invoice, day, dated = _invoice_for_rev_rec(tenants)
    if invoice is not None and day is not None:
        if not dated:
            set_rev_rec_date(tenants, invoice, day)
        done.append(f"Zuora invoice {invoice}: rev-rec start date {day}" + (" set by an earlier demo" if dated else ""))
    return done
