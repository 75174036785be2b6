import dagster as dg

from zsync_assets.clients.netsuite import NetSuiteResource

# NETSUITE_* from the environment (dg.EnvVar, so secrets stay out of run config); none set
# means the local sandbox. See NetSuiteResource.from_env.
defs = dg.Definitions(resources={"netsuite": NetSuiteResource.from_env()})
