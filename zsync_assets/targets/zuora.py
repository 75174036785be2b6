"""Zuora as a push target (accounts from NetSuite customers) and as a write-back destination.

Creates are `POST` with an `Idempotency-Key` = hash(flow, source id, payload hash) (Zuora
replays a key's first answer for 24 h, failures included, so the key changes when the payload
does) and carry `IntegrationId__NS` = the NetSuite internal id, so an unanswered create is
found by `IntegrationId__NS` before anything is re-sent. Updates are `PUT` by id (idempotent).
Invoice item adjustments, and payments and refunds in a tenant without Invoice Settlement, are
created, updated and canceled through the action calls instead (`by_action`).
Write-back sets the connector fields Zuora declares on its request schemas:
`IntegrationId__NS`, `IntegrationStatus__NS` ("Sync Complete" / "Error"), `SyncDate__NS`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from zsync_assets.clients.zuora import ZuoraAuthError, ZuoraClient, ZuoraError
from zsync_assets.config import Config
from zsync_assets.engine.flow import WriteBack
from zsync_assets.engine.sink import LinkNotice, Outcome, Outgoing, Reversal
from zsync_assets.lib.failure import Failure
from zsync_assets.targets.naming import plural_snake_case

# Zuora's REST routes follow the object's name (Account: `POST /v1/accounts`, `PUT
# /v1/accounts/{id}`, Object Query `accounts`; CreditMemo: `/v1/credit-memos`), so a flow's
# target or write-back record type is all its routes need; ROUTE_EXCEPTIONS has the objects
# whose reference says otherwise (`zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml`).
ROUTE_EXCEPTIONS = {
    # A refund is created on its payment: `paymentId` in the payload fills the path (not the body).
    "Refund": {"create": "/v1/payments/{paymentId}/refunds"},
    # A subscription's own fields change by amendment; only its custom fields by a PUT.
    "Subscription": {"update": "/v1/subscriptions/{id}/customFields"},
}


def route(record_type: str, kind: str) -> str:
    """`kind` create / update / object (the Object Query object, snake_case) of a record type."""
    if kind in ROUTE_EXCEPTIONS.get(record_type, {}):
        return ROUTE_EXCEPTIONS[record_type][kind]
    collection = plural_snake_case(record_type)
    path = "/v1/" + collection.replace("_", "-")
    return {"create": path, "update": path + "/{id}", "object": collection}[kind]


# Record types linked by another key than their id: (create-response field, Object Query field).
# A subscription is linked by its number: every amendment makes a version with a new id.
TARGET_KEYS = {
    "Subscription": ("subscriptionNumber", "name"),
    # a payment / refund response also names its account (`accountId`): take its own id
    "Payment": ("id", "id"),
    "Refund": ("id", "id"),
}
# Update routes that take part of the payload: Zuora changes a subscription's custom fields in
# place (PUTSubscriptionPatchRequestType); any other change is an amendment (a new version).
UPDATE_BODIES = {"Subscription": lambda payload: {"customFields": {k: v for k, v in payload.items() if "__" in k}}}
# A processed payment or refund keeps its amounts, date and applications (UpdatePaymentType /
# PUTRefundType): only its comment and custom fields are updated.
UPDATE_BODIES.update(
    {
        kind: lambda payload: {k: v for k, v in payload.items() if k == "comment" or "__" in k}
        for kind in ("Payment", "Refund")
    }
)
# A source id `<zuora id>:<what>` is a document derived from that Zuora record (e.g. the credit
# memo reversing a canceled invoice): its write-back reports status and date on the record
# itself and leaves IntegrationId__NS pointing at the record's own counterpart.
DERIVED_SEPARATOR = ":"
STATUS_OK, STATUS_ERROR = "Sync Complete", "Error"
# Objects without a dedicated v1 route in Zuora's current spec (zsync_assets/vendor/zuora-openapi/
# README.md: `/v1/object/invoice-item-adjustment` is only in the older API): created through `POST /v1/action/create`
# and written back through `/v1/action/update` (one SaveResult per object, `Success` each: the
# call answers 200 even when the object was refused), found again through ZOQL (no Object Query).
ACTION_OBJECTS = frozenset({"InvoiceItemAdjustment"})
# Payments and refunds too, in a tenant without Invoice Settlement: Zuora's v1 routes for them
# (`POST /v1/payments`, `POST /v1/payments/{id}/refunds`, their `PUT`s and cancels) are "only
# available if you have Invoice Settlement enabled" (POST_CreatePayment et al. in Zuora's API
# reference). The payload the flows map stays the v1 one (its hash is the record's, whatever
# the tenant); ACTION_BODIES turns it into the fields of Zuora's create() of the object.
WITHOUT_SETTLEMENT_BY_ACTION = frozenset({"Payment", "Refund"})
# What an action call may change on an object once processed (the rest is fixed: the flows
# block such changes, saying why). ProxyModifyRefund has no Comment.
ACTION_EDITABLE = {
    "InvoiceItemAdjustment": ("Comment", "ReasonCode"),
    "Payment": ("Comment", "ReferenceId"),
    "Refund": ("ReasonCode",),
}
# Write-back through `/v1/action/update` too: its objects need only `Id` besides the fields to
# change (`zObject_update` in zsync_assets/vendor/zuora-openapi), whereas the charge's own
# `PUT /v1/object/product-rate-plan-charge/{id}` requires BillCycleType, BillingPeriod,
# ChargeModel, ProductRatePlanChargeTierData, ... (`ProxyModifyProductRatePlanCharge`), i.e.
# resending the whole catalog entry to set three custom fields.
# Accounts and invoices as well, up to 50 objects a call (Zuora's limit for action calls, as for
# SOAP `update()`): a sync writes back every account and invoice it sends, and one `PUT` each
# spent one request of the tenant's concurrency and rate limits per record (894 of a 300-account
# `zsync bench` sync's 1,914 Zuora writes were invoice write-backs). Payments and refunds depend
# on Invoice Settlement: their v1 `PUT`s (`PUT_UpdatePayment`, `PUT_UpdateRefund` in Zuora's API
# reference) are only available in a tenant that has it, and Zuora's action calls do not support
# the feature. So without it they go through action calls, with it through their `PUT`s.
ACTION_WRITE_BACK = ACTION_OBJECTS | {"ProductRatePlanCharge", "Account", "Invoice"}
ACTION_WRITE_BACK_WITHOUT_SETTLEMENT = ACTION_WRITE_BACK | {"Payment", "Refund"}
ACTION_MAX_OBJECTS = 50
# The types whose own v1 `PUT` takes the write-back fields alone: a record of them that an action
# call refused is told by its `PUT` (a tenant with Invoice Settlement configured as without it
# refuses the action calls on its payments and refunds; the `PUT`s take them).
PUT_WRITE_BACK = frozenset({"Account", "Invoice", "Payment", "Refund"})


def by_action(record_type: str, invoice_settlement: bool) -> bool:
    """Whether records of `record_type` are created, updated and canceled through action calls."""
    return record_type in ACTION_OBJECTS or (not invoice_settlement and record_type in WITHOUT_SETTLEMENT_BY_ACTION)


def _zuora_object(fields: dict, payload: dict) -> dict:
    """The fields that have a value, and the payload's custom fields (`*__NS`, `*__c`) as they are."""
    return {k: v for k, v in fields.items() if v is not None} | {k: v for k, v in payload.items() if "__" in k}


