"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests.

It speaks the chat-completions wire format closely enough for the official ``openai``
SDK (JSON answers, ``text/event-stream`` with ``data:`` lines, a usage chunk,
``data: [DONE]``) and can misbehave on purpose (error statuses, slow or stalled
streams, dropped connections, malformed data, no answer at all), so providers are
tested against real sockets rather than mocks.

    with OpenAICompatibleServer() as server:
        server.set(reply="Hello there", reasoning="Let me think")
        server.enqueue(status=500)          # only the next request fails
        ...                                 # point a client at server.base_url
        server.requests[-1].json["model"]
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["Behaviour", "OpenAICompatibleServer", "RecordedRequest"]

_WORD = re.compile(r"\s*\S+|\s+")
_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass
class Behaviour:
    """How the server answers one request. Every field has a well-behaved default."""

    reply: str = "Hello from the test server!"
    #: Split the reply into this many pieces; None splits it into words.
    tokens: int | None = None
    reasoning: str = ""
    reasoning_field: str = "reasoning_content"
    #: Tool calls to request: {"name": str, "arguments": dict | str, "id": str (optional)}.
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    #: Into how many chunks each call's argument string is split.
    argument_chunks: int = 3
    #: Answer with this HTTP error status instead (body: OpenAI-style error unless error_body).
    status: int | None = None
    error_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Pause before each streamed chunk.
    token_delay_s: float = 0.0
    #: Streaming: after this many data chunks, cut the connection (no terminating chunk).
    drop_after: int | None = None
    #: Streaming: after this many data chunks, send a data line that is not JSON.
    malformed_after: int | None = None
    malformed_data: str = '{"id": "broken", "choices": [ {"delta": '
    #: Streaming: after this many data chunks, stop sending but keep the connection open.
    stall_after: int | None = None
    #: Read the request, then never answer (until the server stops).
    hang: bool = False
    finish_reason: str | None = None
    omit_finish_reason: bool = False
    #: Model name in the answer; None echoes the requested one.
    model: str | None = None
    prompt_tokens: int = 12


@dataclass
class RecordedRequest:
    """What the server received, and how its answer went."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    chunks_sent: int = 0
    disconnected: bool = False


class _ClientGone(Exception):
    pass


class OpenAICompatibleServer:
    """Context manager running the server in a thread on an OS-chosen loopback port."""

    def __init__(self, behaviour: Behaviour | None = None, **overrides: Any) -> None:
        self.behaviour = replace(behaviour or Behaviour(), **overrides)
        self.requests: list[RecordedRequest] = []
        self.client_disconnected = threading.Event()
        #: set when a request arrives, and when a stream goes silent (``stall_after``)
        self.request_received = threading.Event()
        self.stalled = threading.Event()
        self._queue: list[Behaviour] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control

    def set(self, **overrides: Any) -> None:
        """Change the default behaviour for every later request."""
        with self._lock:
            self.behaviour = replace(self.behaviour, **overrides)

    def enqueue(self, **overrides: Any) -> None:
        """Answer the next request (FIFO) with the default behaviour plus these overrides."""
        with self._lock:
            self._queue.append(replace(self.behaviour, **overrides))

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started: use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def disconnects(self) -> int:
        return sum(1 for r in self.requests if r.disconnected)

    def _next_behaviour(self) -> Behaviour:
        with self._lock:
            return self._queue.pop(0) if self._queue else self.behaviour

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
        self.request_received.set()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        handler = type("Handler", (_Handler,), {"owner": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAICompatibleServer
    protocol_version = "HTTP/1.1"  # chunked streaming, so a cut connection is detectable

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        record = RecordedRequest(
            method="POST",
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            json=body,
        )
        self.owner._record(record)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"No route {self.path}", "type": "invalid_request_error"}})
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send_json(
                400, {"error": {"message": "Body must be JSON with messages", "type": "invalid_request_error"}}
            )
            return
        behaviour = self.owner._next_behaviour()
        if behaviour.hang:
            self.owner._stopping.wait(60)
            self.close_connection = True
            return
        if behaviour.status is not None:
            self._send_error(behaviour)
            return
        try:
            if body.get("stream"):
                self._stream(body, behaviour, record)
            else:
                self._send_json(200, _completion(body, behaviour), behaviour.headers)
        except _ClientGone:
            record.disconnected = True
            self.owner.client_disconnected.set()
            self.close_connection = True

    # ------------------------------------------------------------------ answers

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, behaviour: Behaviour) -> None:
        status = behaviour.status or 500
        body = behaviour.error_body
        if body is None:
            kind, code = _ERROR_TYPES.get(status, ("server_error", None))
            body = {"error": {"message": _error_message(status), "type": kind, "param": None, "code": code}}
        payload = body.encode() if isinstance(body, str) else body
        self._send_json(status, payload, behaviour.headers)

    def _stream(self, body: dict[str, Any], behaviour: Behaviour, record: RecordedRequest) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in behaviour.headers.items():
            self.send_header(name, value)
        self.end_headers()
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        for chunk in _chunks(body, behaviour, include_usage):
            sent = record.chunks_sent
            if behaviour.drop_after is not None and sent >= behaviour.drop_after:
                self._cut()
                return
            if behaviour.stall_after is not None and sent >= behaviour.stall_after:
                self.owner.stalled.set()
                self.owner._stopping.wait(60)
                self._cut()
                return
            if behaviour.malformed_after is not None and sent >= behaviour.malformed_after:
                self._write_chunk(f"data: {behaviour.malformed_data}\n\n".encode())
                self._write_chunk(b"data: [DONE]\n\n", last=True)
                return
            if behaviour.token_delay_s:
                time.sleep(behaviour.token_delay_s)
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            record.chunks_sent += 1
        # [DONE] and the terminating chunk in one write: a client that closes right after
        # [DONE] must not be counted as an early disconnect.
        self._write_chunk(b"data: [DONE]\n\n", last=True)

    def _write_chunk(self, data: bytes, *, last: bool = False) -> None:
        frame = f"{len(data):x}\r\n".encode() + data + b"\r\n" + (b"0\r\n\r\n" if last else b"")
        try:
            self.wfile.write(frame)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as err:
            raise _ClientGone from err

    def _cut(self) -> None:
        """Drop the connection without ending the chunked body, as a crashed server would."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


