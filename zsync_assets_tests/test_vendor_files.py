"""The vendor reference files ship in the repo (`zsync_assets/vendor/`); a missing one fails
whatever needs it with an error naming the file, never a skip and never a smaller schema."""

from __future__ import annotations

import re
import shutil

import pytest

from zsync_assets.sandbox.netsuite import schema
from zsync_assets.vendor import NETSUITE_DIR, NETSUITE_WSDL, ZUORA_OPENAPI, MissingVendorFile, require


@pytest.mark.conformance
def test_require_names_a_missing_vendor_file(tmp_path):
    missing = tmp_path / "zuora-openapi" / "zuora_openapi.yaml"
    with pytest.raises(MissingVendorFile, match=re.escape(str(missing))):
        require(missing)
    assert require(ZUORA_OPENAPI) == ZUORA_OPENAPI and require(NETSUITE_WSDL) == NETSUITE_WSDL


@pytest.mark.conformance
def test_every_netsuite_schema_file_the_wsdl_reaches_is_shipped():
    files = schema.vendor_files()
    assert files[0] == NETSUITE_WSDL
    assert sorted(p.name for p in files[1:]) == sorted(p.name for p in (NETSUITE_DIR / "xsd").glob("*.xsd"))
    assert len(files) == 1 + 46


@pytest.mark.conformance
def test_a_deleted_xsd_stops_the_netsuite_sandbox_naming_it(tmp_path, monkeypatch):
    copy = tmp_path / "2023_2"
    shutil.copytree(NETSUITE_DIR, copy)
    (copy / "xsd" / "platform.common.xsd").unlink()
    monkeypatch.setattr(schema, "WSDL_FILE", copy / "netsuite.wsdl")
    with pytest.raises(MissingVendorFile, match=re.escape(str(copy / "xsd" / "platform.common.xsd"))):
        schema.vendor_files()
