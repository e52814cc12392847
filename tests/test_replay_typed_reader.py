"""The typed (msgspec) fast path for trace-file lines reads exactly what the ordinary reader reads.

It may only ever be a shortcut: a line it reads must give the same records as
``loads_json`` + the document parser, and any line outside the common spelling must go to
the ordinary reader (``None``), so what is accepted, skipped or refused never changes.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import orjson
import pytest

import framescope
from framescope import emit, lifecycle, replay, stream_call
from framescope.replay.sources import parse_trace_document
from framescope.replay.sources.detect import parse_json_document
from framescope.replay.sources.otlp_json_fast import loads_json
from framescope.replay.sources.otlp_json_typed import typed_request_records
from framescope.telemetry.run import emit_token


def _ordinary(line: bytes) -> Any:
    return parse_json_document(loads_json(line))


def _mixed_run() -> None:
    for i in range(3):
        with lifecycle(
            "tool_usage_started", {"tool_name": "t", "i": i}, finished="tool_usage_finished", failed="tool_usage_error"
        ):
            emit("progress", {"i": i, "big": 2**70, "ratio": 0.5, "flag": True})
        for j in range(4):
            emit_token("llm_stream_chunk", f" t{j}")


def test_every_line_of_a_recorded_trace_is_read_typed_and_identically(trace_file):
    stream = stream_call(_mixed_run)
    frames = list(stream)
    framescope.flush()
    lines = [line for line in trace_file.read_bytes().splitlines() if line.strip()]
    assert lines
    for line in lines:
        typed = typed_request_records(line)
        assert typed is not None, line[:200]
        assert typed == _ordinary(line)
    assert list(replay.from_file(trace_file, stream.trace_id)) == frames


def _request(span: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [{"scope": {"name": "framescope", "version": "1"}, "spans": [span]}],
            }
        ]
    }


_SPAN: dict[str, Any] = {
    "traceId": "0af7651916cd43dd8448eb211c80319c",
    "spanId": "b7ad6b7169203331",
    "parentSpanId": "00f067aa0ba902b7",
    "name": "step",
    "kind": 1,
    "startTimeUnixNano": "1700000000000000000",
    "endTimeUnixNano": "1700000000000001000",
    "attributes": [
        {"key": "s", "value": {"stringValue": "x"}},
        {"key": "i", "value": {"intValue": "-42"}},
        {"key": "b", "value": {"boolValue": False}},
        {"key": "d", "value": {"doubleValue": 3}},
    ],
    "events": [{"timeUnixNano": 1700000000000000500, "name": "e", "attributes": []}],
    "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "00f067aa0ba902b7"}],
    "status": {"code": 2, "message": "boom"},
    "flags": 256,
}


def _variant(path: tuple[Any, ...], value: Any, *, delete: bool = False) -> bytes:
    span = copy.deepcopy(_SPAN)
    target: Any = span
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return orjson.dumps(_request(span))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("kind",), "SPAN_KIND_SERVER"),
        (("parentSpanId",), ""),
        (("parentSpanId",), "0" * 16),
        (("parentSpanId",), None),
        (("status",), {}),
        (("status",), None),
        (("status",), {"code": "STATUS_CODE_OK"}),
        (("events", 0, "timeUnixNano"), "1700000000000000500"),
        (("attributes", 3, "value"), {"doubleValue": 0.25}),
        (("attributes", 1, "value"), {"intValue": 7}),
        (("events",), None),
        (("attributes",), None),
    ],
)
def test_accepted_spellings_read_the_same_typed(path, value):
    line = _variant(path, value)
    typed = typed_request_records(line)
    assert typed is not None
    assert typed == _ordinary(line)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("trace_id",), "0af7651916cd43dd8448eb211c80319c"),  # a snake_case field: not skipped unread
        (("traceId",), "0AF7651916CD43DD8448EB211C80319C"),  # uppercase hex
        (("traceId",), "CvdlGRbNQ92ESOshHIAxnA=="),  # base64 id
        (("startTimeUnixNano",), 1700000000000000000),  # an integer time on a span
        (("kind",), 9),
        (("status",), {"code": 2, "message": "boom", "extra": 1}),
        (("attributes", 0, "value"), {"stringValue": "x", "intValue": "1"}),  # two AnyValue fields
        (("attributes", 0, "value"), {}),  # an empty AnyValue
        (("attributes", 0, "value"), {"arrayValue": {"values": [{"stringValue": "a"}]}}),
        (("attributes", 1, "value"), {"intValue": "9223372036854775808"}),  # beyond int64
        (("attributes", 1, "value"), {"intValue": "12x"}),
        (("events", 0, "timeUnixNano"), -1),
        (("links", 0, "spanId"), "nothex0000000000"),
        (("somethingNew",), {"nested": [1, 2, 3]}),
    ],
)
def test_other_spellings_go_to_the_ordinary_reader(path, value):
    assert typed_request_records(_variant(path, value)) is None


def test_a_damaged_line_is_still_skipped_when_the_damage_is_in_a_field_typed_reading_would_ignore(caplog):
    good = orjson.dumps(_request(_SPAN))
    bad_utf8 = good[:-3] + b',"flags":256,"x":"\xff\xfe"}]}]}]}'
    assert typed_request_records(bad_utf8) is None
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        records = parse_trace_document(good + b"\n" + bad_utf8 + b"\n" + good + b"\n")
    assert len(records) == 2
    assert "skipped damaged line 2" in caplog.text


def test_not_a_request_is_left_to_the_ordinary_reader():
    for line in (b"[]", b"{}", b'{"resourceSpans": null}', b'{"batches": []}', b"not json", b'{"resourceSpans": [] '):
        assert typed_request_records(line) is None
