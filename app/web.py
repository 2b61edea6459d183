"""The web app: chat UI at /, compact widget at /widget/, JSON API at /api/ask.

One FastAPI app. Two Gradio Blocks are mounted on it (the widget first: Starlette
matches mounts in order and "/" matches everything). A pure-ASGI middleware in front
of everything adds the security headers (CSP with a per-response nonce), refuses
Gradio routes we do not use, applies the per-client rate limit and the body cap, and
turns any unexpected exception into a generic response, so neither the client nor the
log ever sees a question.
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app import messages
from app.answer import Answer, Status
from app.offline import apply_offline_env
from app.settings import Settings
from ingest.errors import ConfigError, SignpostError

log = logging.getLogger("signpost.web")

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 16 * 1024
MAX_HISTORY_ITEMS = 20
MAX_STREAMS_PER_CLIENT = 4  # open Gradio event streams per client (a page needs one)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The only routes that exist, as (method, path); everything else is 404. Gradio's own
# routes are listed relative to its mount ("/" and "/widget"): what the chat page and the
# widget load and call, seen in a real browser (tests/browser). Uploads, files, the run
# API, monitoring, dev reload, MCP and the rest are simply not there.
APP_ROUTES = frozenset(
    {
        ("POST", "/api/ask"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/signpost-static/quick_exit.js"),
        ("GET", "/widget"),
    }
)
GRADIO_ROUTES = frozenset(
    {
        ("GET", "/"),
        ("GET", "/config"),
        ("GET", "/theme.css"),
        ("GET", "/favicon.ico"),
        ("GET", "/gradio_api/queue/data"),
        ("POST", "/gradio_api/queue/join"),
    }
)
GRADIO_STATIC_PREFIXES = ("/assets/", "/static/")


def gradio_mount(path: str) -> tuple[str, str]:
    """(mount, path within it): "/widget/x" -> ("/widget", "/x"); anything else -> ("/", path)."""
    return ("/widget", path[len("/widget") :]) if path.startswith("/widget/") else ("/", path)


def route_allowed(method: str, path: str) -> bool:
    method = "GET" if method == "HEAD" else method
    if (method, path) in APP_ROUTES:
        return True
    rel = gradio_mount(path)[1]
    if (method, rel) in GRADIO_ROUTES:
        return True
    return method == "GET" and rel.startswith(GRADIO_STATIC_PREFIXES) and ".." not in rel


_EVENT_KEYS = {"data", "fn_index", "trigger_id", "session_hash", "event_data", "event_id"}


class EventTable:
    """The Gradio events one mounted page really has, and what each may receive.

    Gradio mounted on FastAPI (never `launch()`ed) skips its own path checks: a file
    object in an event's `data` makes it read, copy or download any path or URL. So
    every queue/join body is checked here first: a known fn_index and trigger, exactly
    the expected number of plain strings, each within its component's length limit.
    """

    def __init__(self, blocks, default_limit: int):
        self._blocks = blocks
        self._events = {}
        for index, fn in blocks.fns.items():
            limits = [getattr(c, "max_length", None) or default_limit for c in fn.inputs]
            self._events[index] = ({t[0] for t in fn.targets}, limits)

    def allows(self, body: bytes) -> bool:
        try:
            event = json.loads(body)
        except ValueError:
            return False
        if not isinstance(event, dict) or not set(event) <= _EVENT_KEYS:
            return False
        index = event.get("fn_index")
        if type(index) is not int or index not in self._events:
            return False
        triggers, limits = self._events[index]
        if event.get("trigger_id") is not None and event.get("trigger_id") not in triggers:
            return False
        if event.get("event_data") is not None or not isinstance(event.get("session_hash", ""), str) or len(event.get("session_hash", "")) > 64:
            return False
        data = event.get("data")
        return isinstance(data, list) and len(data) == len(limits) and all(type(v) is str and len(v) <= n for v, n in zip(data, limits, strict=True))

    def forget(self, session_hash: str) -> None:
        """Drop everything Gradio keeps for a session (its inputs and outputs)."""
        holder = getattr(self._blocks, "state_holder", None)
        if holder is not None and session_hash:
            with holder.lock:
                holder.session_data.pop(session_hash, None)
                holder.time_last_used.pop(session_hash, None)
_ORIGIN = re.compile(r"^(https?://)?(\*\.)?[A-Za-z0-9.-]+(:(\d{1,5}|\*))?$")


# --- API shapes (for validation and the OpenAPI spec) ------------------------------


class HistoryItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: StrictStr


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: StrictStr = Field(
        description="The question, in plain words. An empty question, one with no letters or digits, or one over the length limit gets 400 (status invalid_question).",
    )
    history: list[StrictStr | HistoryItem] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_ITEMS,
        description="Earlier questions in this conversation, oldest first; only the last few are used. Never stored.",
    )


class HelplineOut(BaseModel):
    name: str
    number: str
    for_: str = Field(alias="for")


class NoticeOut(BaseModel):
    kind: str = Field(description="emergency | child_safety | crisis | partial | signpost | jurisdiction | info")
    text: str
    items: list[HelplineOut]
    source: str = Field(description="triage: raised by safety triage for this message; fixed: carried by every answer of this status")


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    doc: str
    doc_title: str
    section: str
    subsection: str
    anchor: str
    text: str


class AnswerOut(BaseModel):
    status: str = Field(description="answered | not_covered | invalid_question | error")
    answer: str = Field(description="The answer; each statement ends with [n] marks that refer to citations.")
    citations: list[CitationOut]
    notices: list[NoticeOut] = Field(description="Show these first; emergency notices above the answer.")
    disclaimer: str
    reason: str
    related: list[dict]
    composer: str
    timings_ms: dict[str, float]


# --- small parts ----------------------------------------------------------------


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


def client_key(address: str) -> str:
    """The rate-limit key of a client address: IPv4 as is, IPv6 by its /64 network
    (one household or phone gets a whole /64 and can rotate inside it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class RateLimiter:
    """A moving window per client (the `limits` library), shared by the chat page, the
    widget and the API. In memory, so per process: replicas need a shared store
    (limits supports Redis and Memcached; see README)."""

    def __init__(self, per_minute: int):
        from limits import RateLimitItemPerMinute
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str) -> float:
        """0 if allowed (and counted), else seconds until the next request is allowed."""
        key = client_key(client)
        if self._limiter.hit(self.item, key):
            return 0.0
        reset = self._limiter.get_window_stats(self.item, key).reset_time
        return max(1.0, reset - time.time())


