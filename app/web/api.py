"""The JSON API (/api/ask, /healthz, /metrics) and the Answerer that owns the pipeline."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import anyio
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from app import messages
from app.answer import Answer, AnswerOut, Status
from app.settings import Settings
from app.web.metrics import CONTENT_TYPE, Metrics
from app.web.security import MAX_BODY_BYTES
from ingest.errors import SignpostError

log = logging.getLogger("signpost.web")

MAX_HISTORY_ITEMS = 20


class HistoryItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: StrictStr


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: StrictStr = Field(
        description="The question, in plain words. An empty question, one with no letters or digits, or one over the length limit gets 400 (status invalid_question); one over the limit is still read for danger, and the body carries its safety notices.",
    )
    history: list[StrictStr | HistoryItem] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_ITEMS,
        description="Earlier questions in this conversation, oldest first; only the last few are used. Never stored.",
    )


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
        """Load the model and open the index (once), so the first question is fast."""
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


RESPONSES = {
    200: {"model": AnswerOut, "description": "Answered, or the guidance does not cover the question (status answered / not_covered)."},
    400: {"model": AnswerOut, "description": "The question is empty or too long (status invalid_question)."},
    413: {"model": AnswerOut, "description": f"The request body is over {MAX_BODY_BYTES} bytes."},
    422: {"description": "The body is not JSON of the documented shape. The input is never echoed back."},
    429: {"model": AnswerOut, "description": "Too many questions from this address; see the Retry-After header."},
    500: {"model": AnswerOut, "description": "Something went wrong on our side."},
    503: {"model": AnswerOut, "description": "The guidance index is unavailable, or Signpost is too busy."},
}


def add_api_routes(app, answerer: Answerer, metrics: Metrics, concurrency: int) -> None:
    limiter = anyio.CapacityLimiter(concurrency)

    @app.exception_handler(RequestValidationError)
    async def schema_error(request: Request, exc: RequestValidationError):
        # FastAPI's default echoes the input back ("input": ...); say only where and what kind.
        known = {"body", "question", "history"}
        detail = [{"loc": [p for p in e.get("loc", ()) if isinstance(p, int) or p in known], "type": e.get("type", "invalid")} for e in exc.errors()]
        body = Answer.fixed(Status.INVALID_QUESTION, messages.SCHEMA_ERROR, "schema").to_dict()
        return JSONResponse({**body, "detail": detail}, status_code=422)

    @app.post("/api/ask", response_model=AnswerOut, responses=RESPONSES, summary="Ask a question")
    async def api_ask(body: AskRequest, response: Response) -> AnswerOut:
        """Answer one question with numbered citations, notices and the disclaimer (Answer JSON)."""
        history = [h if isinstance(h, str) else h.question for h in body.history]
        if not answerer.enter():
            result = Answer.fixed(Status.ERROR, messages.BUSY, "busy")
        else:
            try:
                result = await anyio.to_thread.run_sync(answerer.answer, body.question, history, "api", limiter=limiter)
            finally:
                answerer.leave()
        response.status_code = http_status(result)
        return AnswerOut.of(result)

    @app.get("/healthz", summary="Is the index loaded?", responses={503: {"description": "The index is not loaded."}})
    def healthz():
        found = answerer.manifest()
        if found is None:
            return JSONResponse({"status": "unavailable", "chunks": 0, "model": ""}, status_code=503)
        return {"status": "ok", "chunks": found.chunk_count, "model": found.embedding_model}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics_text():
        return Response(metrics.render(answerer.index_ready), media_type=CONTENT_TYPE)
