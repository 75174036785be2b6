"""The Zuora client against the Zuora sandbox over real sockets: auth, paging, retries, idempotency."""

import dataclasses
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from zsync_assets.clients.zuora import ZuoraClient, ZuoraError, ZuoraResource, zoql_timestamp
from zsync_assets.lib.staging import parse_timestamp
from zsync_assets.sandbox import defaults
from zsync_assets_tests.fixtures.zuora_client import connect


def new_account(name: str) -> dict:
    return {
        "name": name,
        "currency": "USD",
        "billCycleDay": 1,
        "autoPay": False,
        "billToContact": {"firstName": "Ada", "lastName": "Lovelace", "country": "United States", "state": "CA"},
    }


def accounts_named(client: ZuoraClient, name: str) -> list[dict]:
    return [a for page in client.query_objects("accounts", filters=[f"name.EQ:{name}"]) for a in page]


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_calls_keep_working_across_token_expiry_and_a_rejected_token(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=2, token_ttl_s=1)
    with connect(sandbox, token_refresh_margin_s=0) as client:
        assert client.tenant_id == defaults.ZUORA_TENANT_ID
        seen = set()
        deadline = time.monotonic() + 2.5  # spans two token lifetimes
        while time.monotonic() < deadline:
            seen |= {a["id"] for page in client.query_objects("accounts") for a in page}
            time.sleep(0.25)
        assert client.calls["POST /oauth/token"] >= 3
        assert len(seen) >= 2

        # A token the server no longer accepts (revoked, clock skew): one 401, one refresh, success.
        client._token = dataclasses.replace(client._token, access_token="revoked-token")
        tokens_before = client.calls["POST /oauth/token"]
        assert next(client.query_objects("accounts"))
        assert client.calls["POST /oauth/token"] == tokens_before + 1


def test_a_bad_secret_is_named_as_the_problem_and_never_echoed(zuora_sandbox):
    secret = "not-the-right-secret-" + uuid.uuid4().hex[:12]
    with ZuoraClient(zuora_sandbox.url, zuora_sandbox.client_id, secret, max_attempts=2) as client:
        with pytest.raises(ZuoraError) as raised:
            next(client.query_objects("accounts"))
        assert secret not in repr(client)
    error = raised.value
    assert error.status in (400, 401)
    assert "ZUORA_CLIENT_SECRET" in str(error) and "OAuth" in str(error)
    for text in (str(error), repr(error), str(error.args), str(error.reasons)):
        assert secret not in text
        assert zuora_sandbox.client_secret not in text


def test_object_query_pages_follow_the_cursor_without_repeats(make_zuora_sandbox):
    sandbox = make_zuora_sandbox(size=6)
    with connect(sandbox) as client:
        pages = list(client.query_objects("accounts", page_size=2))
        everything = [a for page in client.query_objects("accounts") for a in page]
    ids = [a["id"] for page in pages for a in page]
    assert len(pages) >= 3 and all(len(p) <= 2 for p in pages)
    assert len(ids) == len(set(ids)) == len(everything)
    assert client.calls["GET /object-query/accounts"] == len(pages) + 1


