"""Trace sources: real backend payloads parse into the right records, and every
converter/parser pair round-trips (exactly where the format allows, by the documented
lossy rules where it does not)."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framescope.errors import TornTraceFileError, TraceFormatError
from framescope.replay.records import EventRecord, LinkRecord, SpanRecord
from framescope.replay.sources import (
    parse_jaeger_v1,
    parse_otlp_json,
    parse_otlp_protobuf,
    parse_trace_document,
    records_from_proto_request,
)
from framescope.testing import (
    build_proto_request,
    sort_like_tempo,
    spans_to_jaeger_v1,
    spans_to_otlp_json,
    spans_to_otlp_protobuf,
    spans_to_tempo_v1,
    spans_to_tempo_v2,
)

FIXTURES = Path(__file__).parent / "fixtures" / "backends"
ALL_FIXTURES = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("*/*.json"))
HYPOTHESIS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def by_id(records: list[SpanRecord], span_id: str, name: str | None = None) -> SpanRecord:
    found = [r for r in records if r.span_id == span_id and (name is None or r.name == name)]
    assert len(found) == 1, (span_id, name, found)
    return found[0]


def _len_prefixed(field: int, payload: bytes) -> bytes:
    n, out = len(payload), b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | 0x80 if n else byte])
        if not n:
            return bytes([(field << 3) | 2]) + out + payload


# ----------------------------------------------------------------- real fixtures


def test_fixture_copies_are_byte_identical_to_shared_ones():
    shared = Path("/work/shared/fixtures")
    if not shared.exists():
        pytest.skip("shared fixtures not mounted")
    assert len(ALL_FIXTURES) == 8
    for name in ALL_FIXTURES:
        assert (FIXTURES / name).read_bytes() == (shared / name).read_bytes(), name
    assert (FIXTURES / "PROVENANCE.md").is_file()


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_parses_by_content(name):
    records = parse_trace_document((FIXTURES / name).read_bytes())
    assert records
    for r in records:
        assert len(r.trace_id) == 32 and int(r.trace_id, 16) >= 0
        assert len(r.span_id) == 16 and int(r.span_id, 16) >= 0
        assert r.end_time_unix_nano >= r.start_time_unix_nano
    # str input reads the same
    assert parse_trace_document((FIXTURES / name).read_text()) == records


def test_otel_traces_01_every_value_kind():
    records = parse_otlp_json(load("otlp/otel_traces_01.json"))
    assert [r.name for r in records] == [f"test-general-conversion-{i}" for i in (2, 3, 4, 5)]
    first = records[0]
    assert first.trace_id == "00000000000000010000000000000000"
    assert first.parent_span_id == "0000000000000003"
    assert first.kind == "SERVER" and records[1].kind == "CLIENT"
    assert records[2].kind == "PRODUCER" and records[3].kind == "CONSUMER"
    assert first.start_time_unix_nano == 1485467191639875000
    assert first.end_time_unix_nano == 1485467191639880000
    assert first.attributes == {
        "peer.service": "service-y",
        "peer.ipv4": 23456,
        "blob": b"\x00\x00\x30\x39",
        "temperature": 72.5,
    }
    assert type(first.attributes["peer.ipv4"]) is int
    assert [e.name for e in first.events] == ["testing-event", ""]
    assert first.events[1].attributes == {"x": "y"}
    assert first.links == [
        LinkRecord("00000000000000010000000000000000", "0000000000000004", {"opentracing.ref_type": "follows_from"}),
        LinkRecord("00000000000000ff0000000000000000", "00000000000000ff", {"opentracing.ref_type": "child_of"}),
    ]
    assert first.status_code == "ERROR"
    assert first.resource == {"service.name": "service-x"}
    assert (first.scope_name, first.scope_version) == ("testing-library-2", "1.1.1")
    assert (records[2].scope_name, records[2].scope_version) == ("testing-library-3", "1.1.2")


def test_canonical_example_and_tempo_batches_agree():
    example = parse_otlp_json(load("otlp/trace.json"))
    tempo = parse_otlp_json(load("tempo/batches-trace.json"))
    assert example == tempo
    (span,) = example
    assert span.trace_id == "5b8efff798038103d269b633813fc60c"  # uppercase hex normalised
    assert span.parent_span_id == "eee19b7ec3c1b173"
    assert span.name == "I'm a server span"
    assert span.attributes == {"my.span.attr": "some value"}
    assert span.resource == {"service.name": "my.service"}
    assert span.end_time_unix_nano - span.start_time_unix_nano == 1_000_000_000


def test_jaeger_v3_get_trace_snapshot():
    (span,) = parse_otlp_json(load("jaeger/GetTrace.json"))
    assert span.trace_id == "0" * 31 + "1"
    assert span.span_id == "0000000000000002"
    assert (span.name, span.kind, span.status_code) == ("foobar", "SERVER", "ERROR")
    assert span.parent_span_id is None and span.resource == {} and span.scope_name == ""


def test_jaeger_ui_01():
    records = parse_jaeger_v1(load("jaeger/ui_01.json"))
    assert len(records) == 5
    assert {r.trace_id for r in records} == {"0" * 31 + "1"}  # 64-bit id padded
    logs = records[0]
    assert [e.name for e in logs.events] == ["some-event", ""]
    assert logs.events[0].attributes == {} and logs.events[1].attributes == {"x": "y"}
    assert logs.events[0].time_unix_nano == 1485467191639875000
    assert logs.resource == {"service.name": "service-x"}
    tagged = records[1]
    assert tagged.status_code == "ERROR" and "error" not in tagged.attributes
    assert tagged.attributes == {
        "peer.service": "service-y",
        "peer.ipv4": 23456,
        "temperature": 72.5,
        "javascript_limit": 9223372036854775222,
        "blob": b"\x00\x00\x30\x39",
    }
    assert tagged.kind == "UNSPECIFIED"
    refs = by_id(records, "0000000000000004")
    assert refs.parent_span_id == "0000000000000002"  # the same-trace CHILD_OF, not the ff one
    assert refs.links == [
        LinkRecord("0" * 30 + "ff", "00000000000000ff", {"opentracing.ref_type": "child_of"}),
        LinkRecord("0" * 31 + "1", "0000000000000002", {"opentracing.ref_type": "follows_from"}),
    ]
    last = by_id(records, "0000000000000005")
    assert last.parent_span_id == "0000000000000004"
    assert last.end_time_unix_nano - last.start_time_unix_nano == 4000
    assert last.resource == {"service.name": "service-y"}


def test_jaeger_genai_trace():
    records = parse_jaeger_v1(load("jaeger/genaiTestTrace.json"))
    assert len(records) == 57
    assert len({r.span_id for r in records}) == 57
    root = by_id(records, "0000000000000001")
    assert root.parent_span_id is None and root.name == "POST /api/graphql" and root.kind == "SERVER"
    assert root.attributes["http.response.status_code"] == 200
    chat = by_id(records, "0000000000000005")
    assert chat.name == "chat model-a" and chat.kind == "CLIENT"
    assert chat.parent_span_id == "0000000000000004"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 1840
    assert chat.resource == {"service.name": "coding-agent"}
    agent = by_id(records, "0000000000000004")
    assert agent.name == "invoke_agent triage-agent"
    assert agent.attributes["gen_ai.agent.name"] == "triage-agent"
    tools = [r for r in records if r.name.startswith("execute_tool ")]
    assert tools and all(r.attributes.get("gen_ai.operation.name") == "execute_tool" for r in tools)
    ids = {r.span_id for r in records}
    assert all(r.parent_span_id in ids for r in records if r.parent_span_id)


def test_jaeger_fixture_pair_both_directions():
    """Jaeger's own otlp2jaeger-in -> otlp2jaeger-out: we write exactly what Jaeger wrote,
    and reading Jaeger's output gives back the OTLP input (all that differs is the dropped
    ``schemaUrl``, which SpanRecord does not keep)."""
    otlp = parse_otlp_json(load("otlp/otlp2jaeger-in.json"))
    jaeger = load("jaeger/otlp2jaeger-out.json")
    assert spans_to_jaeger_v1(otlp) == jaeger
    assert parse_jaeger_v1(jaeger) == otlp


def test_sdk_exporter_request_reads_the_same_from_proto_and_from_its_json_mapping():
    """The real SDK encoder's message, read directly and through protobuf's own JSON
    mapping (base64 ids, enum names, int64 strings: the gogo-jsonpb spelling Tempo uses)."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("framescope.test", "9.9")
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent,
        tracer.start_as_current_span("child", links=[Link(parent.get_span_context(), {"rel": "previous"})]) as child,
    ):
        child.set_attribute("big", 2**62)
        child.set_attribute("tags", ["a", "b"])
        child.add_event("frame", {"seq": 1, "ok": True})
        child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    request = encode_spans(exporter.get_finished_spans())

    direct = records_from_proto_request(request)
    assert direct == parse_otlp_protobuf(request.SerializeToString())
    assert direct == parse_otlp_json(json_format.MessageToDict(request))
    assert direct == parse_otlp_json(json_format.MessageToDict(request, preserving_proto_field_name=True))

    child_rec = next(r for r in direct if r.name == "child")
    parent_rec = next(r for r in direct if r.name == "parent")
    assert child_rec.parent_span_id == parent_rec.span_id
    assert child_rec.attributes == {"big": 2**62, "tags": ["a", "b"]}
    assert child_rec.events[0].name == "frame" and child_rec.events[0].attributes == {"seq": 1, "ok": True}
    assert child_rec.links == [LinkRecord(parent_rec.trace_id, parent_rec.span_id, {"rel": "previous"})]
    assert (child_rec.status_code, child_rec.status_message) == ("ERROR", "boom")
    assert (child_rec.scope_name, child_rec.scope_version) == ("framescope.test", "9.9")
    assert child_rec.resource["service.name"] == "svc"
    assert parent_rec.kind == "SERVER" and child_rec.kind == "INTERNAL"


