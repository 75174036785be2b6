"""Zuora Multi-entity: one tenant, several entities, each with records of its own.

Zuora's facts (`Zuora-Entity-Ids` in zsync_assets/vendor/zuora-openapi, and Zuora's
"Authentication" guide): an entity id is a 36-character UUID with hyphens; a bearer token is
valid for the entities its OAuth client may reach, listed in the token's `scope` as
`entity.<id>`; when a token reaches more than one entity, every request must name one in the
`Zuora-Entity-Ids` header, and with a single entity the header may be left out. A token request
may itself carry the header, and the token is then valid for that entity only.

In the sandbox each entity is a store of its own (the first is the tenant's `zuora.sqlite`, the
others live under `entities/<id>/`), so a record belongs to exactly one entity and a request
reaches only the records of the entity it resolved to. Tokens are kept in the first store.
An entity the token cannot reach is refused with 403 and Zuora's permission category (10).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request

from zsync_assets.sandbox.zuora.auth import bearer_entities
from zsync_assets.sandbox.zuora.errors import AUTHENTICATION, MISSING_PARAMETER, PERMISSION, ApiError
from zsync_assets.sandbox.zuora.idempotency import IdempotencyLedger
from zsync_assets.sandbox.zuora.model import absent_fields
from zsync_assets.sandbox.zuora.seed import seed_tenant
from zsync_assets.sandbox.zuora.store import Store

ENTITY_HEADER = "Zuora-Entity-Ids"


def entity_ids(tenant_id: str, count: int) -> list[str]:
    """The tenant's entity ids, stable across restarts (the first one is the single entity of
    a tenant without Multi-entity)."""
    names = [f"zuora-sandbox-entity-{tenant_id}"] + [f"zuora-sandbox-entity-{tenant_id}-{n}" for n in range(1, count)]
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, name)) for name in names]


@dataclass(frozen=True)
class OAuthClient:
    secret: str
    entities: tuple[str, ...]  # the entities this client's tokens may reach


@dataclass
class Entity:
    id: str
    store: Store
    idempotency: IdempotencyLedger


class Tenant:
    def __init__(
        self,
        data_dir: Path,
        *,
        tenant_id: str,
        entities: int,
        seed: int,
        size: int,
        custom_fields: Mapping[str, Iterable[str]] | None = None,
        taxes: bool = True,
        months: int = 6,
    ):
        if entities < 1:
            raise ValueError("a tenant has at least one entity")
        self.tenant_id = tenant_id
        # Which custom fields the tenant has (default: every connector field the sandbox models).
        self.absent_fields = absent_fields(custom_fields)
        self.entities: dict[str, Entity] = {}
        for n, entity_id in enumerate(entity_ids(tenant_id, entities)):
            store = Store(data_dir / "zuora.sqlite" if n == 0 else data_dir / "entities" / entity_id / "zuora.sqlite")
            if store.get_meta("seeded") is None:  # only an empty store is seeded; state survives restarts
                seed_tenant(store, seed=seed + n, size=size, taxes=taxes, months=months)
            self.entities[entity_id] = Entity(entity_id, store, IdempotencyLedger(store))
        self.first = next(iter(self.entities.values()))

    @property
    def store(self) -> Store:
        """Where tokens live (the first entity's store)."""
        return self.first.store

    @property
    def multi(self) -> bool:
        return len(self.entities) > 1

    def clients(
        self, client_id: str, client_secret: str, scoped: Mapping[str, Mapping[str, Any]] | None
    ) -> dict[str, OAuthClient]:
        """The tenant's OAuth clients: the default one reaches every entity; `scoped` adds
        `{client_id: {"secret": ..., "entities": [entity id, ...]}}`."""
        clients = {client_id: OAuthClient(client_secret, tuple(self.entities))}
        for cid, spec in (scoped or {}).items():
            reach = tuple(str(e) for e in spec.get("entities", ()))
            unknown = sorted(set(reach) - set(self.entities))
            if unknown or not reach:
                raise ValueError(f"OAuth client {cid}: entities {unknown or '[]'} are not entities of this tenant")
            clients[cid] = OAuthClient(str(spec["secret"]), reach)
        return clients

    def entity_for(self, request: Request) -> Entity:
        """The entity an authenticated API request acts in, or the refusal Zuora would answer."""
        reach = bearer_entities(self.store, request)
        if reach is None:
            raise ApiError(
                401,
                AUTHENTICATION,
                "Authentication error: the bearer token is missing, invalid or expired",
                object_code=900000,
            )
        reach = reach or list(self.entities)  # a token stored before entities were recorded reaches all
        wanted = request.headers.get(ENTITY_HEADER)
        if wanted is None:
            if len(reach) > 1:
                raise ApiError(
                    400,
                    MISSING_PARAMETER,
                    f"this token is valid for {len(reach)} entities: name one in the {ENTITY_HEADER} header",
                )
            return self.entities[reach[0]]
        wanted = wanted.strip()
        if wanted not in reach:
            raise ApiError(403, PERMISSION, f"entity '{wanted}' is not accessible with this token")
        return self.entities[wanted]

    def close(self) -> None:
        for entity in self.entities.values():
            entity.store.close()
