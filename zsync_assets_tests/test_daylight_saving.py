"""Time across the end of daylight-saving time (2026-11-01 09:00 UTC, when Pacific time goes
from 01:59 PDT (-07:00) back to 01:00 PST (-08:00)).

The NetSuite sandbox answers in the account's zone (America/Los_Angeles by default), so a record
modified at 09:02 UTC reads `01:02-08:00`, earlier on the wall clock than one modified at 08:50
UTC (`01:50-07:00`). zsync must order by instant: staging high-water marks and overlap windows,
the invoice sensor's cursor, and business dates (`tranDate`) that keep the account's calendar
day, which `cutover_date` is compared with. The sandbox clock is set over HTTP
(`POST /__sandbox/clock`); it keeps running from the moment given.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import dagster as dg
import httpx

from zsync_assets.clients.netsuite import NetSuiteResource
from zsync_assets.clients.zuora import ZuoraResource
from zsync_assets.config import parse_config
from zsync_assets.defs.netsuite.assets import netsuite_staging_step
from zsync_assets.defs.sensors import new_zuora_invoices
from zsync_assets.engine.catalog import table_key
from zsync_assets.flows.subscriptions import subscriptions_from_sales_orders
from zsync_assets.lib.resources import WarehouseResource
from zsync_assets.lib.warehouse import Warehouse
from zsync_assets.sandbox.zuora.store import now_iso
from zsync_assets_tests.test_netsuite_sandbox import ACCT, COMMON, CORE, SALES, Api

DST_END = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PDT, PST = timedelta(hours=-7), timedelta(hours=-8)


def at(minutes: int) -> datetime:
    """A moment relative to the end of daylight-saving time, in UTC."""
    return DST_END + timedelta(minutes=minutes)


def set_clock(sandbox, moment: datetime) -> None:
    httpx.post(f"{sandbox.url}/__sandbox/clock", json={"now": moment.isoformat()}).raise_for_status()


def near(value: datetime, moment: datetime) -> bool:
    """`value` is `moment` plus the few seconds the running clock took to get there."""
    return timedelta(0) <= value - moment < timedelta(seconds=30)


class Account:
    """Records written through zsync's NetSuite client at chosen account-clock moments."""

    def __init__(self, sandbox, tmp_path):
        self.sandbox = sandbox
        self.resource = NetSuiteResource(
            wsdl_url=sandbox.wsdl_url, endpoint_url=sandbox.endpoint_url, lock_dir=str(tmp_path / "locks")
        )
        self.client = self.resource.get_client()
        [self.subsidiary] = [
            r["internalId"]
            for page in self.client.search("subsidiary", {"name": {"operator": "is", "searchValue": "US Inc"}})
            for r in page
        ]

    def write(self, record_type: str, moment: datetime, record: dict) -> str:
        set_clock(self.sandbox, moment)
        [result] = self.client.upsert_list(record_type, [record])
        assert result.ok and result.internal_id, result
        return result.internal_id

    def customer(self, external_id: str, moment: datetime, name: str | None = None) -> str:
        return self.write(
            "customer",
            moment,
            {
                "externalId": external_id,
                "companyName": name or external_id,
                "subsidiary": {"internalId": self.subsidiary},
            },
        )

    def item(self, moment: datetime) -> str:
        [income] = [
            r["internalId"]
            for page in self.client.search("account", {"number": {"operator": "is", "searchValue": "4000"}})
            for r in page
        ]
        return self.write(
            "serviceSaleItem",
            moment,
            {"externalId": "dst-item", "itemId": "DST Service", "incomeAccount": {"internalId": income}},
        )

    def transaction(
        self, record_type: str, external_id: str, moment: datetime, customer: str, item: str, **fields
    ) -> str:
        return self.write(
            record_type,
            moment,
            {
                "externalId": external_id,
                "entity": {"internalId": customer},
                **fields,
                "itemList": {"item": [{"item": {"internalId": item}, "quantity": 1.0, "rate": "10.00"}]},
            },
        )

    def stage(self, *names: str) -> dict[str, dict]:
        assets = [netsuite_staging_step({table_key(f"netsuite.{n}") for n in names})]
        result = dg.materialize(assets, resources={"netsuite": self.resource, "warehouse": WarehouseResource()})
        assert result.success
        events = {e.asset_key: e for e in result.get_asset_materialization_events()}
        return {
            name: {k: v.value for k, v in events[table_key(f"netsuite.{name}")].materialization.metadata.items()}
            for name in names
        }


