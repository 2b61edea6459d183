"""The routes that exist, and the Gradio events each mounted page really has."""

from __future__ import annotations

import json

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
EVENT_STREAM = "/gradio_api/queue/data"
EVENT_JOIN = "/gradio_api/queue/join"


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
