"""Sinks: the vendor side of a push (record shapes, list calls, lookups, write-back)."""


def staged_table(system: str, record_type: str) -> str:
    """The staged table holding records of `record_type` of `system` (it may not be staged yet:
    the audit reads a table only once it exists)."""
    if system == "netsuite":
        from zsync_assets.targets.netsuite import staged_table as table_of
    else:
        from zsync_assets.targets.zuora import staged_table as table_of
    return table_of(record_type)
