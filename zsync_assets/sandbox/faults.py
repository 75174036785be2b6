"""Fault injection shared by both sandboxes, driven over HTTP by tests and benchmarks.

Admin API (mounted by each sandbox under `/__sandbox`):

    GET    /__sandbox/faults          current rules
    POST   /__sandbox/faults          {"rules": [FaultRule, ...], "seed": 7}  replaces the rules
    DELETE /__sandbox/faults          clears every rule
    GET    /__sandbox/stats           request counts per route ("writes" counts committed writes)
    POST   /__sandbox/stats/reset

A rule matches a route name (Zuora: "POST /v1/accounts", "GET /object-query/accounts";
NetSuite: the SOAP operation, "upsertList") with fnmatch globs; "*" matches everything.

Every kind of fault has a steady per-call rate (a share of matching calls, drawn from the
injector's seeded random stream), so a test or benchmark can say "30% of calls fail" and mean
it for every kind:

- `error_rate`: answered `error_status` (5xx...) with the vendor's error body, or with an HTML
  page (`error_body: "html"`, what a proxy in front of the vendor sends); `error_code` names
  the vendor code (NetSuite fault code such as `WS_CONCUR_SESSION_DISALLWD`);
- `rate_limit_rate`: Zuora 429 / NetSuite concurrency governance fault, before any work;
- `drop_rate`: the connection drops before any work;
- `timeout_rate`: no answer for `timeout_ms` (before any work), then the connection drops;
- `commit_then_drop_rate`: the write commits, then the connection drops (the caller never
  hears); `commit_then_drop` does the same for the next N matching writes.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class FaultRule:
    route: str = "*"
    latency_ms: int = 0  # added to every matching request
    error_rate: float = 0.0  # share of matching requests answered with `error_status`
    error_status: int = 500
    burst_429: int = 0  # the next N matching requests are answered 429
    error_code: str | None = None  # the vendor code of an injected error (default: the vendor's 5xx code)
    error_body: str = "vendor"  # "vendor": the vendor's error shape; "html": a proxy's error page
    drop_rate: float = 0.0  # share dropped before any work is done
    commit_then_drop: int = 0  # the next N matching writes commit, then the connection drops
    commit_then_drop_rate: float = 0.0  # share of matching writes that commit, then drop
    governance_rate: float = 0.0  # NetSuite: share answered with a concurrency-limit fault
    rate_limit_rate: float = 0.0  # share answered 429 (Zuora) / a concurrency-limit fault (NetSuite)
    timeout_rate: float = 0.0  # share that get no answer for `timeout_ms`, then a dropped connection
    timeout_ms: int = 30_000

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {sorted(unknown)}")
        return cls(**data)


@dataclass
class FaultDecision:
    latency_s: float = 0.0
    error_status: int | None = None
    error_code: str | None = None
    error_html: bool = False
    status_429: bool = False
    drop_before: bool = False
    drop_after_commit: bool = False
    governance: bool = False
    timeout_s: float = 0.0  # > 0: answer nothing for this long, then drop the connection


@dataclass
class FaultInjector:
    rules: list[FaultRule] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    stats: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set_rules(self, rules: list[dict[str, Any]], seed: int | None = None) -> None:
        parsed = [FaultRule.from_dict(r) for r in rules]
        with self._lock:
            self.rules = parsed
            if seed is not None:
                self.rng = random.Random(seed)

    def clear(self) -> None:
        with self._lock:
            self.rules = []

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def decide(self, route: str, *, is_write: bool) -> FaultDecision:
        """What happens to this request; consumes burst and commit-then-drop budgets."""
        decision = FaultDecision()
        with self._lock:
            self.stats[route] += 1
            for rule in self.rules:
                if not fnmatch.fnmatchcase(route, rule.route):
                    continue
                decision.latency_s += rule.latency_ms / 1000
                if rule.burst_429 > 0:
                    rule.burst_429 -= 1
                    decision.status_429 = True
                if rule.error_rate and self.rng.random() < rule.error_rate:
                    decision.error_status = rule.error_status
                    decision.error_code = rule.error_code
                    decision.error_html = rule.error_body == "html"
                if rule.drop_rate and self.rng.random() < rule.drop_rate:
                    decision.drop_before = True
                if rule.governance_rate and self.rng.random() < rule.governance_rate:
                    decision.governance = True
                if rule.rate_limit_rate and self.rng.random() < rule.rate_limit_rate:
                    decision.governance = decision.status_429 = True
                if rule.timeout_rate and self.rng.random() < rule.timeout_rate:
                    decision.timeout_s = rule.timeout_ms / 1000
                if is_write and rule.commit_then_drop > 0:
                    rule.commit_then_drop -= 1
                    decision.drop_after_commit = True
                if is_write and rule.commit_then_drop_rate and self.rng.random() < rule.commit_then_drop_rate:
                    decision.drop_after_commit = True
        return decision

    async def delay(self, decision: FaultDecision) -> None:
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)

    async def hang(self, decision: FaultDecision) -> bool:
        """For a timeout fault: wait without answering, then say the connection should drop."""
        if not decision.timeout_s:
            return False
        self.count("timeouts")
        await asyncio.sleep(decision.timeout_s)
        return True

    def admin_routes(self) -> list[Route]:
        async def get_faults(request: Request) -> JSONResponse:
            return JSONResponse({"rules": [asdict(r) for r in self.rules]})

        async def set_faults(request: Request) -> JSONResponse:
            body = await request.json()
            try:
                self.set_rules(body.get("rules", []), body.get("seed"))
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"rules": [asdict(r) for r in self.rules]})

        async def clear_faults(request: Request) -> JSONResponse:
            self.clear()
            return JSONResponse({"rules": []})

        async def get_stats(request: Request) -> JSONResponse:
            return JSONResponse(dict(self.stats))

        async def reset_stats(request: Request) -> JSONResponse:
            with self._lock:
                self.stats.clear()
            return JSONResponse({})

        return [
            Route("/__sandbox/faults", get_faults, methods=["GET"]),
            Route("/__sandbox/faults", set_faults, methods=["POST"]),
            Route("/__sandbox/faults", clear_faults, methods=["DELETE"]),
            Route("/__sandbox/stats", get_stats, methods=["GET"]),
            Route("/__sandbox/stats/reset", reset_stats, methods=["POST"]),
        ]


class DroppedConnection(Exception):
    """Raised by a handler after the response has started: the server closes the socket.

    uvicorn closes the transport when an app fails after `http.response.start`, so the
    client sees headers and then a connection closed mid-body: no usable response, the
    same as a load balancer dropping the connection after the vendor committed the write.
    """


async def drop_connection(send) -> None:  # noqa: ANN001 - raw ASGI send
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
    raise DroppedConnection("sandbox fault: connection dropped")


class DroppingResponse(Response):
    """A response that drops the connection when sent (a Response, so routes may return it)."""

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        await drop_connection(send)


def html_error_page(status: int) -> tuple[str, int]:
    """The page a load balancer answers when the vendor behind it is unavailable."""
    return (
        f"<html><head><title>{status}</title></head><body><h1>{status} Service Unavailable</h1>"
        "<p>The server is temporarily unable to service your request.</p></body></html>",
        status,
    )
