"""What every vendor client of one process shares: the TLS context and connection pool sizes.

Building an `ssl.SSLContext` (loading the CA bundle) costs 20-40 ms of CPU; a sync builds a
client per step, so the context is built once per process and shared (it is thread-safe and
immutable once made).
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def pool_limits(concurrency: int) -> httpx.Limits:
    """Enough kept-alive connections for `concurrency` requests in flight: with fewer, the extra
    connections are closed after each answer and opened (TCP + TLS) again for the next."""
    return httpx.Limits(max_connections=max(100, concurrency), max_keepalive_connections=max(20, concurrency))