def test_the_sandbox_writes_the_account_zone_and_compares_instants(make_netsuite_sandbox):
    sandbox = make_netsuite_sandbox(size=0)
    api = Api(sandbox)
    set_clock(sandbox, at(-10))
    api.call("add", record=api.customer("before", "Before The Change"))
    set_clock(sandbox, at(10))
    api.call("add", record=api.customer("after", "After The Change"))

    def get(external_id: str):
        return api.call("get", baseRef=api.ref(externalId=external_id, type="customer")).readResponse.record

    before, after = get("before").lastModifiedDate, get("after").lastModifiedDate
    assert (before.utcoffset(), after.utcoffset()) == (PDT, PST)
    assert before.replace(tzinfo=None) > after.replace(tzinfo=None)  # the wall clock went back
    assert near(before, at(-10)) and near(after, at(10))

    def modified(operator: str, value: datetime) -> set[str]:
        search = api.t(COMMON, "CustomerSearchBasic")(
            lastModifiedDate=api.t(CORE, "SearchDateField")(operator=operator, searchValue=value)
        )
        result = api.call("search", searchRecord=search).searchResult
        return {r.externalId for r in (result.recordList.record if result.recordList else None) or []}

    assert modified("onOrAfter", DST_END) == {"after"}
    # 01:55 PDT is 08:55 UTC: only the later record, whatever its wall clock says.
    assert modified("after", datetime(2026, 11, 1, 1, 55, tzinfo=timezone(PDT))) == {"after"}
    assert httpx.get(sandbox.url + "/").json()["time_zone"] == "America/Los_Angeles"

    berlin = make_netsuite_sandbox(size=0, time_zone="Europe/Berlin")
    set_clock(berlin, at(10))
    api = Api(berlin)
    api.call("add", record=api.customer("berlin", "Berliner GmbH"))
    stamp = api.call("get", baseRef=api.ref(externalId="berlin", type="customer")).readResponse.record.lastModifiedDate
    assert stamp.utcoffset() == timedelta(hours=1)


def test_business_dates_are_the_account_day_at_midnight(make_netsuite_sandbox):
    sandbox = make_netsuite_sandbox(size=0)
    api = Api(sandbox)
    customer = api.call("add", record=api.customer("days", "Days Co")).writeResponse.baseRef.internalId
    [income] = api.call(
        "search",
        searchRecord=api.t(COMMON, "AccountSearchBasic")(
            number=api.t(CORE, "SearchStringField")(operator="is", searchValue="4000")
        ),
    ).searchResult.recordList.record
    item = api.call(
        "add", record=api.t(ACCT, "ServiceSaleItem")(itemId="Days Service", incomeAccount=api.ref(income.internalId))
    ).writeResponse.baseRef.internalId

    def invoice(external_id: str, **fields):
        line = api.t(SALES, "InvoiceItem")(item=api.ref(item), quantity=1, rate="10.00")
        api.call(
            "add",
            record=api.t(SALES, "Invoice")(
                externalId=external_id, entity=api.ref(customer), itemList={"item": [line]}, **fields
            ),
        )
        return api.call("get", baseRef=api.ref(externalId=external_id, type="invoice")).readResponse.record.tranDate

    set_clock(sandbox, at(18 * 60))  # 03:00 UTC on 2 November is 19:00 PST on 1 November
    today = invoice("today")
    assert (today.date(), today.utcoffset(), today.time()) == (date(2026, 11, 1), PDT, datetime.min.time())
    sent = invoice("sent", tranDate=datetime(2026, 11, 2))  # no offset: the account's day, as zsync sends it
    assert (sent.date(), sent.utcoffset(), sent.time()) == (date(2026, 11, 2), PST, datetime.min.time())


