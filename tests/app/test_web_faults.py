"""A fault inside the pipeline: 500 with a generic message, never the question."""

import logging

from fastapi.testclient import TestClient

from app import messages
from app.pipeline import Pipeline, Stage
from app.services import Services
from app.settings import Settings
from app.web import create_app

SENTINEL = "SENTINEL-500-c41d"


class Explodes(Stage):
    name = "explodes"

    def run(self, ctx):
        raise RuntimeError(f"bad state while handling {ctx.raw_question}")  # quotes the input


def test_internal_fault_is_500_generic_and_never_echoes_or_logs_the_question(services, pipeline, caplog):
    broken = Services(Settings(home=services.settings.home))
    broken.embedder, broken.retriever = services.embedder, services.retriever
    broken.pipeline = Pipeline([pipeline.stages[0], Explodes()], pipeline.signposts)
    app = create_app(broken.settings, broken)
    caplog.set_level(logging.DEBUG)
    with TestClient(app) as client:
        response = client.post("/api/ask", json={"question": f"Can I get an injunction? {SENTINEL}"})
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "error" and body["reason"] == "internal"
    assert body["answer"] == messages.ERROR
    assert body["notices"][0]["text"] == messages.DANGER_LINE
    assert body["disclaimer"] == messages.DISCLAIMER
    assert SENTINEL not in response.text
    assert "pipeline fault: RuntimeError" in caplog.text
    assert SENTINEL not in caplog.text


def test_a_fault_in_the_security_layer_is_500_generic_and_quiet(services, caplog, monkeypatch):
    from app.web import limits

    def broken_check(self, client):
        raise RuntimeError(f"limiter broke for {SENTINEL}")

    monkeypatch.setattr(limits.RateLimiter, "check", broken_check)
    app = create_app(services.settings, services)
    caplog.set_level(logging.DEBUG)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/ask", json={"question": f"Can I get an injunction? {SENTINEL}"})
    assert response.status_code == 500 and response.json()["answer"] == messages.ERROR
    assert SENTINEL not in response.text and SENTINEL not in caplog.text
    assert "unhandled RuntimeError in the security layer on /api/ask" in caplog.text


def test_a_client_gets_a_few_event_streams_at_once_not_more():
    """The security layer in front of a slow app that holds each event stream open."""
    import asyncio

    import httpx

    from app.web.allowlist import EventTable
    from app.web.limits import MAX_STREAMS_PER_CLIENT, RateLimiter
    from app.web.metrics import Metrics
    from app.web.security import SecurityMiddleware

    release = asyncio.Event()

    async def slow_app(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b"data: {}\n\n"})

    class NoBlocks:
        fns: dict = {}

    events = {"/": EventTable(NoBlocks(), 100), "/widget": EventTable(NoBlocks(), 100)}
    layer = SecurityMiddleware(slow_app, ["'self'"], "https://www.bbc.co.uk/weather", RateLimiter(100), Metrics(), 1000, events)

    async def run():
        transport = httpx.ASGITransport(app=layer, client=("198.51.100.7", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            held = [asyncio.create_task(client.get("/gradio_api/queue/data", params={"session_hash": f"s{n}"})) for n in range(MAX_STREAMS_PER_CLIENT)]
            await asyncio.sleep(0.2)
            refused = await client.get("/widget/gradio_api/queue/data", params={"session_hash": "extra"})
            release.set()
            done = await asyncio.gather(*held)
            again = await client.get("/gradio_api/queue/data", params={"session_hash": "later"})
        return refused, done, again

    refused, done, again = asyncio.run(run())
    assert refused.status_code == 429 and refused.json()["reason"] == "too_many_streams"
    assert [r.status_code for r in done] == [200] * MAX_STREAMS_PER_CLIENT
    assert again.status_code == 200  # streams that ended are counted off
