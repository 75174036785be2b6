import dagster as dg

# The main job: stage both systems, plan and push every configured flow, in dependency order.
sync_all = dg.define_asset_job("sync_all", selection=dg.AssetSelection.all())

defs = dg.Definitions(jobs=[sync_all])
