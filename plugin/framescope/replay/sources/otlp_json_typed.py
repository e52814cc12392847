"""The typed fast path of the OTLP/JSON reader: one JSON-lines request decoded straight into structs.

Replay of a trace file spends most of its reading time building and freeing the dicts and
lists a generic JSON parser makes for every span, event and attribute (a tool span with
its events and link is some sixty of them), then reading them back.  msgspec decodes the
common spelling of an ``ExportTraceServiceRequest`` (the one framescope's trace file, the
SDK's exporter and the Collector write: lowercase hex ids, decimal-string times, simple
attribute values, lowerCamelCase field names) straight into untracked structs, which
:func:`typed_request_records` turns into the same records the dict-based fast path
(:mod:`.otlp_json_fast`) makes.

Nothing is accepted here that the dict-based reader would not accept in the same way:
every struct refuses unknown fields (so snake_case names, other AnyValue kinds or a field
this module does not type are never skipped unread), every value is type-checked by the
decoder, and every check of :func:`.otlp_json_fast.fast_span` is repeated.  Anything else
(invalid JSON or UTF-8 included) returns ``None``, and the line goes to the ordinary path,
which reads it or names what is wrong exactly as before.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, Struct, UnsetType

from framescope.replay.records import Attributes, EventRecord, LinkRecord, SpanRecord
from framescope.replay.sources.otlp_json_fast import (
    INT64_MAX,
    INT64_MIN,
    KIND_SPELLINGS,
    SPAN_ID_HEX,
    STATUS_SPELLINGS,
    TRACE_ID_HEX,
    UINT64_MAX,
)

__all__ = ["typed_request_records"]

_NO_PARENT = "0" * 16


class _AnyValue(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    string_value: str | UnsetType = UNSET
    int_value: int | str | UnsetType = UNSET
    bool_value: bool | UnsetType = UNSET
    double_value: float | int | UnsetType = UNSET


class _KeyValue(Struct, forbid_unknown_fields=True, gc=False):
    key: str
    value: _AnyValue


class _Event(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    time_unix_nano: str | int
    name: str = ""
    attributes: list[_KeyValue] | None = None
    dropped_attributes_count: int = 0


class _Link(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    trace_id: str
    span_id: str
    attributes: list[_KeyValue] | None = None
    trace_state: str = ""
    flags: int = 0
    dropped_attributes_count: int = 0


class _Status(Struct, forbid_unknown_fields=True, gc=False):
    code: int | str = 0
    message: str = ""


class _Span(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    trace_id: str
    span_id: str
    start_time_unix_nano: str
    end_time_unix_nano: str
    name: str = ""
    parent_span_id: str | None = None
    kind: int | str = 0
    attributes: list[_KeyValue] | None = None
    events: list[_Event] | None = None
    links: list[_Link] | None = None
    status: _Status | None = None
    trace_state: str = ""
    flags: int = 0
    dropped_attributes_count: int = 0
    dropped_events_count: int = 0
    dropped_links_count: int = 0


class _Scope(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    name: str = ""
    version: str = ""
    attributes: list[_KeyValue] | None = None
    dropped_attributes_count: int = 0


class _ScopeSpans(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    scope: _Scope | None = None
    spans: list[_Span] | None = None
    schema_url: str = ""


class _Resource(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    attributes: list[_KeyValue] | None = None
    dropped_attributes_count: int = 0


class _ResourceSpans(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    resource: _Resource | None = None
    scope_spans: list[_ScopeSpans] | None = None
    schema_url: str = ""


class _Request(Struct, rename="camel", forbid_unknown_fields=True, gc=False):
    resource_spans: list[_ResourceSpans]


_decode_request = msgspec.json.Decoder(_Request).decode


class _NotCommon(Exception):
    """A value outside the common spelling: the line goes to the ordinary reader."""


def typed_request_records(line: bytes) -> list[SpanRecord] | None:
    """The spans of one JSON-lines request in the common spelling, or ``None`` for the ordinary path."""
    try:
        request = _decode_request(line)
    except (msgspec.DecodeError, RecursionError):
        return None
    records: list[SpanRecord] = []
    try:
        for resource_spans in request.resource_spans:
            resource_obj = resource_spans.resource
            resource = _attributes(resource_obj.attributes) if resource_obj is not None else {}
            for scope_spans in resource_spans.scope_spans or ():
                scope = scope_spans.scope
                scope_name = scope.name if scope is not None else ""
                scope_version = scope.version if scope is not None else ""
                for span in scope_spans.spans or ():
                    records.append(_span(span, resource, scope_name, scope_version))
    except (_NotCommon, ValueError):
        return None
    return records


def _span(span: _Span, resource: Attributes, scope_name: str, scope_version: str) -> SpanRecord:
    """:func:`.otlp_json_fast.fast_span`'s checks and record, from a struct."""
    trace_id = span.trace_id
    span_id = span.span_id
    start = span.start_time_unix_nano
    end = span.end_time_unix_nano
    if not TRACE_ID_HEX(trace_id) or not SPAN_ID_HEX(span_id) or not (start.isdigit() and end.isdigit()):
        raise _NotCommon
    parent = span.parent_span_id
    if parent == "" or parent == _NO_PARENT:
        parent = None
    elif parent is not None and not SPAN_ID_HEX(parent):
        raise _NotCommon
    status = span.status
    kind_name = KIND_SPELLINGS.get(span.kind)
    status_name = STATUS_SPELLINGS.get(status.code if status is not None else 0)
    if kind_name is None or status_name is None:
        raise _NotCommon
    start_ns = int(start)
    end_ns = int(end)
    if start_ns > UINT64_MAX or end_ns > UINT64_MAX:
        raise _NotCommon
    events = [_event(event) for event in span.events] if span.events else []
    links = [_link(link) for link in span.links] if span.links else []
    return SpanRecord(
        trace_id,
        span_id,
        span.name,
        start_ns,
        end_ns,
        parent,
        kind_name,
        _attributes(span.attributes),
        events,
        links,
        status_name,
        status.message if status is not None else "",
        dict(resource),
        scope_name,
        scope_version,
    )


