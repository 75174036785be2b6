"""Where the SuiteTalk WSDL comes from: a local file, or a URL downloaded once per machine.

Dagster runs every step in a process of its own, and each needs the WSDL and its XSDs (47
documents, 2.7 MB for 2023_2) to build envelopes. Downloaded documents are kept on disk in
zeep's `SqliteCache`, keyed by URL (NetSuite's WSDL URL names the SuiteTalk version, e.g.
`.../wsdl/v2023_2_0/netsuite.wsdl`), in `netsuite-wsdl-<zsync version>.sqlite` under the cache
directory: only the first process on a machine downloads them. Against NetSuite that download
comes from the vendor's servers, and a step would fail whenever it failed.

Within one process a schema is parsed once (about a second for 2023_2), however many URLs serve
the same documents (the tests start a sandbox per test, each on its own port): a parsed client is
shared by the digest of its document set. The WSDL's `soap:address` is left out of the digest
because zsync posts to the endpoint it is configured with, never to that address.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import urljoin, urlparse

import platformdirs
import zeep
from lxml import etree
from zeep.cache import SqliteCache
from zeep.transports import Transport

CACHE_DIR_ENV = "ZSYNC_CACHE_DIR"
_XS = "http://www.w3.org/2001/XMLSchema"
_WSDL = "http://schemas.xmlsoap.org/wsdl/"
_ADDRESS = re.compile(rb'(<(?:\w+:)?address\s+location=)"[^"]*"')
_TIMEOUT_S = 60

_CLIENTS: dict[str, zeep.Client] = {}  # by URL or path, and by document-set digest
_LOCK = threading.Lock()


def default_cache_dir() -> Path:
    """`ZSYNC_CACHE_DIR`, else the user's cache directory (e.g. `~/.cache/zsync`)."""
    return Path(os.environ.get(CACHE_DIR_ENV) or platformdirs.user_cache_dir("zsync"))


def cache_file(cache_dir: Path) -> Path:
    try:
        release = version("zsync")
    except PackageNotFoundError:  # running from a source tree that was never installed
        release = "dev"
    # A new zsync may ship another sandbox schema at the same URL: its cache starts empty.
    return Path(cache_dir) / f"netsuite-wsdl-{release}.sqlite"


def load_wsdl(url: str, cache_dir: Path | None = None) -> zeep.Client:
    """The zeep client for a WSDL URL or local file, parsed once per process."""
    with _LOCK:
        client = _CLIENTS.get(url)
        if client is not None:
            return client
        if urlparse(url).scheme in ("http", "https"):
            path = cache_file(cache_dir or default_cache_dir())
            path.parent.mkdir(parents=True, exist_ok=True)
            transport = Transport(
                cache=SqliteCache(str(path), timeout=None), timeout=_TIMEOUT_S, operation_timeout=_TIMEOUT_S
            )
            digest = document_set_digest(transport, url)
            client = _CLIENTS.get(digest) or zeep.Client(url, transport=transport)
            _CLIENTS[digest] = client
        else:
            location = str(Path(url.removeprefix("file://")).resolve())
            client = zeep.Client(location, transport=Transport(timeout=_TIMEOUT_S, operation_timeout=_TIMEOUT_S))
        _CLIENTS[url] = client
        return client


def document_set_digest(transport: Transport, url: str) -> str:
    """SHA-256 over the WSDL (address left out) and every schema it imports, in import order.

    Loading through `transport` fills its cache with exactly the URLs zeep asks for next
    (both resolve relative locations with urljoin).
    """
    digest = hashlib.sha256()
    seen: set[str] = set()
    pending = [url]
    while pending:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        content = transport.load(current)
        digest.update(_ADDRESS.sub(rb'\1""', content) if current == url else content)
        for node in etree.fromstring(content).iter(f"{{{_XS}}}import", f"{{{_XS}}}include", f"{{{_WSDL}}}import"):
            location = node.get("schemaLocation") or node.get("location")
            if location:
                pending.append(urljoin(current, location))
    return digest.hexdigest()