# ----------------------------------------------------------------- strategies

HEX32 = st.binary(min_size=16, max_size=16).filter(any).map(bytes.hex)
HEX16 = st.binary(min_size=8, max_size=8).filter(any).map(bytes.hex)
TIME = st.integers(min_value=0, max_value=2**63 - 1)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.sampled_from(
    [2**53, -(2**53) - 1, 2**63 - 1, -(2**63)]  # the edges: JS-unsafe and int64 limits
)
KEY = st.text(min_size=1, max_size=12)
SCALAR = st.one_of(
    st.text(max_size=20),
    st.booleans(),
    INT64,
    st.floats(allow_nan=False),
    st.binary(max_size=12),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(KEY, inner, max_size=3),
    ),
    max_leaves=8,
)
ATTRS = st.dictionaries(KEY, VALUE, max_size=4)
KINDS = st.sampled_from(["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"])
STATUS = st.sampled_from(["UNSET", "OK", "ERROR"])
RESOURCES = st.sampled_from([{}, {"service.name": "a"}, {"service.name": "b", "host": "h", "n": 1}])
SCOPES = st.sampled_from([("", ""), ("framescope", "1.0"), ("other", "")])


@st.composite
def span_records(draw, attrs=ATTRS, event_attrs=ATTRS, link_attrs=ATTRS, time=TIME, kinds=KINDS):
    start = draw(time)
    scope = draw(SCOPES)
    return SpanRecord(
        trace_id=draw(st.sampled_from(["0" * 31 + "1", "4a1b2c3d4e5f60718293a4b5c6d7e8f9"]) | HEX32),
        span_id=draw(HEX16),
        name=draw(st.text(max_size=20)),
        start_time_unix_nano=start,
        end_time_unix_nano=draw(time.filter(lambda t: t >= start) | st.just(start)),
        parent_span_id=draw(st.none() | HEX16),
        kind=draw(kinds),
        attributes=draw(attrs),
        events=draw(
            st.lists(
                st.builds(EventRecord, name=st.text(max_size=10), time_unix_nano=time, attributes=event_attrs),
                max_size=4,
            )
        ),
        links=draw(st.lists(st.builds(LinkRecord, trace_id=HEX32, span_id=HEX16, attributes=link_attrs), max_size=3)),
        status_code=draw(STATUS),
        status_message=draw(st.text(max_size=10)),
        resource=draw(RESOURCES),
        scope_name=scope[0],
        scope_version=scope[1],
    )