def _payment_object(payload: dict) -> dict:
    """A v1 payment (CreatePaymentType) as the Payment object of create() (ProxyCreatePayment):
    one invoice by `InvoiceId`, several by `InvoicePaymentData`, and what is left of the amount
    to the credit balance (`AppliedCreditBalanceAmount`, required when no invoice is named)."""
    invoices = payload.get("invoices") or []
    rest = round(payload["amount"] - sum(i["amount"] for i in invoices), 2)
    applied: dict = {}
    if len(invoices) == 1:
        applied = {"InvoiceId": invoices[0]["invoiceId"], "AppliedInvoiceAmount": invoices[0]["amount"]}
    elif invoices:
        applied = {
            "InvoicePaymentData": {
                "InvoicePayment": [{"InvoiceId": i["invoiceId"], "Amount": i["amount"]} for i in invoices]
            }
        }
    fields = {
        "AccountId": payload.get("accountId"),
        "Amount": payload["amount"],
        "EffectiveDate": payload.get("effectiveDate"),
        "Type": payload.get("type"),
        "Status": "Processed",
        "PaymentMethodId": payload.get("paymentMethodId"),
        "Comment": payload.get("comment"),
        **applied,
        "AppliedCreditBalanceAmount": rest if rest > 0 or not invoices else None,
    }
    return _zuora_object(fields, payload)


