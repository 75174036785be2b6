"""SQL of the `audit.*` views, built from what exists in the warehouse (see audit.py).

Every builder returns a SELECT that is valid whatever exists: a missing input becomes an empty
stand-in (`... where false`) with the columns the view promises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from zsync_assets.lib.warehouse import qualified, quote_ident

if TYPE_CHECKING:
    from zsync_assets.audit.views import Catalog, FlowSides, StagedTable

# A link younger than the target table's last staging cannot be checked yet: the record zsync
# created is staged by the next run. `_staged_at` tells when rows were last written.
EPOCH = "timestamptz '1970-01-01 00:00:00+00'"


def lit(text: str | None) -> str:
    return "null::varchar" if text is None else "'" + text.replace("'", "''") + "'"


def _union(parts: Sequence[str], empty: str) -> str:
    return "\nunion all\n".join(parts) if parts else empty


def flows_sql(sides: Sequence[FlowSides], staged: Mapping[tuple[str, str], StagedTable | None]) -> str:
    rows = []
    for s in sides:
        source, target = staged.get((s.flow, "source")), staged.get((s.flow, "target"))
        rows.append(
            f"select {lit(s.flow)} as flow, {lit(s.source_system)} as source_system, "
            f"{lit(s.target_system)} as target_system, {lit(source.table if source else None)} as source_table, "
            f"{lit(target.table if target else None)} as target_table"
        )
    empty = (
        "select null::varchar as flow, null::varchar as source_system, null::varchar as target_system, "
        "null::varchar as source_table, null::varchar as target_table where false"
    )
    return _union(rows, empty)


# What `audit.plans` reads of each plan (audit/carry_over.py digests the same).
PLAN_COLUMNS = ("source_id", "action", "reason", "target_id", "payload_hash", "last_error_code")


def plans_sql(plan_tables: Mapping[str, str]) -> str:
    parts = [
        f"select {lit(flow)} as flow, {', '.join(PLAN_COLUMNS)} from {qualified(table)}"
        for flow, table in plan_tables.items()
    ]
    empty = (
        "select null::varchar as flow, null::varchar as source_id, null::varchar as action, "
        "null::varchar as reason, null::varchar as target_id, null::varchar as payload_hash, "
        "null::varchar as last_error_code where false"
    )
    return _union(parts, empty)


def deleted_records_sql(tables: Sequence[StagedTable]) -> str:
    parts = [
        f"select {lit(t.table.split('.')[0])} as system, {lit(t.table)} as staged_table, "
        f"cast({quote_ident(t.key)} as varchar) as record_id, "
        f"{f'cast({quote_ident(t.label)} as varchar)' if t.label else 'null::varchar'} as label, "
        f"_deleted_at as deleted_at from {qualified(t.table)} where _deleted_at is not null"
        for t in tables
        if t.deletable
    ]
    empty = (
        "select null::varchar as system, null::varchar as staged_table, null::varchar as record_id, "
        "null::varchar as label, null::timestamptz as deleted_at where false"
    )
    return _union(parts, empty)


# Status precedence: an attempt nobody heard back from (pending) > the latest attempt failed >
# the plan blocks it > the plan will send it (pending) > its counterpart was reversed (reversed) >
# the plan will reverse it (pending) > linked (synced) > the plan skips it.
SYNC_STATUS = f"""
with log as (
    select * from zsync.push_log where action in ('create', 'update', 'lookup')
),
last_result as (
    select flow, source_id, "at", status, error_code, error_class, message, target_id
    from log where action in ('create', 'update') and status in ('succeeded', 'failed')
    qualify row_number() over (partition by flow, source_id
                               order by "at" desc, case status when 'succeeded' then 0 else 1 end) = 1
),
stats as (
    select flow, source_id,
           max("at") as last_attempt_at,
           max("at") filter (where status = 'started') as last_started_at,
           max("at") filter (where status <> 'started') as last_answer_at,
           max("at") filter (where status = 'succeeded' and action <> 'lookup') as last_success_at
    from log group by flow, source_id
),
failures as (
    select l.flow, l.source_id, count(*) as failed_attempts
    from log l join stats s on s.flow = l.flow and s.source_id = l.source_id
    where l.status = 'failed' and l."at" > coalesce(s.last_success_at, {EPOCH})
    group by l.flow, l.source_id
),
records as (
    select flow, source_id from audit.plans
    union select flow, source_id from zsync.links
    union select flow, source_id from stats
),
joined as (
    select r.flow, f.source_system, r.source_id, f.target_system, f.source_table,
           coalesce(k.target_id, p.target_id, lr.target_id) as target_id,
           p.action as plan_action, p.reason as plan_reason, p.payload_hash as plan_hash,
           k.target_id as linked_target_id, k.payload_hash as link_hash, k.synced_at, k.writeback_status,
           k.reversed_at,
           lr."at" as result_at, lr.status as result_status, lr.error_code, lr.error_class, lr.message,
           s.last_attempt_at,
           coalesce(s.last_started_at > coalesce(s.last_answer_at, {EPOCH}), false) as unanswered,
           coalesce(fl.failed_attempts, 0) as failed_attempts
    from records r
    left join audit.flows f on f.flow = r.flow
    left join audit.plans p on p.flow = r.flow and p.source_id = r.source_id
    left join zsync.links k on k.flow = r.flow and k.source_id = r.source_id
    left join last_result lr on lr.flow = r.flow and lr.source_id = r.source_id
    left join stats s on s.flow = r.flow and s.source_id = r.source_id
    left join failures fl on fl.flow = r.flow and fl.source_id = r.source_id
)
select j.flow, j.source_system, j.source_id, j.target_system, j.target_id,
       case
           when j.unanswered then 'pending'
           when j.result_status = 'failed' and (j.synced_at is null or j.synced_at < j.result_at) then 'failed'
           when j.plan_action = 'blocked' then 'blocked'
           when j.plan_action in ('create', 'update') and j.link_hash is distinct from j.plan_hash then 'pending'
           when j.reversed_at is not null then 'reversed'
           when j.plan_action = 'reverse' then 'pending'
           when j.linked_target_id is not null then 'synced'
           when j.plan_action = 'skip' then 'skipped'
           else 'pending'
       end as status,
       j.plan_action,
       case when j.unanswered then 'an attempt got no answer: the next push looks the record up before re-sending'
            else j.plan_reason end as reason,
       j.last_attempt_at,
       case when j.result_status = 'failed' then j.error_code end as error_code,
       case when j.result_status = 'failed' then j.error_class end as error_class,
       case when j.result_status = 'failed' then j.message end as error_message,
       j.failed_attempts,
       j.synced_at,
       j.writeback_status,
       d.deleted_at as source_deleted_at
