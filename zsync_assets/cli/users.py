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

Here: the handle and what a billing user does in Zuora; netsuite_users.py: what accountants and
sales reps enter in NetSuite; demo_users.py: the demo's second pass, made of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import polars as pl

from zsync_assets.clients.netsuite.interface import NetSuiteClient
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets.sandbox import defaults


class UserActionFailed(RuntimeError):
    """A vendor refused what a user asked of it; the message carries the vendor's answer."""


def ok_or_raise(result: Any) -> Any:
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


# Zuora's v1 cancel and delete routes of payments and refunds exist only in a tenant with
# Invoice Settlement (PUT_CancelPayment et al.); without it a user cancels one by setting its
# `Status` to Canceled (ProxyModifyPayment / ProxyModifyRefund), through an action call.
ACTION_TYPES = {"payments": "Payment", "refunds": "Refund"}


def settlement() -> bool:
    """Whether the tenant has Invoice Settlement, as the config says (the demo's and the
    tests' sandboxes are started to match it)."""
    from zsync_assets.config import current_config

    return current_config().invoice_settlement


def cancel_zuora(env, kind: str, record_id: str, *, delete: bool = False) -> None:
    """Cancel a Zuora payment / refund / credit memo / debit memo (a Posted memo is unposted
    first, as Zuora requires), and delete it too with `delete`."""
    path = f"/v1/{kind}/{record_id}"
    if kind in ACTION_TYPES and not settlement():
        env.zuora_action_update(ACTION_TYPES[kind], Id=record_id, Status="Canceled")
    else:
        if kind.endswith("memos"):
            zuora_call(env, "PUT", f"{path}/unpost")
        zuora_call(env, "PUT", f"{path}/cancel")
    if delete:
        delete_zuora(env, kind, record_id)


def delete_zuora(env, kind: str, record_id: str) -> None:
    """Delete a canceled Zuora payment / refund / memo (`/v1/action/delete` without Invoice Settlement)."""
    if kind not in ACTION_TYPES or settlement():
        zuora_call(env, "DELETE", f"/v1/{kind}/{record_id}")
        return
    with env.zuora_api() as api:
        response = api.post("/v1/action/delete", json={"type": ACTION_TYPES[kind], "ids": [record_id]})
    if response.status_code != 200 or not response.json()[0]["success"]:
        raise UserActionFailed(response.text)


def pay_in_zuora(env, account: dict, amount: float, invoice_id: str | None = None) -> str:
    """An External payment a user enters in Zuora, on one invoice or on none (unapplied, or the
    account's credit balance without Invoice Settlement): its id."""
    if settlement():
        invoices = [{"invoiceId": invoice_id, "amount": amount}] if invoice_id else []
        body = {"accountId": account["id"], "amount": amount, "currency": account["currency"], "type": "External"}
        return zuora_call(env, "POST", "/v1/payments", {**body, "invoices": invoices})["id"]
    applied = (
        {"InvoiceId": invoice_id, "AppliedInvoiceAmount": amount}
        if invoice_id
        else {"AppliedCreditBalanceAmount": amount}
    )
    fields = {
        "AccountId": account["id"],
        "Amount": amount,
        "EffectiveDate": date.today().isoformat(),
        "PaymentMethodId": defaults.EXTERNAL_PAYMENT_METHODS["Other"],
        "Type": "External",
        "Status": "Processed",
        **applied,
    }
    return _action_create(env, "Payment", fields)


def refund_in_zuora(env, payment_id: str, amount: float) -> str:
    """An External refund of a Zuora payment a user enters: its id."""
    if settlement():
        body = {"totalAmount": amount, "type": "External"}
        return zuora_call(env, "POST", f"/v1/payments/{payment_id}/refunds", body)["id"]
    fields = {
        "PaymentId": payment_id,
        "Amount": amount,
        "Type": "External",
        "MethodType": "Other",
        "RefundDate": date.today().isoformat(),
    }
    return _action_create(env, "Refund", fields)


def _action_create(env, zuora_type: str, fields: dict) -> str:
    with env.zuora_api() as api:
        response = api.post("/v1/action/create", json={"type": zuora_type, "objects": [fields]})
    if response.status_code != 200 or not response.json()[0]["Success"]:
        raise UserActionFailed(response.text)
    return response.json()[0]["Id"]


def set_rev_rec_date(env, invoice_id: str, start: str = "2024-02-15") -> None:
    # Zuora sets an invoice item's rev rec trigger date later (e.g. on customer acceptance).
    (item, *_) = env.zuora_records("invoice-items", invoiceId=invoice_id)
    env.zuora_action_update("InvoiceItem", Id=item["id"], RevRecStartDate=start)
