"""NetSuite's per-account concurrency limit, held across threads AND processes.

NetSuite counts concurrent web-service requests per account (5 Standard, 15 Premium, 20
Enterprise/Ultimate, +10 per SuiteCloud Plus licence); above it, TBA requests fail with
`ExceededConcurrentRequestLimitFault` / `WS_REQUEST_BLOCKED`. Dagster runs steps in separate
processes, each with its own resources, so an in-process semaphore alone lets N steps send
N x limit requests. Each request therefore also holds one of `limit` slot files (an exclusive
`fcntl.flock`, released by the kernel if the process dies). The Dagster pool `netsuite_api`
on the pushing assets caps concurrent steps on top of this; the slots still bound requests
from ad-hoc scripts and from several runs. Slot files only coordinate processes on one host
(or one shared local filesystem) — across hosts, size the Dagster pool instead.
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SEMAPHORES: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SEMAPHORES_LOCK = threading.Lock()


def _semaphore(account: str, limit: int) -> threading.BoundedSemaphore:
    with _SEMAPHORES_LOCK:
        return _SEMAPHORES.setdefault((account, limit), threading.BoundedSemaphore(limit))


class ConcurrencySlots:
    """`with slots.hold(): send()` — at most `limit` requests in flight for the account."""

    def __init__(self, account: str, limit: int, lock_dir: Path, *, timeout_s: float = 600.0):
        if limit < 1:
            raise ValueError("NetSuite concurrency limit must be at least 1")
        self.account = account
        self.limit = limit
        self.dir = Path(lock_dir) / f"netsuite-{account.lower()}"
        self.timeout_s = timeout_s

    @contextmanager
    def hold(self) -> Iterator[int]:
        semaphore = _semaphore(self.account, self.limit)
        if not semaphore.acquire(timeout=self.timeout_s):
            raise TimeoutError(f"no NetSuite request slot for {self.account} within {self.timeout_s:.0f}s")
        try:
            fd, slot = self._acquire_file_slot()
            try:
                yield slot
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        finally:
            semaphore.release()

    def _acquire_file_slot(self) -> tuple[int, int]:
        self.dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout_s
        # Start at a random slot so processes don't all contend for slot 0 first.
        start = random.randrange(self.limit)
        while True:
            for i in range(self.limit):
                slot = (start + i) % self.limit
                fd = os.open(self.dir / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd, slot
                except BlockingIOError:
                    os.close(fd)
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"all {self.limit} NetSuite request slots for {self.account} stayed busy "
                    f"for {self.timeout_s:.0f}s (slot files in {self.dir})"
                )
            time.sleep(random.uniform(0.005, 0.03))
