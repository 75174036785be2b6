import dagster as dg

from zsync_assets.clients.zuora import ZuoraResource

# Real-tenant credentials come from ZUORA_BASE_URL / ZUORA_CLIENT_ID / ZUORA_CLIENT_SECRET
# (as dg.EnvVar); with none set, the client talks to the embedded sandbox.
defs = dg.Definitions(resources={"zuora": ZuoraResource.from_env()})
