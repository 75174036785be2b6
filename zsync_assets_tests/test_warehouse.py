import subprocess
import sys
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from zsync_assets.engine.bookkeeping import ensure_tables
from zsync_assets.lib.cursors import read_cursor
from zsync_assets.lib.staging import StagedObject, records_frame, snake_case, stage
from zsync_assets.lib.warehouse import (
    Warehouse,
    WarehouseLocked,
    close_idle,
    replace_table,
    scalar,
    table_exists,
    upsert,
)


def test_upsert_replaces_by_key_and_widens_columns(warehouse_path):
    w = Warehouse(warehouse_path)
    with w.connect() as con:
        upsert(con, "zuora.accounts", pl.DataFrame({"id": ["a", "b"], "name": [None, None]}))
        upsert(con, "zuora.accounts", pl.DataFrame({"id": ["b", "c"], "name": ["B", "C"], "n": [1, 2]}))
        rows = con.sql("select id, name, n from zuora.accounts order by id").fetchall()
    assert rows == [("a", None, None), ("b", "B", 1), ("c", "C", 2)]


def test_replace_table_in_slices_writes_every_row_once_and_an_empty_frame_keeps_the_columns(warehouse_path):
    """The plan is handed to DuckDB in slices of one Arrow stream: a slice boundary must neither
    drop nor repeat a row, and an empty plan still makes a table with its columns."""
    frame = pl.DataFrame({"id": [f"r{i}" for i in range(7)], "tags": [["a"], [], None, ["b", "c"], [], ["d"], None]})
    with Warehouse(warehouse_path).connect() as con:
        replace_table(con, "zsync.plan_x", pl.DataFrame({"id": ["stale"], "tags": [["z"]]}))
        assert replace_table(con, "zsync.plan_x", frame, slice_rows=3) == 7
        stored = con.sql("select * from zsync.plan_x").pl()
        replace_table(con, "zsync.plan_x", frame.clear(), slice_rows=3)
        empty = con.sql("select * from zsync.plan_x").pl()
    assert stored.sort("id").equals(frame.sort("id"))
    assert empty.is_empty() and empty.schema == frame.schema


def test_snake_case_keeps_vendor_custom_field_suffix():
    assert snake_case("updatedDate") == "updated_date"
    assert snake_case("IntegrationId__NS") == "integration_id__ns"
    assert snake_case("internalId") == "internal_id"
    assert snake_case("billToContactId") == "bill_to_contact_id"


def test_records_frame_types_dates_and_keeps_nested_as_json():
    frame = records_frame(
        [
            {
                "id": "1",
                "invoiceDate": "2026-01-31",
                "updatedDate": "2026-02-01T10:00:00-08:00",
                "billTo": {"city": "Zürich"},
            },
        ]
    )
    assert frame["invoice_date"].dtype == pl.Date
    assert frame["updated_date"].to_list()[0] == datetime(2026, 2, 1, 18, 0, tzinfo=UTC)
    assert '"Zürich"' in frame["bill_to"][0]


def test_stage_moves_the_high_water_mark_only_after_all_pages(warehouse_path):
    w = Warehouse(warehouse_path)
    obj = StagedObject("zuora", "accounts", updated_field="updatedDate")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    seen_since = []

    def fetch(window):
        seen_since.append(window.since)
        yield [{"id": "a", "updatedDate": t0.isoformat()}]
        yield [{"id": "b", "updatedDate": (t0 + timedelta(hours=1)).isoformat()}]

    first = stage(w, obj, fetch)
    assert (first.rows_fetched, first.pages, first.table_rows) == (2, 2, 2)

    def failing(window):
        seen_since.append(window.since)
        yield [{"id": "c", "updatedDate": (t0 + timedelta(hours=5)).isoformat()}]
        raise ConnectionError("network gone")

    with pytest.raises(ConnectionError):
        stage(w, obj, failing)
    with w.connect() as con:
        assert read_cursor(con, "zuora.accounts") == t0 + timedelta(hours=1)
    # the re-run asks again from the old mark minus the overlap window
    stage(w, obj, fetch)
    assert seen_since[0] is None
    assert seen_since[1] == seen_since[2] == t0 + timedelta(hours=1) - timedelta(minutes=5)


def test_a_lock_held_by_another_process_fails_with_a_clear_message(warehouse_path):
    Warehouse(warehouse_path).query("select 1")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(warehouse_path)!r}); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None  # a pipe (PIPE above)
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(WarehouseLocked, match="locked by another process"),
            Warehouse(warehouse_path, lock_timeout_s=1).connect(),
        ):
            pass
    finally:
        holder.kill()
    with Warehouse(warehouse_path, lock_timeout_s=5).connect() as con:
        assert con.execute("select 1").fetchone() == (1,)


