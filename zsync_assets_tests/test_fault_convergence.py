"""Fault convergence: with 30% of vendor calls failing at a steady per-call rate, repeated runs
reach the end state of a clean run, with no duplicate and nothing left blocked by a transient.

Every fault kind the sandboxes inject takes a share of the 30%, on every route of both vendors:
NetSuite governance faults and UNEXPECTED_ERROR 500s, Zuora 429s and 503s, timeouts, connections
dropped before any work, and connections dropped after the write committed. The client retries
each call a few times; what still fails is a failed step or a transient record failure, which
the next run picks up. The end state is compared with a twin pair of sandboxes (same seeds)
synced once without faults, by the deterministic keys zsync gives what it creates.
"""

from __future__ import annotations

import polars as pl

from zsync_assets_tests.fixtures.sync_env import SyncEnv

MAX_RUNS = 8
TRANSACTION_TYPES = {
    "operator": "anyOf",
    "searchValue": ["_invoice", "_creditMemo", "_customerPayment", "_customerRefund"],
}
FAULTS = {  # shares of all calls, per kind: 30% in all
    "rate_limit_rate": 0.08,  # Zuora 429 / NetSuite concurrency governance fault
    "error_rate": 0.07,  # Zuora 503 / NetSuite UNEXPECTED_ERROR fault (HTTP 500)
    "timeout_rate": 0.03,  # no answer until the client gives up
    "drop_rate": 0.05,  # connection dropped before any work
    "commit_then_drop_rate": 0.07,  # the write commits, the answer is lost
}


def _rules(error_status: int) -> list[dict]:
    # One rule per kind, each drawing its own share, so the kinds add up rather than overlap.
    rules = [{"route": "*", kind: rate} for kind, rate in FAULTS.items()]
    for rule in rules:
        rule.setdefault("error_status", error_status)
        rule["timeout_ms"] = 2500
    return rules


def _end_state(env: SyncEnv) -> dict:
    """What a sync leaves, in terms both runs share: zsync's deterministic NetSuite externalIds,
    the Zuora records told of their counterpart, the links by source id. Read with the usual
    client settings: the 1 s timeout and 3 tries are for the faulted runs, and on a loaded
    machine a clean search can outlast them."""
    faulted = env.client_timeout_s, env.client_attempts
    env.client_timeout_s, env.client_attempts = SyncEnv.client_timeout_s, SyncEnv.client_attempts
    try:
        return _read_end_state(env)
    finally:
        env.client_timeout_s, env.client_attempts = faulted


def _read_end_state(env: SyncEnv) -> dict:
    netsuite = {}
    for search, criteria in (("customer", {}), ("item", {}), ("transaction", {"type": TRANSACTION_TYPES})):
        with env.netsuite_client() as client:
            keys = [r.get("externalId") for page in client.search(search, criteria) for r in page]
        netsuite[search] = sorted(k for k in keys if k and k.startswith("zsync:"))
    zuora = {
        obj: sorted(r["id"] for r in env.zuora_records(obj) if r.get("IntegrationStatus__NS") == "Sync Complete")
        for obj in ("accounts", "invoices", "payments", "refunds")
    }
    linked = env.warehouse.table_exists("zsync.links")  # not before a first plan ran
    links = env.query("select flow, source_id from zsync.links order by all").rows() if linked else []
    return {"netsuite": netsuite, "zuora": zuora, "links": links}


def _timeouts_fired(env: SyncEnv) -> bool:
    """The rarest kind (3%) has fired on both vendors; the others come with more share."""
    return all(sandbox.stats().get("timeouts", 0) for sandbox in (env.zuora, env.netsuite))


def test_repeated_runs_under_30_percent_faults_reach_the_clean_end_state(
    make_sync_env, make_zuora_sandbox, make_netsuite_sandbox, tmp_path, monkeypatch
):
    # A tenant without tax, so every transaction flow has work without a tax-code mapping.
    env = make_sync_env(zuora_size=6, netsuite_size=0, zuora_settings={"taxes": False})
    env.client_timeout_s = 1.0
    # Three tries per call (production makes 8): about 3% of calls still fail after the client's
    # retry, so convergence has to come from the runs, not from the client alone.
    env.client_attempts = 3
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = SyncEnv(
        make_zuora_sandbox(size=6, taxes=False),
        make_netsuite_sandbox(size=0),
        clean_dir / "zsync.duckdb",
        clean_dir,
        monkeypatch,
        dict(env.config),
    )
    assert clean.run().success
    expected = _end_state(clean)
    assert expected["links"] and all(expected["netsuite"].values())

    env.zuora.set_faults(_rules(503), seed=11)
    env.netsuite.set_faults(_rules(500), seed=12)
    runs = 0
    while runs < MAX_RUNS:
        runs += 1
        env.run(raise_on_error=False)
        env.zuora.clear_faults()  # look without faults; they come back for the next run
        env.netsuite.clear_faults()
        reached = _end_state(env) == expected
        # A run that changes nothing makes few calls (plan_state.py skips plan and push), so a 3%
        # kind may not have fired by the run that converged: runs go on under faults until every
        # kind has, and the clean end state must survive them too.
        if reached and _timeouts_fired(env):
            break
        env.zuora.set_faults(_rules(503), seed=11 + runs)
        env.netsuite.set_faults(_rules(500), seed=12 + runs)
    print(f"\nfault convergence: reached the clean end state after {runs} run(s) at 30% faults")
    assert _end_state(env) == expected, f"not converged after {runs} runs"

    # No duplicate on either side: one NetSuite record per externalId (the lists above are
    # unique only if the vendor holds each key once), one Zuora write per link.
    for search, keys in _end_state(env)["netsuite"].items():
        assert len(keys) == len(set(keys)), search
    # Nothing waits on a transient error: every record that failed last was a data refusal.
    last = env.query("""
        select flow, source_id, error_class from (
            select *, row_number() over (partition by flow, source_id order by "at" desc) as rn
            from zsync.push_log where action in ('create', 'update', 'lookup') and status <> 'started')
        where rn = 1 and status = 'failed'""")
    assert last.filter(pl.col("error_class") != "data").is_empty(), last
    stats_z, stats_n = env.zuora.stats(), env.netsuite.stats()
    assert _timeouts_fired(env), "every kind must have fired"
    failed_attempts = env.query("select count(*) as n from zsync.push_log where status = 'failed'")["n"][0]
    print(
        f"fault convergence: {failed_attempts} failed write attempts on the way, "
        f"{stats_z.get('timeouts', 0) + stats_n.get('timeouts', 0)} timeouts injected"
    )
