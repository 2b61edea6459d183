"""STAND-IN for an external OpenAI-compatible model server (the only stand-in allowed).

A real HTTP server on loopback that answers /v1/chat/completions with scripted
replies, so tests can drive the generative composer and the eval judge through the
real client libraries. `script(prompt) -> str | Delay | Fail` decides each reply.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Delay:
    seconds: float
    text: str = ""


@dataclass
class Fail:
    status: int = 500


class StandInModelServer:
    def __init__(self, script, embed=None):
        self.script = script
        self.embed = embed  # optional: texts -> list of vectors, for /v1/embeddings
        self.prompts: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path.endswith("/embeddings") and outer.embed is not None:
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(outer.embed(inputs))]
                    return self._json(200, {"object": "list", "data": data, "model": body.get("model", "standin"), "usage": {"prompt_tokens": 1, "total_tokens": 1}})
                if not self.path.endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found"}})
                prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
                outer.prompts.append(prompt)
                reply = outer.script(prompt)
                if isinstance(reply, Fail):
                    return self._json(reply.status, {"error": {"message": "stand-in failure"}})
                if isinstance(reply, Delay):
                    time.sleep(reply.seconds)
                    reply = reply.text
                n = int(body.get("n") or 1)
                choices = [{"index": i, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"} for i in range(n)]
                self._json(200, {"id": "standin", "object": "chat.completion", "created": 0, "model": body.get("model", "standin"), "choices": choices, "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
