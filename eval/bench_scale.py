"""Scale benchmark: prints numbers and ratios measured in one run; asserts nothing.

    python -m eval.bench_scale --chunks 100000      (make bench-scale N=100000)

Steps, each against a baseline measured in the same run:
1. a deterministic synthetic corpus of N chunks (documents of 50 paragraphs of real
   English words taken from the guidance), written to a scratch folder;
2. ingest chunks/s, against the raw encoder on the same chunk texts (the faster of a
   run before and a run after the ingest);
3. changing one document in the N-chunk index (incremental re-ingest time; with
   `--only reingest`, the benchmark stops here and prints the time of each phase);
4. `signpost serve` time to ready (/healthz 200), against the same on the 31-chunk guidance;
5. answer p50 and p95 (server-side total), against one query embedding;
6. server RSS (resident and peak) after the answers;
7. HNSW recall@10 against exact search on 1,000 queries;
8. requests per second at 1 and 16 concurrent clients, with p95.
The numbers go to stdout as a table and to --json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eval.bench import percentile

ROOT = Path(__file__).resolve().parents[1]
GUIDANCE = ROOT / "corpus" / "stalking-and-harassment-guidance.md"
PARAGRAPHS_PER_DOC = 50
SECTION_EVERY = 5  # paragraphs under one heading
QUESTIONS = [
    "my ex keeps turning up at my work, what can I do",
    "he won't stop texting me, is that harassment?",
    "what happens after I report stalking to the police?",
    "can the court give me an order the same day",
    "where can I stay if I have to leave home quickly",
    "could I get a criminal record if I'm accused of harassment",
    "can a non-molestation order protect my children too",
    "does it count as harassment if it's my neighbour",
    "what is a stalking protection order",
    "how do I keep evidence of messages and calls",
]


def _words() -> list[str]:
    text = GUIDANCE.read_text(encoding="utf-8")
    return sorted(set(re.findall(r"[a-z]{3,}", text.lower())))


def _sentence(rng: random.Random, words: list[str]) -> str:
    n = rng.randint(8, 18)
    s = " ".join(rng.choice(words) for _ in range(n))
    return s[0].upper() + s[1:] + "."


def _paragraph(rng: random.Random, words: list[str]) -> str:
    return " ".join(_sentence(rng, words) for _ in range(rng.randint(3, 6)))


def write_corpus(folder: Path, chunks: int, seed: int = 7) -> list[Path]:
    """N chunks as documents of 50 paragraphs (one paragraph is one chunk)."""
    rng, words = random.Random(seed), _words()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in range(-(-chunks // PARAGRAPHS_PER_DOC)):
        count = min(PARAGRAPHS_PER_DOC, chunks - d * PARAGRAPHS_PER_DOC)
        lines = ["---", f"id: synthetic-{d:05d}", f"title: Synthetic guidance {d}", "jurisdiction: England and Wales", "---", ""]
        for p in range(count):
            if p % SECTION_EVERY == 0:
                lines += [f"## {' '.join(rng.choice(words) for _ in range(3)).capitalize()}", ""]
            lines += [_paragraph(rng, words), ""]
        path = folder / f"synthetic-{d:05d}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path) -> dict:
    # The load runs ask far more than a person would: lift the per-address limit.
    env = {
        **os.environ,
        "SIGNPOST_HOME": str(home),
        "SIGNPOST_RATE_LIMIT_PER_MINUTE": "1000000",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "ANONYMIZED_TELEMETRY": "False",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    env.pop("SIGNPOST_CHROMA_URL", None)
    return env


def _signpost(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=_env(home), cwd=ROOT, capture_output=True, text=True, check=True)


class Server:
    """`signpost serve` in a child process, timed from launch to /healthz 200."""

    def __init__(self, home: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        # The server logs a line per answer: to a file, never to a pipe nobody reads
        # (a full pipe blocks the server's logging, and with it every request).
        self.log = home.parent / f"serve-{home.name}.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)], env=_env(home), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"signpost serve exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - started > 900:
                raise RuntimeError("signpost serve was not ready in 15 minutes")
            time.sleep(0.1)
        self.ready_seconds = time.perf_counter() - started

    def ask(self, question: str) -> tuple[float, float]:
        """(server-side total ms, round trip ms)"""
        body = json.dumps({"question": question}).encode()
        req = urllib.request.Request(self.url + "/api/ask", data=body, headers={"Content-Type": "application/json"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as r:
            data = json.loads(r.read())
        return float(data["timings_ms"]["total_ms"]), (time.perf_counter() - t0) * 1000

    def rss_mb(self) -> tuple[float, float]:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        get = lambda key: int(re.search(rf"{key}:\s+(\d+)", status).group(1)) / 1024  # noqa: E731
        return get("VmRSS"), get("VmHWM")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _load(server: Server, clients: int, seconds: float) -> tuple[float, float]:
    """Requests per second and p95 round trip with `clients` asking back to back."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    def client(n: int) -> None:
        i = n
        while time.perf_counter() < deadline:
            latencies.append(server.ask(QUESTIONS[i % len(QUESTIONS)])[1])
            i += clients

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return len(latencies) / (time.perf_counter() - started), percentile(latencies, 0.95)


