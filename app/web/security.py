"""The pure-ASGI layer in front of everything: allow-list, event checks, body cap,
limits, security headers (CSP with a per-response nonce) and the quick-exit script in
every HTML page. A fault anywhere becomes a generic response that quotes nothing."""

from __future__ import annotations

import html
import logging
import re
import secrets
from urllib.parse import parse_qs

from app import messages
from app.answer import Answer, Status
from app.web.allowlist import EVENT_JOIN, EVENT_STREAM, EventTable, gradio_mount, route_allowed
from app.web.limits import RateLimiter, StreamCounter
from app.web.metrics import Metrics
from ingest.errors import ConfigError

log = logging.getLogger("signpost.web")

# The question box takes up to 4x the question limit (12,000 characters, so triage reads
# a long story whole), and the page sends back up to 10 earlier questions of at most
# 1,000 characters (app/ui.py): 44 KB at most even in a script of 2 bytes a character
# (tests/app/test_ui.py). Anything bigger is refused unread.
MAX_BODY_BYTES = 64 * 1024

_ORIGIN = re.compile(r"^(https?://)?(\*\.)?[A-Za-z0-9.-]+(:(\d{1,5}|\*))?$")
_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])")
_STRIPPED = (b"content-security-policy", b"x-frame-options", b"cache-control", b"referrer-policy", b"x-content-type-options", b"set-cookie")


def frame_ancestors(embed_origins: str) -> list[str]:
    """The operator's allow-list, checked so nothing else can reach the CSP header."""
    tokens = embed_origins.split()
    for token in tokens:
        if token not in ("'self'", "'none'") and not _ORIGIN.match(token):
            raise ConfigError(f"SIGNPOST_EMBED_ORIGINS: {token!r} is not an origin like https://charity.example")
    return tokens or ["'none'"]


def check_exit_url(url: str) -> str:
    if not re.match(r"^https?://[^\s\"'<>]+$", url):
        raise ConfigError("SIGNPOST_EXIT_URL must be an http(s) URL")
    return url


def build_csp(nonce: str | None, ancestors: list[str]) -> str:
    script_src = f"script-src 'self' 'nonce-{nonce}'" if nonce else "script-src 'self'"
    return "; ".join(
        [
            "default-src 'self'",
            script_src,
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "media-src 'self' blob:",
            "worker-src 'self' blob:",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {' '.join(ancestors)}",
        ]
    )


