"""Plan classification: pure polars, no server, no database."""

import json

import polars as pl

from zsync_assets.config import FieldOverrides
from zsync_assets.engine.flow import Flow
from zsync_assets.engine.plan import build_plan, canonical_json, changed_fields, payload_hash, plan_counts

FLOW = Flow(
    name="widgets",
    source_system="zuora",
    target_system="netsuite",
    target_record_type="widget",
    source_tables=("zuora.widgets",),
    mapping=lambda tables, config: tables["zuora.widgets"],
)


def mapped(**columns):
    return pl.DataFrame(columns)


def link(source_id, payload, target_id="T1"):
    body = canonical_json(payload)
    return {"source_id": source_id, "target_id": target_id, "payload_hash": payload_hash(body), "payload": body}


def row(plan, source_id):
    return plan.filter(pl.col("source_id") == source_id).to_dicts()[0]


def test_new_records_are_created_with_nulls_omitted_from_the_payload():
    plan = build_plan(FLOW, mapped(source_id=["a"], name=["Acme"], phone=[None]))
    r = row(plan, "a")
    assert r["action"] == "create"
    assert json.loads(r["payload"]) == {"name": "Acme"}
    assert r["external_id"] == "zsync:widgets:a"


def test_unchanged_linked_records_are_skipped_and_changed_ones_updated_with_their_fields():
    links = pl.DataFrame([link("a", {"name": "Acme"}), link("b", {"name": "Bolt", "city": "Oslo"}, "T2")])
    plan = build_plan(FLOW, mapped(source_id=["a", "b"], name=["Acme", "Bolt"], city=[None, "Bergen"]), links)
    assert row(plan, "a")["action"] == "skip"
    assert row(plan, "a")["reason"] == "unchanged since the last sync"
    b = row(plan, "b")
    assert (b["action"], b["target_id"], b["changed_fields"]) == ("update", "T2", ["city"])


def test_an_update_names_each_top_level_field_whose_value_changed_however_deep():
    last = {
        "name": "Bolt",
        "city": "Tromsø",
        "address": {"lines": [{"zip": "9008", "street": "Storgata 1"}], "country": "NO"},
        "tags": ["a", "b"],
        "phone": "+47 1",
    }
    links = pl.DataFrame([link("b", last, "T2")])
    plan = build_plan(
        FLOW,
        mapped(
            source_id=["b"],
            name=["Bolt"],
            city=["Tromsø"],
            # a field deep in a list of objects changed; the list of tags did not
            address=[{"lines": [{"zip": "9009", "street": "Storgata 1"}], "country": "NO"}],
            tags=[["a", "b"]],
            email=["post@bolt.no"],  # new
            phone=[None],  # no longer mapped: omitted, so not sent and not a change
        ),
        links,
    )
    assert (row(plan, "b")["action"], row(plan, "b")["changed_fields"]) == ("update", ["address", "email"])


def test_skip_blocked_and_only_if_linked_controls():
    links = pl.DataFrame([link("c", {"name": "old"}, "T3")])
    plan = build_plan(
        FLOW,
        mapped(
            source_id=["a", "b", "c", "d"],
            name=["x", "y", "z", "w"],
            _skip=["product expired", None, None, None],
            _blocked=[None, "no subsidiary named 'Mars'", None, None],
            _only_if_linked=[None, None, "account is Canceled", "account is Canceled"],
        ),
        links,
    )
    assert (row(plan, "a")["action"], row(plan, "a")["reason"]) == ("skip", "product expired")
    assert (row(plan, "b")["action"], row(plan, "b")["reason"]) == ("blocked", "no subsidiary named 'Mars'")
    assert row(plan, "c")["action"] == "update"
    assert (row(plan, "d")["action"], row(plan, "d")["reason"]) == ("skip", "account is Canceled")
    assert plan_counts(plan) == {"create": 0, "update": 1, "skip": 2, "blocked": 1}


def test_a_skipped_record_that_was_synced_says_it_is_left_as_is():
    links = pl.DataFrame([link("a", {"name": "x"}, "T9")])
    plan = build_plan(FLOW, mapped(source_id=["a"], name=["x"], _skip=["product expired"]), links)
    assert row(plan, "a")["reason"] == "product expired (already synced as T9; left as is)"


def test_a_matched_pre_existing_record_is_updated_not_duplicated():
    plan = build_plan(FLOW, mapped(source_id=["a"], name=["x"], _match_target_id=["77"], _match=["same entityId"]))
    r = row(plan, "a")
    assert (r["action"], r["target_id"], r["match"]) == ("update", "77", "same entityId")
    assert r["changed_fields"] == ["name"]


