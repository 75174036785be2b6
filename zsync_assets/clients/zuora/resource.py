"""`ZuoraResource`: settings for the Zuora client, from ZUORA_* or the local sandbox.

Dagster runs each step in its own process and builds a client per step from these settings,
so nothing but the settings is shared between steps.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import dagster as dg

from zsync_assets.clients.zuora.client import ZuoraClient
from zsync_assets.clients.zuora.query import OBJECT_QUERY_MAX_PAGE
from zsync_assets.sandbox import defaults


class ZuoraResource(dg.ConfigurableResource):
    """Zuora credentials and retry settings; `get_client()` builds a `ZuoraClient`.

    With no `ZUORA_*` environment variables the client talks to the embedded sandbox
    (`zsync sandbox`) with its public default credentials.
    """

    base_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    max_attempts: int = 8
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    object_query_page_size: int = OBJECT_QUERY_MAX_PAGE
    entity_id: str = ""  # ZUORA_ENTITY_ID: the Multi-entity entity every request acts in

    @classmethod
    def from_env(cls, *, resolve: bool = False, **settings: Any) -> ZuoraResource:
        """Credentials from `ZUORA_BASE_URL` / `ZUORA_CLIENT_ID` / `ZUORA_CLIENT_SECRET` when set,
        and the entity from `ZUORA_ENTITY_ID`.

        Passed as `dg.EnvVar`, so Dagster resolves them in each step and never shows the values;
        `resolve=True` reads them now, for use outside a Dagster run (the CLI's checks).
        """
        env = {
            "base_url": "ZUORA_BASE_URL",
            "client_id": "ZUORA_CLIENT_ID",
            "client_secret": "ZUORA_CLIENT_SECRET",
            "entity_id": "ZUORA_ENTITY_ID",
        }
        fields: dict[str, Any] = {
            name: os.environ[var] if resolve else dg.EnvVar(var) for name, var in env.items() if os.environ.get(var)
        }
        return cls(**fields, **settings)

    def get_client(self, in_flight: threading.Semaphore | None = None) -> ZuoraClient:
        """`in_flight`: requests this client may have in flight, shared with the other clients
        given the same semaphore (a staging step's objects read side by side)."""
        given = {"base_url": self.base_url, "client_id": self.client_id, "client_secret": self.client_secret}
        if any(given.values()) and not all(given.values()):
            missing = sorted(f"ZUORA_{k.upper()}" for k, v in given.items() if not v)
            raise ValueError(
                f"incomplete Zuora settings: {', '.join(missing)} not set (set all three to use "
                "a real tenant, or none to use the sandbox)"
            )
        return ZuoraClient(
            self.base_url or defaults.zuora_url(),
            self.client_id or defaults.ZUORA_CLIENT_ID,
            self.client_secret or defaults.ZUORA_CLIENT_SECRET,
            timeout_s=self.timeout_s,
            connect_timeout_s=self.connect_timeout_s,
            max_attempts=self.max_attempts,
            backoff_base_s=self.backoff_base_s,
            backoff_max_s=self.backoff_max_s,
            object_query_page_size=self.object_query_page_size,
            entity_id=self.entity_id or None,
            logger=dg.get_dagster_logger("zuora"),
            in_flight=in_flight,
        )
