"""`POST /v1/action/create`, `/v1/action/update`, `/v1/action/delete`, `/v1/action/query` and
`/v1/action/queryMore`:
the "Actions" section of Zuora's API reference, Zuora's generic object calls.

Connectors still need them: invoice item adjustments are created here (no dedicated v1
endpoint in the current spec), invoices are canceled with `Status: Canceled`, and the
NetSuite link fields (`IntegrationId__NS`, ...) are written back on any object. Each object
in the list succeeds or fails on its own (SaveResult per object); at most 50 per call. An
invoice item adjustment is canceled with `Status: Canceled`: a Canceled adjustment no longer
moves its invoice's balance (ledger.py). The queries are ZOQL (zoql.py).

A tenant without Invoice Settlement has no `POST /v1/payments` and no refund of a payment by v1
route (app.py `SETTLEMENT_ONLY`): its payments and refunds are created here, with the fields of
Zuora's create() of a Payment (`AccountId`, `Amount`, `EffectiveDate`, `PaymentMethodId`,
`Type`, `Status`; `InvoiceId` + `AppliedInvoiceAmount` for one invoice, `InvoicePaymentData`
for several, `AppliedCreditBalanceAmount` for the rest) and of a Refund (`PaymentId`, `Amount`,
`Type`, `MethodType` and `RefundDate` for an External one, `SourceType`), and canceled by an
update to `Status: Canceled`. (Zuora makes invoice item adjustments unavailable in a tenant with
Invoice Settlement, where credit memos replace them; the sandbox still creates them there.)
"""

from __future__ import annotations

from typing import Any

from zsync_assets.sandbox.zuora import ledger, payments, refunds, zoql
from zsync_assets.sandbox.zuora.errors import INVALID_VALUE, RULE, UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.fields import a_date, a_number, custom_fields, require, today
from zsync_assets.sandbox.zuora.gateway import Call
from zsync_assets.sandbox.zuora.model import BY_ZOQL
from zsync_assets.sandbox.zuora.records import (
    PROCESSED_EDITABLE,
    find_account,
    get_record,
    refresh_account,
    refresh_invoice,
)

MAX_OBJECTS = 50
# Invoice item adjustment fields `/v1/action/update` may change (the rest is fixed once processed).
ADJUSTMENT_EDITABLE = ("comment", "reasonCode")


def _adjustment(store, fields: dict[str, Any]) -> str:  # noqa: ANN001
    require(fields, "SourceId", "Type", "Amount", "SourceType")
    if fields["Type"] not in ("Credit", "Charge"):
        raise ApiError(400, INVALID_VALUE, "Type must be Credit or Charge")
    if fields["SourceType"] != "InvoiceDetail":
        raise ApiError(400, UNSUPPORTED, "this sandbox adjusts invoice items (SourceType InvoiceDetail) only")
    item = get_record(store, "invoice-items", fields["SourceId"])
    invoice = store.get("invoices", item["invoiceId"])
    if (
        fields.get("InvoiceId", invoice["id"]) != invoice["id"]
        or fields.get("InvoiceNumber", invoice["invoiceNumber"]) != invoice["invoiceNumber"]
    ):
        raise ApiError(400, INVALID_VALUE, "SourceId is not an item of the given invoice")
    if invoice["status"] != "Posted":
        raise ApiError(
            400, RULE, f"invoice {invoice['invoiceNumber']} is {invoice['status']}; only Posted can be adjusted"
        )
    amount = ledger.money(a_number(fields["Amount"], "Amount"), invoice["currency"])
    if amount <= 0 or (fields["Type"] == "Credit" and amount > invoice["balance"] + 0.001):
        raise ApiError(400, RULE, f"a credit adjustment of {amount} exceeds the invoice balance {invoice['balance']}")
    custom = custom_fields("invoice-item-adjustments", fields)
    record = store.insert(
        "invoice-item-adjustments",
        {
            "accountId": invoice["accountId"],
            "invoiceId": invoice["id"],
            "invoiceNumber": invoice["invoiceNumber"],
            "invoiceItemName": item["chargeName"],
            "sourceId": item["id"],
            "sourceType": "InvoiceDetail",
            "type": fields["Type"],
            "amount": amount,
            "status": "Processed",
            "reasonCode": fields.get("ReasonCode"),
            "adjustmentDate": a_date(fields.get("AdjustmentDate", today()), "AdjustmentDate"),
            "adjustmentNumber": f"IA-{store.next_number('adjustment'):08d}",
            "comment": fields.get("Comment"),
            "serviceStartDate": item["serviceStartDate"],
            "serviceEndDate": item["serviceEndDate"],
            **custom,
        },
    )
    refresh_invoice(store, invoice["id"])
    refresh_account(store, invoice["accountId"])
    return record["id"]