def _refund_object(payload: dict) -> dict:
    """A v1 refund of a payment (PostRefundType) as the Refund object of create()
    (ProxyCreateRefund): an External one names how it was paid out, `Other` unless told, the v1
    route's default."""
    fields = {
        "PaymentId": payload.get("paymentId"),
        "Amount": payload.get("totalAmount"),
        "Type": payload.get("type"),
        "MethodType": payload.get("methodType", "Other"),
        "RefundDate": payload.get("refundDate"),
        "SourceType": "Payment",
        "Comment": payload.get("comment"),
        "ReasonCode": payload.get("reasonCode"),
    }
    return _zuora_object(fields, payload)


ACTION_BODIES = {"Payment": _payment_object, "Refund": _refund_object}


def action_write_back(record_type: str, invoice_settlement: bool) -> bool:
    """Whether records of `record_type` are written back through `/v1/action/update`."""
    return record_type in (ACTION_WRITE_BACK if invoice_settlement else ACTION_WRITE_BACK_WITHOUT_SETTLEMENT)


def staged_table(record_type: str) -> str:
    """Where records of a type are staged: the Object Query object (ZOQL's table for the action
    objects, named the same way: defs/zuora/assets.py `ZOQL_OBJECTS`)."""
    return f"zuora.{route(record_type, 'object')}"


# Reversal (zsync never deletes in Zuora): PUT_CancelPayment / PUT_CancelRefund take no body
# (with Invoice Settlement); an adjustment, and without Invoice Settlement a payment or refund, is
# canceled with `Status: Canceled` through `/v1/action/update` (ProxyModifyPayment's Status).
CANCEL_ROUTES = {"Payment": "/v1/payments/{id}/cancel", "Refund": "/v1/refunds/{id}/cancel"}
CANCELED = "Canceled"


def _route(route: str | None, record_type: str, what: str) -> str:
    """The route from ROUTES; a type without one is a flow declared against a route zsync lacks."""
    if route is None:
        raise ValueError(f"no Zuora {what} route for {record_type} (targets/zuora.py ROUTES)")
    return route


def _failed(source_id: str, error: ZuoraError) -> Outcome:
    """A record's failed outcome with the client's verdict; refused credentials fail the step."""
    if isinstance(error, ZuoraAuthError):
        raise error
    return Outcome.failed(source_id, error.failure)


