"""The API floor of a phase: the modelled latency of the calls that had to be made, at the vendor
batch limits, divided by the allowed concurrency, in the flows' dependency order.

- Writes, per flow in dependency order (one flow's push, then its write-back, then the next
  flow): NetSuite records in calls of 100 (upsertList / updateList), each call costing the
  per-call time plus the per-record time, `netsuite_concurrency` calls at once; Zuora one call
  per record, `zuora_concurrency` at once, except the write-backs that go 50 objects a call
  (`/v1/action/update`: targets/zuora.py `action_write_back`). A stage costs at least its
  longest single call.
- Reads (staging), before the writes: every read call shares its system's concurrency, Zuora's
  (`zuora_concurrency`) and NetSuite's alike; a window of many Zuora pages is read in slices
  side by side (clients/zuora/query.py), so one object's pages need not follow each other.
The reads counted are the ones the phase made (a page cannot be skipped without knowing it is
empty); OAuth token requests are left out (one per hour would do).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from zsync_assets.bench.sandboxes import Latency
from zsync_assets.engine.flow import Flow

NETSUITE_WRITE_LIMIT = 100  # upsertList / updateList
NETSUITE_WRITE_OPS = {"add", "addList", "update", "updateList", "upsert", "upsertList", "delete", "deleteList"}
_ZUORA_NON_READS = ("POST /oauth/token",)


def netsuite_write_s(records: int, latency: Latency) -> float:
    if records <= 0:
        return 0.0
    calls = math.ceil(records / NETSUITE_WRITE_LIMIT)
    total_ms = calls * latency.netsuite_call_ms + records * latency.netsuite_per_record_ms
    longest = latency.netsuite_call_ms + min(records, NETSUITE_WRITE_LIMIT) * latency.netsuite_per_record_ms
    return max(total_ms / latency.netsuite_concurrency, longest) / 1000


def zuora_write_s(records: int, latency: Latency, per_call: int = 1) -> float:
    if records <= 0:
        return 0.0
    calls = math.ceil(records / per_call)
    return max(calls * latency.zuora_call_ms / latency.zuora_concurrency, latency.zuora_call_ms) / 1000


def write_s(system: str, records: int, latency: Latency, per_call: int = 1) -> float:
    """`per_call`: records a Zuora call carries (NetSuite's are always `NETSUITE_WRITE_LIMIT`)."""
    return netsuite_write_s(records, latency) if system == "netsuite" else zuora_write_s(records, latency, per_call)


def write_back_per_call(flow: Flow, invoice_settlement: bool) -> int:
    """How many write-backs of `flow` one call carries."""
    from zsync_assets.targets.zuora import ACTION_MAX_OBJECTS, action_write_back

    batched = (
        flow.source_system == "zuora"
        and flow.write_back is not None
        and action_write_back(flow.write_back.record_type, invoice_settlement)
    )
    return ACTION_MAX_OBJECTS if batched else 1


def reads_s(api_calls: dict[str, dict[str, int]], latency: Latency) -> float:
    zuora = sum(
        n
        for route, n in api_calls.get("zuora", {}).items()
        if (route.startswith(("GET ", "POST /v1/action/query"))) and route not in _ZUORA_NON_READS
    )
    netsuite = sum(n for op, n in api_calls.get("netsuite", {}).items() if op not in NETSUITE_WRITE_OPS)
    zuora_s = math.ceil(zuora / latency.zuora_concurrency) * latency.zuora_call_ms / 1000
    netsuite_s = math.ceil(netsuite / latency.netsuite_concurrency) * latency.netsuite_call_ms / 1000
    return max(zuora_s, netsuite_s)


def api_floor_s(
    writes: Iterable[tuple[str, str, int, int]], api_calls: dict[str, dict[str, int]], latency: Latency
) -> float:
    """`writes`: (flow, system written, records, records per call) per stage, in the order the
    stages ran."""
    return reads_s(api_calls, latency) + sum(write_s(system, n, latency, per_call) for _, system, n, per_call in writes)


def push_step(
    flow: Flow, counts: dict[str, int], measured: dict[str, float], latency: Latency, invoice_settlement: bool
) -> dict[str, object]:
    """One push step against its own floor: its writes to the target, then its write-backs to
    the source, as `api_floor_s` counts them; `measured`: the step's `push_wall_s` / `push_cpu_s`."""
    pushed, written_back = counts["pushed"], counts["written_back"]
    floor = write_s(flow.target_system, pushed, latency) + write_s(
        flow.source_system, written_back, latency, write_back_per_call(flow, invoice_settlement)
    )
    wall, cpu = measured.get("push_wall_s"), measured.get("push_cpu_s")
    return {
        "flow": flow.name,
        "pushed": pushed,
        "written_back": written_back,
        "wall_s": wall,
        "api_floor_s": round(floor, 3),
        "ratio_to_api_floor": round(wall / floor, 3) if wall is not None and floor else None,
        "cpu_s": cpu,
        "cpu_ms_per_record": round(cpu * 1000 / (pushed + written_back), 3)
        if cpu is not None and pushed + written_back
        else None,
    }
