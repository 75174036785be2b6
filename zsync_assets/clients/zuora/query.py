"""Zuora's read APIs as the client pages them: Object Query, ZOQL, describe, filter timestamps.

Vendor facts (developer.zuora.com): Object Query pages hold at most 99 records and continue
with `cursor=<nextPage>`; ZOQL pages hold at most 2000 records and continue with `queryMore`;
`GET /v1/describe/{object}` answers an XML document. The functions here only shape requests
and read answers; sending, authenticating and retrying are the client's (`client.py`).

A window of many pages is read in time slices side by side (`time_slices`, `side_by_side`): an
Object Query list is one cursor, so its pages follow each other, one round trip each, and the
first run after a push re-reads every record the push wrote back (95 pages of invoices, 14 s at
150 ms a call, for 1,000 accounts). Slices `[lo, hi)` of the filter field at whole seconds cover
the window exactly (each record is in one slice, whatever the probe that placed the cuts saw),
and a record changed while the slices are read moves to a later stamp, which the caller's next
window holds, as with one cursor.

A second cannot be cut by time, and a push's write-backs land in a few: Zuora's `action/update`
stamps its up to 50 records at once, and the push sends them side by side (at 1,000 accounts
the 3,113 invoices written back shared one second, and were 33 pages of one cursor, 4.4 s). The
records of such a second are read by id instead (`crowded_by_id`): `id.IN:[...]`, a list the
Object Query filter takes ("IN specifies a list of values that will be returned",
`name.IN:[Amy,Bella]`, Zuora's filter docs).
"""

from __future__ import annotations

import queue
import threading
from bisect import bisect_left
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from lxml import etree

OBJECT_QUERY_MAX_PAGE = 99  # Zuora rejects pageSize > 99 on Object Query
ZOQL_MAX_BATCH = 2000  # Zuora caps a ZOQL query/queryMore page at 2000 records


