"""Real OTLP receivers on loopback, for end-to-end tests.

Tests that only use the SDK's in-memory exporter never see what really leaves the process:
the protobuf encoding, gzip, retries, HTTP status handling.  These receivers speak the
actual OTLP wire protocols (HTTP/protobuf and gRPC) on 127.0.0.1 with an OS-chosen port,
decode every request with ``opentelemetry-proto`` and keep it for the test to inspect.
Both can be told to fail or to answer slowly at runtime, so exporter fault handling can be
tested against a real socket instead of a mock.

Usage::

    with OtlpHttpReceiver() as rx:
        exporter = OTLPSpanExporter(endpoint=rx.endpoint + "/v1/traces")
        ...
        rx.wait_for(lambda r: len(r.spans()) >= 3, timeout=5)
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

__all__ = [
    "OtlpGrpcReceiver",
    "OtlpHttpReceiver",
    "ReceivedMetric",
    "ReceivedSpan",
]

_M = TypeVar("_M", bound=Message)


@dataclass(frozen=True)
class ReceivedSpan:
    """One received span with the resource and scope it was exported under."""

    span: trace_pb2.Span
    resource: resource_pb2.Resource
    scope_name: str

    @property
    def service_name(self) -> str | None:
        """``service.name`` of the resource, the key every backend indexes by."""
        for kv in self.resource.attributes:
            if kv.key == "service.name":
                return kv.value.string_value
        return None

    def attribute(self, key: str) -> Any:
        """The Python value of one span attribute, or None when absent."""
        for kv in self.span.attributes:
            if kv.key == key:
                return _any_value(kv.value)
        return None


@dataclass(frozen=True)
class ReceivedMetric:
    """One received metric with the resource it was exported under."""

    metric: metrics_pb2.Metric
    resource: resource_pb2.Resource
    scope_name: str


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


class _ReceiverStore:
    """Thread-safe storage and accessors shared by the HTTP and gRPC receivers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._trace_requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self._metric_requests: list[metrics_service_pb2.ExportMetricsServiceRequest] = []
        self._request_count = 0
        self.endpoint = ""

    # -- recording (called from server threads) ---------------------------------------------
    def _count_request(self) -> None:
        with self._changed:
            self._request_count += 1
            self._changed.notify_all()

    def _record_trace(self, req: trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self._changed:
            self._trace_requests.append(req)
            self._changed.notify_all()

    def _record_metrics(self, req: metrics_service_pb2.ExportMetricsServiceRequest) -> None:
        with self._changed:
            self._metric_requests.append(req)
            self._changed.notify_all()

    # -- accessors (called from the test thread) --------------------------------------------
    @property
    def trace_requests(self) -> list[trace_service_pb2.ExportTraceServiceRequest]:
        """Trace requests accepted so far (a snapshot copy, safe to iterate)."""
        with self._lock:
            return list(self._trace_requests)

    @property
    def metric_requests(self) -> list[metrics_service_pb2.ExportMetricsServiceRequest]:
        """Metric requests accepted so far (a snapshot copy, safe to iterate)."""
        with self._lock:
            return list(self._metric_requests)

    @property
    def request_count(self) -> int:
        """Every export request seen, including the ones answered with an error."""
        with self._lock:
            return self._request_count

    def spans(self) -> list[ReceivedSpan]:
        """Every successfully received span, flattened, in arrival order."""
        out: list[ReceivedSpan] = []
        for req in self.trace_requests:
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append(ReceivedSpan(span, rs.resource, ss.scope.name))
        return out

    def metrics(self) -> list[ReceivedMetric]:
        """Every successfully received metric, flattened, in arrival order."""
        out: list[ReceivedMetric] = []
        for req in self.metric_requests:
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        out.append(ReceivedMetric(metric, rm.resource, sm.scope.name))
        return out

    def metric_names(self) -> set[str]:
        """Names of every metric received so far."""
        return {m.metric.name for m in self.metrics()}

    def clear(self) -> None:
        """Forget everything received so far (the request counter too)."""
        with self._lock:
            self._trace_requests.clear()
            self._metric_requests.clear()
            self._request_count = 0

    def wait_for(self, predicate: Callable[[Self], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate(self)`` is true; return False after ``timeout`` seconds.

        The predicate is re-evaluated whenever a request arrives, so tests do not poll
        with sleeps and finish as soon as the data is there.
        """
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                self._changed.wait(min(remaining, 0.05))


# ---------------------------------------------------------------------------------------------
# OTLP/HTTP
# ---------------------------------------------------------------------------------------------

_HTTP_ROUTES = {
    "/v1/traces": (
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
        "_record_trace",
    ),
    "/v1/metrics": (
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
        "_record_metrics",
    ),
}


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


_OTLP_JSON_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes trace/span ids as hex, protobuf's JSON mapping expects base64."""
    if isinstance(node, dict):
        return {
            key: (
                base64.b64encode(bytes.fromhex(value)).decode()
                if key in _OTLP_JSON_ID_KEYS and isinstance(value, str)
                else _hex_ids_to_base64(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def _parse_otlp_json(body: bytes, message: _M) -> _M:
    """Decode an OTLP/JSON body (hex ids, as the OTLP specification defines them)."""
    json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), message)
    return message


class _OtlpHttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporter's session expects
    server: _OtlpHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean; the receiver's state is the record."""

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        receiver._count_request()
        route = _HTTP_ROUTES.get(self.path.split("?", 1)[0])
        if route is None:
            self._answer(404, b"unknown OTLP path", "text/plain")
            return
        request_cls, response_cls, record = route
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        try:
            body = _decompress(raw, self.headers.get("Content-Encoding") or "")
            if content_type == "application/json":
                message = _parse_otlp_json(body, request_cls())
            else:
                message = request_cls.FromString(body)
        except (ValueError, OSError, DecodeError, json_format.ParseError) as exc:
            self._answer(400, f"undecodable OTLP body: {exc}".encode(), "text/plain")
            return
        if receiver.delay_s > 0:
            time.sleep(receiver.delay_s)
        if receiver.gate is not None:
            receiver.gate.wait(30)
        status = receiver.status_code
        if 200 <= status < 300:
            getattr(receiver, record)(message)
            if content_type == "application/json":
                payload = json_format.MessageToJson(response_cls()).encode()
            else:
                payload = response_cls().SerializeToString()
            self._answer(status, payload, content_type or "application/x-protobuf")
        else:
            self._answer(status, b"", "application/x-protobuf")

    def _answer(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _OtlpHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: OtlpHttpReceiver


class OtlpHttpReceiver(_ReceiverStore):
    """An OTLP/HTTP (protobuf or JSON) receiver on 127.0.0.1.

    ``status_code`` and ``delay_s`` are plain attributes read for every request, so a test
    can turn a healthy backend into a failing or slow one (and back) while it runs.
    ``gate``, when given, holds every request until it is set (a backend that answers
    only when the test says so).  Requests answered with a non-2xx status are counted but
    not stored, like a backend that rejected them.
    """

    def __init__(self, status_code: int = 200, delay_s: float = 0.0, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.status_code = status_code
        self.delay_s = delay_s
        self.gate = gate
        self._server: _OtlpHttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OtlpHttpReceiver:
        """Bind an OS-chosen port on loopback and serve in a background thread."""
        server = _OtlpHttpServer(("127.0.0.1", 0), _OtlpHttpHandler)
        server.receiver = self
        self._server = server
        self.port = server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-http-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# OTLP/gRPC
# ---------------------------------------------------------------------------------------------


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpGrpcReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self._receiver._serve(context):
            self._receiver._record_trace(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: OtlpGrpcReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        if self._receiver._serve(context):
            self._receiver._record_metrics(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class OtlpGrpcReceiver(_ReceiverStore):
    """An OTLP/gRPC receiver (trace and metrics services) on 127.0.0.1.

    ``status_code`` is a ``grpc.StatusCode``; anything but ``OK`` makes the receiver abort
    each call with that code (``UNAVAILABLE`` is what the exporter retries), and the
    request is counted but not stored.  ``delay_s`` delays every answer.
    """

    def __init__(self, status_code: grpc.StatusCode = grpc.StatusCode.OK, delay_s: float = 0.0) -> None:
        super().__init__()
        self.status_code = status_code
        self.delay_s = delay_s
        self._server: grpc.Server | None = None

    def _serve(self, context: grpc.ServicerContext) -> bool:
        """Apply delay and configured status; True when the request is to be kept."""
        self._count_request()
        if self.delay_s > 0:
            time.sleep(self.delay_s)
        status = self.status_code
        if status is not grpc.StatusCode.OK:
            context.set_code(status)
            context.set_details("framescope test receiver configured to fail")
            return False
        return True

    def start(self) -> OtlpGrpcReceiver:
        """Bind an OS-chosen port on loopback and start the gRPC server."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsService(self), server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        if self.port == 0:
            raise RuntimeError("could not bind a loopback port for the gRPC receiver")
        server.start()
        self._server = server
        self.endpoint = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        """Stop the server, cancelling in-flight calls after a short grace period."""
        if self._server is not None:
            self._server.stop(grace=0.5).wait(timeout=5)
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