def _client(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


class SecurityMiddleware:
    """Headers on every response, nonce + quick-exit script in every HTML page, limits."""

    def __init__(self, app, widget_ancestors: list[str], exit_url: str, limiter: RateLimiter, metrics: Metrics, max_chars: int, events: dict[str, EventTable]):
        self.app = app
        self.events = events  # mount ("/", "/widget") -> its event table
        self.streams = StreamCounter()
        self.widget_ancestors = widget_ancestors
        self.limiter, self.metrics, self.max_chars = limiter, metrics, max_chars
        self.exit_tag = (
            '<script nonce="__NONCE__" src="/signpost-static/quick_exit.js" '
            f'data-exit-url="{html.escape(exit_url, quote=True)}" defer></script>'
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        stream_key = None
        if scope["method"] == "GET" and gradio_mount(scope.get("path", ""))[1].startswith(EVENT_STREAM):
            stream_key = self.streams.open(_client(scope))
            if stream_key is None:
                body = Answer.fixed(Status.ERROR, messages.BUSY, "too_many_streams").to_dict()
                return await self._json(scope, send, 429, body, ["'self'"], [(b"retry-after", b"5")])
        try:
            await self._guarded(scope, receive, send)
        finally:
            if stream_key is not None:
                self.streams.close(stream_key)

    async def _guarded(self, scope, receive, send):
        started = False

        async def tracking(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._handle(scope, receive, tracking)
        except Exception as exc:  # a fault in this layer itself: the kind only, never the request
            log.error("unhandled %s in the security layer on %s", type(exc).__name__, scope.get("path", ""))
            if not started:
                body = Answer.fixed(Status.ERROR, messages.ERROR, "internal").to_dict()
                await self._json(scope, send, 500, body, ["'self'"])

    async def _handle(self, scope, receive, send):
        path = scope.get("path", "")
        mount, rel = gradio_mount(path)
        is_widget = path == "/widget" or mount == "/widget"
        ancestors = self.widget_ancestors if is_widget else ["'self'"]
        is_api = path == "/api/ask"
        if is_api:
            send = self._count(send)
        if not route_allowed(scope["method"], path):
            return await self._json(scope, send, 404, {"error": messages.NOT_FOUND}, ancestors)

        if scope["method"] == "GET" and rel.startswith(EVENT_STREAM):
            # The event stream ends when the session's events are done: then nothing of
            # the question may stay in server memory.
            session = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash", [""])[0]
            send = self._forget_after(send, self.events[mount], session)
        if scope["method"] == "POST":
            # Every POST body is capped and read before anything parses it.
            body = await _read_capped(scope, receive)
            if body is None:
                answer = Answer.fixed(Status.INVALID_QUESTION, messages.TOO_LARGE.format(limit=self.max_chars), "too_large")
                return await self._json(scope, send, 413, answer.to_dict(), ancestors)
            if rel.startswith(EVENT_JOIN) and not self.events[mount].allows(body):
                # A fixed message that echoes nothing of the request.
                return await self._json(scope, send, 400, {"error": messages.BAD_EVENT}, ancestors)
            receive = _replay(body)
        # Only well-formed questions count against the limit: the checks above are cheap.
        if scope["method"] == "POST" and (is_api or rel.startswith(EVENT_JOIN)):
            wait = self.limiter.check(_client(scope))
            if wait:
                body = Answer.fixed(Status.ERROR, messages.BUSY, "rate_limited").to_dict()
                return await self._json(scope, send, 429, body, ancestors, [(b"retry-after", str(int(wait + 0.999)).encode())])

        nonce = secrets.token_urlsafe(18)
        state: dict = {"html": False, "start": None, "chunks": [], "started": False}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                state["started"] = True
                ctype = dict((k.lower(), v) for k, v in message.get("headers", [])).get(b"content-type", b"")
                if ctype.startswith(b"text/html"):
                    state["html"], state["start"] = True, message
                    return
                return await self._headers(send, None, ancestors)(message)
            if message["type"] == "http.response.body" and state["html"]:
                state["chunks"].append(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = self._with_nonce(b"".join(state["chunks"]), nonce)
                start = state["start"]
                start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"] + [(b"content-length", str(len(page)).encode())]
                await self._headers(send, nonce, ancestors)(start)
                return await send({"type": "http.response.body", "body": page})
            return await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:  # the log gets the kind of fault, never a message that may quote input
            log.error("unhandled %s on %s", type(exc).__name__, path)
            if not state["started"]:
                body = Answer.fixed(Status.ERROR, messages.ERROR, "internal").to_dict()
                await self._json(scope, send, 500, body, ancestors)

    def _with_nonce(self, page: bytes, nonce: str) -> bytes:
        """Every script tag gets the nonce; the quick-exit script goes into the head."""
        page = _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', page)
        # vite's preload helper copies the nonce from this meta tag onto the scripts it adds
        inject = b'<meta property="csp-nonce" nonce="' + nonce.encode() + b'">' + self.exit_tag.replace("__NONCE__", nonce).encode()
        marker = b'<meta charset="utf-8" />'
        return page.replace(marker, marker + inject, 1) if marker in page else page.replace(b"<head>", b"<head>" + inject, 1)

    @staticmethod
    def _forget_after(send, table: EventTable, session: str):
        async def forgetting(message):
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                table.forget(session)

        return forgetting

    def _count(self, send):
        async def counting(message):
            if message["type"] == "http.response.start":
                self.metrics.api_response(message["status"])
            await send(message)

        return counting

    async def _json(self, scope, send, code: int, body: dict, ancestors, extra=()):
        from fastapi.responses import JSONResponse

        response = JSONResponse(body, status_code=code)
        response.raw_headers.extend(extra)

        async def no_receive():
            return {"type": "http.disconnect"}

        await response(scope, no_receive, self._headers(send, None, ancestors))

    def _headers(self, send, nonce, ancestors):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _STRIPPED]
                headers += [
                    (b"content-security-policy", build_csp(nonce, ancestors).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-store"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
                ]
                message = dict(message, headers=headers)
            await send(message)

        return with_headers


async def _read_capped(scope, receive) -> bytes | None:
    """The whole body, or None if it is over the cap (checked before any parsing)."""
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                if int(value) > MAX_BODY_BYTES:
                    return None
            except ValueError:
                return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
