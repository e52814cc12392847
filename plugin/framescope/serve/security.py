"""Who may talk to the server: loopback by default, a token for anything else, CORS only if asked.

- ``check_bind``: binding to an address other than loopback needs a token, because frames
  hold prompts, answers and tool arguments.
- ``TokenMiddleware``: with a token, every request must carry it, as ``Authorization: Bearer``,
  a ``framescope_token`` cookie, or ``?token=`` (which also sets the cookie, so a browser that
  opened ``/?token=...`` once keeps streaming with ``EventSource``, which cannot send headers).
  Without a token (loopback only) it checks the ``Host`` header instead, so a web page on
  another site cannot reach the server through DNS rebinding.
- CORS: Starlette's middleware, added only for the origins configured.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from framescope.errors import ServeConfigError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "framescope_token"
_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~-]+")  # URL-unreserved: safe in a query, a header, a cookie
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token (ServeConfigError, one line)."""
    if not is_loopback(host) and not token:
        raise ServeConfigError(
            f"binding to {host} makes the runs readable from the network; set a token with --token "
            "or FRAMESCOPE_SERVE_TOKEN (clients then send 'Authorization: Bearer <token>'), or bind to 127.0.0.1"
        )
    if token is not None:
        check_token(token)


def check_token(token: str) -> str:
    """A token is at least 16 characters of ``A-Z a-z 0-9 . _ ~ -`` (it travels in a
    header, a query string and a cookie, unquoted)."""
    if len(token) < 16 or not _TOKEN_CHARACTERS.fullmatch(token):
        raise ServeConfigError(
            "the serve token must be at least 16 characters of letters, digits and . _ ~ - "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    return token


def check_cors_origins(origins: list[str]) -> list[str]:
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ServeConfigError(f"--cors-origin {origin!r} must be an origin like https://app.example.com, or *")
    return origins


async def _reject(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TokenMiddleware:
    """Checks the token (or, without one, the Host header) on every HTTP request."""

    def __init__(self, app: ASGIApp, token: str | None, allowed_hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = allowed_hosts if allowed_hosts is not None else LOCAL_HOSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        if self.token is None:
            host = _host_name(headers.get("host", ""))
            if "*" not in self.allowed_hosts and host not in self.allowed_hosts:
                await _reject(
                    send,
                    403,
                    f"Host {host!r} is not this loopback server; open it as "
                    "http://127.0.0.1:<port>/ (a token is needed to serve other hosts)",
                )
                return
            await self.app(scope, receive, send)
            return
        from_query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
        offered = [from_query, _bearer(headers.get("authorization")), _cookie(headers.get("cookie"))]
        if not any(
            candidate is not None and hmac.compare_digest(candidate.encode(), self.token.encode())
            for candidate in offered
        ):
            await _reject(
                send,
                401,
                "missing or wrong token: send 'Authorization: Bearer <token>', "
                "or open the page once as /?token=<token>",
                [(b"www-authenticate", b'Bearer realm="framescope"')],
            )
            return
        if from_query is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _host_name(header: str) -> str:
    """The host of a ``Host`` header, without its port (``[::1]:8000`` -> ``[::1]``)."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]


def _bearer(value: str | None) -> str | None:
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


def _cookie(value: str | None) -> str | None:
    if not value:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(value)
    except Exception:
        return None
    morsel = jar.get(TOKEN_COOKIE)
    return morsel.value if morsel is not None else None
