"""The API floor of a phase: the modelled latency of the calls that had to be made, at the vendor
batch limits, divided by the allowed concurrency, in the flows' dependency order.

- Writes, per flow in dependency order (one flow's push, then its write-back, then the next
  flow): NetSuite records in calls of 100 (upsertList / updateList), each call costing the
  per-call time plus the per-record time, `netsuite_concurrency` calls at once; Zuora one call
  per record, `zuora_concurrency` at once. A stage costs at least its longest single call.
- Reads (staging), before the writes: Zuora pages of one object follow each other (a cursor),
  objects run side by side, so the object with the most pages sets the time; NetSuite search
  pages likewise share the account's concurrency.
The reads counted are the ones the phase made (a page cannot be skipped without knowing it is
empty); OAuth token requests are left out (one per hour would do).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from zsync_assets.bench.sandboxes import Latency

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


def zuora_write_s(records: int, latency: Latency) -> float:
    if records <= 0:
        return 0.0
    return max(records * latency.zuora_call_ms / latency.zuora_concurrency, latency.zuora_call_ms) / 1000


def reads_s(api_calls: dict[str, dict[str, int]], latency: Latency) -> float:
    zuora = [
        n
        for route, n in api_calls.get("zuora", {}).items()
        if (route.startswith(("GET ", "POST /v1/action/query"))) and route not in _ZUORA_NON_READS
    ]
    netsuite = sum(n for op, n in api_calls.get("netsuite", {}).items() if op not in NETSUITE_WRITE_OPS)
    zuora_s = max(zuora, default=0) * latency.zuora_call_ms / 1000
    netsuite_s = math.ceil(netsuite / latency.netsuite_concurrency) * latency.netsuite_call_ms / 1000
    return max(zuora_s, netsuite_s)


def api_floor_s(
    writes: Iterable[tuple[str, str, int]], api_calls: dict[str, dict[str, int]], latency: Latency
) -> float:
    """`writes`: (flow, system written, records) per stage, in the order the stages ran."""
    total = reads_s(api_calls, latency)
    for _flow, system, records in writes:
        total += netsuite_write_s(records, latency) if system == "netsuite" else zuora_write_s(records, latency)
    return total
