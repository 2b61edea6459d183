"""The web app: chat UI at /, compact widget at /widget/, JSON API at /api/ask.

One FastAPI app (application.py). Two Gradio Blocks are mounted on it (the widget
first: Starlette matches mounts in order and "/" matches everything). A pure-ASGI
middleware in front of everything (security.py) lets through only the routes on the
allow-list (allowlist.py), checks every Gradio event against the page's own event
table, caps every POST body, applies the per-client limits (limits.py), adds the
security headers (CSP with a per-response nonce), and turns any unexpected exception
into a generic response, so neither the client nor the log ever sees a question. The
API and its one answer model are in api.py, Prometheus metrics in metrics.py, and
uvicorn with its question-free access log in server.py.
"""

from app.web.application import create_app
from app.web.server import serve

__all__ = ["create_app", "serve"]
