"""Write endpoints for billing documents: invoices, payments, refunds, memos and the ZOQL-era actions.

Each write keeps the derived amounts true through `ledger` (invoice balance, payment
unapplied amount, account balance), inside the request's transaction.
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora import ledger
from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, NOT_FOUND, RULE, ApiError
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.model import BY_ZOQL
from zsync_assets.sandbox.zuora.store import SANDBOX_USER_ID, Store, now_iso
from zsync_assets.sandbox.zuora.writes import a_date, a_number, custom_fields, find_account, require, today


def _get(store: Store, obj: str, key: str, number_field: str | None = None) -> dict[str, Any]:
    record = store.get(obj, key) or (next(iter(store.find(obj, **{number_field: key})), None) if number_field else None)
    if record is None:
        raise ApiError(404, NOT_FOUND, f"{BY_ZOQL_NAME.get(obj, obj)} '{key}' does not exist")
    return record


BY_ZOQL_NAME = {o.path: o.zoql for o in BY_ZOQL.values()}


def refresh_invoice(store: Store, invoice_id: str) -> dict[str, Any]:
    invoice = store.existing("invoices", invoice_id)
    items = store.find("invoice-items", invoiceId=invoice_id)
    taxes = [t for item in items for t in store.find("taxation-items", invoiceItemId=item["id"])]
    changes = ledger.invoice_amounts(invoice, items, taxes, store.find("payment-applications", invoiceId=invoice_id),
                                     store.find("invoice-item-adjustments", invoiceId=invoice_id))
    return store.update("invoices", invoice_id, changes)


def refresh_payment(store: Store, payment_id: str) -> dict[str, Any]:
    payment = store.existing("payments", payment_id)
    # A canceled refund gives its money back to the payment's unapplied amount (cancellations.py).
    refunds = [a for a in store.find("refund-applications", paymentId=payment_id)
               if (store.get("refunds", a["refundId"]) or {}).get("status") != "Canceled"]
    changes = ledger.payment_amounts(payment, store.find("payment-applications", paymentId=payment_id), refunds)
    return store.update("payments", payment_id, changes)


def refresh_account(store: Store, account_id: str) -> dict[str, Any]:
    account = store.existing("accounts", account_id)
    changes = ledger.account_amounts(account, *(store.find(o, accountId=account_id) for o in (
        "invoices", "debit-memos", "credit-memos", "payments")))
    return store.update("accounts", account_id, changes)


# -- invoices ---------------------------------------------------------------------------

def create_invoice(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    require(body, "invoiceDate")
    account = find_account(store, body.get("accountId") or body.get("accountNumber"))
    status = body.get("status", "Draft")
    if status not in ("Draft", "Posted"):
        raise ApiError(400, INVALID_VALUE, "status must be Draft or Posted")
    day = a_date(body["invoiceDate"], "invoiceDate")
    items = body.get("invoiceItems") or []
    if not items:
        raise ApiError(400, RULE, "an invoice needs at least one invoice item")
    invoice = store.insert("invoices", {
        "accountId": account["id"], "invoiceNumber": body.get("invoiceNumber") or f"INV{store.next_number('invoice'):08d}",
        "invoiceDate": day, "targetDate": day, "dueDate": a_date(body.get("dueDate", day), "dueDate"), "status": "Draft",
        "currency": account["currency"], "source": "API", "sourceType": "Standalone", "comments": body.get("comments"),
        "creditMemoAmount": 0.0, "refundAmount": 0.0, "creditBalanceAdjustmentAmount": 0.0, "reversed": False,
        **custom_fields("invoices", body)})
    for n, item in enumerate(items):
        require(item, "amount", "serviceStartDate", where=f"invoiceItems[{n}].")
        charge = store.get("product-rate-plan-charges", item.get("productRatePlanChargeId") or "")
        if item.get("productRatePlanChargeId") and charge is None:
            raise ApiError(404, NOT_FOUND, f"product rate plan charge '{item['productRatePlanChargeId']}' does not exist")
        amount = ledger.money(a_number(item["amount"], f"invoiceItems[{n}].amount"), account["currency"])
        quantity = a_number(item.get("quantity", 1), f"invoiceItems[{n}].quantity")
        record = store.insert("invoice-items", {
            "invoiceId": invoice["id"], "accountId": account["id"], "chargeName": item.get("chargeName")
            or (charge or {}).get("name"), "productRatePlanChargeId": item.get("productRatePlanChargeId"),
            "productRatePlanId": (charge or {}).get("productRatePlanId"), "chargeAmount": amount,
            "quantity": quantity,
            "unitPrice": a_number(item.get("unitPrice", amount / quantity if quantity else amount),
                                  f"invoiceItems[{n}].unitPrice"),
            "uOM": item.get("uom"), "sKU": item.get("sku"), "processingType": "0", "balance": amount,
            "serviceStartDate": a_date(item["serviceStartDate"], "serviceStartDate"),
            "serviceEndDate": a_date(item.get("serviceEndDate", item["serviceStartDate"]), "serviceEndDate"),
            "chargeDate": now_iso(), "sourceItemType": "ProductRatePlanCharge", "accountingCode": item.get("accountingCode")})
        for tax in item.get("taxItems") or []:
            require(tax, "taxAmount", "name", where=f"invoiceItems[{n}].taxItems.")
            store.insert("taxation-items", {
                "invoiceItemId": record["id"], "name": tax["name"], "taxAmount": a_number(tax["taxAmount"], "taxAmount"),
                "jurisdiction": tax.get("jurisdiction"), "taxCode": tax.get("taxCode"), "taxRate": tax.get("taxRate"),
                "taxRateType": tax.get("taxRateType", "Percentage"), "taxMode": tax.get("taxMode", "TaxExclusive"),
                "taxDate": tax.get("taxDate", day), "taxableAmount": amount, "exemptAmount": 0.0,
                "creditAmount": 0.0, "paymentAmount": 0.0, "balance": a_number(tax["taxAmount"], "taxAmount")})
    if status == "Posted":
        _post_invoice(store, invoice["id"])
    invoice = refresh_invoice(store, invoice["id"])
    refresh_account(store, account["id"])
    return 200, {**{k: v for k, v in invoice.items() if v is not None and "__" not in k}, "success": True}


def _post_invoice(store: Store, invoice_id: str) -> None:
    invoice = _get(store, "invoices", invoice_id, "invoiceNumber")
    if invoice["status"] != "Draft":
        raise ApiError(400, RULE, f"invoice {invoice['invoiceNumber']} is {invoice['status']}, only Draft can be posted")
    store.update("invoices", invoice["id"], {"status": "Posted", "postedBy": SANDBOX_USER_ID, "postedDate": now_iso()})


def bulk_post(call: Call) -> tuple[int, Any]:
    results = []
    for entry in call.json().get("invoices") or []:
        try:
            with call.store.transaction():  # one bad invoice does not undo the others
                _post_invoice(call.store, entry.get("id", ""))
                invoice = refresh_invoice(call.store, call.store.existing("invoices", entry["id"])["id"])
                refresh_account(call.store, invoice["accountId"])
            results.append({"id": entry["id"], "success": True})
        except ApiError as err:
            results.append({"id": entry.get("id"), "success": False,
                            "reasons": [{"code": err.code, "message": err.message}]})
    return 200, {"invoices": results, "success": True}


# -- payments and refunds ---------------------------------------------------------------

def _payment_body(payment: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "accountId", "amount", "appliedAmount", "unappliedAmount", "refundAmount", "currency",
            "effectiveDate", "status", "type", "comment", "referenceId", "gatewayState", "createdDate",
            "createdById", "updatedDate", "updatedById")
    return {**{k: payment[k] for k in keep if payment.get(k) is not None}, "number": payment["paymentNumber"],
            "accountNumber": account["accountNumber"], "creditBalanceAmount": 0.0, "success": True}


def create_payment(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    require(body, "amount", "currency", "type")
    account = find_account(store, body.get("accountId") or body.get("accountNumber"))
    if body["currency"] != account["currency"]:
        raise ApiError(400, INVALID_VALUE, f"payment currency {body['currency']} differs from the account's "
                                           f"{account['currency']}")
    if body["type"] not in ("External", "Electronic"):
        raise ApiError(400, INVALID_VALUE, "type must be External or Electronic")
    amount = ledger.money(a_number(body["amount"], "amount"), account["currency"])
    applications = body.get("invoices") or []
    if sum(a_number(a.get("amount", 0), "invoices.amount") for a in applications) > amount + 0.001:
        raise ApiError(400, RULE, "the amounts applied to invoices exceed the payment amount")
    day = a_date(body.get("effectiveDate", today()), "effectiveDate")
    payment = store.insert("payments", {
        "accountId": account["id"], "paymentNumber": f"P-{store.next_number('payment'):08d}", "amount": amount,
        "currency": account["currency"], "effectiveDate": day, "status": "Processed", "type": body["type"],
        "source": "API", "comment": body.get("comment"), "referenceId": body.get("referenceId"),
        "gatewayState": "NotSubmitted", "appliedAmount": 0.0, "refundAmount": 0.0, "unappliedAmount": amount,
        **custom_fields("payments", body)})
    for n, application in enumerate(applications):
        require(application, "invoiceId", "amount", where=f"invoices[{n}].")
        invoice = _get(store, "invoices", application["invoiceId"], "invoiceNumber")
        if invoice["accountId"] != account["id"] or invoice["status"] != "Posted":
            raise ApiError(400, RULE, f"invoice {invoice['invoiceNumber']} is not a Posted invoice of this account")
        apply = ledger.money(a_number(application["amount"], f"invoices[{n}].amount"), account["currency"])
        if apply > invoice["balance"] + 0.001:
            raise ApiError(400, RULE, f"the amount applied to {invoice['invoiceNumber']} exceeds its balance "
                                      f"{invoice['balance']}")
        store.insert("payment-applications", {
            "paymentId": payment["id"], "invoiceId": invoice["id"], "accountId": account["id"], "applyAmount": apply,
            "effectiveDate": day, "paymentApplicationStatus": "Processed"})
        refresh_invoice(store, invoice["id"])
    payment = refresh_payment(store, payment["id"])
    refresh_account(store, account["id"])
    return 200, _payment_body(payment, account)


def refund_payment(call: Call) -> tuple[int, Any]:
    body, store = call.json(), call.store
    require(body, "totalAmount", "type")
    payment = _get(store, "payments", call.path_params["payment_key"], "paymentNumber")
    amount = ledger.money(a_number(body["totalAmount"], "totalAmount"), payment["currency"])
    if amount <= 0 or amount > payment["unappliedAmount"] + 0.001:
        # Zuora refunds only the unapplied part; applied money must be unapplied first.
        raise ApiError(400, RULE, f"the refund amount {amount} exceeds the payment's unapplied amount "
                                  f"{payment['unappliedAmount']}")
    day = a_date(body.get("refundDate", today()), "refundDate")
    refund = store.insert("refunds", {
        "accountId": payment["accountId"], "refundNumber": f"R-{store.next_number('refund'):08d}", "amount": amount,
        "currency": payment["currency"], "refundDate": day, "status": "Processed", "type": body["type"],
        "sourceType": "Payment", "methodType": body.get("methodType", "Other"), "reasonCode": body.get("reasonCode"),
        "comment": body.get("comment"), **custom_fields("refunds", body)})
    store.insert("refund-applications", {"accountId": payment["accountId"], "refundId": refund["id"],
                                         "paymentId": payment["id"], "applyAmount": amount, "effectiveDate": day})
    refresh_payment(store, payment["id"])
    refresh_account(store, payment["accountId"])
    keep = ("id", "accountId", "amount", "comment", "methodType", "reasonCode", "refundDate", "status", "type",
            "createdDate", "createdById", "updatedDate", "updatedById")
    return 200, {**{k: refund[k] for k in keep if refund.get(k) is not None}, "number": refund["refundNumber"],
                 "paymentId": payment["id"], "success": True}


# -- credit and debit memos -------------------------------------------------------------

MEMOS = {"credit": ("credit-memos", "credit-memo-items", "creditMemoId", "CM%08d"),
         "debit": ("debit-memos", "debit-memo-items", "debitMemoId", "DM%08d")}


def _memo_body(kind: str, memo: dict[str, Any], account: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "accountId", "currency", "status", "reasonCode", "taxAmount", "postedOn", "postedById",
            "createdDate", "createdById", "updatedDate", "updatedById")
    body = {k: memo[k] for k in keep if memo.get(k) is not None}
    body.update(number=memo["memoNumber"], accountNumber=account["accountNumber"], amount=memo["totalAmount"],
                balance=memo["balance"], success=True)
    if kind == "credit":
        body.update(creditMemoDate=memo["memoDate"], appliedAmount=memo.get("appliedAmount") or 0.0,
                    refundAmount=memo.get("refundAmount") or 0.0, unappliedAmount=memo["balance"])
    else:
        body.update(debitMemoDate=memo["memoDate"], dueDate=memo["dueDate"])
    return body


def create_memo(kind: str):
    obj, item_obj, parent_field, number = MEMOS[kind]

    def handler(call: Call) -> tuple[int, Any]:
        body, store = call.json(), call.store
        account = find_account(store, body.get("accountId") or body.get("accountNumber"))
        charges = body.get("charges") or []
        if not charges:
            raise ApiError(400, RULE, "a memo needs at least one charge")
        day = a_date(body.get("effectiveDate", today()), "effectiveDate")
        memo = store.insert(obj, {
            "accountId": account["id"], "memoNumber": body.get("number") or number % store.next_number(obj),
            "memoDate": day, "status": "Draft", "currency": account["currency"], "reasonCode": body.get("reasonCode"),
            "source": "API", "sourceType": "Standalone", "taxAmount": 0.0, **custom_fields(obj, body),
            **({"comment": body.get("comment"), "appliedAmount": 0.0, "refundAmount": 0.0} if kind == "credit"
               else {"comments": body.get("comment"), "dueDate": a_date(body.get("dueDate", day), "dueDate")})})
        total = 0.0
        for n, charge in enumerate(charges):
            require(charge, "productRatePlanChargeId", "amount", where=f"charges[{n}].")
            prpc = _get(store, "product-rate-plan-charges", charge["productRatePlanChargeId"])
            amount = ledger.money(a_number(charge["amount"], f"charges[{n}].amount"), account["currency"])
            total += amount
            store.insert(item_obj, {
                parent_field: memo["id"], "amount": amount, "amountWithoutTax": amount, "taxAmount": 0.0,
                "chargeName": prpc["name"], "productRatePlanChargeId": prpc["id"],
                "quantity": a_number(charge.get("quantity", 1), f"charges[{n}].quantity"), "unitPrice": amount,
                "sourceItemType": "ProductRatePlanCharge",
                "serviceStartDate": charge.get("serviceStartDate", day), "serviceEndDate": charge.get("serviceEndDate", day),
                **({"unappliedAmount": amount} if kind == "credit" else {"balance": amount})})
        total = ledger.money(total, account["currency"])
        memo = store.update(obj, memo["id"], {"totalAmount": total, "totalAmountWithoutTax": total, "balance": total})
        if body.get("autoPost"):
            memo = _post_memo(store, obj, memo["id"])
        refresh_account(store, account["id"])
        return 200, _memo_body(kind, memo, account)

    return handler


def _post_memo(store: Store, obj: str, key: str) -> dict[str, Any]:
    memo = _get(store, obj, key, "memoNumber")
    if memo["status"] != "Draft":
        raise ApiError(400, RULE, f"memo {memo['memoNumber']} is {memo['status']}, only Draft can be posted")
    return store.update(obj, memo["id"], {"status": "Posted", "postedOn": now_iso(), "postedById": SANDBOX_USER_ID})


def post_memo(kind: str):
    obj = MEMOS[kind][0]

    def handler(call: Call) -> tuple[int, Any]:
        memo = _post_memo(call.store, obj, call.path_params["memo_key"])
        refresh_account(call.store, memo["accountId"])
        return 200, _memo_body(kind, memo, call.store.existing("accounts", memo["accountId"]))

    return handler
