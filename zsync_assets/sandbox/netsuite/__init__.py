"""NetSuite SuiteTalk 2023_2 SOAP sandbox: serves the vendor's WSDL, validates against its
XSDs, verifies TBA, persists to SQLite, answers in the account's time zone.

`create_app(data_dir, *, seed, size, **settings)` is what `sandbox/runner.py` starts.
"""
