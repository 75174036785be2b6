"""Zuora REST client: the one request path with its retries, writes with idempotency keys.

`ZuoraClient` is plain Python (tests and scripts use it directly); `ZuoraResource`
(resource.py) is the Dagster resource that builds one per step. Within a step, the engine's
push workers share one client: the token refresh and counters are locked. The OAuth token and
its process-wide cache are in auth.py, how Object Query and ZOQL are paged in query.py, and
which failures are retried is decided in `errors.classify`.

Vendor facts (developer.zuora.com): `Idempotency-Key` is honoured on POST/PATCH only. With Zuora
Multi-entity, a token valid for several entities needs the entity named on every request in
`Zuora-Entity-Ids` (a 36-character UUID with hyphens; on the token request it limits the token
to that entity): `entity_id` sends it everywhere, so zsync never reads or writes another entity.
"""

from __future__ import annotations

import json as _json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from functools import partial
from math import ceil
from typing import Any

import httpx

from zsync_assets.clients.http import pool_limits, ssl_context
from zsync_assets.clients.zuora.auth import TOKENS, TOKENS_LOCK, Token, TokenKey, request_token, token_key
from zsync_assets.clients.zuora.errors import (
    Outcome,
    Verdict,
    ZuoraError,
    classify,
    error_from,
)
from zsync_assets.clients.zuora.query import (
    OBJECT_QUERY_MAX_PAGE,
    ZOQL_MAX_BATCH,
    crowded_by_id,
    field_names,
    object_query_pages,
    side_by_side,
    slice_filters,
    time_slices,
    zoql_pages,
    zoql_timestamp,
)
from zsync_assets.clients.zuora.retries import RetryPolicy

__all__ = ["ZuoraClient"]

log = logging.getLogger("zsync.zuora")

ENTITY_HEADER = "Zuora-Entity-Ids"
_ENTITY_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Methods HTTP defines as idempotent: re-sending them cannot create a second object.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Path segments that are record ids or keys (32-hex Zuora ids, account numbers, UUIDs),
# folded so `client.calls` counts routes, not records.
_ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{8,}$")
# Pages a slice of a window is sized for (`query_window`): each slice ends in a part page, so
# slices of one page each would double the calls; of four, a fifth more at most.
PAGES_PER_SLICE = 4


def route_of(method: str, path: str) -> str:
    """`GET /v1/accounts/8a8a...` -> `GET /v1/accounts/{key}` (query string dropped)."""
    segments = path.split("?", 1)[0].split("/")
    return f"{method} " + "/".join("{key}" if _ID_SEGMENT.match(s) else s for s in segments)


