"""One HTTP GET read within a total deadline, a body size limit and bounded decompression.

httpx's ``timeout`` bounds each read, not the request: a server trickling a byte every few
seconds kept ``framescope replay URL`` waiting for minutes, a 500 MB body was held whole,
and a 1 MB gzip body that inflates to 1 GB was inflated whole.  Here the body is read chunk
by chunk, the deadline is checked between chunks (and caps each read), the size limit
applies to the *decompressed* bytes, and decompression never produces more than the limit
allows at once.  The result is an ordinary ``httpx.Response`` holding the decoded body.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from typing import Any

import httpx

from framescope.replay.limits import format_size

__all__ = ["ACCEPT_ENCODING", "BodyTooLarge", "DeadlinePassed", "get_within"]

#: What we can inflate with a bound; servers must not send anything else.
ACCEPT_ENCODING = "gzip, deflate"
_DROPPED_HEADERS = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


class DeadlinePassed(Exception):
    """The total deadline passed before the whole body arrived."""


class BodyTooLarge(Exception):
    """The (decompressed) body is larger than the limit."""

    def __init__(self, message: str, *, status_code: int) -> None:
        self.status_code = status_code
        super().__init__(message)


def get_within(
    client: httpx.Client, path: str, params: Mapping[str, str], *, deadline: float, max_bytes: int
) -> httpx.Response:
    """GET ``path``; the decoded body in memory, or :class:`DeadlinePassed` / :class:`BodyTooLarge`."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlinePassed()
    with client.stream("GET", path, params=params, timeout=httpx.Timeout(remaining)) as response:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        declared = response.headers.get("content-length", "")
        if encoding in ("", "identity") and declared.isdigit() and int(declared) > max_bytes:
            raise BodyTooLarge(
                f"the answer is {format_size(int(declared))}, more than the {format_size(max_bytes)} limit",
                status_code=response.status_code,
            )
        inflate = _Inflater(encoding, max_bytes, response.status_code)
        for chunk in response.iter_raw():
            inflate.feed(chunk)
            if time.monotonic() > deadline:
                raise DeadlinePassed()
        body = inflate.finish()
        headers = [(k, v) for k, v in response.headers.raw if k.lower() not in _DROPPED_HEADERS]
        return httpx.Response(response.status_code, headers=headers, content=body, request=response.request)


class _Inflater:
    """Decodes a content-encoding into a buffer that never grows past ``max_bytes + 1``."""

    def __init__(self, encoding: str, max_bytes: int, status_code: int) -> None:
        self.max_bytes = max_bytes
        self.status_code = status_code
        self.body = bytearray()
        self.encoding = encoding
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj(wbits=zlib.MAX_WBITS)
        elif encoding not in ("", "identity"):
            raise BodyTooLarge(
                f"the answer is encoded as {encoding!r}, which framescope does not inflate "
                f"(it asks for {ACCEPT_ENCODING}); check a proxy between you and the backend",
                status_code=status_code,
            )
        self._first = True

    def feed(self, data: bytes) -> None:
        if self._zlib is None:
            self._append(data)
            return
        if self._first and self.encoding == "deflate" and data:
            self._first = False
            if (data[0] & 0x0F) != 8:  # raw deflate without the zlib header (some servers send it)
                self._zlib = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
        try:
            while data:
                room = self.max_bytes + 1 - len(self.body)
                self._append(self._zlib.decompress(data, room))
                data = self._zlib.unconsumed_tail
        except zlib.error as exc:
            raise BodyTooLarge(
                f"the {self.encoding} body cannot be inflated ({exc})", status_code=self.status_code
            ) from None

    def finish(self) -> bytes:
        if self._zlib is not None:
            self._append(self._zlib.flush(self.max_bytes + 1 - len(self.body)))
        return bytes(self.body)

    def _append(self, data: bytes) -> None:
        self.body += data
        if len(self.body) > self.max_bytes:
            what = "inflates to" if self._zlib is not None else "is"
            raise BodyTooLarge(
                f"the answer {what} more than the {format_size(self.max_bytes)} limit",
                status_code=self.status_code,
            )
