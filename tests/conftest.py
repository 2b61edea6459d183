"""Shared fixtures: isolation, a network guard, the real model, a real index."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.offline import apply_offline_env

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = ROOT / "tests" / "fixtures" / "stalking-and-harassment-guidance.txt"  # vendored copy of the supplied seed

apply_offline_env()


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already be a lookup


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any test that opens a non-loopback connection from this process."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real):
        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
                raise NetworkBlocked(f"test tried to connect to {address!r}")
            return real(sock, address)

        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    yield


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own SIGNPOST_HOME and no SIGNPOST_* from the caller."""
    for key in list(os.environ):
        if key.startswith("SIGNPOST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SIGNPOST_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture(scope="session")
def embedder():
    from index import Embedder

    model = Embedder()
    model.embed_one("warm up")
    return model


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embedder):
    """The shipped corpus ingested once into a session-wide embedded Chroma."""
    from index import ChunkStore, IndexBuilder

    home = tmp_path_factory.mktemp("corpus-index")
    store = ChunkStore(home)
    IndexBuilder(store, embedder).ingest([CORPUS])
    return home


@pytest.fixture(scope="session")
def retriever(corpus_index, embedder):
    """Search as production wires it: hybrid, with the committed section prior and lay terms."""
    from index import ChunkStore, HybridRetriever
    from index.lay_terms import LayTerms
    from index.section_prior import PRIOR_FILE, SectionPrior

    return HybridRetriever(ChunkStore(corpus_index), embedder, prior=SectionPrior.load(PRIOR_FILE, embedder.model_id), lay_terms=LayTerms.load()).load()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None, cafile: Path | None = None) -> None:
    import ssl
    import urllib.request

    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context):
                return
        except Exception:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on loopback, for the scaled-out path."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if exe is None:
        pytest.fail("the `chroma` command (from the chromadb package) is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with open(data / "server.log", "wb") as log:
        proc = subprocess.Popen([exe, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{url}/api/v2/heartbeat", proc=proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def chroma_auth_server(tmp_path_factory):
    """A real Chroma server with Chroma's token authentication, over https.

    `chroma run` (chromadb 1.x, Rust) has no authentication, so this is Chroma's own
    Python server (`uvicorn chromadb.app:app`, the same package) with its
    TokenAuthenticationServerProvider, behind a self-signed certificate made with
    openssl. Yields (url, token, ca_file)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to make the test certificate (apt-get install openssl)")
    data = tmp_path_factory.mktemp("chroma-auth")
    cert, key = data / "cert.pem", data / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    token, port = "test-token-" + os.urandom(8).hex(), free_port()
    env = {
        **os.environ,
        "ANONYMIZED_TELEMETRY": "False",
        "IS_PERSISTENT": "1",
        "PERSIST_DIRECTORY": str(data / "db"),
        "CHROMA_SERVER_AUTHN_PROVIDER": "chromadb.auth.token_authn.TokenAuthenticationServerProvider",
        "CHROMA_SERVER_AUTHN_CREDENTIALS": token,
    }
    command = [sys.executable, "-m", "uvicorn", "chromadb.app:app", "--host", "127.0.0.1", "--port", str(port), "--ssl-keyfile", str(key), "--ssl-certfile", str(cert)]
    with open(data / "server.log", "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=data)
        url = f"https://127.0.0.1:{port}"
        try:
            wait_for_http(f"{url}/api/v2/heartbeat", proc=proc, cafile=cert)
            yield url, token, cert
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `signpost` command in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=os.getcwd(),
    )


@pytest.fixture(scope="session")
def services(corpus_index, embedder):
    """Production wiring over the session index, sharing the loaded model."""
    from app.services import Services
    from app.settings import Settings

    bundle = Services(Settings(home=corpus_index))
    bundle.embedder = embedder  # cached_property: reuse the already-loaded model
    return bundle


@pytest.fixture(scope="session")
def pipeline(services):
    built = services.pipeline
    built.warm()
    return built