def _payment(store, fields: dict[str, Any]) -> str:  # noqa: ANN001
    require(fields, "AccountId", "Amount", "EffectiveDate", "PaymentMethodId", "Type", "Status")
    if fields["Status"] != "Processed":
        raise ApiError(400, INVALID_VALUE, "Status must be Processed")
    account = find_account(store, fields["AccountId"])
    if fields.get("InvoiceId"):
        require(fields, "AppliedInvoiceAmount")
        applications = [(fields["InvoiceId"], fields["AppliedInvoiceAmount"], "AppliedInvoiceAmount")]
    else:
        lines = (fields.get("InvoicePaymentData") or {}).get("InvoicePayment") or []
        for n, line in enumerate(lines):
            require(line, "InvoiceId", "Amount", where=f"InvoicePaymentData.InvoicePayment[{n}].")
        applications = [(line["InvoiceId"], line["Amount"], "InvoicePayment.Amount") for line in lines]
    applied = sum(a_number(amount, name) for _, amount, name in applications)
    credit = a_number(fields.get("AppliedCreditBalanceAmount", 0), "AppliedCreditBalanceAmount")
    if abs(applied + credit - a_number(fields["Amount"], "Amount")) > 0.005:
        raise ApiError(400, RULE, "Amount must equal the amounts applied to invoices plus AppliedCreditBalanceAmount")
    payment = payments.new_payment(
        store,
        account,
        amount=fields["Amount"],
        kind=fields["Type"],
        day=fields["EffectiveDate"],
        payment_method=fields["PaymentMethodId"],
        applications=applications,
        fields={"comment": fields.get("Comment"), "referenceId": fields.get("ReferenceId")},
        custom=custom_fields("payments", fields),
    )
    return payment["id"]


def _refund(store, fields: dict[str, Any]) -> str:  # noqa: ANN001
    require(fields, "Amount", "Type", "PaymentId")
    if fields["Type"] == "External":
        require(fields, "MethodType", "RefundDate")
    if fields.get("SourceType", "Payment") != "Payment":
        raise ApiError(400, UNSUPPORTED, "this sandbox refunds payments (SourceType Payment) only")
    refund = payments.new_refund(
        store,
        get_record(store, "payments", fields["PaymentId"]),
        amount=fields["Amount"],
        kind=fields["Type"],
        day=fields.get("RefundDate", today()),
        fields={
            "methodType": fields.get("MethodType"),
            "reasonCode": fields.get("ReasonCode"),
            "comment": fields.get("Comment"),
        },
        custom=custom_fields("refunds", fields),
    )
    return refund["id"]


CREATE = {"invoice-item-adjustments": _adjustment, "payments": _payment, "refunds": _refund}


def _update(store, obj, fields: dict[str, Any]) -> str:  # noqa: ANN001
    require(fields, "Id")
    record = get_record(store, obj.path, fields["Id"])
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name in ("Id", "fieldsToNull"):
            continue
        field = obj.canonical(name)
        if field is None:
            raise ApiError(400, INVALID_VALUE, f"invalid field '{name}' for {obj.zoql}")
        if "__" in field:
            changes[field] = value
        elif obj.path == "invoices" and field == "status":
            if value != "Canceled":
                raise ApiError(400, RULE, "an invoice's Status can only be set to Canceled here")
            if record["paymentAmount"] or record["adjustmentAmount"]:
                raise ApiError(
                    400,
                    RULE,
                    f"invoice {record['invoiceNumber']} has payments or adjustments; unapply them before canceling",
                )
            changes["status"] = "Canceled"
        elif obj.path == "invoice-items" and field == "revRecStartDate":
            # Stands in for Zuora setting the rev rec trigger date later (e.g. customer acceptance).
            changes[field] = a_date(value, name) if value is not None else None
        elif obj.path == "invoice-item-adjustments" and field in ADJUSTMENT_EDITABLE:
            changes[field] = value
        elif obj.path == "invoice-item-adjustments" and field == "status":
            changes.update(_cancel_adjustment(store, record, value))
        elif obj.path in PROCESSED_EDITABLE and field in PROCESSED_EDITABLE[obj.path]:
            changes[field] = value
        elif obj.path in PROCESSED_EDITABLE and field == "status":
            if value != "Canceled":
                raise ApiError(400, RULE, f"a processed {obj.zoql}'s Status can only be set to Canceled")
            cancel = payments.cancel if obj.path == "payments" else refunds.cancel
            record = cancel(store, record)
        elif obj.path == "accounts" and field == "status":
            # An account is canceled (or re-activated) through the CRUD/SOAP-style update; the
            # v1 `PUT /v1/accounts/{key}` has no status field.
            if value not in ("Active", "Canceled"):
                raise ApiError(400, INVALID_VALUE, "an account's Status can be set to Active or Canceled")
            changes["status"] = value
        else:
            raise ApiError(400, UNSUPPORTED, f"{obj.zoql}.{name} cannot be updated through action/update here")
    for name in fields.get("fieldsToNull") or []:
        field = obj.canonical(name)
        if field is None or ("__" not in field and (obj.path, field) != ("invoice-items", "revRecStartDate")):
            raise ApiError(400, INVALID_VALUE, f"fieldsToNull: '{name}' cannot be nulled")
        changes[field] = None
    store.update(obj.path, record["id"], changes)
    if obj.path in ("invoices", "invoice-item-adjustments") and "status" in changes:
        refresh_invoice(store, record["invoiceId"] if obj.path != "invoices" else record["id"])
        refresh_account(store, record["accountId"])
    return record["id"]