def test_staging_marks_and_overlap_hold_across_the_change(make_netsuite_sandbox, warehouse_path, tmp_path):
    account = Account(make_netsuite_sandbox(size=0), tmp_path)
    account.customer("A", at(-20))  # 01:40 PDT
    account.customer("B", at(-10))  # 01:50 PDT
    first = account.stage("customers")["customers"]
    assert first["rows_fetched"] == 2 and near(datetime.fromisoformat(first["high_water"]), at(-10))

    account.customer("C", at(2))  # 01:02 PST: earlier on the wall clock than B, later in time
    second = account.stage("customers")["customers"]
    since = datetime.fromisoformat(second["since"])
    assert near(since, at(-15))  # the mark minus the 5-minute overlap, in UTC
    assert second["rows_fetched"] == 2  # B (inside the overlap) and C; not A
    assert near(datetime.fromisoformat(second["high_water"]), at(2))

    account.customer("A", at(20), name="A renamed")  # 01:20 PST, before B's 01:50 on the wall clock
    third = account.stage("customers")["customers"]
    assert third["rows_fetched"] == 2  # C (inside the overlap) and A; B is older than the window
    assert near(datetime.fromisoformat(third["high_water"]), at(20))

    staged = Warehouse(warehouse_path).query(
        "select external_id, company_name, last_modified_date from netsuite.customers order by external_id"
    )
    assert staged["company_name"].to_list() == ["A renamed", "B", "C"]
    moments = dict(zip(staged["external_id"], staged["last_modified_date"], strict=True))
    assert all(near(moments[k], at(m)) for k, m in (("A", 20), ("B", -10), ("C", 2)))
    cursor = Warehouse(warehouse_path).query("select high_water from zsync.cursors where name = 'netsuite.customers'")
    assert near(cursor["high_water"][0], at(20))


def test_cutover_date_is_compared_with_the_account_day(make_netsuite_sandbox, warehouse_path, tmp_path):
    account = Account(make_netsuite_sandbox(size=0), tmp_path)
    customer = account.customer("cut", at(-200))
    item = account.item(at(-200))
    # Neither order names its date: NetSuite dates it today in the account's zone.
    late_october = account.transaction("salesOrder", "so-oct", at(-150), customer, item)  # 23:30 PDT, 31 October
    first_of_november = account.transaction("salesOrder", "so-nov", at(-90), customer, item)  # 00:30 PDT, 1 November
    invoice = account.transaction("invoice", "inv-nov", at(18 * 60), customer, item)  # 19:00 PST, 1 November
    account.stage("sales_orders", "invoices")

    warehouse = Warehouse(warehouse_path)
    orders = warehouse.query("select * from netsuite.sales_orders")
    days = dict(zip(orders["internal_id"], orders["tran_date"], strict=True))
    assert days == {late_october: date(2026, 10, 31), first_of_november: date(2026, 11, 1)}
    invoices = warehouse.query("select internal_id, tran_date from netsuite.invoices")
    assert invoices.rows() == [(invoice, date(2026, 11, 1))]  # not 2 November, the UTC day

    tables = {
        "netsuite.sales_orders": orders,
        "netsuite.sales_order_lines": warehouse.query("select * from netsuite.sales_order_lines"),
    }
    rows = subscriptions_from_sales_orders(tables, parse_config({"cutover_date": "2026-11-01"}))
    skips = dict(zip(rows["source_id"], rows["_skip"], strict=True))
    assert skips[late_october] == "dated 2026-10-31, before cutover_date 2026-11-01"
    assert skips[first_of_november] is None


def test_invoice_sensor_cursor_is_an_instant_across_the_change(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=0)
    store = sandbox.server.app.state.store
    zuora = ZuoraResource(base_url=sandbox.url, client_id=sandbox.client_id, client_secret=sandbox.client_secret)

    def tick(cursor: str | None):
        return new_zuora_invoices(dg.build_sensor_context(cursor=cursor, resources={"zuora": zuora}))

    store.insert("invoices", {"invoiceNumber": "INV-PDT", "status": "Posted"}, at=now_iso(at(-10)))
    first = tick(None)
    assert datetime.fromisoformat(first.cursor) == at(-10) and len(first.run_requests) == 1
    assert isinstance(tick(first.cursor), dg.SkipReason)

    store.insert("invoices", {"invoiceNumber": "INV-PST", "status": "Posted"}, at=now_iso(at(10)))
    # A cursor kept in Pacific time names the same instant: 01:55 PDT = 08:55 UTC, so the
    # invoice of 01:10 PST (09:10 UTC) is new although its wall clock is earlier.
    pacific_cursor = at(-5).astimezone(timezone(PDT)).isoformat()
    assert pacific_cursor.startswith("2026-11-01T01:55:00-07:00")
    for cursor in (first.cursor, pacific_cursor):
        later = tick(cursor)
        assert len(later.run_requests) == 1 and datetime.fromisoformat(later.cursor) == at(10), cursor
        assert later.cursor.endswith("+00:00")  # stored as UTC from then on
    assert isinstance(tick(later.cursor), dg.SkipReason)
