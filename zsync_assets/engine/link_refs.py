"""Link references in payloads: `{"$link": {"flow", "source_id"}}` stands for the target id that
record has in `zsync.links` (the mapping contract: engine/flow.py). Push fills them in just
before the call, also from links made earlier in the same push.
"""

from __future__ import annotations

from zsync_assets.engine import bookkeeping
from zsync_assets.engine.flow import LINK_REF
from zsync_assets.lib.warehouse import Warehouse

Linked = dict[tuple[str, str], str]  # (flow, source id) -> target id


class UnresolvedLink(LookupError):
    pass


def resolve_link_refs(value, linked: Linked):
    """Replace every `{"$link": {"flow", "source_id"}}` in a payload by that record's target id."""
    if isinstance(value, dict):
        if set(value) == {LINK_REF}:
            ref = value[LINK_REF]
            key = (ref["flow"], str(ref["source_id"]))
            if key not in linked:
                raise UnresolvedLink(f"{ref['flow']} record {ref['source_id']} is not synced")
            return linked[key]
        return {k: resolve_link_refs(v, linked) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_link_refs(v, linked) for v in value]
    return value


def read_linked(warehouse: Warehouse) -> Linked:
    with warehouse.connect() as con:
        bookkeeping.ensure_tables(con)
        # A reversed counterpart (deleted / canceled in the target) is nothing to refer to.
        rows = con.execute("select flow, source_id, target_id from zsync.links where reversed_at is null").fetchall()
    return {(f, s): t for f, s, t in rows}
