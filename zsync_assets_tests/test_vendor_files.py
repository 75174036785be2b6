"""The vendor reference files ship in the repo (`zsync_assets/vendor/`); a missing one fails
whatever needs it with an error naming the file, never a skip and never a smaller schema."""

from __future__ import annotations

import pickle
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


def test_the_parsed_zuora_openapi_document_is_kept_on_disk_by_the_yaml_digest(tmp_path, monkeypatch):
    # A small stand-in document: the real one takes seconds to parse, which is the point of the cache.
    from zsync_assets.sandbox.zuora import openapi

    document = tmp_path / "zuora_openapi.yaml"
    document.write_text("openapi: 3.0.0\npaths: {/v1/accounts: {}}\n")
    monkeypatch.setattr(openapi, "ZUORA_OPENAPI", document)
    monkeypatch.setenv("ZSYNC_CACHE_DIR", str(tmp_path / "cache"))

    def load() -> dict:
        openapi.load_spec.cache_clear()
        return openapi.load_spec()

    try:
        assert load() == {"openapi": "3.0.0", "paths": {"/v1/accounts": {}}}
        (kept,) = (tmp_path / "cache").glob("zuora-openapi-*.pickle")
        # Another process reads the kept copy, not the YAML.
        kept.write_bytes(pickle.dumps({"from": "cache"}))
        assert load() == {"from": "cache"}
        # A damaged copy is parsed again and replaced.
        kept.write_bytes(b"not a pickle")
        assert load()["paths"] == {"/v1/accounts": {}}
        assert pickle.loads(kept.read_bytes())["paths"] == {"/v1/accounts": {}}
        # A changed vendor file has another digest: parsed afresh, never the old copy.
        document.write_text("openapi: 3.0.1\npaths: {}\n")
        assert load() == {"openapi": "3.0.1", "paths": {}}
        assert len(list((tmp_path / "cache").glob("zuora-openapi-*.pickle"))) == 2
    finally:
        openapi.load_spec.cache_clear()  # the next test in this worker loads the real document
