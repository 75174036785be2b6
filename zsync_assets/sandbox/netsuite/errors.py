"""The per-record refusal of a write: a NetSuite status code and its message.

A list call (addList, upsertList, ...) answers each record with its own `status` (`isSuccess`,
`statusDetail` code and message); this is what a write raises for one record, and the service
turns it into that status. The codes are NetSuite's (`zsync_assets/vendor/netsuite-suitetalk/2023_2/
xsd/platform.faultTypes.xsd`).
"""

from __future__ import annotations


class RecordError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
