"""Local Zuora and NetSuite sandboxes: real HTTP servers that speak the vendors' protocols.

Each sandbox package exposes `create_app(data_dir, *, seed, size) -> ASGI app`; `SANDBOXES`
is what `zsync sandbox` starts. A sandbox whose package is absent is skipped.
"""

from zsync_assets.sandbox import defaults

SANDBOXES = {
    # name: (module with create_app, default port)
    "zuora": ("zsync_assets.sandbox.zuora.app", defaults.ZUORA_PORT),
    "netsuite": ("zsync_assets.sandbox.netsuite.app", defaults.NETSUITE_PORT),
}
