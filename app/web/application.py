"""create_app: the FastAPI app with the API, the two mounted Gradio pages and the security layer."""

from __future__ import annotations

from pathlib import Path

from app.answer import Answer
from app.offline import apply_offline_env
from app.settings import Settings
from app.web.allowlist import EventTable
from app.web.api import Answerer, add_api_routes
from app.web.limits import RateLimiter
from app.web.metrics import Metrics
from app.web.security import MAX_BODY_BYTES, SecurityMiddleware, check_exit_url, frame_ancestors

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(settings: Settings, services=None):
    """Build the FastAPI app. Loads the model and index now (once), unless they are missing."""
    apply_offline_env()  # before gradio is imported: analytics and telemetry read the env
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, RedirectResponse

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
    add_api_routes(app, answerer, metrics, settings.concurrency)

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
