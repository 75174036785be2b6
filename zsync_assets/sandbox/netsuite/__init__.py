"""NetSuite SuiteTalk 2023_2 SOAP sandbox: serves a WSDL subset, verifies TBA, persists to SQLite.

`create_app(data_dir, *, seed, size, **settings)` is what `sandbox/runner.py` starts.
"""