from joined j
left join audit.deleted_records d on d.staged_table = j.source_table and d.record_id = j.source_id
"""


def sync_status_sql() -> str:
    return SYNC_STATUS


def sync_summary_sql() -> str:
    return "select flow, status, count(*) as records from audit.sync_status group by flow, status order by flow, status"


def failures_sql() -> str:
    return (
        "select flow, source_system, source_id, target_system, target_id, error_code, error_class, "
        "error_message, failed_attempts, last_attempt_at, reason from audit.sync_status "
        "where status = 'failed'"
    )


def blocked_sql() -> str:
    return (
        "select s.flow, s.source_system, s.source_id, s.reason, p.last_error_code, s.target_id "
        "from audit.sync_status s join audit.plans p on p.flow = s.flow and p.source_id = s.source_id "
        "where p.action = 'blocked'"
    )


_UNLINKED_EMPTY = (
    "select null::varchar as flow, null::varchar as side, null::varchar as system, null::varchar as staged_table, "
    "null::varchar as record_id, null::varchar as label, null::varchar as issue, null::varchar as plan_action, "
    "null::varchar as reason, null::varchar as linked_to, null::timestamptz as deleted_at where false"
)


def _label(t: StagedTable) -> str:
    return f"cast(t.{quote_ident(t.label)} as varchar)" if t.label else "null::varchar"


def _deleted(t: StagedTable) -> str:
    return "t._deleted_at" if t.deletable else "null::timestamptz"


def _unlinked_source(flow: str, system: str, t: StagedTable) -> str:
    key = f"cast(t.{quote_ident(t.key)} as varchar)"
    return f"""
select {lit(flow)} as flow, 'source' as side, {lit(system)} as system, {lit(t.table)} as staged_table,
       {key} as record_id, {_label(t)} as label,
       case when {_deleted(t)} is not null then 'deleted at the source' else 'not linked' end as issue,
       p.action as plan_action, p.reason, k.target_id as linked_to, {_deleted(t)} as deleted_at
from {qualified(t.table)} t
left join zsync.links k on k.flow = {lit(flow)} and k.source_id = {key}
left join audit.plans p on p.flow = {lit(flow)} and p.source_id = {key}
where k.source_id is null or {_deleted(t)} is not null"""


def _unlinked_target(flow: str, system: str, t: StagedTable) -> str:
    key = f"cast(t.{quote_ident(t.key)} as varchar)"
    return f"""