def test_an_updates_fields_are_named_exactly_where_the_text_holds_what_orjson_reads_otherwise():
    """The canonical text is `json.dumps`'s, which writes integers beyond 64 bits (orjson reads
    them as floats, equal when they differ in the last digits) and NaN (which orjson refuses)."""
    big = 123456789012345678901234567890
    links = pl.DataFrame([link("a", {"big": big + 1, "name": "x"}), link("b", {"amount": 1.5, "name": "x"})])
    rows = mapped(
        source_id=["a", "b"],
        big=pl.Series([big, None], dtype=pl.Int128),
        amount=[None, float("nan")],
        name=["x", "x"],
    )
    plan = build_plan(FLOW, rows, links)
    assert (row(plan, "a")["action"], row(plan, "a")["changed_fields"]) == ("update", ["big"])
    assert (row(plan, "b")["action"], row(plan, "b")["changed_fields"]) == ("update", ["amount"])
    assert changed_fields('{"amount":NaN,"name":"y"}', '{"amount":1.5,"name":"x"}', long_numbers=False) == [
        "amount",
        "name",
    ]


def test_a_record_a_mapping_yields_twice_is_planned_once_with_its_last_values():
    plan = build_plan(FLOW, mapped(source_id=["a", "b", "a"], name=["first", "x", "last"]))
    assert sorted(plan["source_id"].to_list()) == ["a", "b"]
    assert json.loads(row(plan, "a")["payload"]) == {"name": "last"}


def attempt(source_id, status, code, payload, kind=None):
    """A push_log row; `kind` is the verdict the vendor client recorded (transient/data/unknown)."""
    return {
        "source_id": source_id,
        "status": status,
        "error_code": code,
        "error_class": kind,
        "message": "bad ref",
        "payload_hash": payload_hash(canonical_json(payload)),
    }


def test_a_data_error_waits_until_the_payload_changes_or_an_operator_requeues():
    attempts = pl.DataFrame(
        [
            attempt("a", "failed", "INVALID_KEY_OR_REF", {"name": "x"}, "data"),
            attempt("b", "failed", "INVALID_KEY_OR_REF", {"name": "old"}, "data"),
        ]
    )
    plan = build_plan(FLOW, mapped(source_id=["a", "b"], name=["x", "y"]), last_attempts=attempts)
    a = row(plan, "a")
    assert a["action"] == "blocked" and a["last_error_code"] == "INVALID_KEY_OR_REF"
    assert "INVALID_KEY_OR_REF" in a["reason"] and "zsync requeue widgets a" in a["reason"]
    assert row(plan, "b")["action"] == "create"
    requeued = build_plan(FLOW, mapped(source_id=["a"], name=["x"]), last_attempts=attempts, requeued=["a"])
    assert row(requeued, "a")["action"] == "create"


def test_a_transient_error_is_retried_and_an_unanswered_attempt_is_looked_up_first():
    attempts = pl.DataFrame(
        [
            attempt("a", "failed", "WS_REQUEST_BLOCKED", {"name": "x"}, "transient"),
            attempt("b", "started", None, {"name": "y"}),
            attempt("c", "failed", "ZSYNC_UNKNOWN_OUTCOME", {"name": "z"}, "unknown"),
        ]
    )
    plan = build_plan(FLOW, mapped(source_id=["a", "b", "c"], name=["x", "y", "z"]), last_attempts=attempts)
    assert row(plan, "a")["action"] == "create" and "WS_REQUEST_BLOCKED" in row(plan, "a")["reason"]
    assert row(plan, "b")["action"] == "create" and row(plan, "b")["needs_lookup"] is True
    assert row(plan, "c")["action"] == "create" and row(plan, "c")["needs_lookup"] is True
    assert row(plan, "a")["needs_lookup"] is False


def test_the_recorded_verdict_decides_never_the_code_text():
    """Two failures with the same code: the client's verdict, not the code, says whether to wait."""
    attempts = pl.DataFrame(
        [
            attempt("t", "failed", "UNEXPECTED_ERROR", {"name": "x"}, "transient"),
            attempt("d", "failed", "UNEXPECTED_ERROR", {"name": "y"}, "data"),
        ]
    )
    plan = build_plan(FLOW, mapped(source_id=["t", "d"], name=["x", "y"]), last_attempts=attempts)
    assert row(plan, "t")["action"] == "create" and row(plan, "d")["action"] == "blocked"


def test_parents_go_in_an_earlier_wave_and_orphans_are_blocked_naming_the_parent():
    plan = build_plan(
        FLOW,
        mapped(
            source_id=["child", "parent", "grandchild", "orphan", "bad", "kid_of_bad"],
            name=["c", "p", "g", "o", "b", "k"],
            _after=["parent", None, "child", "gone", None, "bad"],
            _blocked=[None, None, None, None, "no currency 'XXX'", None],
        ),
    )
    assert [row(plan, s)["wave"] for s in ("parent", "child", "grandchild")] == [0, 1, 2]
    assert row(plan, "orphan")["action"] == "blocked" and row(plan, "orphan")["reason"] == "parent gone is not synced"
    kid = row(plan, "kid_of_bad")
    assert kid["action"] == "blocked" and "no currency 'XXX'" in kid["reason"]


