"""Prometheus metrics (prometheus_client, one registry per app). Never any question text:
only surfaces, statuses, HTTP codes and times."""

from __future__ import annotations

import prometheus_client
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

prometheus_client.disable_created_metrics()  # no *_created series: they only add noise here

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self._answers = Counter("signpost_answers", "Answers given, by surface (api, ui) and status.", ["surface", "status"], registry=self.registry)
        self._api = Counter("signpost_api_responses", "Responses from /api/ask, by HTTP status code.", ["code"], registry=self.registry)
        self._seconds = Histogram("signpost_answer_seconds", "Time to answer one question.", buckets=LATENCY_BUCKETS, registry=self.registry)
        self._ready = Gauge("signpost_index_ready", "1 if the guidance index is loaded.", registry=self.registry)

    def observe(self, surface: str, status: str, seconds: float) -> None:
        self._answers.labels(surface=surface, status=status).inc()
        self._seconds.observe(seconds)

    def api_response(self, code: int) -> None:
        self._api.labels(code=str(code)).inc()

    def render(self, index_ready: bool) -> bytes:
        self._ready.set(int(index_ready))
        return generate_latest(self.registry)