select {lit(flow)} as flow, 'target' as side, {lit(system)} as system, {lit(t.table)} as staged_table,
       {key} as record_id, {_label(t)} as label,
       case when {_deleted(t)} is not null then 'deleted in ' || {lit(system)} else 'not linked' end as issue,
       null::varchar as plan_action, null::varchar as reason, k.source_id as linked_to, {_deleted(t)} as deleted_at
from {qualified(t.table)} t
left join zsync.links k on k.flow = {lit(flow)} and k.target_id = {key} and k.reversed_at is null
where k.target_id is null or {_deleted(t)} is not null"""


def _missing_targets(flow: str, system: str, tables: Sequence[StagedTable]) -> str:
    # Only links older than the target tables' last staging: a record zsync just created is
    # staged by the next run, so a younger link proves nothing. A flow that writes several record
    # types (a negative invoice is a credit memo) finds its target in any of their tables.
    staged = [f"(select max(_staged_at) from {qualified(t.table)})" if t.staged_at else EPOCH for t in tables]
    last_staged = f"least({', '.join(staged)})" if len(staged) > 1 else staged[0]
    found = " or ".join(
        f"exists (select 1 from {qualified(t.table)} t where cast(t.{quote_ident(t.key)} as varchar) = k.target_id)"
        for t in tables
    )
    return f"""
select {lit(flow)} as flow, 'target' as side, {lit(system)} as system, {lit(tables[0].table)} as staged_table,
       k.target_id as record_id, null::varchar as label, 'linked target not found' as issue,
       null::varchar as plan_action, null::varchar as reason, k.source_id as linked_to,
       null::timestamptz as deleted_at
from zsync.links k
where k.flow = {lit(flow)} and k.synced_at < {last_staged} and k.reversed_at is null
  and not ({found})"""


def unlinked_sql(
    sides: Sequence[FlowSides],
    staged: Mapping[tuple[str, str], StagedTable | None],
    targets: Mapping[str, Sequence[StagedTable]],
) -> str:
    parts = []
    for s in sides:
        source, target = staged.get((s.flow, "source")), staged.get((s.flow, "target"))
        if source:
            parts.append(_unlinked_source(s.flow, s.source_system, source))
        if target:
            parts.append(_unlinked_target(s.flow, s.target_system, target))
        if targets.get(s.flow):
            parts.append(_missing_targets(s.flow, s.target_system, targets[s.flow]))
    return _union(parts, _UNLINKED_EMPTY)


# --- reconciliation of invoice amounts --------------------------------------------------------

_ZUORA_INVOICE_COLUMNS = ("id", "account_id", "invoice_number", "invoice_date", "currency", "amount")
_NETSUITE_DOC_COLUMNS = ("internal_id", "entity_internal_id", "tran_id", "total")

_RECONCILIATION_EMPTY = """
select null::varchar as level, null::varchar as currency, null::date as period,
       null::varchar as zuora_account_id, null::varchar as netsuite_customer_id,
       null::varchar as zuora_invoice_id, null::varchar as invoice_number,
       null::varchar as netsuite_id, null::varchar as netsuite_number,
       null::bigint as invoices, null::double as zuora_amount, null::double as netsuite_amount,
       null::double as difference, null::varchar as status where false"""


def reconciliation_sql(catalog: Catalog) -> str:
    """Zuora vs NetSuite amounts of the invoices the `invoices` flow linked: per invoice, per
    customer and currency, per month and currency. A Zuora negative invoice lands in NetSuite as
    a credit memo (README, "What it syncs": invoices), so its NetSuite amount is the memo's total, negated."""
    if not catalog.has("zuora.invoices", *_ZUORA_INVOICE_COLUMNS):
        return _RECONCILIATION_EMPTY
    tables = [
        (t, sign)
        for t, sign in (("netsuite.invoices", ""), ("netsuite.credit_memos", "-"))
        if catalog.has(t, *_NETSUITE_DOC_COLUMNS)
    ]
    docs = [
        f"select internal_id, entity_internal_id, tran_id, {sign}total as total from {qualified(t)}"
        for t, sign in tables
    ]
    ns_docs = _union(
        docs,
        "select null::varchar as internal_id, null::varchar as entity_internal_id, "
        "null::varchar as tran_id, null::double as total where false",
    )
    # A document zsync created after NetSuite's last staging cannot be compared yet.
    staged = [f"(select max(_staged_at) from {qualified(t)})" for t, _ in tables if catalog.has(t, "_staged_at")]
    staged_until = f"greatest({', '.join(staged)})" if staged else EPOCH
    return f"""
with ns as ({ns_docs}),
base as (
    select z.currency, cast(date_trunc('month', cast(z.invoice_date as date)) as date) as period,
           cast(z.account_id as varchar) as zuora_account_id,
           cast(n.entity_internal_id as varchar) as netsuite_customer_id,
           k.source_id as zuora_invoice_id, z.invoice_number, k.target_id as netsuite_id,
           n.tran_id as netsuite_number,
           cast(z.amount as double) as zuora_amount, cast(n.total as double) as netsuite_amount,
           n.internal_id is null and k.synced_at >= coalesce({staged_until}, {EPOCH}) as not_staged
    from zsync.links k
    join zuora.invoices z on cast(z.id as varchar) = k.source_id
    left join ns n on cast(n.internal_id as varchar) = k.target_id
    where k.flow = 'invoices'
),
levels as (
    select 'invoice' as level, currency, period, zuora_account_id, netsuite_customer_id, zuora_invoice_id,
           invoice_number, netsuite_id, netsuite_number, 1::bigint as invoices, zuora_amount, netsuite_amount,
           netsuite_amount is null as missing, not_staged
    from base
    union all
    select 'customer', currency, null, zuora_account_id, any_value(netsuite_customer_id), null, null, null,
           null, count(*), sum(zuora_amount), sum(coalesce(netsuite_amount, 0)), bool_or(netsuite_amount is null),
           bool_or(not_staged)
    from base group by currency, zuora_account_id
    union all
    select 'period', currency, period, null, null, null, null, null, null, count(*), sum(zuora_amount),
           sum(coalesce(netsuite_amount, 0)), bool_or(netsuite_amount is null), bool_or(not_staged)
    from base group by currency, period
)
select level, currency, period, zuora_account_id, netsuite_customer_id, zuora_invoice_id, invoice_number,
       netsuite_id, netsuite_number, invoices, round(zuora_amount, 2) as zuora_amount,
       round(netsuite_amount, 2) as netsuite_amount,
       round(zuora_amount - coalesce(netsuite_amount, 0), 2) as difference,
       case when not_staged then 'not staged yet'
            when level = 'invoice' and missing then 'missing in netsuite'
            when abs(zuora_amount - coalesce(netsuite_amount, 0)) < 0.005 and not missing then 'match'
            else 'mismatch' end as status
from levels"""


