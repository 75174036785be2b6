"""The vendors' published schemas, shipped with zsync (unmodified; see each folder's README).

- `netsuite-suitetalk/2023_2/`: NetSuite's SuiteTalk 2023_2 WSDL and its 46 XSDs;
- `zuora-openapi/zuora_openapi.yaml`: Zuora's published OpenAPI document (2026-05-01).

The sandboxes and the conformance tests load them from here, so a clone anywhere runs every
conformance check; `require()` turns a missing file into an error that names it.
"""

from __future__ import annotations

from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent
NETSUITE_DIR = VENDOR_DIR / "netsuite-suitetalk" / "2023_2"
NETSUITE_WSDL = NETSUITE_DIR / "netsuite.wsdl"
NETSUITE_XSD_DIR = NETSUITE_DIR / "xsd"
ZUORA_OPENAPI = VENDOR_DIR / "zuora-openapi" / "zuora_openapi.yaml"


class MissingVendorFile(FileNotFoundError):
    pass


def require(path: Path) -> Path:
    """`path`, or an error naming the missing vendor file (never a silent fallback)."""
    if not path.exists():
        raise MissingVendorFile(
            f"vendor reference file missing: {path} (part of the repo; restore it with `git checkout -- {path}`)"
        )
    return path
