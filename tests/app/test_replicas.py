"""Two app replicas on one real `chroma run` server (P9): a re-ingest made with one
replica's settings is served by the other within 2 s, and no answer from either ever
mixes two generations."""

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.app.test_web_api import Server, _env
from tests.conftest import CORPUS

QUESTION = "Which colour code word goes in a harassment diary?"
NOTE = "## Harassment diary codes\n\nWhen you keep a harassment diary, mark each entry with the colour code word {code}.\n"
NOTE_TWO = "## Diary colour codes\n\nThe colour code word for a harassment diary entry is {code}.\n"
CODES = ("amber", "violet")


def _write(corpus, code: str) -> None:
    (corpus / "notes.md").write_text("---\nid: notes\ntitle: Notes\n---\n\n" + NOTE.format(code=code))
    (corpus / "notes-two.md").write_text("---\nid: notes-two\ntitle: Notes two\n---\n\n" + NOTE_TWO.format(code=code))


def _codes_seen(url: str) -> set[str]:
    """The code words in every passage an answer shows (cited or 'may be related')."""
    request = urllib.request.Request(url + "/api/ask", data=json.dumps({"question": QUESTION}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    texts = [c["text"] for c in body["citations"]] + [r["text"] for r in body["related"]]
    return {code for code in CODES if any(code in t for t in texts)}


@pytest.mark.server
def test_two_replicas_serve_a_reingest_within_2s_and_never_a_half_built_generation(chroma_server, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "stalking-and-harassment-guidance.md", corpus)
    _write(corpus, "amber")
    many = {"SIGNPOST_CHROMA_URL": chroma_server, "SIGNPOST_RATE_LIMIT_PER_MINUTE": "100000"}  # the askers never pause
    env_a = _env(tmp_path / "home-a", **many)
    env_b = _env(tmp_path / "home-b", **many)
    ingest = [sys.executable, "-m", "app.cli", "ingest", "--quiet", str(corpus)]
    done = subprocess.run(ingest, env=env_a, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    replicas = {"a": Server(tmp_path, "a", env_a), "b": Server(tmp_path, "b", env_b)}
    try:
        for server in replicas.values():
            server.wait("/healthz")
        assert _codes_seen(replicas["b"].url) == {"amber"}

        seen: list[tuple[float, str, set[str]]] = []  # (asked at, replica, codes)
        stop = threading.Event()

        def ask_forever(name: str) -> None:
            while not stop.is_set():
                asked = time.monotonic()
                try:
                    seen.append((asked, name, _codes_seen(replicas[name].url)))
                except OSError as err:  # an HTTP error is a failure too, not a silent stop
                    seen.append((asked, name, {f"error: {err}"}))

        askers = [threading.Thread(target=ask_forever, args=(name,), daemon=True) for name in replicas]
        for t in askers:
            t.start()
        _write(corpus, "violet")  # both documents change in one re-ingest
        done = subprocess.run(ingest, env=env_a, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
        finished = time.monotonic()
        assert done.returncode == 0, done.stderr
        deadline = finished + 15
        while time.monotonic() < deadline and not any(name == "b" and codes == {"violet"} and asked >= finished for asked, name, codes in seen):
            time.sleep(0.1)
        time.sleep(1)
        stop.set()
        for t in askers:
            t.join(timeout=70)
    finally:
        for server in replicas.values():
            server.stop()

    errors = sorted({c for _, _, codes in seen for c in codes if c.startswith("error")})
    assert not errors, errors
    mixed = [(round(asked - finished, 2), name) for asked, name, codes in seen if len(codes) > 1]
    assert not mixed, f"answers mixing two generations: {mixed}"
    assert all(codes for _, _, codes in seen), "an answer showed neither version of the notes"
    first_new_b = min((asked for asked, name, codes in seen if name == "b" and codes == {"violet"}), default=None)
    assert first_new_b is not None, f"replica b never served the re-ingested notes: {[(round(a - finished, 1), n, sorted(c)) for a, n, c in seen][-8:]}"
    assert first_new_b - finished <= 2.0, f"replica b served the new generation {first_new_b - finished:.1f} s after the ingest ended"
    late_old = [round(asked - finished, 2) for asked, name, codes in seen if codes == {"amber"} and asked > finished + 2.0]
    assert not late_old, f"old generation served more than 2 s after the ingest: {late_old}"