# --- synced items whose product or plan expired since ------------------------------------------

_EXPIRED_EMPTY = """
select null::varchar as charge_id, null::varchar as charge_name, null::varchar as plan_name,
       null::varchar as product_name, null::varchar as expired, null::date as expired_on,
       null::varchar as netsuite_item_id, null::timestamptz as synced_at, null::varchar as note where false"""


def expired_items_sql(catalog: Catalog) -> str:
    """A synced charge that later expires stays as it is in NetSuite; shown here (README,
    `audit.expired_items`)."""
    if not (
        catalog.has("zuora.product_rate_plan_charges", "id", "name", "product_rate_plan_id")
        and catalog.has("zuora.product_rate_plans", "id", "name", "product_id", "effective_end_date")
        and catalog.has("zuora.products", "id", "name", "effective_end_date")
    ):
        return _EXPIRED_EMPTY
    return """
with charges as (
    select cast(c.id as varchar) as charge_id, c.name as charge_name, p.name as plan_name, pr.name as product_name,
           try_cast(p.effective_end_date as date) as plan_end, try_cast(pr.effective_end_date as date) as product_end
    from zuora.product_rate_plan_charges c
    left join zuora.product_rate_plans p on p.id = c.product_rate_plan_id
    left join zuora.products pr on pr.id = p.product_id
)
select c.charge_id, c.charge_name, c.plan_name, c.product_name,
       case when c.product_end < current_date then 'product' else 'plan' end as expired,
       least(case when c.plan_end < current_date then c.plan_end end,
             case when c.product_end < current_date then c.product_end end) as expired_on,
       k.target_id as netsuite_item_id, k.synced_at,
       'left as is in NetSuite: zsync never deletes or inactivates a synced item' as note
from zsync.links k
join charges c on c.charge_id = k.source_id
where k.flow = 'items' and (c.plan_end < current_date or c.product_end < current_date)"""