def _event(event: _Event) -> EventRecord:
    time = event.time_unix_nano
    number = int(time) if isinstance(time, str) else time
    if not 0 <= number <= UINT64_MAX:
        raise _NotCommon
    return EventRecord(event.name, number, _attributes(event.attributes))


def _link(link: _Link) -> LinkRecord:
    if not TRACE_ID_HEX(link.trace_id) or not SPAN_ID_HEX(link.span_id):
        raise _NotCommon
    return LinkRecord(link.trace_id, link.span_id, _attributes(link.attributes))


def _attributes(items: list[_KeyValue] | None) -> Attributes:
    """:func:`.otlp_json_fast.fast_attributes` from structs: exactly one simple value each."""
    result: Attributes = {}
    if not items:
        return result
    for item in items:
        value = item.value
        inner = value.string_value
        if inner is not UNSET:
            if value.int_value is not UNSET or value.bool_value is not UNSET or value.double_value is not UNSET:
                raise _NotCommon
            result[item.key] = inner
            continue
        number = value.int_value
        if number is not UNSET:
            if value.bool_value is not UNSET or value.double_value is not UNSET:
                raise _NotCommon
            number = int(number)
            if not INT64_MIN <= number <= INT64_MAX:
                raise _NotCommon
            result[item.key] = number
            continue
        flag = value.bool_value
        if flag is not UNSET:
            if value.double_value is not UNSET:
                raise _NotCommon
            result[item.key] = flag
            continue
        double = value.double_value
        if double is UNSET:  # an empty AnyValue
            raise _NotCommon
        result[item.key] = float(double)
    return result