def object_query_timestamp(moment: datetime) -> str:
    """A UTC timestamp as Object Query filters take it: `2024-05-01T12:30:00Z`.

    Truncated to the second (downwards), so a `GE` filter never excludes the boundary record.
    """
    if moment.tzinfo is None:
        raise ValueError("filter timestamps must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zoql_timestamp(moment: datetime) -> str:
    """A UTC timestamp as a ZOQL literal with an explicit offset (a bare one means tenant time)."""
    if moment.tzinfo is None:
        raise ValueError("filter timestamps must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def object_query_pages(
    get: Callable[[str, list[tuple[str, Any]]], Any],
    object_name: str,
    *,
    filters: Iterable[str],
    page_size: int,
    expand: Iterable[str],
    fields: Iterable[str],
) -> Generator[list[dict[str, Any]], None, None]:
    """Pages of an Object Query list, each fetched with `get(path, params)`."""
    if not 1 <= page_size <= OBJECT_QUERY_MAX_PAGE:
        raise ValueError(f"Object Query pageSize must be 1..{OBJECT_QUERY_MAX_PAGE}, got {page_size}")
    path = "/object-query/" + object_name.replace("_", "-")
    base: list[tuple[str, Any]] = [("pageSize", page_size)]
    base += [("filter[]", f) for f in filters]
    base += [("expand[]", e) for e in expand]
    base += [("fields[]", f) for f in fields]  # only these fields per record (e.g. `id` for id lists)
    cursor: str | None = None
    while True:
        body = get(path, base + ([("cursor", cursor)] if cursor else [])) or {}
        yield list(body.get("data") or [])
        cursor = body.get("nextPage")
        if not cursor:
            return


def zoql_pages(
    post: Callable[[str, dict[str, Any]], Any], query: str, batch_size: int
) -> Iterator[list[dict[str, Any]]]:
    """Pages of a ZOQL query, each fetched with `post(path, json_body)`."""
    if not 1 <= batch_size <= ZOQL_MAX_BATCH:
        raise ValueError(f"ZOQL batchSize must be 1..{ZOQL_MAX_BATCH}, got {batch_size}")
    conf = {"batchSize": batch_size}
    body = post("/v1/action/query", {"queryString": query, "conf": conf}) or {}
    while True:
        yield list(body.get("records") or [])
        locator = body.get("queryLocator")
        if body.get("done", True) or not locator:
            return
        body = post("/v1/action/queryMore", {"queryLocator": locator, "conf": conf}) or {}


def time_slices(
    stamps: Sequence[datetime], since: datetime | None, slices: int
) -> list[tuple[datetime | None, datetime | None]]:
    """Bounds `[lo, hi)` that cut the window `[since, ...)` into at most `slices` parts holding
    about as many of `stamps` each (the window's records, as a probe saw them). Cuts fall on
    whole seconds, the precision of Object Query filters, so records of one second stay in one
    slice; the first slice starts at `since` (None: the beginning) and the last is open-ended."""
    if since is not None:
        since = since.astimezone(UTC).replace(microsecond=0)
    seconds = sorted(s.astimezone(UTC).replace(microsecond=0) for s in stamps)
    if not seconds:
        return [(since, None)]
    cuts: list[datetime] = []
    for i in range(1, max(1, slices)):
        cut = seconds[i * len(seconds) // slices]
        if cut > max(c for c in (since, seconds[0], cuts[-1] if cuts else None) if c is not None):
            cuts.append(cut)
    lows: list[datetime | None] = [since, *cuts]
    highs: list[datetime | None] = [*cuts, None]
    return list(zip(lows, highs, strict=True))


class Slice(NamedTuple):
    """The records of `[low, high)` (None: open), and only those of `ids` when there are any."""

    low: datetime | None
    high: datetime | None
    ids: tuple[str, ...] = ()


def crowded_by_id(
    bounds: Sequence[tuple[datetime | None, datetime | None]],
    probed: Sequence[tuple[str, datetime]],
    crowded: int,
    per_list: int,
) -> list[Slice]:
    """`bounds` (from `time_slices`) with each second that holds more than `crowded` of the
    `probed` records (id, stamp) read as lists of `per_list` ids, and the time around it as
    before. A list keeps its second's bounds: a record changed after the probe has a later stamp
    and is read in the slice that holds it now (the last one is open-ended). A part between two
    crowded seconds where the probe saw no record is left out: the probe ran after the window's
    query began, so what was stamped there before it began, less the overlap, was on the probe
    (lib/staging.py); the open-ended part is always read."""
    by_second: dict[datetime, list[str]] = {}
    for record_id, stamp in probed:
        by_second.setdefault(stamp.astimezone(UTC).replace(microsecond=0), []).append(record_id)
    seconds = sorted(s for s, ids in by_second.items() if len(ids) > crowded)
    stamps = sorted(s.astimezone(UTC) for _, s in probed)

    def seen(low: datetime | None, high: datetime | None) -> bool:
        first = bisect_left(stamps, low) if low is not None else 0
        return first < len(stamps) and (high is None or stamps[first] < high)

    out: list[Slice] = []
    for low, high in bounds:
        start = low
        for second in seconds:
            if (low is not None and second < low) or (high is not None and second >= high):
                continue
            if (start is None or start < second) and seen(start, second):
                out.append(Slice(start, second))
            ids = sorted(by_second[second])
            end = second + timedelta(seconds=1)
            out += [Slice(second, end, tuple(ids[i : i + per_list])) for i in range(0, len(ids), per_list)]
            start = end
        if high is None or ((start is None or start < high) and seen(start, high)):
            out.append(Slice(start, high))
    return out


def slice_filters(field: str, low: datetime | None, high: datetime | None, ids: Sequence[str] = ()) -> list[str]:
    """The Object Query filters of the slice `[low, high)` of `field`, and of only `ids` when
    given (several filter[] are ANDed)."""
    filters = [f"{field}.GE:{object_query_timestamp(low)}"] if low is not None else []
    filters += [f"{field}.LT:{object_query_timestamp(high)}"] if high is not None else []
    return filters + ([f"id.IN:[{','.join(ids)}]"] if ids else [])


def side_by_side(readers: Sequence[Callable[[], Iterable[list[dict[str, Any]]]]], workers: int) -> Iterator[list]:
    """The pages of every reader, `workers` readers at a time, in the order they arrive. The first
    failure is raised once the readers in flight have stopped; so is the caller's (a closed
    generator stops the readers after their current page)."""
    pages: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max(2, 2 * workers))
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read(reader: Callable[[], Iterable[list[dict[str, Any]]]]) -> None:
        try:
            for page in reader():
                if not put(("page", page)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consuming thread, raised there
            put(("error", exc))

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="zuora-slice")
    try:
        for reader in readers:
            pool.submit(read, reader)
        left = len(readers)
        while left:
            kind, value = pages.get()
            if kind == "page":
                yield value
            elif kind == "done":
                left -= 1
            else:
                raise value
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def field_names(document: str) -> list[str]:
    """The field API names in a describe document (entities left unresolved: it is a server's text)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(document.encode("utf-8"), parser)
    return [name.text.strip() for name in root.iterfind("fields/field/name") if name.text]