# ---------------------------------------------------------------------- payloads


def _error_message(status: int) -> str:
    if status == 401:
        return "Incorrect API key provided: sk-test****************cdef. You can find your API key in your account."
    if status == 429:
        return "Rate limit reached for requests. Please try again in 20ms."
    if status >= 500:
        return "The server had an error while processing your request."
    return f"Request failed with status {status}."


def _pieces(text: str, count: int | None) -> list[str]:
    if not text:
        return []
    if count is None:
        return _WORD.findall(text)
    count = max(1, min(count, len(text)))
    size, extra = divmod(len(text), count)
    pieces, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def _arguments_text(call: dict[str, Any]) -> str:
    arguments = call.get("arguments", {})
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _model(body: dict[str, Any], behaviour: Behaviour) -> str:
    return behaviour.model or str(body.get("model", "test-model"))


def _finish(behaviour: Behaviour) -> str:
    return behaviour.finish_reason or ("tool_calls" if behaviour.tool_calls else "stop")


def _usage(behaviour: Behaviour, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": behaviour.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": behaviour.prompt_tokens + completion_tokens,
    }


def _chunks(body: dict[str, Any], behaviour: Behaviour, include_usage: bool) -> list[dict[str, Any]]:
    base = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": _model(body, behaviour),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    reasoning = _pieces(behaviour.reasoning, behaviour.tokens)
    content = _pieces(behaviour.reply, behaviour.tokens)
    chunks += [chunk({behaviour.reasoning_field: piece}) for piece in reasoning]
    chunks += [chunk({"content": piece}) for piece in content]
    for index, call in enumerate(behaviour.tool_calls):
        call_id = call.get("id", f"call_test_{index}")
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": call["name"], "arguments": ""}}
        chunks.append(chunk({"tool_calls": [head]}))
        for fragment in _pieces(_arguments_text(call), behaviour.argument_chunks):
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
    chunks.append(chunk({}, None if behaviour.omit_finish_reason else _finish(behaviour)))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _usage(behaviour, len(reasoning) + len(content))})
    return chunks


def _completion(body: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": behaviour.reply or None}
    if behaviour.reasoning:
        message[behaviour.reasoning_field] = behaviour.reasoning
    if behaviour.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.get("id", f"call_test_{index}"),
                "type": "function",
                "function": {"name": call["name"], "arguments": _arguments_text(call)},
            }
            for index, call in enumerate(behaviour.tool_calls)
        ]
    tokens = len(_pieces(behaviour.reply, behaviour.tokens)) + len(_pieces(behaviour.reasoning, behaviour.tokens))
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _model(body, behaviour),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(behaviour)}],
        "usage": _usage(behaviour, tokens),
    }
