"""Staging steps: `zuora/zuora_<object>` and `netsuite/netsuite_<record>` are the assets of
multi-assets whose tables are read side by side; `sync_all` stages both systems in one step,
`staging` (defs/stage_all.py), and each system can be a step of its own (`zuora_staging_step`,
`netsuite_staging_step`).

Why few steps: a step costs fixed work (Dagster's events, a client, a DuckDB open), and the
in-process executor runs steps one after another, so 48 staging steps waited for 48 vendor round
trips in sequence on every run, also when nothing had changed. Inside one step every table runs
in its own thread with its own client (its calls are counted per table), up to its vendor's
concurrency; writes to the DuckDB file take turns on the process's one connection
(lib/warehouse.py). Each table keeps its asset key, code version, description and metadata, and
the multi-assets are subsettable, so `sync_invoices` or the UI can stage a few tables (and a
test builds the step over just the tables it needs: `zuora_staging_step(keys)`).

A table that fails does not stop the others: every other selected table is staged and
materialized, its mark moved. The step then fails, naming each failed table and why, so nothing
downstream of that staging runs in that run: a plan would read some tables fresh and others
stale (invoices without their newest items). The next run stages the failed table from its
unchanged mark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import dagster as dg

# A table's staging, run in a worker thread: the materializations it produced.
TableJob = Callable[[], list[dg.MaterializeResult]]


@dataclass(frozen=True)
class SystemStaging:
    """One system's part of a staging step: its tables' jobs (table -> job), how many run at once,
    and the jobs that run once every one of those tables is staged (its deletion detection,
    which must see every staged row: lib/deletions.py); they do not run when a table failed."""

    system: str
    jobs: Mapping[str, TableJob]
    concurrency: int
    then: Mapping[str, TableJob] = field(default_factory=dict)


def staged_side_by_side(system: str, jobs: Mapping[str, TableJob], concurrency: int) -> Iterator[dg.MaterializeResult]:
    """Run every table's job (table -> job), at most `concurrency` at once, and yield their
    materializations as each table ends; raise `dg.Failure` naming every table that failed."""
    yield from staged_together([SystemStaging(system, jobs, concurrency)])


def staged_together(systems: Sequence[SystemStaging]) -> Iterator[dg.MaterializeResult]:
    """`staged_side_by_side` for several systems at once, each in threads of its own up to its
    own concurrency, each system's `then` jobs as soon as its tables are staged: the `staging`
    step (defs/stage_all.py), where one system's deletion detection overlaps the other's reads."""
    failures: dict[str, str] = {}
    failed_systems: set[str] = set()
    pools = {
        part.system: ThreadPoolExecutor(
            max_workers=max(1, min(part.concurrency, max(len(part.jobs), len(part.then)))),
            thread_name_prefix=f"stage-{part.system}",
        )
        for part in systems
        if part.jobs or part.then
    }
    pending: dict[Future, tuple[SystemStaging, str]] = {}
    tables_left = {part.system: len(part.jobs) for part in systems}

    def start(part: SystemStaging, jobs: Mapping[str, TableJob]) -> None:
        for name, job in jobs.items():
            pending[pools[part.system].submit(job)] = (part, name)

    try:
        for part in systems:
            start(part, part.jobs or part.then)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                part, name = pending.pop(future)
                error = future.exception()
                if error is None:
                    yield from future.result()
                else:
                    failures[name] = f"{type(error).__name__}: {' '.join(str(error).split())}"
                    failed_systems.add(part.system)
                    dg.get_dagster_logger("zsync.staging").error("staging %s failed: %s", name, failures[name])
                if name in part.jobs:
                    tables_left[part.system] -= 1
                    if tables_left[part.system] == 0 and part.system not in failed_systems:
                        start(part, part.then)
    finally:
        # An interrupted run (SIGTERM, an error above) starts no further table; the ones in
        # flight finish their page and leave their mark unmoved.
        for pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
    if failures:
        staged = sum(1 for part in systems for table in part.jobs if table not in failures)
        raise dg.Failure(
            description=f"staging failed for {len(failures)} {' and '.join(sorted(failed_systems))} table(s) "
            f"({staged} other(s) staged): " + "; ".join(f"{table}: {why}" for table, why in sorted(failures.items())),
            metadata={"failed_tables": dg.MetadataValue.json(failures)},
        )
