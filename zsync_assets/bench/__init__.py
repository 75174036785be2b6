"""`zsync bench`: one benchmark of the whole product against both sandboxes with a latency model.

Modules: `sandboxes` (both vendors in a process of their own, seeded, with per-call and
per-record latency), `measure` (wall, CPU, peak RSS, API calls of one phase), `floor` (the API
floor a phase could not beat), `sync_phases` (full sync, no-change, 1% changed, invoice
latency), `plan_phase` (1,000,000 staged rows through `plan_flow`), `report` (the README table).
"""