class Metrics:
    """Prometheus text by hand (prometheus_client is not a dependency). Never any question text."""

    def __init__(self):
        self._lock = threading.Lock()
        self.answers: dict[tuple[str, str], int] = {}
        self.api_codes: dict[int, int] = {}
        self.buckets = [0] * len(LATENCY_BUCKETS)
        self.count, self.total = 0, 0.0

    def observe(self, surface: str, status: str, seconds: float) -> None:
        with self._lock:
            self.answers[(surface, status)] = self.answers.get((surface, status), 0) + 1
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    self.buckets[i] += 1
            self.count += 1
            self.total += seconds

    def api_response(self, code: int) -> None:
        with self._lock:
            self.api_codes[code] = self.api_codes.get(code, 0) + 1

    def render(self, index_ready: bool) -> str:
        with self._lock:
            lines = [
                "# HELP signpost_answers_total Answers given, by surface (api, ui) and status.",
                "# TYPE signpost_answers_total counter",
                *(f'signpost_answers_total{{surface="{s}",status="{st}"}} {n}' for (s, st), n in sorted(self.answers.items())),
                "# HELP signpost_api_responses_total Responses from /api/ask, by HTTP status code.",
                "# TYPE signpost_api_responses_total counter",
                *(f'signpost_api_responses_total{{code="{c}"}} {n}' for c, n in sorted(self.api_codes.items())),
                "# HELP signpost_answer_seconds Time to answer one question.",
                "# TYPE signpost_answer_seconds histogram",
                *(f'signpost_answer_seconds_bucket{{le="{b}"}} {n}' for b, n in zip(LATENCY_BUCKETS, self.buckets, strict=True)),
                f'signpost_answer_seconds_bucket{{le="+Inf"}} {self.count}',
                f"signpost_answer_seconds_sum {self.total:.6f}",
                f"signpost_answer_seconds_count {self.count}",
                "# HELP signpost_index_ready 1 if the guidance index is loaded.",
                "# TYPE signpost_index_ready gauge",
                f"signpost_index_ready {int(index_ready)}",
            ]
        return "\n".join(lines) + "\n"


def http_status(answer: Answer) -> int:
    if answer.status is Status.INVALID_QUESTION:
        return 400
    if answer.status is Status.ERROR:
        return 503 if answer.reason in ("unavailable", "busy") else 500
    return 200


