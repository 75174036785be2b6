import dagster as dg

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.config import Config, current_config


def netsuite_resource(config: Config, *, resolve: bool = False) -> NetSuiteResource:
    """NETSUITE_* from the environment (dg.EnvVar, so secrets stay out of run config; none set
    means the local sandbox), with the account's concurrency and list sizes from zsync.yaml.
    `NETSUITE_CONCURRENCY` still wins: an operator can throttle one deployment without a commit."""
    resource = NetSuiteResource.from_env(resolve=resolve)
    tuning = {
        "add_batch_size": config.batch_size("netsuite_add_list"),
        "update_batch_size": config.batch_size("netsuite_update_list"),
        "upsert_batch_size": config.batch_size("netsuite_upsert_list"),
        "get_batch_size": config.batch_size("netsuite_get_list"),
    }
    if "concurrency" not in resource.model_fields_set:
        tuning["concurrency"] = config.netsuite_concurrency
    given = {name: getattr(resource, name) for name in resource.model_fields_set}
    return NetSuiteResource(**{**given, **tuning})


defs = dg.Definitions(resources={"netsuite": netsuite_resource(current_config())})
