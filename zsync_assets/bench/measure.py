"""What one phase cost: wall time, zsync's own CPU (this process and the step processes it
waited for; the sandboxes run in another process), peak RSS, and the API calls it made."""

from __future__ import annotations

import resource
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
# Sandbox stats keys that count something other than requests of one operation.
_COUNTERS = ("writes", "records_", "timeouts")


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mb() -> float:
    """This process's peak resident set since the last reset (VmHWM)."""
    for line in _STATUS.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so each phase gets its own peak.
    with suppress(OSError):
        _CLEAR_REFS.write_text("5")


@dataclass
class Phase:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    api_calls: dict[str, dict[str, int]] = field(default_factory=dict)  # system -> operation -> calls
    extra: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "api_calls": self.api_calls,
            **self.extra,
        }


@contextmanager
def measured(
    stats: Callable[[], dict[str, Counter]] | None = None, sandbox_cpu: Callable[[], float | None] | None = None
) -> Iterator[Phase]:
    """Measure the block; `stats` returns the sandboxes' request counters (diffed over the block).
    Peak RSS is this process's: child step processes (multiprocess executor) report theirs
    through RUSAGE_CHILDREN's max, taken as well. `sandbox_cpu`: the sandboxes' CPU seconds so
    far, reported as `sandbox_cpu_s` (on a small machine their work competes with zsync's)."""
    phase = Phase()
    sandbox_before = sandbox_cpu() if sandbox_cpu else None
    before = stats() if stats else {}
    _reset_peak_rss()
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu, start = _cpu_s(), time.perf_counter()
    try:
        yield phase
    finally:
        phase.wall_s = time.perf_counter() - start
        phase.cpu_s = _cpu_s() - cpu
        sandbox_after = sandbox_cpu() if sandbox_cpu else None
        if sandbox_before is not None and sandbox_after is not None:
            phase.extra["sandbox_cpu_s"] = round(sandbox_after - sandbox_before, 3)
        child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        phase.peak_rss_mb = max(_peak_rss_mb(), child_peak / 1024 if child_peak > children_rss else 0.0)
        if stats:
            after = stats()
            phase.api_calls = {
                system: {
                    op: n
                    for op, n in sorted((after[system] - before.get(system, Counter())).items())
                    if n and not op.startswith(_COUNTERS)
                }
                for system in after
            }
            phase.extra["records_written"] = {
                system: after[system].get("records_written", 0)
                - before.get(system, Counter()).get("records_written", 0)
                for system in after
            }
