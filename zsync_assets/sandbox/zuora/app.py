"""`create_app(data_dir, *, seed, size, **settings)`: the Zuora sandbox as a Starlette app.

Settings: `token_ttl_s` (3600), `rate_limit_per_minute` (10000), `concurrency_limit` (40, Zuora's
default), `object_query_concurrency_limit` (80), `client_id` / `client_secret` (else env
`ZUORA_CLIENT_ID` / `ZUORA_CLIENT_SECRET`, else the public sandbox defaults), `tenant_id`,
`validate_requests` (False: every request is checked against Zuora's OpenAPI document and
refused with 400 like Zuora when it breaks it; parsing the document costs 2-3 s once per process),
`entities` (1: a tenant with Zuora Multi-entity has 2 or more, each with records of its own,
entities.py), `oauth_clients` (more OAuth clients, scoped to some entities:
`{client_id: {"secret": ..., "entities": [entity id, ...]}}`), `custom_fields` (which custom
fields the tenant has, `{ZOQL object: [field, ...]}`; objects not named keep every connector field
the sandbox models, model.py: a tenant without them refuses them as unknown fields),
`invoice_settlement` (False, as zsync's config: whether the tenant has Invoice Settlement, `NOT_WITHOUT_SETTLEMENT`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from zsync_assets.sandbox import defaults
from zsync_assets.sandbox.faults import FaultInjector
from zsync_assets.sandbox.zuora import (
    accounts,
    actions,
    invoices,
    memo_applications,
    memos,
    object_query,
    orders,
    payments,
    products,
    refunds,
    subscriptions,
)
from zsync_assets.sandbox.zuora.auth import token_response
from zsync_assets.sandbox.zuora.describe import describe
from zsync_assets.sandbox.zuora.entities import ENTITY_HEADER, Tenant
from zsync_assets.sandbox.zuora.errors import UNSUPPORTED, ApiError
from zsync_assets.sandbox.zuora.gateway import Call, Gateway, Handler, Limits
from zsync_assets.sandbox.zuora.model import OBJECT_QUERY, ObjectType
from zsync_assets.sandbox.zuora.request_checks import RequestChecks


def _object_query_routes(gateway: Gateway) -> list[Route]:
    routes = []
    for path, obj in OBJECT_QUERY.items():

        def list_handler(call: Call, obj: ObjectType = obj) -> tuple[int, Any]:
            return 200, object_query.list_records(call.store, obj, call.query)

        def get_handler(call: Call, obj: ObjectType = obj) -> tuple[int, Any]:
            return 200, object_query.get_record(call.store, obj, call.path_params["key"], call.query)

        routes.append(gateway.route("GET", f"/object-query/{path}", list_handler))
        routes.append(gateway.route("GET", f"/object-query/{path}/{{key}}", get_handler))
    return routes


# Zuora's API reference on the v1 payment, refund and memo operations: "This operation is only
# available if you have Invoice Settlement enabled" (POST_CreatePayment, PUT_UpdatePayment,
# PUT_CancelPayment, POST_RefundPayment, PUT_UpdateRefund, PUT_CancelRefund, and every Credit
# Memo and Debit Memo operation). A tenant without it creates, updates and cancels payments and
# refunds through the action calls (actions.py). The answer to a call it lacks is the sandbox's
# own (Zuora's reference does not publish it): 400, category 45 "unsupported".
NOT_WITHOUT_SETTLEMENT = (
    "This operation is only available if you have Invoice Settlement enabled; "
    "without it, use the action calls (POST /v1/action/create, /v1/action/update)"
)


def _v1_routes(gateway: Gateway, invoice_settlement: bool) -> list[Route]:
    """The v1 operations the sandbox serves, by section of Zuora's API reference (the operations'
    `tags` in zsync_assets/vendor/zuora-openapi/zuora_openapi.yaml), one module per section."""

    def write(method: str, template: str, handler: Handler) -> Route:
        return gateway.route(method, template, handler, write=True)

    def settlement_only(handler: Handler) -> Handler:
        def refused(call: Call) -> tuple[int, Any]:
            raise ApiError(400, UNSUPPORTED, NOT_WITHOUT_SETTLEMENT)

        return handler if invoice_settlement else refused

    return [
        # Accounts
        write("POST", "/v1/accounts", accounts.create_account),
        write("PUT", "/v1/accounts/{account_key}", accounts.update_account),
        write("DELETE", "/v1/accounts/{account_key}", accounts.delete_account),
        # Products, Product Rate Plans, Product Rate Plan Charges
        write("POST", "/v1/object/product", products.create_product),
        write("POST", "/v1/object/product-rate-plan", products.create_rate_plan),
        write("POST", "/v1/object/product-rate-plan-charge", products.create_charge),
        write("PUT", "/v1/object/product-rate-plan-charge/{id}", products.update_charge),
        # Subscriptions
        write("POST", "/v1/subscriptions", subscriptions.create_subscription),
        gateway.route("GET", "/v1/subscriptions/{subscription_key}", subscriptions.get_subscription),
        # Orders
        write("PUT", "/v1/subscriptions/{subscription_number}/customFields", orders.update_custom_fields),
        # Invoices
        write("POST", "/v1/invoices", invoices.create_invoice),
        write("POST", "/v1/invoices/bulk-post", invoices.bulk_post),
        write("PUT", "/v1/invoices/{invoice_key}", invoices.update_invoice),
        # Payments
        write("POST", "/v1/payments", settlement_only(payments.create_payment)),
        write("POST", "/v1/payments/{payment_key}/refunds", settlement_only(payments.refund_payment)),
        write("PUT", "/v1/payments/{payment_key}", settlement_only(payments.update_payment)),
        write("PUT", "/v1/payments/{payment_key}/cancel", settlement_only(payments.cancel_payment)),
        write("DELETE", "/v1/payments/{payment_key}", settlement_only(payments.delete_payment)),
        # Refunds
        write("PUT", "/v1/refunds/{refund_key}", settlement_only(refunds.update_refund)),
        write("PUT", "/v1/refunds/{refund_key}/cancel", settlement_only(refunds.cancel_refund)),
        write("DELETE", "/v1/refunds/{refund_key}", refunds.delete_refund),
        # Credit Memos, Debit Memos
        *(
            route
            for kind in ("credit", "debit")
            for route in (
                write("POST", f"/v1/{kind}-memos", settlement_only(memos.create_memo(kind))),
                write("PUT", f"/v1/{kind}-memos/{{memo_key}}/post", settlement_only(memos.post_memo(kind))),
                write("PUT", f"/v1/{kind}-memos/{{memo_key}}", settlement_only(memos.update_memo(kind))),
                write("PUT", f"/v1/{kind}-memos/{{memo_key}}/unpost", settlement_only(memos.unpost_memo(kind))),
                write("PUT", f"/v1/{kind}-memos/{{memo_key}}/cancel", settlement_only(memos.cancel_memo(kind))),
                write("DELETE", f"/v1/{kind}-memos/{{memo_key}}", settlement_only(memos.delete_memo(kind))),
            )
        ),
        write("PUT", "/v1/credit-memos/{memo_key}/apply", settlement_only(memo_applications.apply_credit_memo)),
        # Actions
        write("POST", "/v1/action/create", actions.create),
        write("POST", "/v1/action/update", actions.update),
        write("POST", "/v1/action/delete", actions.delete),
        gateway.route("POST", "/v1/action/query", actions.query),
        gateway.route("POST", "/v1/action/queryMore", actions.query_more),
        # Describe
        gateway.route("GET", "/v1/describe/{object}", describe),
    ]


def create_app(
    data_dir: Path,
    *,
    seed: int = defaults.DEFAULT_SEED,
    size: int = defaults.DEFAULT_SIZE,
    token_ttl_s: float = 3600,
    rate_limit_per_minute: int = 10_000,
    concurrency_limit: int = 40,
    object_query_concurrency_limit: int = 80,
    client_id: str | None = None,
    client_secret: str | None = None,
    tenant_id: str = defaults.ZUORA_TENANT_ID,
    validate_requests: bool = False,
    entities: int = 1,
    oauth_clients: Mapping[str, Mapping[str, Any]] | None = None,
    custom_fields: Mapping[str, list[str]] | None = None,
    taxes: bool = True,
    months: int = 6,
    invoice_settlement: bool = False,
) -> Starlette:
    """`invoice_settlement`: whether the tenant has Zuora's Invoice Settlement (zsync's config
    of the same name says which a real tenant has); without it, the v1 payment, refund and memo
    operations are refused as Zuora refuses them (NOT_WITHOUT_SETTLEMENT)."""
    tenant = Tenant(
        Path(data_dir),
        tenant_id=tenant_id,
        entities=entities,
        seed=seed,
        size=size,
        custom_fields=custom_fields,
        taxes=taxes,
        months=months,
    )
    client_id = client_id or os.environ.get("ZUORA_CLIENT_ID") or defaults.ZUORA_CLIENT_ID
    client_secret = client_secret or os.environ.get("ZUORA_CLIENT_SECRET") or defaults.ZUORA_CLIENT_SECRET
    clients = tenant.clients(client_id, client_secret, oauth_clients)
    injector = FaultInjector()
    limits = Limits(
        per_minute=rate_limit_per_minute,
        concurrency={"Default": concurrency_limit, "ObjectQuery": object_query_concurrency_limit},
    )
    checks = RequestChecks() if validate_requests else None
    gateway = Gateway(tenant, injector, limits, checks)

    def oauth_token(call: Call) -> tuple[int, Any]:
        return token_response(
            call.body,
            clients=clients,
            ttl_s=token_ttl_s,
            tenant_id=tenant_id,
            store=tenant.store,
            entity=call.request.headers.get(ENTITY_HEADER),
        )

    async def tenant_settings(request: Request) -> JSONResponse:
        # What a client starting against a running sandbox checks: that it is the tenant it expects.
        return JSONResponse({"invoice_settlement": invoice_settlement})

    routes = [
        Route("/__sandbox/tenant", tenant_settings, methods=["GET"]),
        gateway.route("POST", "/oauth/token", oauth_token, auth=False),
        *_object_query_routes(gateway),
        *_v1_routes(gateway, invoice_settlement),
        *injector.admin_routes(),
        *(checks.admin_routes() if checks is not None else []),
    ]
    app = Starlette(routes=routes)
    app.state.tenant = tenant
    app.state.store = tenant.store
    app.state.injector = injector
    app.state.invoice_settlement = invoice_settlement
    return app
