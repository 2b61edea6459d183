"""Per-client limits: questions per minute (one limiter for the page, widget and API)
and open Gradio event streams."""

from __future__ import annotations

import ipaddress
import threading
import time

MAX_STREAMS_PER_CLIENT = 4  # open Gradio event streams per client (a page needs one)


def client_key(address: str) -> str:
    """The rate-limit key of a client address: IPv4 as is, IPv6 by its /64 network
    (one household or phone gets a whole /64 and can rotate inside it)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class RateLimiter:
    """A moving window per client (the `limits` library), shared by the chat page, the
    widget and the API. In memory, so per process: replicas need a shared store
    (limits supports Redis and Memcached; see README)."""

    def __init__(self, per_minute: int):
        from limits import RateLimitItemPerMinute
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str) -> float:
        """0 if allowed (and counted), else seconds until the next request is allowed."""
        key = client_key(client)
        if self._limiter.hit(self.item, key):
            return 0.0
        reset = self._limiter.get_window_stats(self.item, key).reset_time
        return max(1.0, reset - time.time())


class StreamCounter:
    """Open event streams per client: each holds a server task, so a client gets a few."""

    def __init__(self, per_client: int = MAX_STREAMS_PER_CLIENT):
        self.per_client = per_client
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def open(self, client: str) -> str | None:
        """The client's key if it may open one more stream (counted), else None."""
        key = client_key(client)
        with self._lock:
            if self._open.get(key, 0) >= self.per_client:
                return None
            self._open[key] = self._open.get(key, 0) + 1
            return key

    def close(self, key: str) -> None:
        with self._lock:
            self._open[key] -= 1
            if not self._open[key]:
                del self._open[key]
