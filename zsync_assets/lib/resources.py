"""The warehouse as a Dagster resource (the vendor clients live in zsync_assets/clients/)."""

import dagster as dg

from zsync_assets.lib.warehouse import IDLE_CLOSE_S, Warehouse, default_db_path


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB staging file; `ZSYNC_DB` overrides the default `data/zsync.duckdb`."""

    path: str = ""
    lock_timeout_s: float | None = None  # None: ZSYNC_LOCK_TIMEOUT_S, else 60 s

    def get(self) -> Warehouse:
        # Steps of one run open the file back to back: keep it open between them (briefly).
        return Warehouse(self.path or default_db_path(), lock_timeout_s=self.lock_timeout_s, keep_open_s=IDLE_CLOSE_S)
