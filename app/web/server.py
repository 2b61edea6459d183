"""Serving: uvicorn in this process, with an access log that never holds a question."""

from __future__ import annotations

import logging

from app.settings import Settings


class AccessFormatter(logging.Formatter):
    """uvicorn access lines as `METHOD /path STATUS`: no query string, no client address."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            _client_addr, method, full_path, _version, status = record.args
            path = str(full_path).split("?", 1)[0]
            record.msg, record.args = "%s %s %s", (method, path, status)
        except (TypeError, ValueError):
            pass
        return super().format(record)


LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"format": "%(levelname)s %(name)s: %(message)s"},
        "access": {"()": AccessFormatter, "format": "%(levelname)s access: %(message)s"},
    },
    "handlers": {
        "default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "signpost": {"handlers": ["default"], "level": "INFO", "propagate": False},
    },
}


def serve(settings: Settings) -> None:
    """Run the web app with uvicorn in this process."""
    import logging.config

    import uvicorn

    logging.config.dictConfig(LOG_CONFIG)
    import faulthandler
    import signal

    # `kill -USR1 <pid>` prints every thread's stack to stderr: for a server that hangs.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    from app.web.application import create_app

    app = create_app(settings)
    print(f"Signpost: http://{settings.host}:{settings.port}/  (widget /widget/, API /api/ask)", flush=True)
    # X-Forwarded-For is believed only from SIGNPOST_TRUSTED_PROXIES (default: nobody), else
    # any client could pick its own rate-limit key.
    trusted = settings.trusted_proxies.strip()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=LOG_CONFIG,
        server_header=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )
