import dagster as dg

from zsync_assets.lib.resources import WarehouseResource

defs = dg.Definitions(resources={"warehouse": WarehouseResource()})