def test_a_blocked_parent_blocks_its_whole_line_of_descent_one_generation_per_pass():
    """Orphans are settled over the rows that have a parent only, and written back by row: a
    grandchild learns on the second pass that its parent was blocked on the first."""
    plan = build_plan(
        FLOW,
        mapped(
            source_id=["grandkid", "kid", "bad", "fine"],
            name=["g", "k", "b", "f"],
            _after=["kid", "bad", None, None],
            _blocked=[None, None, "no currency 'XXX'", None],
        ),
    )
    kid, grandkid = row(plan, "kid"), row(plan, "grandkid")
    assert (kid["action"], kid["blocked_by_flow"], kid["blocked_by_id"]) == ("blocked", FLOW.name, "bad")
    assert (grandkid["action"], grandkid["blocked_by_id"]) == ("blocked", "kid")
    assert (
        grandkid["reason"]
        == "parent kid is not synced (blocked: parent bad is not synced (blocked: no currency 'XXX'))"
    )
    assert (row(plan, "fine")["action"], row(plan, "fine")["reason"]) == ("create", None)
    assert set(plan["wave"]) == {0}


def test_a_linked_parent_lets_the_child_go_in_the_first_wave():
    links = pl.DataFrame([link("parent", {"name": "p"})])
    plan = build_plan(FLOW, mapped(source_id=["child"], name=["c"], _after=["parent"]), links)
    assert (row(plan, "child")["action"], row(plan, "child")["wave"]) == ("create", 0)


def test_field_overrides_rename_and_set_constants_before_hashing():
    overrides = FieldOverrides(constants={"isPerson": False}, renames={"phone": "altPhone"})
    plan = build_plan(FLOW, mapped(source_id=["a"], phone=["123"]), overrides=overrides)
    assert json.loads(row(plan, "a")["payload"]) == {"altPhone": "123", "isPerson": False}


def test_nested_payloads_drop_null_members_and_an_empty_mapping_plans_nothing():
    plan = build_plan(FLOW, mapped(source_id=["a"], subsidiary=[{"internalId": "1", "name": None}]))
    assert json.loads(row(plan, "a")["payload"]) == {"subsidiary": {"internalId": "1"}}
    empty = build_plan(FLOW, pl.DataFrame(schema={"source_id": pl.Utf8, "name": pl.Utf8}))
    assert empty.is_empty() and plan_counts(empty)["create"] == 0


def _hash_sample() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_id": ["a", "b"],
            "name": ['Café "Zürich" \\ 東京 €\n\t\x01 😀', None],
            "isPerson": [True, None],
            "count": [3, -7],
            "amount": [1234.5, 100.0],
            "rate": [0.1, None],
            "subsidiary": [{"internalId": "1", "name": None}, {"internalId": None, "name": None}],
            "lines": [[{"item": "x", "qty": 1.0, "memo": None}, None, {"item": None, "qty": None, "memo": None}], []],
            "tags": [["b", None, "a"], None],
            "_skip": [None, None],
        }
    )


def test_payload_json_and_hash_are_pinned_so_an_upgrade_does_not_resend_everything():
    # Computed with the per-row json.dumps implementation (before the plan was vectorized):
    # links store these hashes, so any drift would turn every linked record into an update.
    overrides = FieldOverrides(constants={"zConst": {"k": None, "n": 2.5}}, renames={"count": "qty"})
    plan = build_plan(FLOW, _hash_sample(), overrides=overrides)
    assert plan.select("source_id", "payload", "payload_hash").rows() == [
        (
            "a",
            '{"amount":1234.5,"isPerson":true,"lines":[{"item":"x","qty":1.0},{}],'
            '"name":"Café \\"Zürich\\" \\\\ 東京 €\\n\\t\\u0001 😀","qty":3,"rate":0.1,'
            '"subsidiary":{"internalId":"1"},"tags":["b","a"],"zConst":{"k":null,"n":2.5}}',
            "aefc73c4cbd33508c9daefa26656272e",
        ),
        ("b", '{"amount":100.0,"lines":[],"qty":-7,"zConst":{"k":null,"n":2.5}}', "fdf117146b94ab050550534d16e74b58"),
    ]


def test_the_column_wise_json_equals_the_per_row_reference_on_awkward_values():
    from zsync_assets.engine.payload_json import payload_json, reference_json

    frame = _hash_sample().with_columns(
        tiny=pl.Series([1e-5, None]),
        huge=pl.Series([float("inf"), 1e300]),
        f32=pl.Series([0.1, 2.0], dtype=pl.Float32),
        nothing=pl.Series([None, None]),
        grid=pl.Series([[[1, None], None], [[]]]),
        phone=pl.Series([None, "555"]),
    )
    for overrides in (
        None,
        FieldOverrides(
            renames={"phone": "name", "count": "c", "c": "d"}, constants={"isPerson": None, "e": [1, {"x": None}]}
        ),
    ):
        assert payload_json(frame, overrides).to_list() == reference_json(frame, overrides)


def test_a_payload_of_only_null_fields_is_one_empty_object_per_row():
    # e.g. every sales order blocked before any field could be mapped
    from zsync_assets.engine.payload_json import payload_json

    mapped = pl.DataFrame({"source_id": ["a", "b", "c"], "x": [None, None, None]})
    assert payload_json(mapped).to_list() == ["{}", "{}", "{}"]
