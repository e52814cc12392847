"""A neutral, backend-independent picture of one exported span.

Every trace source (the embedded OTLP/JSON file, OTLP protobuf, Jaeger's v1 and v3 APIs,
Tempo's APIs) is parsed into these records, and the codec decodes frames from them.  Keeping
one shape between "what a backend returned" and "what the codec reads" is what lets replay be
tested once and trusted for every backend: a parser only has to be faithful to its format.

Conventions, fixed so that parsers agree:

* ``trace_id`` is 32 lowercase hex characters, ``span_id`` 16 (base64 ids are converted,
  Tempo's trimmed leading zeros are restored by left-padding).
* times are integer nanoseconds since the Unix epoch (Jaeger v1 microseconds are * 1000).
* attribute values are ``str | bool | int | float | list | dict | bytes | None`` (OTLP kvlist
  values are dicts, an empty AnyValue is None); int64 values that a
  format writes as strings are turned back into ``int``.
* ``kind`` is one of ``INTERNAL SERVER CLIENT PRODUCER CONSUMER UNSPECIFIED``;
  ``status_code`` one of ``UNSET OK ERROR``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

AttributeValue = Union[str, bool, int, float, bytes, list[Any], dict[str, Any], None]
Attributes = dict[str, AttributeValue]


@dataclass(slots=True)
class EventRecord:
    name: str
    time_unix_nano: int
    attributes: Attributes = field(default_factory=dict)


@dataclass(slots=True)
class LinkRecord:
    trace_id: str
    span_id: str
    attributes: Attributes = field(default_factory=dict)


@dataclass(slots=True)
class SpanRecord:
    trace_id: str
    span_id: str
    name: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    parent_span_id: str | None = None
    kind: str = "INTERNAL"
    attributes: Attributes = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    status_code: str = "UNSET"
    status_message: str = ""
    resource: Attributes = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""


def normalize_trace_id(value: str) -> str:
    """Lowercase hex, left-padded to 32 characters (Tempo search trims leading zeros)."""
    return value.strip().lower().rjust(32, "0")


def normalize_span_id(value: str) -> str:
    """Lowercase hex, left-padded to 16 characters."""
    return value.strip().lower().rjust(16, "0")


def from_readable_span(span: Any) -> SpanRecord:
    """A finished SDK span (``opentelemetry.sdk.trace.ReadableSpan``) as a record."""
    context = span.get_span_context()
    parent = span.parent
    status = span.status
    scope = span.instrumentation_scope
    return SpanRecord(
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        kind=span.kind.name,
        start_time_unix_nano=span.start_time or 0,
        end_time_unix_nano=span.end_time or 0,
        attributes=_plain(span.attributes),
        events=[EventRecord(event.name, event.timestamp, _plain(event.attributes)) for event in span.events],
        links=[
            LinkRecord(
                format(link.context.trace_id, "032x"),
                format(link.context.span_id, "016x"),
                _plain(link.attributes),
            )
            for link in span.links
        ],
        status_code=status.status_code.name,
        status_message=status.description or "",
        resource=_plain(span.resource.attributes) if span.resource is not None else {},
        scope_name=scope.name if scope is not None else "",
        scope_version=(scope.version or "") if scope is not None else "",
    )


def _plain(attributes: Any) -> Attributes:
    if not attributes:
        return {}
    return {key: list(value) if isinstance(value, tuple) else value for key, value in attributes.items()}
