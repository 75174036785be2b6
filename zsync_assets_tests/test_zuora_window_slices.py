"""A Zuora window of many pages read in time slices side by side (clients/zuora/query.py
`time_slices`, `crowded_by_id`, `ZuoraClient.query_window`): the same rows as one cursor, at
most the allowed requests in flight, a second crowded by a push's write-backs read by id, and a
failed slice moves no mark."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from zsync_assets.clients.zuora import ZuoraError
from zsync_assets.clients.zuora.query import crowded_by_id, time_slices
from zsync_assets.defs.zuora.assets import object_query_fetch
from zsync_assets.lib.cursors import read_cursor_state
from zsync_assets.lib.staging import StagedObject, stage
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets_tests.fixtures.zuora_client import connect

EVERY_COLUMN = "* exclude (_staged_at)"


def _stamps(rng: random.Random, start: datetime) -> list[datetime]:
    """Stamps as a window holds them: a spread of edits and bursts in one second (a push's
    write-backs), with milliseconds."""
    stamps = [start + timedelta(seconds=rng.uniform(0, 600)) for _ in range(rng.randint(0, 300))]
    for _ in range(rng.randint(0, 3)):
        second = start + timedelta(seconds=rng.randint(0, 600))
        stamps += [second + timedelta(milliseconds=rng.randint(0, 999)) for _ in range(rng.randint(1, 400))]
    return stamps


@pytest.mark.parametrize("seed", range(40))
def test_slices_cover_the_window_once_at_whole_seconds_and_about_evenly(seed):
    rng = random.Random(seed)
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    stamps = _stamps(rng, start)
    since = None if seed % 4 == 0 else start - timedelta(seconds=rng.uniform(0, 30))
    wanted = rng.randint(1, 40)

    bounds = time_slices(stamps, since, wanted)

    assert 1 <= len(bounds) <= wanted
    assert bounds[0][0] == (since.replace(microsecond=0) if since else None)
    assert bounds[-1][1] is None
    for (_, high), (low, _) in zip(bounds, bounds[1:], strict=False):
        assert high == low and low is not None and low.microsecond == 0
    cuts = [low for low, _ in bounds[1:] if low is not None]
    assert cuts == sorted(set(cuts)) and len(cuts) == len(bounds) - 1
    # Every stamp in the window is in exactly one slice.
    for stamp in stamps:
        holding = [(lo, hi) for lo, hi in bounds if (lo is None or stamp >= lo) and (hi is None or stamp < hi)]
        assert len(holding) == 1, (stamp, holding)
    # About even: no slice holds more than its share twice over, beyond one second's records
    # (a second cannot be split: filters have whole seconds).
    if stamps:
        by_second: dict[datetime, int] = {}
        for stamp in stamps:
            by_second[stamp.replace(microsecond=0)] = by_second.get(stamp.replace(microsecond=0), 0) + 1
        for lo, hi in bounds:
            held = sum(1 for s in stamps if (lo is None or s >= lo) and (hi is None or s < hi))
            assert held <= 2 * len(stamps) / len(bounds) + max(by_second.values()), (lo, hi, held)


@pytest.mark.parametrize("seed", range(40))
def test_a_crowded_second_is_read_as_id_lists_and_every_record_is_in_one_slice(seed):
    """Each probed record is in exactly one slice; a second holding more than `crowded` records
    is read only as id lists of at most `per_list` ids within that second; a record stamped after
    the probe is in the last slice, which is open-ended."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    probed = [(f"id{i:05d}", stamp) for i, stamp in enumerate(_stamps(rng, start))]
    since = None if seed % 4 == 0 else start - timedelta(seconds=rng.uniform(0, 30))
    crowded, per_list = rng.choice([(12, 3), (396, 99), (40, 7)])
    bounds = time_slices([s for _, s in probed], since, rng.randint(1, 40))

    slices = crowded_by_id(bounds, probed, crowded, per_list)

    def holds(part, record_id, stamp) -> bool:
        inside = (part.low is None or stamp >= part.low) and (part.high is None or stamp < part.high)
        return inside and (not part.ids or record_id in part.ids)

    for record_id, stamp in probed:
        assert sum(holds(part, record_id, stamp) for part in slices) == 1, (record_id, stamp)
    per_second: dict[datetime, int] = {}
    for _, stamp in probed:
        per_second[stamp.replace(microsecond=0)] = per_second.get(stamp.replace(microsecond=0), 0) + 1
    for part in slices:
        if part.ids:
            assert part.low is not None and part.high is not None
            assert len(part.ids) <= per_list and part.high - part.low == timedelta(seconds=1)
            assert per_second[part.low] > crowded
    # Time slices never span a crowded second: its records are read by id only.
    crowded_seconds = [second for second, n in per_second.items() if n > crowded]
    for part in slices:
        if not part.ids:
            assert not any(holds(part, "-", second) for second in crowded_seconds), part
    later = max([s for _, s in probed], default=start) + timedelta(seconds=5)
    assert slices[-1].high is None and not slices[-1].ids and holds(slices[-1], "new", later)