class ZuoraSink:
    system = "zuora"

    def __init__(self, client: ZuoraClient, *, invoice_settlement: bool = True):
        self.client = client
        # The tenant's Invoice Settlement (config `invoice_settlement`): the route payments and
        # refunds are written back by (`action_write_back`). Assumed on unless told; the push
        # assets always tell (defs/flows.py `open_sink`).
        self.invoice_settlement = invoice_settlement

    def instance_id(self) -> str:
        return self.client.instance_id

    def batch_size(self, config: Config, action: str) -> int:
        return config.batch_size("zuora_write")

    def parallel_batches(self, config: Config) -> int:
        # Zuora has no list write: a batch is one call per record, sent in turn. Parallel
        # batches are what uses the tenant's concurrency (40 requests by default, shared with
        # every other integration on it, hence a modest `zuora_concurrency`). The client is
        # shared by the workers: httpx.Client is thread-safe, the token refresh is locked.
        return config.zuora_concurrency

    def write(self, records: Sequence[Outgoing]) -> list[Outcome]:
        return [self._write_one(rec) for rec in records]

    def _write_one(self, rec: Outgoing) -> Outcome:
        if by_action(rec.record_type, self.invoice_settlement):
            return self._action_create(rec)
        create, update = route(rec.record_type, "create"), route(rec.record_type, "update")
        try:
            if rec.target_id:
                body = self.client.put(
                    _route(update, rec.record_type, "update").format(id=rec.target_id),
                    UPDATE_BODIES.get(rec.record_type, dict)(rec.payload),
                )
                return Outcome(rec.source_id, True, rec.target_id)
            create = _route(create, rec.record_type, "create")
            path_fields = re.findall(r"{(\w+)}", create)
            body = self.client.post(
                create.format(**{f: rec.payload[f] for f in path_fields}),
                {k: v for k, v in rec.payload.items() if k not in path_fields},
                idempotency_key=rec.attempt_key,
            )
        except ZuoraError as error:
            return _failed(rec.source_id, error)
        target = (body or {}).get("accountId") or (body or {}).get("id") or (body or {}).get("Id")
        if rec.record_type in TARGET_KEYS:
            target = (body or {}).get(TARGET_KEYS[rec.record_type][0])
        if not target:
            # Zuora answered success without naming the record: it may exist; look it up first.
            return Outcome.failed(rec.source_id, Failure("unknown", "NO_ID", f"no id in response: {str(body)[:200]}"))
        return Outcome(rec.source_id, True, target)

    def _action_create(self, rec: Outgoing) -> Outcome:
        obj = ACTION_BODIES.get(rec.record_type, dict)(rec.payload)
        try:
            if rec.target_id:
                editable = ACTION_EDITABLE.get(rec.record_type, ())
                fields = {k: v for k, v in obj.items() if k in editable or "__" in k}
                body = self.client.post(
                    "/v1/action/update", {"type": rec.record_type, "objects": [{"Id": rec.target_id, **fields}]}
                )
                return _save_result(rec.source_id, body, target_id=rec.target_id)
            body = self.client.post(
                "/v1/action/create",
                {"type": rec.record_type, "objects": [obj]},
                idempotency_key=rec.attempt_key,
            )
        except ZuoraError as error:
            return _failed(rec.source_id, error)
        return _save_result(rec.source_id, body)

    def _action_lookup(self, record_type: str, marker: str) -> str | None:
        quoted = str(marker).replace("\\", "\\\\").replace("'", "\\'")
        for page in self.client.zoql(f"select Id from {record_type} where IntegrationId__NS = '{quoted}'"):
            for row in page:
                return row.get("Id") or row.get("id")
        return None

    def lookup(self, records: Sequence[Outgoing]) -> dict[str, str]:
        found: dict[str, str] = {}
        for rec in records:
            marker = rec.payload.get("IntegrationId__NS")
            if not marker:
                continue
            if rec.record_type in ACTION_OBJECTS:
                target = self._action_lookup(rec.record_type, marker)
                if target:
                    found[rec.source_id] = target
                continue
            obj = route(rec.record_type, "object")
            for page in self.client.query_objects(obj, filters=[f"IntegrationId__NS.EQ:{marker}"]):
                for row in page:
                    found.setdefault(rec.source_id, row[TARGET_KEYS.get(rec.record_type, ("", "id"))[1]])
        return found

    def reverse(self, records: Sequence[Reversal]) -> list[Outcome]:
        """Cancel the Zuora documents zsync created from NetSuite transactions deleted since.

        Zuora keeps a canceled payment, refund or adjustment (status Canceled, out of every
        balance), which is how its users undo one; zsync never deletes in Zuora. Those created by
        action calls (`by_action`) are canceled by one, with `Status: Canceled`. Zuora's rules
        on what can be canceled (cancellations in zsync_assets/sandbox/zuora: an Electronic
        payment, one with refunds, one on a Canceled account) come back as its refusal."""
        return [self._cancel(rec) for rec in records]

    def _cancel(self, rec: Reversal) -> Outcome:
        try:
            if by_action(rec.record_type, self.invoice_settlement):
                body = self.client.post(
                    "/v1/action/update",
                    {"type": rec.record_type, "objects": [{"Id": rec.target_id, "Status": CANCELED}]},
                )
                outcome = _save_result(rec.source_id, body, target_id=rec.target_id)
                if outcome.ok or outcome.kind != "data":
                    return outcome
                refusal = outcome
            elif rec.record_type in CANCEL_ROUTES:
                self.client.put(CANCEL_ROUTES[rec.record_type].format(id=rec.target_id), None)
                return Outcome(rec.source_id, True, rec.target_id)
            else:
                return Outcome.failed(
                    rec.source_id,
                    Failure(
                        "data",
                        "ZSYNC_NOT_REVERSIBLE",
                        f"zsync cancels only payments, refunds and adjustments, not a {rec.record_type}",
                    ),
                )
        except ZuoraError as error:
            refusal = _failed(rec.source_id, error)
            if refusal.kind != "data":
                return refusal
        # Refused: done already when the document is Canceled (or gone): cancelling is idempotent.
        return Outcome(rec.source_id, True, rec.target_id) if self._canceled(rec) else refusal

    def _canceled(self, rec: Reversal) -> bool:
        if rec.record_type in ACTION_OBJECTS:
            quoted = str(rec.target_id).replace("'", "\\'")
            rows = [
                row
                for page in self.client.zoql(f"select Id, Status from {rec.record_type} where Id = '{quoted}'")
                for row in page
            ]
            return not rows or rows[0].get("Status") == CANCELED
        try:
            collection = route(rec.record_type, "object").replace("_", "-")
            record = self.client.get(f"/object-query/{collection}/{rec.target_id}")
        except ZuoraError as error:
            if error.status == 404:
                return True  # deleted in Zuora since: nothing left to cancel
            raise
        return (record or {}).get("status") == CANCELED

    def write_back(self, write_back: WriteBack, notices: Sequence[LinkNotice]) -> list[Outcome]:
        record_type = write_back.record_type
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        bodies = [(n.source_id.partition(DERIVED_SEPARATOR)[0], _write_back_fields(n, stamp)) for n in notices]
        if not action_write_back(record_type, self.invoice_settlement):
            return self._put_write_backs(record_type, notices, bodies)
        outcomes = [
            outcome
            for start in range(0, len(notices), ACTION_MAX_OBJECTS)
            for outcome in self._write_back_objects(
                record_type, notices[start : start + ACTION_MAX_OBJECTS], bodies[start : start + ACTION_MAX_OBJECTS]
            )
        ]
        if record_type not in PUT_WRITE_BACK:
            return outcomes
        refused = [i for i, o in enumerate(outcomes) if o.failure is not None and o.failure.kind != "transient"]
        if refused:
            again = self._put_write_backs(record_type, [notices[i] for i in refused], [bodies[i] for i in refused])
            for i, outcome in zip(refused, again, strict=True):
                outcomes[i] = outcome if outcome.ok else _both_refused(outcomes[i], outcome)
        return outcomes

    def _put_write_backs(
        self, record_type: str, notices: Sequence[LinkNotice], bodies: Sequence[tuple[str, dict[str, str]]]
    ) -> list[Outcome]:
        update = _route(route(record_type, "update"), record_type, "update")
        outcomes = []
        for n, (record_id, body) in zip(notices, bodies, strict=True):
            try:
                self.client.put(update.format(id=record_id), body)
                outcomes.append(Outcome(n.source_id, True, n.source_id))
            except ZuoraError as error:
                outcomes.append(_failed(n.source_id, error))
        return outcomes

    def _write_back_objects(
        self, record_type: str, notices: Sequence[LinkNotice], bodies: Sequence[tuple[str, dict[str, str]]]
    ) -> list[Outcome]:
        """One `/v1/action/update` for up to 50 records: each object succeeds or fails on its own,
        its SaveResult at its own position in the answer."""
        objects = [{"Id": record_id, **body} for record_id, body in bodies]
        try:
            # The same fields set to the same values (the stamp included): a call that may have
            # reached Zuora is sent again, as the `PUT`s these calls replace were.
            results = self.client.post("/v1/action/update", {"type": record_type, "objects": objects}, replay_safe=True)
        except ZuoraError as error:
            return [_failed(n.source_id, error) for n in notices]
        listed = results if isinstance(results, list) else []
        return [_save_result(n.source_id, listed[i : i + 1], target_id=n.source_id) for i, n in enumerate(notices)]


