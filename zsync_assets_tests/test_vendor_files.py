"""The vendor reference files ship in the repo (`zsync_assets/vendor/`); a missing one fails
whatever needs it with an error naming the file, never a skip and never a smaller schema."""

from __future__ import annotations

import re

import pytest

from zsync_assets.vendor import NETSUITE_WSDL, ZUORA_OPENAPI, MissingVendorFile, require


@pytest.mark.conformance
def test_require_names_a_missing_vendor_file(tmp_path):
    missing = tmp_path / "zuora-openapi" / "zuora_openapi.yaml"
    with pytest.raises(MissingVendorFile, match=re.escape(str(missing))):
        require(missing)
    assert require(ZUORA_OPENAPI) == ZUORA_OPENAPI and require(NETSUITE_WSDL) == NETSUITE_WSDL