def test_no_stamps_leave_one_open_slice():
    since = datetime(2026, 11, 30, 12, 0, 5, 250_000, tzinfo=UTC)
    assert time_slices([], since, 10) == [(since.replace(microsecond=0), None)]
    assert time_slices([], None, 10) == [(None, None)]


class CountingSlots:
    """A semaphore that remembers the most requests it held at once."""

    def __init__(self, size: int):
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.holding = 0
        self.most = 0

    def __enter__(self) -> CountingSlots:
        self._slots.acquire()
        with self._lock:
            self.holding += 1
            self.most = max(self.most, self.holding)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.holding -= 1
        self._slots.release()


@pytest.mark.parametrize("name", ["accounts", "invoices"])
def test_a_window_of_many_pages_is_read_in_slices_at_once_with_the_rows_of_one_cursor(
    make_zuora_sandbox, tmp_path, name
):
    sandbox = make_zuora_sandbox(size=30)
    # Each read takes a while, so slices read side by side are in flight together.
    sandbox.set_faults([{"route": f"GET /object-query/{name}", "latency_ms": 40}])
    obj = StagedObject("zuora", name, "updatedDate")
    one, sliced = Warehouse(tmp_path / "one.duckdb"), Warehouse(tmp_path / "sliced.duckdb")
    with connect(sandbox, object_query_page_size=3) as client:
        by_cursor = stage(one, obj, object_query_fetch(client, obj))
    slots = CountingSlots(4)
    with connect(sandbox, object_query_page_size=3, in_flight=slots) as client:
        by_slices = stage(sliced, obj, object_query_fetch(client, obj, 4))
        calls = dict(client.calls)

    assert by_cursor.table_rows == by_slices.table_rows >= 30
    assert one.query(f"select {EVERY_COLUMN} from zuora.{name} order by id").equals(
        sliced.query(f"select {EVERY_COLUMN} from zuora.{name} order by id")
    )
    assert by_slices.high_water == by_cursor.high_water
    # The slices hold every record once: all of them, and the first page's again, no more.
    assert by_slices.rows_fetched == by_slices.table_rows + 3
    assert calls["POST /v1/action/query"] == 1  # the probe: 2000 stamps a page
    # The slices' part pages and the first page read again cost a few calls more, no more.
    assert by_cursor.pages < calls[f"GET /object-query/{name}"] <= by_cursor.pages + 4 + 1
    assert 2 <= slots.most <= 4