def _both_refused(action: Outcome, put: Outcome) -> Outcome:
    """A record the action call and its `PUT` both refused: failed as the `PUT` was, with both
    answers in the message (which of them a tenant accepts depends on its Invoice Settlement)."""
    assert action.failure is not None and put.failure is not None
    message = f"action/update: {action.failure}; PUT: {put.failure.message}"
    return Outcome.failed(put.source_id, Failure(put.failure.kind, put.failure.code, message))


def _write_back_fields(notice: LinkNotice, stamp: str) -> dict[str, str]:
    """What a source record learns: the sync's status and date, and its counterpart's id (not
    for a document derived from it: `DERIVED_SEPARATOR`)."""
    body = {"IntegrationStatus__NS": STATUS_OK if notice.ok else STATUS_ERROR, "SyncDate__NS": stamp}
    if notice.ok and notice.target_id and DERIVED_SEPARATOR not in notice.source_id:
        body["IntegrationId__NS"] = notice.target_id
    return body


def _save_result(source_id: str, body: object, target_id: str | None = None) -> Outcome:
    """The outcome of an action call's object from its SaveResult (`body`: a list whose first
    item is that object's)."""
    result = body[0] if isinstance(body, list) and body else {}
    if result.get("Success") and (target_id or result.get("Id")):
        return Outcome(source_id, True, target_id or result.get("Id"))
    error = (result.get("Errors") or [{}])[0]
    if not error:  # no SaveResult to go by: the object may have been saved
        return Outcome.failed(source_id, Failure("unknown", "NOT_SAVED", f"no SaveResult in {str(body)[:200]}"))
    return Outcome.failed(
        source_id, Failure("data", str(error.get("Code") or "NOT_SAVED"), str(error.get("Message") or ""))
    )