SPAN_LISTS = st.lists(span_records(), max_size=6)


# ----------------------------------------------------------------- OTLP round trips


@HYPOTHESIS
@given(SPAN_LISTS)
def test_otlp_json_round_trip(spans):
    document = spans_to_otlp_json(spans)
    assert parse_otlp_json(document) == spans
    # It is real JSON (no NaN/Infinity literals, no bytes) and survives serialisation.
    text = json.dumps(document, allow_nan=False)
    assert parse_otlp_json(json.loads(text)) == spans
    assert parse_trace_document(text.encode()) == spans


@HYPOTHESIS
@given(SPAN_LISTS)
def test_otlp_json_writes_hex_ids_enum_ints_and_int64_strings(spans):
    document = spans_to_otlp_json(spans)
    written = [s for rs in document["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert len(written) == len(spans)
    for out, span in zip(written, spans, strict=True):
        assert out["traceId"] == span.trace_id and out["spanId"] == span.span_id
        assert isinstance(out["startTimeUnixNano"], str)
        assert isinstance(out.get("kind", 0), int)
        assert isinstance(out["status"].get("code", 0), int)


@HYPOTHESIS
@given(SPAN_LISTS)
def test_otlp_json_full_grouping_keeps_every_span_once_per_group(spans):
    document = spans_to_otlp_json(spans, preserve_order=False)
    resources = [rs.get("resource", {}) for rs in document["resourceSpans"]]
    assert len(resources) == len({json.dumps(r, sort_keys=True) for r in resources})
    back = parse_otlp_json(document)
    assert sorted(map(repr, back)) == sorted(map(repr, spans))


@HYPOTHESIS
@given(SPAN_LISTS)
def test_otlp_protobuf_round_trip_and_agreement_with_json(spans):
    data = spans_to_otlp_protobuf(spans)
    assert parse_otlp_protobuf(data) == spans
    if spans:  # empty content is refused by detection: an empty file is a mistake
        assert parse_trace_document(data) == spans
    assert records_from_proto_request(build_proto_request(spans)) == parse_otlp_json(spans_to_otlp_json(spans))
    # Tempo's TraceByIDResponse wraps the same bytes in its field 1 (plus a status varint).
    if spans:
        assert parse_otlp_protobuf(_len_prefixed(1, data) + b"\x18\x01") == spans


@HYPOTHESIS
@given(SPAN_LISTS)
def test_protobuf_json_mapping_of_our_request_parses_like_our_json(spans):
    """protobuf's own JSON printer (base64 ids, enum names) is another independent writer."""
    as_dict = json_format.MessageToDict(build_proto_request(spans))
    assert parse_otlp_json(as_dict) == spans


def test_snake_case_and_legacy_instrumentation_library_spans():
    document = {
        "resource_spans": [
            {
                "instrumentationLibrarySpans": [
                    {
                        "instrumentationLibrary": {"name": "old.lib", "version": "0.1"},
                        "spans": [
                            {
                                "trace_id": "AAAAAAAAAAEAAAAAAAAAAA==",
                                "span_id": "AAAAAAAAAAI=",
                                "name": "legacy",
                                "kind": "SPAN_KIND_CLIENT",
                                "start_time_unix_nano": 5,
                                "endTimeUnixNano": "7",
                                "status": {"code": "STATUS_CODE_OK"},
                                "attributes": [
                                    {"key": "d", "value": {"doubleValue": "Infinity"}},
                                    {"key": "i", "value": {"intValue": 3}},
                                    {"key": "e", "value": {}},
                                ],
                            }
                        ],
                    }
                ]
            }
        ]
    }
    (span,) = parse_otlp_json(document)
    assert span.trace_id == "00000000000000010000000000000000" and span.span_id == "0000000000000002"
    assert (span.kind, span.status_code) == ("CLIENT", "OK")
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (5, 7)
    assert (span.scope_name, span.scope_version) == ("old.lib", "0.1")
    assert span.attributes == {"d": float("inf"), "i": 3, "e": None}


# ----------------------------------------------------------------- Tempo


@HYPOTHESIS
@given(SPAN_LISTS)
def test_tempo_v1_and_v2_round_trip_to_tempo_order(spans):
    expected = sort_like_tempo(spans)
    v1 = json.loads(json.dumps(spans_to_tempo_v1(spans), allow_nan=False))
    v2 = json.loads(json.dumps(spans_to_tempo_v2(spans), allow_nan=False))
    assert parse_otlp_json(v1) == expected
    assert parse_otlp_json(v2) == expected
    assert parse_trace_document(json.dumps(v1)) == expected
    assert sorted(map(repr, expected)) == sorted(
        map(
            repr,
            (
                replace(
                    s,
                    events=sorted(s.events, key=lambda e: (e.time_unix_nano, e.name.encode("utf-8", "surrogatepass"))),
                    links=sorted(s.links, key=lambda x: (x.trace_id, x.span_id)),
                )
                for s in spans
            ),
        )
    )


@HYPOTHESIS
@given(SPAN_LISTS)
def test_tempo_dialect_base64_ids_enum_names_sorted_events(spans):
    body = spans_to_tempo_v1(spans)
    written = [s for rs in body["batches"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    for out in written:
        assert len(base64.b64decode(out["traceId"], validate=True)) == 16
        assert len(base64.b64decode(out["spanId"], validate=True)) == 8
        assert out.get("kind", "SPAN_KIND_SERVER").startswith("SPAN_KIND_")
        assert str(out["status"].get("code", "STATUS_CODE_OK")).startswith("STATUS_CODE_")
        times = [int(e["timeUnixNano"]) for e in out.get("events", [])]
        assert times == sorted(times)
    starts = [int(s["startTimeUnixNano"]) for rs in body["batches"] for s in rs["scopeSpans"][0]["spans"][:1]]
    assert starts == sorted(starts)


def test_tempo_tie_seed_shuffles_only_tied_events():
    events = [EventRecord("tok", 10, {"i": i}) for i in range(8)] + [EventRecord("a", 11, {})]
    span = SpanRecord("1" * 32, "2" * 16, "s", 0, 20, events=events)
    orders = {
        tuple(e.attributes.get("i") for e in parse_otlp_json(spans_to_tempo_v1([span], tie_seed=seed))[0].events)
        for seed in range(6)
    }
    assert len(orders) > 1  # ties really move: a codec must not rely on their order
    assert all(order[-1] is None for order in orders)  # the later event stays last
    assert parse_otlp_json(spans_to_tempo_v1([span]))[0].events == events  # no seed: stable


# ----------------------------------------------------------------- Jaeger v1

RESERVED = {
    "span.kind",
    "error",
    "otel.status_code",
    "otel.status_description",
    "otel.scope.name",
    "otel.scope.version",
    "otel.library.name",
    "otel.library.version",
    "w3c.tracestate",
}
JAEGER_KEY = KEY.filter(lambda k: k not in RESERVED)
JAEGER_SCALAR = st.one_of(
    st.text(max_size=20), st.booleans(), INT64, st.floats(allow_nan=False, allow_infinity=False), st.binary(max_size=12)
)
MICROS = st.integers(min_value=0, max_value=2**62).map(lambda us: us * 1000)


@st.composite
def jaeger_representable(draw):
    """Spans whose every field survives OTLP -> Jaeger v1 -> OTLP unchanged."""
    span = draw(
        span_records(
            attrs=st.dictionaries(JAEGER_KEY, JAEGER_SCALAR, max_size=4),
            event_attrs=st.dictionaries(KEY.filter(lambda k: k != "event"), JAEGER_SCALAR, max_size=3),
            link_attrs=st.sampled_from(
                [{"opentracing.ref_type": "child_of"}, {"opentracing.ref_type": "follows_from"}]
            ),
            time=MICROS,
        )
    )
    # A link to the parent merges into the parent reference, and without a parent the
    # first same-trace CHILD_OF reference *becomes* the parent (Jaeger's rule).
    links = [
        x
        for x in span.links
        if not (x.trace_id == span.trace_id and x.span_id == span.parent_span_id)
        and not (
            span.parent_span_id is None
            and x.trace_id == span.trace_id
            and x.attributes["opentracing.ref_type"] == "child_of"
        )
    ]
    message = span.status_message if span.status_code != "UNSET" else ""
    return replace(span, links=links, status_message=message)


@HYPOTHESIS
@given(st.lists(jaeger_representable(), max_size=6))
def test_jaeger_round_trip_of_representable_spans(spans):
    document = json.loads(json.dumps(spans_to_jaeger_v1(spans), allow_nan=False))
    back = parse_jaeger_v1(document)
    # Spans come back grouped per trace id, in order of first appearance.
    order = list(dict.fromkeys(s.trace_id for s in spans))
    assert back == [s for tid in order for s in spans if s.trace_id == tid]
    assert parse_trace_document(json.dumps(document)) == back


@HYPOTHESIS
@given(st.lists(span_records(), max_size=6))
def test_jaeger_v1_applies_the_documented_lossy_rules(spans):
    document = spans_to_jaeger_v1(spans)
    json.dumps(document, allow_nan=False)
    back = parse_jaeger_v1(document)
    assert len(back) == len(spans)
    order = list(dict.fromkeys(s.trace_id for s in spans))
    grouped = [s for tid in order for s in spans if s.trace_id == tid]
    for trace in document["data"]:
        for jspan in trace["spans"]:
            for tag in jspan["tags"]:
                assert tag["type"] in ("string", "bool", "int64", "float64", "binary")
                if tag["type"] == "int64" and isinstance(tag["value"], int):
                    assert abs(tag["value"]) <= 2**53 - 1  # bigger ones travel as strings
            for log in jspan["logs"]:
                assert all(f["type"] != "array" for f in log["fields"])
    for got, original in zip(back, grouped, strict=True):
        assert (got.trace_id, got.span_id, got.name) == (original.trace_id, original.span_id, original.name)
        assert got.start_time_unix_nano == original.start_time_unix_nano // 1000 * 1000
        assert len(got.events) == len(original.events)
        for e_got, e_orig in zip(got.events, original.events, strict=True):
            # Jaeger writes the name as the log field "event" unless an attribute has that key;
            # the field, when it is a string on the wire, is read back as the name
            if "event" not in e_orig.attributes:
                assert e_got.name == e_orig.name
            elif isinstance(e_orig.attributes["event"], str):
                assert e_got.name == e_orig.attributes["event"]
            elif isinstance(e_orig.attributes["event"], (list, dict)):  # arrays travel as JSON strings
                assert e_got.name.startswith(("[", "{")), e_got.name
            else:
                assert e_got.name == ""
            assert e_got.time_unix_nano == e_orig.time_unix_nano // 1000 * 1000
        for key, value in original.attributes.items():
            if key in RESERVED:
                continue
            if isinstance(value, (list, dict)):
                assert isinstance(got.attributes[key], str) and json.loads(got.attributes[key]) is not None
            elif value is None:
                assert got.attributes[key] == ""
            elif isinstance(value, float) and value != value:  # pragma: no cover - NaN excluded
                pass
            elif isinstance(value, float) and abs(value) == float("inf"):
                assert got.attributes[key] == value
            else:
                assert got.attributes[key] == value
        for link in got.links:
            assert set(link.attributes) == {"opentracing.ref_type"}  # everything else dropped


def test_jaeger_writes_arrays_as_json_text_and_short_trace_ids():
    span = SpanRecord(
        "0" * 16 + "00000000000000ab",
        "00000000000000cd",
        "op",
        1_500,
        10_999,
        kind="INTERNAL",
        attributes={"list": ["a", 1, True], "map": {"b": 2, "a": b"\x01"}, "big": 2**60, "safe": 2**53 - 1},
        events=[EventRecord("e", 2_999, {"event": "override"})],
        links=[LinkRecord("f" * 32, "e" * 16, {"opentracing.ref_type": "child_of", "x": 1})],
        status_code="ERROR",
        status_message="bad",
        scope_name="lib",
        scope_version="2",
    )
    (trace,) = spans_to_jaeger_v1([span])["data"]
    (jspan,) = trace["spans"]
    assert trace["traceID"] == jspan["traceID"] == "00000000000000ab"
    assert (jspan["startTime"], jspan["duration"]) == (1, 9)
    tags = {t["key"]: (t["type"], t["value"]) for t in jspan["tags"]}
    assert tags["list"] == ("string", '["a",1,true]')
    assert tags["map"] == ("string", '{"a":"AQ==","b":2}')
    assert tags["big"] == ("int64", str(2**60)) and tags["safe"] == ("int64", 2**53 - 1)
    assert tags["span.kind"] == ("string", "internal")
    assert tags["otel.status_code"] == ("string", "ERROR") and tags["error"] == ("bool", True)
    assert tags["otel.status_description"] == ("string", "bad")
    assert [t["key"] for t in jspan["tags"]][:2] == ["otel.scope.name", "otel.scope.version"]
    assert jspan["logs"] == [{"timestamp": 2, "fields": [{"key": "event", "type": "string", "value": "override"}]}]
    assert jspan["references"] == [{"refType": "CHILD_OF", "traceID": "f" * 32, "spanID": "e" * 16}]
    assert trace["processes"] == {"p1": {"serviceName": "OTLPResourceNoServiceName", "tags": []}}
    (back,) = parse_jaeger_v1({"data": [trace]})
    assert back.trace_id == span.trace_id and back.parent_span_id is None
    assert back.links == [LinkRecord("f" * 32, "e" * 16, {"opentracing.ref_type": "child_of"})]
    assert back.events == [EventRecord("override", 2_000, {})]
    assert (back.status_code, back.status_message, back.kind) == ("ERROR", "bad", "INTERNAL")
    assert back.resource == {} and (back.scope_name, back.scope_version) == ("lib", "2")
    assert back.attributes["big"] == 2**60 and back.attributes["list"] == '["a",1,true]'


def test_jaeger_link_to_parent_merges_into_the_parent_reference():
    span = SpanRecord(
        "1" * 32,
        "2" * 16,
        "op",
        0,
        0,
        parent_span_id="3" * 16,
        links=[LinkRecord("1" * 32, "3" * 16, {"rel": "previous"})],
    )
    (jspan,) = spans_to_jaeger_v1([span])["data"][0]["spans"]
    assert jspan["references"] == [{"refType": "FOLLOWS_FROM", "traceID": "1" * 32, "spanID": "3" * 16}]
    (back,) = parse_jaeger_v1(spans_to_jaeger_v1([span]))
    assert back.parent_span_id is None  # exactly what Jaeger's own reverse translation yields
    assert back.links == [LinkRecord("1" * 32, "3" * 16, {"opentracing.ref_type": "follows_from"})]


def test_jaeger_explicit_parent_span_id_and_inline_process():
    trace = {
        "traceID": "abc",
        "spans": [
            {
                "traceID": "abc",
                "spanID": "1",
                "operationName": "x",
                "parentSpanID": "0000000000000009",
                "references": [
                    {"refType": "CHILD_OF", "traceID": "abc", "spanID": "0000000000000008"},
                    {"refType": "CHILD_OF", "traceID": "abc", "spanID": "0000000000000009"},
                ],
                "startTime": "10",
                "duration": 2,
                "tags": [{"key": "n", "type": "float64", "value": "1.5"}],
                "process": {"serviceName": "svc", "tags": [{"key": "host", "type": "string", "value": "h"}]},
            }
        ],
    }
    (span,) = parse_jaeger_v1(trace)
    assert span.trace_id == "0" * 29 + "abc" and span.span_id == "0" * 15 + "1"
    assert span.parent_span_id == "0000000000000009"
    assert [x.span_id for x in span.links] == ["0000000000000008"]
    assert span.resource == {"service.name": "svc", "host": "h"}
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (10_000, 12_000)
    assert span.attributes == {"n": 1.5}


# ----------------------------------------------------------------- detection, errors


def test_json_lines_and_torn_last_line():
    spans = parse_otlp_json(load("otlp/otel_traces_01.json"))
    lines = [json.dumps(spans_to_otlp_json(spans[:2])), json.dumps(spans_to_otlp_json(spans[2:]))]
    text = "\n".join(lines) + "\n"
    assert parse_trace_document(text) == spans
    assert parse_trace_document(text.encode()) == spans
    assert parse_trace_document("\n" + text + "\n\n") == spans  # blank lines are fine
    torn = text + lines[0][: len(lines[0]) // 2]
    with pytest.raises(TornTraceFileError) as info:
        parse_trace_document(torn)
    assert info.value.line_number == 3
    assert info.value.records == spans
    assert isinstance(info.value, TraceFormatError) and "line 3" in str(info.value)
    # a torn single-line file: nothing complete before it
    with pytest.raises(TornTraceFileError) as info:
        parse_trace_document(lines[0][:40])
    assert info.value.line_number == 1 and info.value.records == []


def test_a_damaged_line_is_skipped_with_a_warning_and_every_intact_line_still_reads(caplog):
    spans = parse_otlp_json(load("otlp/trace.json"))
    good = json.dumps(spans_to_otlp_json(spans))
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        assert parse_trace_document(f"{good}\n{{broken\n{good}\n") == spans + spans
    assert "line 2" in caplog.text and "not valid JSON" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="framescope.replay"):
        # ends with a newline: written whole, just bad; not torn
        assert parse_trace_document(f"{good}\n{{broken\n") == spans
        assert parse_trace_document(f'{good}\n{{"foo": 1}}\n') == spans
    assert "line 2" in caplog.text and "foo" in caplog.text
    with pytest.raises(TraceFormatError, match="line 1.*not a trace file") as info:
        parse_trace_document('{"foo": 1}\n{"bar": 2}\n')  # no line of it is a trace: refused
    assert not isinstance(info.value, TornTraceFileError)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        ("   \n", "empty"),
        (b"hello world", "not a trace: it starts with bytes 68 65.*neither JSON"),
        ("hello", "does not start with"),
        (b"\xff\xfe\x00\x01", "not a trace: it starts with bytes ff fe 00 01"),
        ('{"foo": 1}', "unrecognised trace document.*Jaeger v1"),
        ("[1, 2]", r"\[0\]: expected a JSON object"),
        ('{\n"resourceSpans": [\n', "not valid JSON"),
        ('{"error": {"httpCode": 404, "message": "trace not found"}}', "error answer"),
        ('{"data": null, "errors": [{"code": 404, "msg": "trace not found"}]}', "errors instead of a trace"),
    ],
)
def test_unrecognised_or_broken_documents(content, message):
    with pytest.raises(TraceFormatError, match=message):
        parse_trace_document(content)


def _otlp_with(span_patch: dict) -> dict:
    span = {"traceId": "1" * 32, "spanId": "2" * 16, "name": "s", **span_patch}
    ok = {"traceId": "1" * 32, "spanId": "3" * 16, "name": "ok"}
    return {"resourceSpans": [{"scopeSpans": [{"spans": [ok]}, {"spans": [ok, span]}]}]}


@pytest.mark.parametrize(
    ("patch", "where", "what"),
    [
        ({"traceId": "xyz"}, "resourceSpans[0].scopeSpans[1].spans[1].traceId", "neither 32 hex"),
        ({"traceId": None}, "resourceSpans[0].scopeSpans[1].spans[1].traceId", "missing or empty id"),
        ({"spanId": "AAAAAAAAAAAAAAAAAAAAAA=="}, "spans[1].spanId", "base64 of 8 bytes"),
        ({"kind": 9}, "spans[1].kind", "unknown enum value 9"),
        ({"kind": "SPAN_KIND_WEIRD"}, "spans[1].kind", "unknown enum value"),
        ({"status": {"code": "STATUS_CODE_MAYBE"}}, "spans[1].status.code", "unknown enum value"),
        ({"startTimeUnixNano": "soon"}, "spans[1].startTimeUnixNano", "expected an integer"),
        ({"endTimeUnixNano": "-5"}, "spans[1].endTimeUnixNano", "outside the uint64 range"),
        ({"attributes": [{"key": "a", "value": {"intValue": "1.5"}}]}, "attributes[0].value.intValue", "integer"),
        ({"attributes": [{"key": "a", "value": {"intValue": str(2**63)}}]}, "intValue", "int64 range"),
        ({"attributes": [{"key": "a", "value": {"fooValue": 1}}]}, "attributes[0].value", "unknown AnyValue"),
        ({"attributes": [{"key": "a", "value": {"stringValue": "x", "intValue": "1"}}]}, "value", "exactly one"),
        ({"attributes": [{"value": {"stringValue": "x"}}]}, "attributes[0]", "string key"),
        ({"attributes": {"a": 1}}, "spans[1].attributes", "expected a list"),
        ({"events": [{"timeUnixNano": "x"}]}, "events[0].timeUnixNano", "integer"),
        ({"links": [{"traceId": "1" * 32}]}, "links[0].spanId", "missing or empty id"),
        ({"name": 5}, "spans[1].name", "expected a string"),
    ],
)
def test_malformed_otlp_json_names_the_path(patch, where, what):
    with pytest.raises(TraceFormatError) as info:
        parse_otlp_json(_otlp_with(patch))
    text = str(info.value)
    assert where in text and what in text, text
    assert isinstance(info.value, ValueError)


def test_malformed_wrappers_and_jaeger():
    with pytest.raises(TraceFormatError, match="expected a JSON object"):
        parse_otlp_json([])  # type: ignore[arg-type]
    with pytest.raises(TraceFormatError, match="resourceSpans: expected a list"):
        parse_otlp_json({"resourceSpans": {}})
    with pytest.raises(TraceFormatError, match="no resourceSpans found"):
        parse_otlp_json({"result": {"foo": 1}})
    assert parse_otlp_json({"trace": {}}) == []  # Tempo's empty trace
    with pytest.raises(TraceFormatError, match="processID 'p9' is not in the trace's processes"):
        parse_jaeger_v1(
            {
                "traceID": "1",
                "processes": {"p1": {"serviceName": "a"}},
                "spans": [{"traceID": "1", "spanID": "2", "processID": "p9"}],
            }
        )
    with pytest.raises(TraceFormatError, match=r"references\[0\].refType.*unknown refType"):
        parse_jaeger_v1(
            {
                "traceID": "1",
                "spans": [
                    {
                        "traceID": "1",
                        "spanID": "2",
                        "references": [{"refType": "SIBLING", "traceID": "1", "spanID": "3"}],
                    }
                ],
            }
        )
    with pytest.raises(TraceFormatError, match=r"tags\[0\].value.*does not fit the tag type 'int64'|integer"):
        parse_jaeger_v1(
            {
                "traceID": "1",
                "spans": [{"traceID": "1", "spanID": "2", "tags": [{"key": "n", "type": "int64", "value": "many"}]}],
            }
        )
    with pytest.raises(TraceFormatError, match="unknown tag type"):
        parse_jaeger_v1(
            {
                "traceID": "1",
                "spans": [{"traceID": "1", "spanID": "2", "tags": [{"key": "n", "type": "complex", "value": 1}]}],
            }
        )
    with pytest.raises(TraceFormatError, match="not a Jaeger v1 document"):
        parse_jaeger_v1({"foo": 1})


def test_malformed_protobuf():
    with pytest.raises(TraceFormatError, match="not an OTLP ExportTraceServiceRequest"):
        parse_otlp_protobuf(b"\x0a\x05garbage")
    # spans hidden in the pre-0.19 instrumentation_library_spans field (1000) are refused,
    # not silently returned as an empty trace
    with pytest.raises(TraceFormatError):
        parse_otlp_protobuf(_len_prefixed(1, b"\xc2\x3e\x00"))
    assert parse_otlp_protobuf(b"") == []
    # a span with a 7-byte span id is malformed whichever way it is read
    request = build_proto_request([SpanRecord("1" * 32, "2" * 16, "s", 0, 0)])
    request.resource_spans[0].scope_spans[0].spans[0].span_id = b"\x22" * 7
    with pytest.raises(TraceFormatError, match="valid spans"):
        parse_otlp_protobuf(request.SerializeToString())
    with pytest.raises(TraceFormatError, match=r"spans\[0\].span_id: expected a 8-byte id"):
        records_from_proto_request(request)
