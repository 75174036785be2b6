"""NetSuite client: a backend-neutral interface (`NetSuiteClient`) with a SuiteTalk SOAP backend."""

from zsync_assets.clients.netsuite.interface import (
    CODE_UNKNOWN_OUTCOME,
    NetSuiteAuthError,
    NetSuiteClient,
    NetSuiteError,
    Record,
    WriteResult,
)
from zsync_assets.clients.netsuite.resource import NetSuiteResource

__all__ = [
    "CODE_UNKNOWN_OUTCOME",
    "NetSuiteAuthError",
    "NetSuiteClient",
    "NetSuiteError",
    "NetSuiteResource",
    "Record",
    "WriteResult",
]