def _cancel_adjustment(store, adjustment: dict[str, Any], value: Any) -> dict[str, Any]:  # noqa: ANN001
    """`Status: Canceled` is the one status change of a processed adjustment (the InvoiceItemAdjustment
    object's Status is Canceled or Processed); its invoice then owes what it owed before it. A canceled
    Charge adjustment must not leave its invoice paying more than it owes."""
    if value != "Canceled":
        raise ApiError(400, RULE, "an invoice item adjustment's Status can only be set to Canceled")
    if adjustment["status"] != "Processed":
        raise ApiError(
            400,
            RULE,
            f"adjustment {adjustment['adjustmentNumber']} is {adjustment['status']}; "
            "only a Processed one can be canceled",
        )
    invoice = store.get("invoices", adjustment["invoiceId"])
    if adjustment["type"] == "Charge" and adjustment["amount"] > invoice["balance"] + 0.001:
        raise ApiError(
            400,
            RULE,
            f"canceling charge adjustment {adjustment['adjustmentNumber']} would leave invoice "
            f"{invoice['invoiceNumber']} overpaid; unapply its payments first",
        )
    return {"status": "Canceled"}


def _action(kind: str):
    def handler(call: Call) -> tuple[int, Any]:
        body = call.json()
        require(body, "type", "objects")
        obj = BY_ZOQL.get(str(body["type"]).lower())
        if obj is None or (kind == "create" and obj.path not in CREATE):
            raise ApiError(400, UNSUPPORTED, f"action/{kind} does not support type '{body['type']}' in this sandbox")
        if len(body["objects"]) > MAX_OBJECTS:
            raise ApiError(400, RULE, f"at most {MAX_OBJECTS} objects per call")
        results = []
        for fields in body["objects"]:
            try:
                with call.store.transaction():  # each object commits or fails on its own
                    record_id = (
                        CREATE[obj.path](call.store, fields) if kind == "create" else _update(call.store, obj, fields)
                    )
                results.append({"Success": True, "Id": record_id})
            except ApiError as err:
                results.append({"Success": False, "Errors": [{"Code": "INVALID_VALUE", "Message": err.message}]})
        return 200, results

    return handler


create = _action("create")
update = _action("update")
# delete() of the objects a tenant without Invoice Settlement deletes by action call (its v1
# DELETE routes need the feature), by the same rules: a Canceled payment, a Canceled or Error refund.
DELETE = {"payments": payments.delete, "refunds": refunds.delete}


def delete(call: Call) -> tuple[int, Any]:
    body = call.json()
    require(body, "type", "ids")
    obj = BY_ZOQL.get(str(body["type"]).lower())
    if obj is None or obj.path not in DELETE:
        raise ApiError(400, UNSUPPORTED, f"action/delete does not support type '{body['type']}' in this sandbox")
    if len(body["ids"]) > MAX_OBJECTS:
        raise ApiError(400, RULE, f"at most {MAX_OBJECTS} objects per call")
    results = []
    for record_id in body["ids"]:  # DeleteResult per id, each on its own
        try:
            with call.store.transaction():
                DELETE[obj.path](call.store, get_record(call.store, obj.path, str(record_id)))
            results.append({"id": record_id, "success": True})
        except ApiError as err:
            results.append(
                {"id": record_id, "success": False, "errors": [{"Code": "INVALID_VALUE", "Message": err.message}]}
            )
    return 200, results


def query(call: Call) -> tuple[int, Any]:
    return 200, zoql.query(call.store, call.json())


def query_more(call: Call) -> tuple[int, Any]:
    return 200, zoql.query_more(call.store, call.json())
