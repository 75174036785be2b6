"""The demo's second pass (`zsync demo`): what its users do between its two syncs, each once
(users.py and netsuite_users.py hold the actions).
"""

from __future__ import annotations

from zsync_assets.cli.netsuite_users import (
    add_netsuite_credit_memo,
    add_netsuite_payment,
    add_netsuite_refund,
    add_sales_orders,
)
from zsync_assets.cli.users import Tenants, cancel_zuora, set_rev_rec_date

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