def test_a_failed_slice_moves_no_mark_and_the_next_run_stages_every_record(make_zuora_sandbox, tmp_path):
    sandbox = make_zuora_sandbox(size=30)
    obj = StagedObject("zuora", "accounts", "updatedDate")
    warehouse = Warehouse(tmp_path / "zsync.duckdb")

    def failing_after_the_first_page(window) -> Iterator[list[dict]]:
        with connect(sandbox, object_query_page_size=3, max_attempts=2) as client:
            for number, page in enumerate(object_query_fetch(client, obj, 4)(window)):
                yield page
                if number == 0:  # the slices' reads are refused from here on
                    refused = {"route": "GET /object-query/accounts", "error_rate": 1.0, "error_status": 400}
                    sandbox.set_faults([refused])

    with pytest.raises(ZuoraError):
        stage(warehouse, obj, failing_after_the_first_page)
    with warehouse.connect() as con:
        assert read_cursor_state(con, obj.table) is None

    sandbox.clear_faults()
    with connect(sandbox, object_query_page_size=3) as client:
        result = stage(warehouse, obj, object_query_fetch(client, obj, 4))
        in_sandbox = {r["id"] for page in client.query_objects("accounts") for r in page}
    assert result.since is None  # a full extract again: the failed one left no mark
    staged = set(warehouse.query("select id from zuora.accounts")["id"].to_list())
    assert staged == in_sandbox and len(staged) == 30


def test_a_tenant_that_refuses_the_probe_is_read_with_one_cursor(make_zuora_sandbox, tmp_path):
    sandbox = make_zuora_sandbox(size=30)
    sandbox.set_faults([{"route": "POST /v1/action/query", "error_rate": 1.0, "error_status": 400}])
    obj = StagedObject("zuora", "accounts", "updatedDate")
    warehouse = Warehouse(tmp_path / "zsync.duckdb")
    with connect(sandbox, object_query_page_size=3) as client:
        result = stage(warehouse, obj, object_query_fetch(client, obj, 4))
        calls = dict(client.calls)

    assert calls["POST /v1/action/query"] >= 1  # asked, refused
    assert result.rows_fetched == result.table_rows == 30  # every record once: the one cursor
    assert calls["GET /object-query/accounts"] == result.pages == 10


def test_a_push_s_write_backs_in_one_second_are_read_by_id_side_by_side(make_zuora_sandbox, tmp_path):
    """Zuora's `action/update` stamps all its records at once, so a push's write-backs crowd
    a second that time cannot cut: they are read as `id.IN` lists side by side, with the rows
    one cursor reads."""
    sandbox = make_zuora_sandbox(size=30)
    sandbox.set_faults([{"route": "GET /object-query/accounts", "latency_ms": 40}])
    obj = StagedObject("zuora", "accounts", "updatedDate")
    one, sliced = Warehouse(tmp_path / "one.duckdb"), Warehouse(tmp_path / "sliced.duckdb")
    with connect(sandbox, object_query_page_size=3) as client:
        for warehouse in (one, sliced):
            stage(warehouse, obj, object_query_fetch(client, obj))
        ids = sorted(r["id"] for page in client.query_objects("accounts") for r in page)
        # The write-back of every account in one call: one stamp, to the millisecond.
        client.post(
            "/v1/action/update",
            {"type": "Account", "objects": [{"Id": i, "IntegrationStatus__NS": "Synced"} for i in ids]},
            replay_safe=True,
        )
        stamps = {r["updatedDate"][:19] for page in client.query_objects("accounts") for r in page}
        by_cursor = stage(one, obj, object_query_fetch(client, obj))
    slots = CountingSlots(4)
    with connect(sandbox, object_query_page_size=3, in_flight=slots) as client:
        by_slices = stage(sliced, obj, object_query_fetch(client, obj, 4))
        calls = dict(client.calls)

    assert len(ids) >= 30 and len(stamps) <= 2  # the write-back second(s), crowded past 4 pages of 3
    assert one.query(f"select {EVERY_COLUMN} from zuora.accounts order by id").equals(
        sliced.query(f"select {EVERY_COLUMN} from zuora.accounts order by id")
    )
    assert set(sliced.query("select integration_status__ns as s from zuora.accounts")["s"]) == {"Synced"}
    # The first page, one page per list of 3 ids, and the open end after the crowded second(s):
    # as many pages as one cursor, one or two more; side by side.
    assert by_cursor.pages <= calls["GET /object-query/accounts"] <= by_cursor.pages + 1 + len(stamps)
    assert by_slices.rows_fetched == len(ids) + 3
    assert 2 <= slots.most <= 4