class Answerer:
    """Owns the pipeline for the web app: built at start, counts answers and in-flight work.

    The pipeline is built at start-up without the index, so a missing or mismatched
    safety model stops the server at once, and triage answers even while the index
    or the Chroma server is down (those questions get status error, with their notices).
    """

    def __init__(self, services, settings: Settings, metrics: Metrics):
        self.services, self.settings, self.metrics = services, settings, metrics
        self._lock = threading.Lock()
        self._in_flight = 0
        self.pipeline = services.pipeline

    def load(self) -> bool:
        """Open the index and warm the composer (once), so the first question is fast."""
        if self.services.index_ready:
            return True
        try:
            self.pipeline.warm()
        except SignpostError:
            return False
        return True

    @property
    def index_ready(self) -> bool:
        return self.services.index_ready

    def manifest(self):
        """The loaded index's manifest, or None if it cannot be reached."""
        if not self.load():
            return None
        try:
            return self.services.retriever.manifest
        except SignpostError as err:
            log.error("index unavailable: %s", err)
            return None

    def answer(self, question: Any, history: list, surface: str) -> Answer:
        started = time.perf_counter()
        result = self.pipeline.ask(question, history)
        self.metrics.observe(surface, result.status.value, time.perf_counter() - started)
        return result

    def enter(self) -> bool:
        with self._lock:
            if self._in_flight >= self.settings.concurrency + self.settings.queue_size:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


# --- security middleware ----------------------------------------------------------

_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])")
_STRIPPED = (b"content-security-policy", b"x-frame-options", b"cache-control", b"referrer-policy", b"x-content-type-options", b"set-cookie")


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
        self._streams: dict[str, int] = {}  # client key -> open event streams
        self._streams_lock = threading.Lock()
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
        if scope["method"] == "GET" and gradio_mount(scope.get("path", ""))[1].startswith("/gradio_api/queue/data"):
            # Each open event stream holds a server task: a client gets a few at once.
            stream_key = client_key(_client(scope))
            with self._streams_lock:
                if self._streams.get(stream_key, 0) >= MAX_STREAMS_PER_CLIENT:
                    stream_key = None
                    body = Answer.fixed(Status.ERROR, messages.BUSY, "too_many_streams").to_dict()
                    return await self._json(scope, send, 429, body, ["'self'"], [(b"retry-after", b"5")])
                self._streams[stream_key] = self._streams.get(stream_key, 0) + 1
        try:
            await self._guarded(scope, receive, send)
        finally:
            if stream_key is not None:
                with self._streams_lock:
                    self._streams[stream_key] -= 1
                    if not self._streams[stream_key]:
                        del self._streams[stream_key]

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

        if scope["method"] == "GET" and rel.startswith("/gradio_api/queue/data"):
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
            if rel.startswith("/gradio_api/queue/join") and not self.events[mount].allows(body):
                # A fixed message that echoes nothing of the request.
                return await self._json(scope, send, 400, {"error": messages.BAD_EVENT}, ancestors)
            receive = _replay(body)
        # Only well-formed questions count against the limit: the checks above are cheap.
        if scope["method"] == "POST" and (is_api or rel.startswith("/gradio_api/queue/join")):
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
                page = _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', b"".join(state["chunks"]))
                # vite's preload helper copies the nonce from this meta tag onto the scripts it adds
                inject = b'<meta property="csp-nonce" nonce="' + nonce.encode() + b'">' + self.exit_tag.replace("__NONCE__", nonce).encode()
                marker = b'<meta charset="utf-8" />'
                page = page.replace(marker, marker + inject, 1) if marker in page else page.replace(b"<head>", b"<head>" + inject, 1)
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


# --- the app -----------------------------------------------------------------------


