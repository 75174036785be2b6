"""The README's benchmark tables, made from the JSON `zsync bench --json` writes."""

from __future__ import annotations

from typing import Any


def _calls(api_calls: dict[str, dict[str, int]]) -> str:
    parts = []
    for system, ops in api_calls.items():
        total = sum(ops.values())
        if total:
            top = ", ".join(f"{op} {n}" for op, n in sorted(ops.items(), key=lambda kv: -kv[1])[:3])
            parts.append(f"{system} {total} ({top})")
    return "; ".join(parts) or "none"


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(figures: dict[str, Any]) -> str:
    m, s = figures["machine"], figures["settings"]
    lat = s["latency"]
    lines = [
        (
            f"Machine: {m['processor']} ({m.get('cpu_model', 'CPU not recorded')}), {m['cpus']} CPUs, "
            f"{m['memory_mb']:,} MB, {m['platform']}; Python {m['python']}, polars {m['polars']}, DuckDB "
            f"{m['duckdb']}, Dagster {m['dagster']}; load average "
            f"{m['load_average'][0]} at the start, {m.get('load_average_after', ['?'])[0]} at the end "
            f"({m['at'][:16]} UTC)."
        ),
        (
            f"Tenant: {s['accounts']} accounts x {s['months']} months. "
            f"Latency model: NetSuite {lat['netsuite_call_ms']} ms per call + {lat['netsuite_per_record_ms']} ms "
            f"per record, concurrency {lat['netsuite_concurrency']}; Zuora "
            f"{lat['zuora_call_ms']} ms per call, concurrency {lat['zuora_concurrency']}."
        ),
        "",
        (
            "| phase | accounts | wall s | API floor s | ratio_to_api_floor | records pushed | records/s | zsync CPU s "
            "| sandboxes' CPU s | CPU ms / pushed record | peak RSS MB | write calls | API calls |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in figures["phases"]:
        name = p["phase"] + (
            f" ({p['invoice_latency_s']:.1f} s to NetSuite, at most "
            f"{p.get('invoice_latency_worst_s', p['invoice_latency_s']):.1f} s with the "
            "sensor's wait)"
            if "invoice_latency_s" in p
            else ""
        )
        lines.append(
            f"| {name} | {p['accounts']:,} | {_num(p['wall_s'])} | {_num(p['api_floor_s'])} | "
            f"{_num(p['ratio_to_api_floor'])} | {p['records_pushed']:,} | {_num(p['records_per_s'], 0)} | "
            f"{_num(p['cpu_s'])} | {_num(p.get('sandbox_cpu_s'))} | {_num(p['cpu_ms_per_pushed_record'])} | "
            f"{_num(p['peak_rss_mb'], 0)} | "
            f"{sum(p['write_calls'].values()):,} | {_calls(p['api_calls'])} |"
        )
    if figures.get("plans"):
        lines += [
            "",
            "| plan of | staged rows | wall s | CPU s | peak RSS MB | rows/s | create / update / skip / blocked |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in figures["plans"]:
            staged = ", ".join(f"{t} {n:,}" for t, n in p["staged_rows"].items())
            actions = " / ".join(f"{p['actions'][a]:,}" for a in ("create", "update", "skip", "blocked"))
            lines.append(
                f"| {p['flow']} | {staged} | {_num(p['wall_s'])} | {_num(p['cpu_s'])} | "
                f"{_num(p['peak_rss_mb'], 0)} | {_num(p['rows_per_s'], 0)} | {actions} |"
            )
    return "\n".join(lines)