def test_zoql_pages_with_query_more_and_filters_on_utc_timestamps(zuora_sandbox):
    with connect(zuora_sandbox) as client:
        query = "select Id, UpdatedDate, Amount from Invoice"
        pages = list(client.zoql(query, batch_size=5))
        (single,) = list(client.zoql(query))
        middle = sorted(parse_timestamp(r["UpdatedDate"]) for r in single)[len(single) // 2]
        (recent,) = list(client.zoql(f"{query} where UpdatedDate >= '{zoql_timestamp(middle)}'"))
    ids = [r["Id"] for page in pages for r in page]
    assert len(pages) >= 3 and len(ids) == len(set(ids)) == len(single)
    assert client.calls["POST /v1/action/queryMore"] == len(pages) - 1
    assert {r["Id"] for r in recent} == {
        r["Id"] for r in single if parse_timestamp(r["UpdatedDate"]) >= middle.replace(microsecond=0)
    }


def test_same_key_and_body_replays_and_a_different_body_is_422(zuora_sandbox):
    name = unique_name("idem")
    key = f"zsync-test-{uuid.uuid4()}"
    with connect(zuora_sandbox) as client:
        first = client.post("/v1/accounts", new_account(name), idempotency_key=key)
        replay = client.post("/v1/accounts", new_account(name), idempotency_key=key)
        assert replay["accountId"] == first["accountId"]
        with pytest.raises(ZuoraError) as raised:
            client.post("/v1/accounts", new_account(name + "-changed"), idempotency_key=key)
        assert raised.value.status == 422
        assert client.calls["POST /v1/accounts"] == 3  # 422 is fatal: not retried
        assert [a["id"] for a in accounts_named(client, name)] == [first["accountId"]]


def test_a_dropped_keyed_post_is_resent_with_the_same_key_and_creates_one_account(zuora_sandbox):
    name = unique_name("drop")
    zuora_sandbox.set_faults([{"route": "POST /v1/accounts", "commit_then_drop": 1}])
    with connect(zuora_sandbox) as client:
        created = client.post("/v1/accounts", new_account(name), idempotency_key=f"zsync-{uuid.uuid4()}")
        assert client.calls["POST /v1/accounts"] == 2  # dropped once, replayed once
        assert [a["id"] for a in accounts_named(client, name)] == [created["accountId"]]


def test_a_duplicate_sent_while_the_first_is_in_flight_waits_out_the_409(zuora_sandbox):
    name = unique_name("inflight")
    key = f"zsync-{uuid.uuid4()}"
    zuora_sandbox.set_faults([{"route": "POST /v1/accounts", "latency_ms": 300}])
    # Enough attempts that full-jitter backoff outlasts the first request's 300 ms.
    with connect(zuora_sandbox, max_attempts=15) as client, ThreadPoolExecutor(2) as pool:
        _ = client.tenant_id  # one token for both threads
        first, second = pool.map(
            lambda _: client.post("/v1/accounts", new_account(name), idempotency_key=key), range(2)
        )
        assert first["accountId"] == second["accountId"]
        assert client.retries["POST /v1/accounts"] >= 1  # the 409 "in flight" answer was retried
        assert [a["id"] for a in accounts_named(client, name)] == [first["accountId"]]


def test_a_dropped_post_without_a_key_is_not_resent(zuora_sandbox):
    name = unique_name("nokey")
    zuora_sandbox.set_faults([{"route": "POST /v1/accounts", "commit_then_drop": 1}])
    with connect(zuora_sandbox) as client:
        with pytest.raises(ZuoraError) as raised:
            client.post("/v1/accounts", new_account(name))
        assert "not retried" in str(raised.value)
        assert client.calls["POST /v1/accounts"] == 1
        # It did commit: re-sending would have made a duplicate.
        assert len(accounts_named(client, name)) == 1


def test_retries_stop_after_max_attempts_with_the_last_error(zuora_sandbox):
    with connect(zuora_sandbox, max_attempts=3) as client:
        _ = client.tenant_id  # token first, so only the query is faulted
        zuora_sandbox.set_faults([{"route": "GET /object-query/*", "error_rate": 1.0, "error_status": 503}])
        with pytest.raises(ZuoraError) as raised:
            next(client.query_objects("contacts"))
    assert raised.value.status == 503 and raised.value.attempts == 3
    assert client.calls["GET /object-query/contacts"] == 3
    assert client.retries["GET /object-query/contacts"] == 2


def client_from_env() -> ZuoraClient:
    # What Dagster does in a step: resolve the dg.EnvVar fields, then build the client.
    return ZuoraResource.from_env().process_config_and_initialize().get_client()


def test_resource_uses_env_credentials_only_when_all_are_set(monkeypatch):
    assert client_from_env().base_url == defaults.zuora_url()
    monkeypatch.setenv("ZUORA_CLIENT_ID", "x" * 36)
    with pytest.raises(ValueError, match="ZUORA_BASE_URL.*ZUORA_CLIENT_SECRET"):
        client_from_env()
    monkeypatch.setenv("ZUORA_CLIENT_SECRET", "real-secret-value")
    monkeypatch.setenv("ZUORA_BASE_URL", "https://rest.test.zuora.com")
    client = client_from_env()
    assert client.base_url == "https://rest.test.zuora.com" and client.client_id == "x" * 36
    assert "real-secret-value" not in repr(client)