def create_app(settings: Settings, services=None):
    """Build the FastAPI app. Loads the model and index now (once), unless they are missing."""
    apply_offline_env()  # before gradio is imported: analytics and telemetry read the env
    import anyio
    import gradio as gr
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse

    from app import ui
    from app.services import Services
    from app.signposts import Signposts

    ancestors = frame_ancestors(settings.embed_origins)
    exit_url = check_exit_url(settings.exit_url)
    signposts = Signposts.load(settings.signposts_file)
    services = services or Services(settings)
    metrics = Metrics()
    answerer = Answerer(services, settings, metrics)
    answerer.load()
    manifest = answerer.manifest()
    suggestions = [q for _, q in manifest.questions()] if manifest else []

    app = FastAPI(
        title="Signpost API",
        summary="Cited answers from UK stalking and harassment guidance. Not legal advice.",
        version="1",
        docs_url=None,  # the docs pages load scripts from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.answerer = answerer
    limiter = anyio.CapacityLimiter(settings.concurrency)

    @app.exception_handler(RequestValidationError)
    async def schema_error(request: Request, exc: RequestValidationError):
        # FastAPI's default echoes the input back ("input": ...); say only where and what kind.
        known = {"body", "question", "history"}
        detail = [
            {"loc": [p for p in e.get("loc", ()) if isinstance(p, int) or p in known], "type": e.get("type", "invalid")}
            for e in exc.errors()
        ]
        body = Answer.fixed(Status.INVALID_QUESTION, messages.SCHEMA_ERROR, "schema").to_dict()
        return JSONResponse({**body, "detail": detail}, status_code=422)

    responses = {
        200: {"model": AnswerOut, "description": "Answered, or the guidance does not cover the question (status answered / not_covered)."},
        400: {"model": AnswerOut, "description": "The question is empty or too long (status invalid_question)."},
        413: {"model": AnswerOut, "description": f"The request body is over {MAX_BODY_BYTES} bytes."},
        422: {"description": "The body is not JSON of the documented shape. The input is never echoed back."},
        429: {"model": AnswerOut, "description": "Too many questions from this address; see the Retry-After header."},
        500: {"model": AnswerOut, "description": "Something went wrong on our side."},
        503: {"model": AnswerOut, "description": "The guidance index is unavailable, or Signpost is too busy."},
    }

    @app.post("/api/ask", responses=responses, response_class=JSONResponse, summary="Ask a question")
    async def api_ask(body: AskRequest):
        """Answer one question with numbered citations, notices and the disclaimer (Answer JSON)."""
        history = [h if isinstance(h, str) else h.question for h in body.history]
        if not answerer.enter():
            result = Answer.fixed(Status.ERROR, messages.BUSY, "busy")
        else:
            try:
                result = await anyio.to_thread.run_sync(answerer.answer, body.question, history, "api", limiter=limiter)
            finally:
                answerer.leave()
        return JSONResponse(result.to_dict(), status_code=http_status(result))

    @app.get("/healthz", summary="Is the index loaded?", responses={503: {"description": "The index is not loaded."}})
    def healthz():
        found = answerer.manifest()
        if found is None:
            return JSONResponse({"status": "unavailable", "chunks": 0, "model": ""}, status_code=503)
        return {"status": "ok", "chunks": found.chunk_count, "model": found.embedding_model}

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
    def metrics_text():
        return PlainTextResponse(metrics.render(answerer.index_ready), media_type="text/plain; version=0.0.4")

    @app.get("/signpost-static/quick_exit.js", include_in_schema=False)
    def quick_exit_js():
        return FileResponse(STATIC_DIR / "quick_exit.js", media_type="text/javascript")

    @app.get("/widget", include_in_schema=False)
    def widget_redirect():
        return RedirectResponse("/widget/", status_code=307)

    def ui_answer(question: str, history: list[str]) -> Answer:
        return answerer.answer(question, history, "ui")

    blocks = dict(
        ask=ui_answer,
        signposts=signposts,
        suggestions=suggestions,
        max_chars=settings.max_question_chars,
        queue_size=settings.queue_size,
        concurrency=settings.concurrency,
    )
    mount = dict(
        footer_links=[],
        run_history=False,  # else every question and answer goes to localStorage
        enable_monitoring=False,  # None still leaves /monitoring open
        mcp_server=False,
        pwa=False,
        ssr_mode=False,
        show_error=False,
        max_file_size=1,
        theme=ui.make_theme(),
        css=ui.CSS,
    )
    widget_blocks, page_blocks = ui.build_blocks(compact=True, **blocks), ui.build_blocks(compact=False, **blocks)
    gr.mount_gradio_app(app, widget_blocks, path="/widget", **mount)
    gr.mount_gradio_app(app, page_blocks, path="/", **mount)
    events = {"/widget": EventTable(widget_blocks, MAX_BODY_BYTES), "/": EventTable(page_blocks, MAX_BODY_BYTES)}
    app.state.blocks = {"/widget": widget_blocks, "/": page_blocks}
    app.add_middleware(
        SecurityMiddleware,
        widget_ancestors=ancestors,
        exit_url=exit_url,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        metrics=metrics,
        max_chars=settings.max_question_chars,
        events=events,
    )
    return app


# --- serving -----------------------------------------------------------------------


class AccessFormatter(logging.Formatter):
    """uvicorn access lines as `METHOD /path STATUS`: no query string, no client address."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            _client_addr, method, full_path, _version, status = record.args
            path = str(full_path).split("?", 1)[0]
            record.msg, record.args = "%s %s %s", (method, path, status)
        except (TypeError, ValueError):
            pass
        return super().format(record)


LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"format": "%(levelname)s %(name)s: %(message)s"},
        "access": {"()": AccessFormatter, "format": "%(levelname)s access: %(message)s"},
    },
    "handlers": {
        "default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "signpost": {"handlers": ["default"], "level": "INFO", "propagate": False},
    },
}


def serve(settings: Settings) -> None:
    """Run the web app with uvicorn in this process."""
    import logging.config

    import uvicorn

    logging.config.dictConfig(LOG_CONFIG)
    app = create_app(settings)
    print(f"Signpost: http://{settings.host}:{settings.port}/  (widget /widget/, API /api/ask)", flush=True)
    # X-Forwarded-For is believed only from SIGNPOST_TRUSTED_PROXIES (default: nobody), else
    # any client could pick its own rate-limit key.
    trusted = settings.trusted_proxies.strip()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=LOG_CONFIG,
        server_header=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )
