"""Fault injection shared by both sandboxes, driven over HTTP by tests and benchmarks.

Admin API (mounted by each sandbox under `/__sandbox`):

    GET    /__sandbox/faults          current rules
    POST   /__sandbox/faults          {"rules": [FaultRule, ...], "seed": 7}  replaces the rules
    DELETE /__sandbox/faults          clears every rule
    GET    /__sandbox/stats           request counts per route ("writes" counts committed writes)
    POST   /__sandbox/stats/reset

A rule matches a route name (Zuora: "POST /v1/accounts", "GET /object-query/accounts";
NetSuite: the SOAP operation, "upsertList") with fnmatch globs; "*" matches everything.
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
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class FaultRule:
    route: str = "*"
    latency_ms: int = 0  # added to every matching request
    error_rate: float = 0.0  # share of matching requests answered with `error_status`
    error_status: int = 500
    burst_429: int = 0  # the next N matching requests are answered 429
    drop_rate: float = 0.0  # share dropped before any work is done
    commit_then_drop: int = 0  # the next N matching writes commit, then the connection drops
    governance_rate: float = 0.0  # NetSuite: share answered with a concurrency-limit fault

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
    status_429: bool = False
    drop_before: bool = False
    drop_after_commit: bool = False
    governance: bool = False


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
                if rule.drop_rate and self.rng.random() < rule.drop_rate:
                    decision.drop_before = True
                if rule.governance_rate and self.rng.random() < rule.governance_rate:
                    decision.governance = True
                if is_write and rule.commit_then_drop > 0:
                    rule.commit_then_drop -= 1
                    decision.drop_after_commit = True
        return decision

    async def delay(self, decision: FaultDecision) -> None:
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)

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


class DroppingResponse:
    """A starlette-compatible response object that drops the connection when sent."""

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        await drop_connection(send)