def _stamp(value: Any) -> datetime | None:
    """A ZOQL date-time (`2024-05-01T05:30:00.000-07:00`, tenant time with its offset) in UTC;
    None for what is not one (the probe only places cuts: a stamp it cannot read costs balance,
    never a record)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class ZuoraClient:
    """One Zuora tenant over HTTPS (or a sandbox over loopback)."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        max_attempts: int = 8,
        connect_attempts: int = 3,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 60.0,
        token_refresh_margin_s: float = 60.0,
        object_query_page_size: int = OBJECT_QUERY_MAX_PAGE,
        entity_id: str | None = None,
        logger: logging.Logger | None = None,
        pool_size: int = 40,  # requests in flight at once (Zuora's default tenant concurrency)
        in_flight: threading.Semaphore | None = None,  # shared by the clients of one budget
    ):
        self.retry_policy = RetryPolicy(
            max_attempts=max_attempts,
            connect_attempts=connect_attempts,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
        )
        if entity_id and not _ENTITY_ID.match(entity_id.strip()):
            raise ValueError(
                f"ZUORA_ENTITY_ID must be a Zuora entity id, a 36-character UUID with hyphens "
                f"(e.g. 11e643f4-a3ee-8bad-b061-0025904c756d), got {entity_id!r}"
            )
        self.entity_id = entity_id.strip() if entity_id else None
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_refresh_margin_s = token_refresh_margin_s
        self.object_query_page_size = object_query_page_size
        self.log = logger or log
        self.calls: Counter[str] = Counter()  # HTTP requests sent, by route (retries included)
        self.retries: Counter[str] = Counter()
        self._token: Token | None = None
        self._lock = threading.Lock()
        # The engine's push workers share one client: Counter `+=` is a read then a write.
        self._counts_lock = threading.Lock()
        # Held for each request (not while a retry waits): the clients of a step that share it
        # never have more requests in flight than it allows, however many threads they run.
        self._in_flight = in_flight
        self._http = httpx.Client(
            base_url=self.base_url,
            verify=ssl_context(),
            limits=pool_limits(pool_size),
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            headers={
                "Accept": "application/json",
                "User-Agent": "zsync",
                **({ENTITY_HEADER: self.entity_id} if self.entity_id else {}),
            },
        )

    def __repr__(self) -> str:  # never the secret or the token
        entity = f", entity_id={self.entity_id!r}" if self.entity_id else ""
        return f"ZuoraClient(base_url={self.base_url!r}, client_id={self.client_id!r}{entity})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZuoraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- authentication ---------------------------------------------------------------------

    @property
    def tenant_id(self) -> str | None:
        """The tenant this client's credentials belong to (from the token's `scope`)."""
        return self._valid_token().tenant_id

    @property
    def instance_id(self) -> str:
        """Whose records this client reads and writes: the tenant, and the entity when one is
        set (two entities of one tenant hold different records, so a warehouse binds to one)."""
        tenant = str(self.tenant_id)
        return f"{tenant}/{self.entity_id}" if self.entity_id else tenant

    @property
    def _token_key(self) -> TokenKey:
        return token_key(self.base_url, self.client_id, self._client_secret, self.entity_id)

    def _valid_token(self) -> Token:
        # Tokens are shared by every client of the process with the same credentials: a sync
        # builds a client per step, and a token per client cost one OAuth request each.
        with TOKENS_LOCK:
            token = self._token
            if token is None or time.monotonic() >= token.expires_at:
                token = TOKENS.get(self._token_key)  # another client may have refreshed it
            if token is None or time.monotonic() >= token.expires_at:
                token = self._fetch_token()
                TOKENS[self._token_key] = token
            self._token = token
            return token

    def _invalidate(self, stale: Token | None) -> None:
        with TOKENS_LOCK:
            if self._token is stale:  # another thread may have refreshed already
                self._token = None
                # The server refused it: the shared token is suspect too (revoked, rotated secret).
                TOKENS.pop(self._token_key, None)

    def _fetch_token(self) -> Token:
        return request_token(self._post_form, self.client_id, self._client_secret, self.token_refresh_margin_s)

    def _post_form(self, path: str, form: Mapping[str, str]) -> Any:
        # The token request: it carries no token, and asking again for one is safe.
        return self._call("POST", path, data=form, replay_safe=True, authenticate=False)

    # --- the one request path ---------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def post(self, path: str, json: Any, *, idempotency_key: str | None = None, replay_safe: bool = False) -> Any:
        """`replay_safe`: sent twice, the call does what it does once (it sets fields to given
        values), so it is sent again after a dropped connection or a 5xx, as a PUT is."""
        return self._call("POST", path, json=json, idempotency_key=idempotency_key, replay_safe=replay_safe or None)

    def patch(self, path: str, json: Any, *, idempotency_key: str | None = None) -> Any:
        return self._call("PATCH", path, json=json, idempotency_key=idempotency_key)

    def put(self, path: str, json: Any, *, idempotency_key: str | None = None) -> Any:
        # Zuora ignores Idempotency-Key on PUT (PUT is idempotent by definition); accepted
        # for a uniform call signature and sent only where the vendor honours it.
        return self._call("PUT", path, json=json)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        replay_safe: bool | None = None,
        authenticate: bool = True,
        text: bool = False,
    ) -> Any:
        method = method.upper()
        route = route_of(method, path)
        if json is not None:
            try:  # what httpx would send; NaN or infinity is not JSON, and Zuora could not read it
                _json.dumps(json, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ZuoraError(
                    f"the request body is not valid JSON: {exc}", method=method, route=route, kind="data"
                ) from None
        if replay_safe is None:
            replay_safe = method in _IDEMPOTENT_METHODS or idempotency_key is not None
        headers = {}
        if idempotency_key and method in ("POST", "PATCH"):
            headers["Idempotency-Key"] = idempotency_key

        def attempt() -> Any:
            reauthenticated = False
            while True:
                token = self._valid_token() if authenticate else None
                if token is not None:
                    headers["Authorization"] = f"Bearer {token.access_token}"
                outcome = self._send(method, path, route, params=params, json=json, data=data, headers=headers)
                verdict = classify(outcome, replay_safe=replay_safe, idempotency_key=idempotency_key)
                if verdict is Verdict.REAUTHENTICATE and authenticate and not reauthenticated:
                    # A 401 is answered before any work is done, so re-sending is safe.
                    reauthenticated = True
                    self._invalidate(token)
                    continue
                if verdict is Verdict.OK:
                    assert outcome.response is not None  # classify answers OK only for a response
                    if text:  # a document that is not JSON (describe answers XML)
                        return outcome.response.text
                    return outcome.body() if outcome.response.content else None
                raise self._error(method, route, outcome, verdict)

        return self.retry_policy.run(attempt, base_url=self.base_url, before_sleep=self._log_retry)

    def _send(self, method: str, path: str, route: str, **kwargs: Any) -> Outcome:
        with self._counts_lock:
            self.calls[route] += 1
        try:
            with self._in_flight or nullcontext():
                return Outcome(response=self._http.request(method, path, **kwargs))
        except httpx.TransportError as exc:
            return Outcome(error=exc)

    def _error(self, method: str, route: str, outcome: Outcome, verdict: Verdict) -> ZuoraError:
        secrets = (self._client_secret, self._token.access_token if self._token else "")
        return error_from(method, route, outcome, verdict, secrets)

    def _log_retry(self, retry_state: Any) -> None:
        exc = retry_state.outcome.exception()
        with self._counts_lock:
            self.retries[getattr(exc, "route", "?")] += 1
        self.log.warning(
            "Zuora retry %d/%d in %.2fs: %s",
            retry_state.attempt_number,
            self.retry_policy.max_attempts,
            retry_state.next_action.sleep,
            exc,
        )

    # --- reads ------------------------------------------------------------------------------

    def query_objects(
        self,
        object_name: str,
        *,
        filters: Iterable[str] = (),
        page_size: int | None = None,
        expand: Iterable[str] = (),
        fields: Iterable[str] = (),
    ) -> Generator[list[dict[str, Any]], None, None]:
        """Pages of an Object Query list (`/object-query/<hyphenated-name>`).

        `object_name` may be snake_case (`product_rate_plans`) or Zuora's hyphenated form;
        `filters` are Zuora filter expressions such as `updatedDate.GE:2024-05-01T00:00:00Z`;
        `page_size` defaults to the client's `object_query_page_size` (99, Zuora's maximum).
        """
        return object_query_pages(
            self.get,
            object_name,
            filters=filters,
            page_size=page_size or self.object_query_page_size,
            expand=expand,
            fields=fields,
        )

    def query_window(
        self, object_name: str, field: str, since: datetime | None, *, zoql_object: str, parallel: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of the `object_name` records whose `field` (a date-time) is at or after `since`
        (every record when None), read side by side when there are many.

        The first page comes from one Object Query. When it is full, the window holds more: a
        ZOQL probe (`select Id, <Field> from <zoql_object>`, 2000 records a page) gives their
        stamps, `time_slices` cuts the window into up to `parallel` slices of about
        `PAGES_PER_SLICE` pages, a second that holds more than that is read as lists of ids
        (`crowded_by_id`: a push's write-backs), and the slices are read at once (the first
        page's records come again in theirs: staging upserts by id). Two pages or fewer go on
        with the one cursor, and so does a window whose probe Zuora refused.
        """
        page_size = self.object_query_page_size
        filters = slice_filters(field, since, None)
        pages = self.query_objects(object_name, filters=filters)
        first = next(pages, [])
        yield first
        if parallel < 2 or len(first) < page_size:
            yield from pages
            return
        zoql_field = field[0].upper() + field[1:]
        probe = f"select Id, {zoql_field} from {zoql_object}"
        if since is not None:
            probe += f" where {zoql_field} >= '{zoql_timestamp(since)}'"
        try:
            probed = [(r.get("Id"), _stamp(r.get(zoql_field))) for page in self.zoql(probe) for r in page]
        except ZuoraError as exc:
            # Retried already if it was transient. A tenant that refuses the probe (a user
            # without ZOQL access, say) is still read, with the one cursor as before.
            self.log.warning("reading %s with one cursor: the ZOQL probe failed: %s", object_name, exc)
            yield from pages
            return
        wanted = ceil(len(probed) / page_size / PAGES_PER_SLICE)
        if ceil(len(probed) / page_size) <= 2 or wanted < 2:
            yield from pages
            return
        pages.close()
        stamped = [(str(i), s) for i, s in probed if i and s is not None]
        bounds = time_slices([s for _, s in stamped], since, min(parallel, wanted))
        slices = crowded_by_id(bounds, stamped, crowded=page_size * PAGES_PER_SLICE, per_list=page_size)
        readers = [partial(self.query_objects, object_name, filters=slice_filters(field, *part)) for part in slices]
        yield from side_by_side(readers, min(parallel, len(readers)))

    def describe(self, object_name: str) -> list[str]:
        """The API names of an object's fields in this tenant, custom fields included
        (`GET /v1/describe/{object}`, an XML document; e.g. `describe("Account")`)."""
        return field_names(self._call("GET", f"/v1/describe/{object_name}", text=True))

    def zoql(self, query: str, *, batch_size: int = ZOQL_MAX_BATCH) -> Iterator[list[dict[str, Any]]]:
        """Pages of a ZOQL query (`/v1/action/query`, then `/v1/action/queryMore`).

        Read-only, so the POSTs are safe to re-send after a dropped connection.
        """
        return zoql_pages(self._read_only_post, query, batch_size)

    def _read_only_post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, json=body, replay_safe=True)
