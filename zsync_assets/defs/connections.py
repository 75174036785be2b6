"""`zuora/connection` and `netsuite/connection`: can zsync reach and log in to each vendor?

Every staging asset of a vendor waits on its connection asset. When a host is down or refuses
the credentials, that one step fails within seconds with one line naming the URL (or the
credential) and what to check, and Dagster skips everything downstream: a run against a dead
host ends at once instead of failing every step after minutes of backoff. The asset also binds
the warehouse to the tenant / account it reached (zsync.instance), before anything is read.
Why a re-run is harmless: it only logs in and reads one record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import dagster as dg

from zsync_assets.clients.netsuite import NetSuiteAuthError, NetSuiteResource
from zsync_assets.clients.zuora import ZuoraAuthError, ZuoraResource
from zsync_assets.config import current_config
from zsync_assets.engine.assets import refuse_other_instance
from zsync_assets.engine.catalog import OWNERS, source_version, system_key
from zsync_assets.lib.failure import VendorUnreachable
from zsync_assets.lib.resources import WarehouseResource

ZUORA_CONNECTION = system_key("zuora", "connection")
NETSUITE_CONNECTION = system_key("netsuite", "connection")
CONNECTION_KEYS = {"zuora": ZUORA_CONNECTION, "netsuite": NETSUITE_CONNECTION}

_CREDENTIALS = {
    "zuora": "check ZUORA_CLIENT_ID / ZUORA_CLIENT_SECRET (the OAuth client) and ZUORA_BASE_URL",
    "netsuite": "check NETSUITE_ACCOUNT_ID, NETSUITE_CONSUMER_KEY / NETSUITE_CONSUMER_SECRET and "
    "NETSUITE_TOKEN_ID / NETSUITE_TOKEN_SECRET (token-based authentication)",
}


def checked(system: str, reach: Callable[[], dict]) -> dict:
    """Run `reach`; a dead host or refused credentials become one-line Dagster failures."""
    vendor = "Zuora" if system == "zuora" else "NetSuite"
    try:
        return reach()
    except VendorUnreachable as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    except (ZuoraAuthError, NetSuiteAuthError) as exc:
        raise dg.Failure(
            description=f"{vendor} refused the credentials ({exc}); {_CREDENTIALS[system]}", allow_retries=False
        ) from None


def reach_zuora(zuora: ZuoraResource) -> dict:
    """Log in to Zuora; the tenant id, or VendorUnreachable / ZuoraAuthError."""
    started = time.monotonic()
    with zuora.get_client() as client:
        # The tenant (and entity, on a Multi-entity tenant) the warehouse binds to.
        return {"url": client.base_url, "instance": client.instance_id, "seconds": round(time.monotonic() - started, 2)}


def reach_netsuite(netsuite: NetSuiteResource) -> dict:
    """Load the WSDL and sign one request; the account id, or VendorUnreachable / NetSuiteAuthError."""
    started = time.monotonic()
    client = netsuite.get_client()
    try:
        client.get("currency", internal_id="0")  # any signed call proves the credentials
    finally:
        client.close()
    return {
        "url": netsuite.resolved_endpoint_url(),
        "instance": str(client.account_id),
        "seconds": round(time.monotonic() - started, 2),
    }


@dg.asset(
    key=ZUORA_CONNECTION,
    group_name="zuora",
    kinds={"zuora"},
    owners=OWNERS,
    code_version=source_version(__name__),
    description="Logs in to Zuora (OAuth) and binds the warehouse to the tenant; every Zuora "
    "asset waits on it, so a dead host or a refused credential fails the run at once.",
)
def zuora_connection(zuora: ZuoraResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    reached = checked("zuora", lambda: reach_zuora(zuora))
    refuse_other_instance(warehouse.get(), "zuora", reached["instance"])
    return dg.MaterializeResult(metadata=reached)


@dg.asset(
    key=NETSUITE_CONNECTION,
    group_name="netsuite",
    kinds={"netsuite"},
    owners=OWNERS,
    code_version=source_version(__name__),
    description="Loads the SuiteTalk WSDL, signs one request (token-based authentication) and "
    "binds the warehouse to the account; every NetSuite asset waits on it.",
)
def netsuite_connection(netsuite: NetSuiteResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    reached = checked("netsuite", lambda: reach_netsuite(netsuite))
    refuse_other_instance(warehouse.get(), "netsuite", reached["instance"])
    return dg.MaterializeResult(metadata=reached)


defs = dg.Definitions(assets=[zuora_connection, netsuite_connection])


def staging_overlap() -> timedelta:
    """`overlap_minutes` from zsync.yaml: how long a vendor may take to make a stamped change
    visible to queries (lib/staging.py, `clock_floor`)."""
    return timedelta(minutes=current_config().overlap_minutes)