def test_the_file_is_free_for_another_process_between_units_of_work_and_a_failed_one_resets_nothing(
    warehouse_path,
):
    """The process keeps its DuckDB instance between units of work, not the file: another
    process writes between two of ours, even after one that left a transaction open (rolled
    back, as closing the connection did), and a unit of work that failed midway through a
    setting leaves the next one DuckDB's default."""
    warehouse = Warehouse(warehouse_path, lock_timeout_s=5)
    with warehouse.connect() as con:
        default_limit = scalar(con, "select current_setting('memory_limit')")
        con.execute("create table zsync_t as select 1 as n")
    with warehouse.connect() as con:
        con.execute("begin transaction")
        con.execute("insert into zsync_t values (99)")
    writer = f"import duckdb; duckdb.connect({str(warehouse_path)!r}).execute('insert into zsync_t values (2)')"
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=60)
    with pytest.raises(ZeroDivisionError), warehouse.connect() as con:
        con.execute("set memory_limit = '64MB'")
        _ = 1 / 0
    with warehouse.connect(read_only=True) as con:
        assert sorted(r[0] for r in con.execute("select n from zsync_t").fetchall()) == [1, 2]
        assert scalar(con, "select current_setting('memory_limit')") == default_limit


def test_bookkeeping_tables_are_made_again_when_another_process_dropped_them_between_attaches(warehouse_path):
    """`ensure_tables` runs its DDL once per attachment of the file (nobody else can change the
    file meanwhile); once the file was detached, another process may have changed anything."""
    warehouse = Warehouse(warehouse_path, lock_timeout_s=5, keep_open_s=30)
    with warehouse.connect() as con:
        ensure_tables(con)
    with warehouse.connect() as con:
        ensure_tables(con)  # the same attachment: nothing to do
        assert table_exists(con, "zsync.requeue")
    close_idle(warehouse_path)
    dropper = f"import duckdb; duckdb.connect({str(warehouse_path)!r}).execute('drop table zsync.zsync.requeue')"
    subprocess.run([sys.executable, "-c", dropper], check=True, timeout=60)
    with warehouse.connect() as con:
        ensure_tables(con)
        assert table_exists(con, "zsync.requeue")
    close_idle(warehouse_path)


def test_staging_after_a_rebind_in_the_same_attachment_makes_the_staged_table_again(warehouse_path):
    """A staged table's declared shape is made sure of once per attachment; `zsync rebind` drops
    the staged schemas while the file may stay attached (a kept-open warehouse), and says so."""
    from zsync_assets.engine.instance import rebind

    warehouse = Warehouse(warehouse_path, lock_timeout_s=5, keep_open_s=30)
    obj = StagedObject("zuora", "accounts", updated_field="updatedDate", columns={"name": "TEXT", "balance": "DOUBLE"})
    page = [{"id": "a", "updatedDate": "2026-01-01T00:00:00Z", "name": "Acme"}]
    try:
        assert stage(warehouse, obj, lambda window: iter([page])).table_rows == 1
        with warehouse.connect() as con:
            rebind(con)
            assert not table_exists(con, "zuora.accounts")
        staged = stage(warehouse, obj, lambda window: iter([[]]))  # nothing new at the source
        assert staged.table_rows == 0
        with warehouse.connect() as con:
            columns = {r[0] for r in con.execute("describe zuora.accounts").fetchall()}
        assert columns == {"name", "balance", "_staged_at"}  # the declared shape, made again
    finally:
        close_idle(warehouse_path)


def _staged_digest_reads(monkeypatch) -> list:
    """The `since` of each read of a window's staged digests, as they happen."""
    from zsync_assets.lib.staging import StagedDigests

    reads = []
    read = StagedDigests._read

    def counted(self: StagedDigests) -> dict[str, str]:
        reads.append(self.since)
        return read(self)

    monkeypatch.setattr(StagedDigests, "_read", counted)
    return reads


