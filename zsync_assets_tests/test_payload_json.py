"""The column-wise payload encoder against the per-row definition (`reference_json`), on the shapes
its fast paths take: long lists (exploded), short lists (by position), nested structs, escapes
in a column where only some rows need them, null structs whose fields still hold values."""

from __future__ import annotations

import polars as pl

from zsync_assets.engine import payload_json as encoder
from zsync_assets.engine.payload_json import payload_json, reference_json


def _lists_frame() -> pl.DataFrame:
    lines = [
        [{"item": str(i), "amount": float(i) / 4, "memo": None if i % 2 else 'a "quote"'} for i in range(n)]
        for n in (0, 1, 7, 30)
    ] + [None]
    return pl.DataFrame(
        {"source_id": list("abcde"), "lines": lines, "tags": [["x"] * 9, [], None, ["y", None, "z"] * 3, ["\x02"] * 5]}
    )


def test_long_lists_are_encoded_like_the_reference():
    frame = _lists_frame()
    assert payload_json(frame).to_list() == reference_json(frame)


def test_a_frame_encoded_in_slices_is_the_frame_encoded_whole(monkeypatch):
    """A big frame is encoded a slice of rows at a time (memory); slice boundaries, and a slice
    without a long list or an odd row, must not change any row's text."""
    frame = _lists_frame()
    monkeypatch.setattr(encoder, "_ENCODE_ROWS", 2)
    assert payload_json(frame).to_list() == reference_json(frame)


def test_a_null_struct_is_omitted_even_when_its_fields_hold_values():
    base = pl.DataFrame({"source_id": ["a", "b"], "flag": [True, False], "n": [1, 2]})
    frame = base.select(
        "source_id",
        ref=pl.when(pl.col("flag")).then(pl.struct(pl.col("n").alias("internalId"))),
        wrapped=pl.when(pl.col("flag")).then(pl.concat_arr([pl.struct(pl.col("n").alias("x"))]).arr.to_list()),
    )
    assert (
        payload_json(frame).to_list() == reference_json(frame) == ['{"ref":{"internalId":1},"wrapped":[{"x":1}]}', "{}"]
    )


def test_only_rows_with_special_characters_are_escaped():
    frame = pl.DataFrame({"source_id": ["a", "b", "c"], "name": ["plain", 'back\\slash "q"\r\n\t', "\x1f unit sep"]})
    assert payload_json(frame).to_list() == reference_json(frame)
