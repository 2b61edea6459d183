"""Reading line-based files (JSON Lines, or plain text lines) and committed model files
with one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ingest.errors import ConfigError


def read_model_file(path: Path, what: str, make_target: str) -> dict:
    """A committed model file (JSON); a missing or unreadable one is a ConfigError that
    says which `make` target rebuilds it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"The {what} {path} is missing. Build it with `make {make_target}`.") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The {what} {path} cannot be read ({type(exc).__name__}). Rebuild it with `make {make_target}`.") from None


def read_lines(path: Path, what: str, plain_text: bool = False) -> Iterator[tuple[int, dict | str]]:
    """(line number, JSON object) for each non-empty line; with `plain_text`, a line
    that does not start with "{" is yielded as its text. A ConfigError names the line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read {what} {path}: {type(exc).__name__}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if plain_text and not line.lstrip().startswith("{"):
            yield number, line
            continue
        try:
            data = json.loads(line)
        except ValueError:
            raise ConfigError(f"{path}:{number}: not valid JSON") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}:{number}: expected a JSON object")
        yield number, data


def write_lines(path: Path, items: list[dict]) -> None:
    """One JSON object per line, UTF-8, non-ASCII kept as is (the data files' format)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