def test_a_window_read_again_looks_up_its_staged_digests_once_and_writes_only_what_changed(warehouse_path, monkeypatch):
    """Staging compares each record read again with the digest of its staged row: one read of
    the window's digests for all pages (the lookup per page waited for the warehouse each time),
    and a row marked deleted is written again even when its record is as staged."""
    from zsync_assets.lib.staging import DELETED_COLUMN

    w = Warehouse(warehouse_path)
    obj = StagedObject("zuora", "accounts", updated_field="updatedDate")
    mark = datetime(2026, 1, 1, 12, tzinfo=UTC)

    def account(key: str, minutes_before_mark: int, name: str = "same") -> dict:
        return {"id": key, "name": name, "updatedDate": (mark - timedelta(minutes=minutes_before_mark)).isoformat()}

    stage(w, obj, lambda window: iter([[account("a", 2), account("b", 1), account("c", 0)], [account("d", 600)]]))
    with w.connect() as con:
        con.execute(f"alter table zuora.accounts add column {DELETED_COLUMN} timestamptz")
        con.execute(f"update zuora.accounts set {DELETED_COLUMN} = now() where id = 'c'")
    reads = _staged_digest_reads(monkeypatch)

    pages = [[account("a", 2), account("b", 1, name="renamed")], [account("c", 0)], [account("e", -60)]]
    again = stage(w, obj, lambda window: iter(pages))

    assert (again.rows_fetched, again.rows_unchanged, again.rows_upserted) == (4, 1, 3)
    assert again.since is not None and reads == [again.since - timedelta(minutes=1)]
    with w.connect() as con:
        rows = dict(con.execute(f"select id, name || ':' || ({DELETED_COLUMN} is null) from zuora.accounts").fetchall())
    assert rows == {"a": "same:true", "b": "renamed:true", "c": "same:true", "d": "same:true", "e": "same:true"}


def test_a_record_stamped_after_the_mark_is_not_held_and_needs_no_staged_digests(warehouse_path, monkeypatch):
    """`Window.holds` (asked for each record of a NetSuite reply before it is read) answers for a
    record stamped after the high-water mark without reading the staged digests, as `sift` does:
    a page of new changes needs none of them. A record at or before the mark is compared."""
    from zsync_assets.lib.staging import DIGEST

    w = Warehouse(warehouse_path)
    obj = StagedObject("netsuite", "invoices", updated_field="lastModifiedDate", key="internalId")
    mark = datetime(2026, 1, 1, 12, tzinfo=UTC)
    stage(w, obj, lambda window: iter([[{"internalId": "7", "lastModifiedDate": mark.isoformat(), DIGEST: "xml-7"}]]))
    reads = _staged_digest_reads(monkeypatch)
    answers: dict[str, bool] = {}

    def fetch(window):
        later = mark + timedelta(seconds=1)
        answers["newer, same digest"] = window.holds("7", "xml-7", later)
        answers["newer, new record"] = window.holds("8", "xml-8", later.isoformat())
        reads_before_the_mark = len(reads)
        answers["at the mark, same digest"] = window.holds("7", "xml-7", mark)
        answers["at the mark, other digest"] = window.holds("7", "xml-7b", mark)
        answers["no stamp, same digest"] = window.holds("7", "xml-7", None)
        answers["read only at the mark"] = reads_before_the_mark == 0 and len(reads) == 1
        return iter([])

    stage(w, obj, fetch)
    assert answers == {
        "newer, same digest": False,
        "newer, new record": False,
        "at the mark, same digest": True,
        "at the mark, other digest": False,
        "no stamp, same digest": True,
        "read only at the mark": True,
    }


def test_a_table_read_whole_compares_every_record_with_its_staged_row_however_old(warehouse_path):
    """A fetch that reads every record whatever its stamp (`reads_since=False`: a NetSuite list
    with no search by stamp) gets the digests of every staged row, so an old record read again
    is not written again; a fetch bounded by `since` compares only the rows it can read again."""
    w = Warehouse(warehouse_path)
    obj = StagedObject("netsuite", "terms", updated_field="lastModifiedDate", key="internalId")
    mark = datetime(2026, 1, 1, 12, tzinfo=UTC)
    terms = [
        {"internalId": "1", "name": "Net 30", "lastModifiedDate": (mark - timedelta(days=400)).isoformat()},
        {"internalId": "2", "name": "Net 60", "lastModifiedDate": mark.isoformat()},
    ]
    windows = []

    def read_whole(window):
        windows.append(window)
        return iter([terms])

    stage(w, obj, read_whole, reads_since=False)
    again = stage(w, obj, read_whole, reads_since=False)
    assert (again.rows_fetched, again.rows_unchanged, again.rows_upserted) == (2, 2, 0)
    assert windows[0].since is None and windows[1].since is not None and windows[1].staged.since is None

    bounded = stage(w, obj, read_whole)  # as if the fetch had asked for records since the window's start
    assert (bounded.rows_unchanged, bounded.rows_upserted) == (1, 1)  # the old one is not looked up


def test_a_slow_statement_prints_nothing_on_stdout(warehouse_path, capfd):
    """DuckDB draws a progress bar on stdout for a statement running past `progress_bar_time`
    (2 s by default): on a loaded machine one came out ahead of the JSON `zsync demo --format
    json` prints. Every connection zsync lends has the bar off, however soon it would show."""
    with Warehouse(warehouse_path).connect() as con:
        con.execute("set progress_bar_time = 0")
        try:
            assert con.execute("select count(*) from range(20000000) t(i) where i % 7 = 3").fetchall() == [(2857143,)]
        finally:
            con.execute("reset progress_bar_time")
    assert capfd.readouterr().out == ""
