"""`audit.manual_actions`: documents zsync could not reverse, and what a person does about them.

A synced document canceled or deleted at its source has its counterpart reversed by zsync
(engine/reversals.py). Where the target refuses for the document itself — a NetSuite
transaction in a closed period or applied to by others (a deposit, a refund), a Zuora payment
Zuora will not cancel — the reversal waits for a person: it is listed here with the vendor's
code and message until the counterpart is reversed (after `zsync requeue <flow> <source id>`).
"""

from __future__ import annotations

MANUAL_ACTIONS = """
with last_reversal as (
    select flow, source_id, status, error_code, error_class, message, target_id, "at"
    from zsync.push_log where action = 'reverse' and status <> 'started'
    qualify row_number() over (partition by flow, source_id order by "at" desc) = 1
)
select r.flow, f.source_system, r.source_id, f.target_system, r.target_id,
       r.error_code, r.message as error_message, r."at" as refused_at,
       p.reason,
       'reverse ' || coalesce(r.target_id, '?') || ' in ' || coalesce(f.target_system, 'the target')
       || ' by hand (in an open period: a refund, a credit or a journal entry), or fix what it refused, then run '
       || '`zsync requeue ' || r.flow || ' ' || r.source_id || '`' as next_step
from last_reversal r
left join audit.flows f on f.flow = r.flow
left join audit.plans p on p.flow = r.flow and p.source_id = r.source_id
left join zsync.links k on k.flow = r.flow and k.source_id = r.source_id
where r.status = 'failed' and r.error_class = 'data' and k.reversed_at is null
"""


def manual_actions_sql() -> str:
    return MANUAL_ACTIONS
