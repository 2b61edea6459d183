"""Web servers and Debian chromium for the browser tests.

Three loopback origins (distinct ports are distinct origins):
  app      the Signpost app (create_app over the session index and model)
  partner  an embedder page whose origin is allow-listed in SIGNPOST_EMBED_ORIGINS
  other    an embedder page that is not allow-listed; it also serves /neutral, the exit URL
"""

from __future__ import annotations

import html
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import free_port

HERE = Path(__file__).parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The README's embed snippet uses exactly this sandbox.
EMBED_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-top-navigation"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _serve(app, port: int):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    return server


def _embedder_site(app_origin: str):
    """A partner's page: /embed frames the widget; /neutral stands for the exit site."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, Response

    site = FastAPI()

    @site.get("/embed", response_class=HTMLResponse)
    def embed(path: str = "/widget/", sandbox: str = EMBED_SANDBOX):
        # The page focuses the frame from its own script, so key presses reach the
        # widget without Playwright giving the frame user activation.
        return (
            '<!doctype html><html lang="en"><head><title>Partner</title></head><body><h1>Partner site</h1>'
            f'<iframe id="w" title="Signpost" src="{app_origin}{html.escape(path)}" sandbox="{html.escape(sandbox)}"'
            ' style="width:640px;height:600px;border:0"></iframe>'
            '<script>const f=document.getElementById("w");'
            'f.addEventListener("load",()=>{f.contentWindow.focus();document.body.dataset.ready="1";});</script>'
            "</body></html>"
        )

    @site.get("/neutral", response_class=HTMLResponse)
    def neutral():
        return '<!doctype html><html lang="en"><head><title>Weather</title></head><body>neutral</body></html>'

    @site.get("/favicon.ico")
    def favicon():
        return Response(status_code=204)

    return site


@pytest.fixture(scope="session")
def web(services):
    from app.settings import Settings
    from app.web import create_app

    app_port, partner_port, other_port = free_port(), free_port(), free_port()
    origins = {name: f"http://127.0.0.1:{port}" for name, port in (("app", app_port), ("partner", partner_port), ("other", other_port))}
    exit_url = f"{origins['other']}/neutral"
    settings = Settings(home=services.settings.home, embed_origins=f"'self' {origins['partner']}", exit_url=exit_url)
    servers = [
        _serve(create_app(settings, services=services), app_port),
        _serve(_embedder_site(origins["app"]), partner_port),
        _serve(_embedder_site(origins["app"]), other_port),
    ]
    yield {**origins, "exit": exit_url}
    for server in servers:
        server.should_exit = True


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run `make browser-deps`")
    with sync_playwright() as p:
        # launch() starts chromium on a fresh, empty --user-data-dir of its own (deleted on close),
        # and every test then gets a new incognito-like context on top of it.
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Recorder:
    """Every request, console message and page error of one browser context."""

    def __init__(self, context):
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []
        context.on("request", lambda r: self.requests.append(r.url))
        context.on("console", lambda m: self.console.append((m.type, m.text)))
        context.on("weberror", lambda e: self.console.append(("pageerror", str(e.error))))

    def non_loopback(self) -> list[str]:
        return [u for u in self.requests if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).hostname not in LOOPBACK]

    def errors(self) -> list[str]:
        return [t for kind, t in self.console if kind in ("error", "pageerror")]


@pytest.fixture
def context(browser):
    """A fresh browser context per test, recording what the page does."""
    ctx = browser.new_context()
    ctx.recorder = Recorder(ctx)
    yield ctx
    ctx.close()
