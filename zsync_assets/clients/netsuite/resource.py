"""`NetSuiteResource`: settings for the NetSuite client, from NETSUITE_* or the local sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from pydantic import Field

from zsync_assets.clients.netsuite.interface import (
    MAX_ADD_LIST,
    MAX_GET_LIST,
    MAX_UPDATE_LIST,
    MAX_UPSERT_LIST,
    NetSuiteClient,
)
from zsync_assets.clients.netsuite.passport import TbaCredentials
from zsync_assets.lib.warehouse import default_db_path
from zsync_assets.sandbox import defaults

PRODUCTION_WSDL = "https://webservices.netsuite.com/wsdl/v{version}_0/netsuite.wsdl"
ACCOUNT_ENDPOINT = "https://{host}.suitetalk.api.netsuite.com/services/NetSuitePort_{version}"
_CREDENTIALS = (
    "NETSUITE_ACCOUNT_ID",
    "NETSUITE_CONSUMER_KEY",
    "NETSUITE_CONSUMER_SECRET",
    "NETSUITE_TOKEN_ID",
    "NETSUITE_TOKEN_SECRET",
)


def account_host(account_id: str) -> str:
    """`123456_SB1` -> `123456-sb1`: NetSuite writes sandbox accounts that way in host names."""
    return account_id.strip().lower().replace("_", "-")


def account_endpoint(account_id: str, version: str = "2023_2") -> str:
    return ACCOUNT_ENDPOINT.format(host=account_host(account_id), version=version)


def sandbox_wsdl_url(base: str, version: str = "2023_2") -> str:
    return f"{base}/wsdl/v{version}_0/netsuite.wsdl"


def sandbox_endpoint_url(base: str, version: str = "2023_2") -> str:
    return f"{base}/services/NetSuitePort_{version}"


class NetSuiteResource(dg.ConfigurableResource):
    """The NetSuite account zsync talks to. Empty URLs are derived: with an account id, the
    vendor WSDL and the account's endpoint; otherwise the local sandbox (`zsync sandbox`)."""

    account_id: str = defaults.NETSUITE_ACCOUNT_ID
    consumer_key: str = defaults.NETSUITE_CONSUMER_KEY
    consumer_secret: str = defaults.NETSUITE_CONSUMER_SECRET
    token_id: str = defaults.NETSUITE_TOKEN_ID
    token_secret: str = defaults.NETSUITE_TOKEN_SECRET
    wsdl_url: str = Field(default="", description="URL or local file; '' derives it")
    endpoint_url: str = Field(default="", description="'' derives it from the account id")
    wsdl_version: str = Field(default="2023_2", description="SuiteTalk version; each is supported ~3 years")
    concurrency: int = Field(default=5, description="requests in flight per account, across processes")
    lock_dir: str = Field(default="", description="slot files; '' = <warehouse dir>/locks")
    wsdl_cache_dir: str = Field(
        default="",
        description="downloaded WSDL/XSDs, shared by every process on the "
        "machine; '' = ZSYNC_CACHE_DIR, else the user's cache dir",
    )
    add_batch_size: int = MAX_ADD_LIST
    update_batch_size: int = MAX_UPDATE_LIST
    upsert_batch_size: int = MAX_UPSERT_LIST
    get_batch_size: int = MAX_GET_LIST
    search_page_size: int = 1000
    max_attempts: int = 8
    backoff_s: float = 0.25
    timeout_s: float = 120.0

    @classmethod
    def from_env(cls, *, resolve: bool = False) -> NetSuiteResource:
        """Real-account settings when any NETSUITE_* credential is set (then all are required,
        read through dg.EnvVar so secrets stay out of the run config), else the sandbox.
        `resolve=True` reads the values now, for use outside a Dagster run (the CLI's checks)."""

        def env(name: str, cast=str):  # noqa: ANN001, ANN202
            if resolve:
                return cast(os.environ[name])
            return dg.EnvVar.int(name) if cast is int else dg.EnvVar(name)

        settings: dict = {}
        if any(os.environ.get(name) for name in _CREDENTIALS):
            settings.update(
                account_id=env("NETSUITE_ACCOUNT_ID"),
                consumer_key=env("NETSUITE_CONSUMER_KEY"),
                consumer_secret=env("NETSUITE_CONSUMER_SECRET"),
                token_id=env("NETSUITE_TOKEN_ID"),
                token_secret=env("NETSUITE_TOKEN_SECRET"),
            )
        for name, var in (
            ("wsdl_url", "NETSUITE_WSDL_URL"),
            ("endpoint_url", "NETSUITE_ENDPOINT_URL"),
            ("wsdl_version", "NETSUITE_WSDL_VERSION"),
        ):
            if os.environ.get(var):
                settings[name] = env(var)
        if os.environ.get("NETSUITE_CONCURRENCY"):
            settings["concurrency"] = env("NETSUITE_CONCURRENCY", int)
        return cls(**settings)

    @property
    def is_sandbox(self) -> bool:
        return self.account_id == defaults.NETSUITE_ACCOUNT_ID

    def resolved_wsdl_url(self) -> str:
        if self.wsdl_url:
            return self.wsdl_url
        if self.is_sandbox:
            return sandbox_wsdl_url(defaults.netsuite_url(), self.wsdl_version)
        return PRODUCTION_WSDL.format(version=self.wsdl_version)

    def resolved_endpoint_url(self) -> str:
        if self.endpoint_url:
            return self.endpoint_url
        if self.is_sandbox:
            return sandbox_endpoint_url(defaults.netsuite_url(), self.wsdl_version)
        return account_endpoint(self.account_id, self.wsdl_version)

    def credentials(self) -> TbaCredentials:
        return TbaCredentials(
            self.account_id, self.consumer_key, self.consumer_secret, self.token_id, self.token_secret
        )

    def get_client(self) -> NetSuiteClient:
        # Imported here so that loading Definitions never parses a WSDL.
        from zsync_assets.clients.netsuite.client import SoapNetSuiteClient

        lock_dir = Path(self.lock_dir) if self.lock_dir else Path(default_db_path()).parent / "locks"
        return SoapNetSuiteClient(
            self.credentials(),
            wsdl_url=self.resolved_wsdl_url(),
            endpoint_url=self.resolved_endpoint_url(),
            version=self.wsdl_version,
            concurrency=self.concurrency,
            lock_dir=lock_dir,
            add_batch_size=self.add_batch_size,
            update_batch_size=self.update_batch_size,
            upsert_batch_size=self.upsert_batch_size,
            get_batch_size=self.get_batch_size,
            page_size=self.search_page_size,
            max_attempts=self.max_attempts,
            backoff_s=self.backoff_s,
            timeout_s=self.timeout_s,
            wsdl_cache_dir=Path(self.wsdl_cache_dir) if self.wsdl_cache_dir else None,
        )