def _hnsw_recall(home: Path, queries: int, seed: int = 11) -> float:
    """Recall@10 of Chroma's HNSW against exact cosine search over every stored vector."""
    import numpy as np

    from app.services import Services
    from app.settings import load_settings

    os.environ["SIGNPOST_HOME"] = str(home)
    services = Services(load_settings())
    manifest = services.store.read_manifest()
    collection = services.store.client.get_collection(manifest.collection, embedding_function=None)
    ids, rows = [], []
    total = collection.count()
    for offset in range(0, total, 5000):
        got = collection.get(include=["embeddings"], limit=5000, offset=offset)
        ids += got["ids"]
        rows.append(np.asarray(got["embeddings"], dtype=np.float32))
    matrix = np.vstack(rows)
    rng, words = random.Random(seed), _words()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) for _ in range(queries)]
    vectors = services.embedder.embed(texts)
    hits = 0
    for vec in vectors:
        exact = {ids[i] for i in np.argpartition(-(matrix @ vec), 10)[:10]}
        found = set(collection.query(query_embeddings=[vec], n_results=10, include=[])["ids"][0])
        hits += len(exact & found)
    return hits / (10 * len(vectors))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench_scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=5000, help="synthetic corpus size in chunks (default 5000)")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one, removed after)")
    parser.add_argument("--encoder-sample", type=int, default=2000, help="chunk texts the raw-encoder baseline encodes (default 2000)")
    parser.add_argument("--recall-queries", type=int, default=1000)
    parser.add_argument("--load-seconds", type=float, default=20.0, help="length of each load run (default 20; 0 skips the load runs)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("--reingests", type=int, default=1, help="one-document re-ingests timed in a row (default 1; the median is reported)")
    parser.add_argument("--only", choices=["all", "reingest"], default="all", help="reingest: stop after the ingest and the re-ingests, and print each re-ingest's phases")
    args = parser.parse_args(argv)

    from app.offline import apply_offline_env

    apply_offline_env()
    work = args.work or Path(tempfile.mkdtemp(prefix="signpost-bench-"))
    out: dict = {"chunks": args.chunks, "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count()}
    try:
        print(f"writing a synthetic corpus of {args.chunks} chunks in {work} ...", flush=True)
        corpus = work / "corpus"
        shutil.rmtree(corpus, ignore_errors=True)
        paths = write_corpus(corpus, args.chunks)

        from index.embedder import Embedder
        from ingest import chunk_document, load_document

        sample = [c.embed_text for p in paths[: -(-args.encoder_sample // PARAGRAPHS_PER_DOC)] for c in chunk_document(load_document(p))][: args.encoder_sample]
        embedder = Embedder()
        embedder.embed(sample[:64])  # load the model
        # The re-ingest alone needs no encoder baseline (and it costs minutes).
        baseline = args.only == "all"
        if baseline:
            out["encoder_chunks_per_s"] = _encoder_rate(embedder, sample)
            print(f"raw encoder: {out['encoder_chunks_per_s']:.1f} chunks/s on {len(sample)} chunk texts (measured again after the ingest)", flush=True)

        home, small = work / "home", work / "home-guidance"
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(small, ignore_errors=True)
        from index import ChunkStore, IndexBuilder

        builder = IndexBuilder(ChunkStore(home), embedder)  # the same warm model as the baseline
        print("ingesting ...", flush=True)
        t0 = time.perf_counter()
        report = builder.ingest([corpus], progress=sys.stderr.isatty())
        out["ingest_seconds"] = time.perf_counter() - t0
        out["ingest_stages_s"] = {k: round(v, 1) for k, v in report.seconds.items()}
        out["ingest_chunks_per_s"] = args.chunks / out["ingest_seconds"]
        if baseline:
            # The encoder again, after: a baseline taken at a quieter moment than the ingest
            # would flatter it, so the faster of the two runs is the baseline.
            out["encoder_chunks_per_s"] = max(out["encoder_chunks_per_s"], _encoder_rate(embedder, sample))
            out["ingest_ratio"] = out["ingest_chunks_per_s"] / out["encoder_chunks_per_s"]
            print(f"ingest: {out['ingest_seconds']:.1f} s = {out['ingest_chunks_per_s']:.1f} chunks/s ({out['ingest_ratio']:.2f}x the raw encoder); stages {out['ingest_stages_s']}", flush=True)
        else:
            print(f"ingest: {out['ingest_seconds']:.1f} s = {out['ingest_chunks_per_s']:.1f} chunks/s; stages {out['ingest_stages_s']}", flush=True)

        out["reingests"] = [_reingest_one(builder, corpus, paths[len(paths) // 2], n) for n in range(args.reingests)]
        out["reingest_one_doc_seconds"] = statistics.median(r["seconds"] for r in out["reingests"])
        if args.only == "reingest":
            # The same change again, from a new process, as an operator runs it: this
            # one also imports, loads the model (in its "encode" phase) and opens the store.
            out["reingest_cli"] = _reingest_in_new_process(corpus, paths[len(paths) // 2], args.reingests, home)
            out["reingest_cli_seconds"] = out["reingest_cli"]["seconds"]
            print(f"re-ingest in a new process (imports, loads the model, opens the store): {out['reingest_cli_seconds']:.1f} s", flush=True)
            _print_phases(args.chunks, out)
            return _finish(args, out)

        _signpost("ingest", "--quiet", str(GUIDANCE.parent), home=small)
        server = Server(small)
        out["ready_guidance_s"] = server.ready_seconds
        server.stop()

        server = Server(home)
        try:
            out["ready_s"] = server.ready_seconds
            out["ready_ratio"] = out["ready_s"] / out["ready_guidance_s"]
            print(f"ready: {out['ready_s']:.1f} s against {out['ready_guidance_s']:.1f} s on the guidance ({out['ready_ratio']:.2f}x)", flush=True)
            for q in QUESTIONS:
                server.ask(q)
            totals = [server.ask(q)[0] for _ in range(5) for q in QUESTIONS]
            embed_ms = []
            for _ in range(5):
                for q in QUESTIONS:
                    t0 = time.perf_counter()
                    embedder.embed_one(q)
                    embed_ms.append((time.perf_counter() - t0) * 1000)
            out["embed_p50_ms"] = statistics.median(embed_ms)
            out["answer_p50_ms"], out["answer_p95_ms"] = statistics.median(totals), percentile(totals, 0.95)
            out["answer_p50_ratio"] = out["answer_p50_ms"] / out["embed_p50_ms"]
            out["answer_p95_ratio"] = out["answer_p95_ms"] / out["embed_p50_ms"]
            print(
                f"answer p50 {out['answer_p50_ms']:.1f} ms ({out['answer_p50_ratio']:.2f}x one embedding, {out['embed_p50_ms']:.1f} ms), p95 {out['answer_p95_ms']:.1f} ms ({out['answer_p95_ratio']:.2f}x)",
                flush=True,
            )
            out["rss_mb"], out["peak_rss_mb"] = server.rss_mb()
            print(f"server RSS after the answers {out['rss_mb']:.0f} MB (peak {out['peak_rss_mb']:.0f} MB)", flush=True)
            if args.load_seconds > 0:
                try:
                    for clients in (1, 16):
                        rps, p95 = _load(server, clients, args.load_seconds)
                        out[f"rps_{clients}"], out[f"load_p95_ms_{clients}"] = rps, p95
                        print(f"{clients:>2} clients: {rps:.1f} requests/s, p95 {p95:.0f} ms", flush=True)
                    out["rps_ratio_16_to_1"] = out["rps_16"] / out["rps_1"]
                except OSError as err:  # a failed or timed-out request is a result, reported as such
                    out["load_error"] = f"{type(err).__name__}: {err}"
                    print(f"load run failed: {out['load_error']}", flush=True)
                out["rss_after_load_mb"], out["peak_rss_mb"] = server.rss_mb()
        finally:
            server.stop()

        print(f"HNSW recall@10 on {args.recall_queries} queries ...", flush=True)
        out["hnsw_recall_at_10"] = _hnsw_recall(home, args.recall_queries)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("ingest chunks/s", f"{out['ingest_chunks_per_s']:.1f}", f"{out['ingest_ratio']:.2f}x raw encoder ({out['encoder_chunks_per_s']:.1f}/s)", ">= 0.85x"),
        ("re-ingest, one document changed", f"{out['reingest_one_doc_seconds']:.1f} s", "", "<= 15 s at 100k"),
        ("time to ready", f"{out['ready_s']:.1f} s", f"{out['ready_ratio']:.2f}x the guidance ({out['ready_guidance_s']:.1f} s)", "<= 1.5x"),
        ("answer p50", f"{out['answer_p50_ms']:.1f} ms", f"{out['answer_p50_ratio']:.2f}x one embedding ({out['embed_p50_ms']:.1f} ms)", "<= 2x"),
        ("answer p95", f"{out['answer_p95_ms']:.1f} ms", f"{out['answer_p95_ratio']:.2f}x one embedding", ""),
        ("server RSS", f"{out['rss_mb']:.0f} MB", f"peak {out['peak_rss_mb']:.0f} MB", "<= 1.5 GB"),
        ("HNSW recall@10", f"{out['hnsw_recall_at_10']:.3f}", "against exact search", ">= 0.98"),
    ]
    if "rps_ratio_16_to_1" in out:
        rows.append(("requests/s, 16 clients", f"{out['rps_16']:.1f}", f"{out['rps_ratio_16_to_1']:.2f}x 1 client ({out['rps_1']:.1f}/s); p95 {out['load_p95_ms_16']:.0f} ms", ">= 1.5x"))
    elif "load_error" in out:
        rows.append(("requests/s, 16 clients", "failed", out["load_error"], ">= 1.5x"))
    print(f"\nSignpost scale benchmark, {args.chunks} chunks, {out['cpus']} CPUs, {out['date']}")
    print("| measure | value | ratio | target |\n| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return _finish(args, out)


def _encoder_rate(embedder, texts: list[str]) -> float:
    t0 = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - t0)


def _finish(args, out: dict) -> int:
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


def _change(path: Path, n: int) -> None:
    """Edit one document's first paragraph: a new version, the same number of chunks."""
    path.write_text(path.read_text(encoding="utf-8").replace(".\n", f". Changed {n}.\n", 1), encoding="utf-8")


def _reingest_one(builder, corpus: Path, victim: Path, n: int) -> dict:
    """Change one document and re-ingest; the report's phase times come along."""
    _change(victim, n)
    t0 = time.perf_counter()
    report = builder.ingest([corpus])
    seconds = time.perf_counter() - t0
    assert report.updated == [victim.stem], report.lines()
    print(f"re-ingest {n + 1} after changing one document: {seconds:.2f} s ({report.embedded_chunks} chunks embedded)", flush=True)
    return {"seconds": seconds, "phases_s": {k: round(v, 3) for k, v in report.seconds.items()}}


_REINGEST_CHILD = """
import json, sys
from pathlib import Path
from app.services import Services
from app.settings import load_settings
report = Services(load_settings()).builder.ingest([Path(sys.argv[1])])
print(json.dumps({"updated": report.updated, "phases_s": {k: round(v, 3) for k, v in report.seconds.items()}}))
"""


def _reingest_in_new_process(corpus: Path, victim: Path, n: int, home: Path) -> dict:
    _change(victim, n)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _REINGEST_CHILD, str(corpus)], env=_env(home), cwd=ROOT, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["updated"] == [victim.stem], result
    return {"seconds": seconds, "phases_s": result["phases_s"]}


def _print_phases(chunks: int, out: dict) -> None:
    runs = out["reingests"] + [out["reingest_cli"]]
    phases = list(dict.fromkeys(k for r in runs for k in r["phases_s"]))
    print(f"\nOne-document re-ingest at {chunks} chunks, seconds per phase ({out['cpus']} CPUs, {out['date']})")
    print("| phase | " + " | ".join(f"run {n + 1}" for n in range(len(runs) - 1)) + " | new process |")
    print("| --- |" + " --- |" * len(runs))
    for phase in phases:
        print(f"| {phase} | " + " | ".join(f"{r['phases_s'].get(phase, 0.0):.3f}" for r in runs) + " |")
    print("| **total (wall)** | " + " | ".join(f"{r['seconds']:.3f}" for r in runs) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
