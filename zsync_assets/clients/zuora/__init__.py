"""Zuora client: the REST client (`ZuoraClient`) and the Dagster resource that builds one.

Callers import from here; the modules below are how the client is put together.
"""

from zsync_assets.clients.zuora.client import ZuoraClient
from zsync_assets.clients.zuora.errors import ZuoraAuthError, ZuoraError
from zsync_assets.clients.zuora.query import object_query_timestamp, zoql_timestamp
from zsync_assets.clients.zuora.resource import ZuoraResource

__all__ = [
    "ZuoraAuthError",
    "ZuoraClient",
    "ZuoraError",
    "ZuoraResource",
    "object_query_timestamp",
    "zoql_timestamp",
]
