"""`create_app(data_dir, *, seed, size, **settings)`: the Zuora sandbox as a Starlette app.

Settings: `token_ttl_s` (3600), `rate_limit_per_minute` (10000), `concurrency_limit` (40, Zuora's
default), `object_query_concurrency_limit` (80), `client_id` / `client_secret` (else env
`ZUORA_CLIENT_ID` / `ZUORA_CLIENT_SECRET`, else the public sandbox defaults), `tenant_id`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from zsync_assets.sandbox import defaults
from zsync_assets.sandbox.faults import FaultInjector
from zsync_assets.sandbox.zuora import object_query, zoql
from zsync_assets.sandbox.zuora.auth import token_response
from zsync_assets.sandbox.zuora.gateway import Call, Gateway, Limits
from zsync_assets.sandbox.zuora.idempotency import IdempotencyLedger
from zsync_assets.sandbox.zuora.model import OBJECT_QUERY, ObjectType
from zsync_assets.sandbox.zuora.seed import seed_tenant
from zsync_assets.sandbox.zuora.store import Store
from zsync_assets.sandbox.zuora.writes import write_routes


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


def _zoql_routes(gateway: Gateway) -> list[Route]:
    return [
        gateway.route("POST", "/v1/action/query", lambda call: (200, zoql.query(call.store, call.json()))),
        gateway.route("POST", "/v1/action/queryMore", lambda call: (200, zoql.query_more(call.store, call.json()))),
    ]


def create_app(data_dir: Path, *, seed: int = defaults.DEFAULT_SEED, size: int = defaults.DEFAULT_SIZE,
               token_ttl_s: float = 3600, rate_limit_per_minute: int = 10_000, concurrency_limit: int = 40,
               object_query_concurrency_limit: int = 80, client_id: str | None = None,
               client_secret: str | None = None, tenant_id: str = defaults.ZUORA_TENANT_ID,
               taxes: bool = True) -> Starlette:
    store = Store(Path(data_dir) / "zuora.sqlite")
    if store.get_meta("seeded") is None:  # only an empty data dir is seeded; state survives restarts
        seed_tenant(store, seed=seed, size=size, taxes=taxes)
    client_id = client_id or os.environ.get("ZUORA_CLIENT_ID") or defaults.ZUORA_CLIENT_ID
    client_secret = client_secret or os.environ.get("ZUORA_CLIENT_SECRET") or defaults.ZUORA_CLIENT_SECRET
    injector = FaultInjector()
    limits = Limits(per_minute=rate_limit_per_minute,
                    concurrency={"Default": concurrency_limit, "ObjectQuery": object_query_concurrency_limit})
    gateway = Gateway(store, injector, limits, IdempotencyLedger(store))

    def oauth_token(call: Call) -> tuple[int, Any]:
        return token_response(call.body, client_id=client_id, client_secret=client_secret, ttl_s=token_ttl_s,
                              tenant_id=tenant_id, store=call.store)

    routes = [
        gateway.route("POST", "/oauth/token", oauth_token, auth=False),
        *_object_query_routes(gateway),
        *_zoql_routes(gateway),
        *write_routes(gateway),
        *injector.admin_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.store = store
    app.state.injector = injector
    return app
