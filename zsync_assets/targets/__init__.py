"""Sinks: the vendor side of a push (record shapes, list calls, lookups, write-back fields)."""


def staged_table(system: str, record_type: str) -> str | None:
    """The staged table holding records of `record_type` of `system` (None: not staged)."""
    if system == "netsuite":
        from zsync_assets.targets.netsuite import STAGED_TABLES
    else:
        from zsync_assets.targets.zuora import STAGED_TABLES
    return STAGED_TABLES.get(record_type)
