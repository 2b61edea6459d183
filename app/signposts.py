"""Emergency numbers and helplines from corpus/signposts.yaml, shown verbatim."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ingest.errors import ConfigError

_SECTIONS = ("emergency", "child_safety", "crisis", "helplines")


@dataclass(frozen=True)
class Signposts:
    emergency: tuple[dict, ...]
    child_safety: tuple[dict, ...]
    crisis: tuple[dict, ...]
    helplines: tuple[dict, ...]
    solicitor: str
    last_checked: str

    @classmethod
    def load(cls, path: Path) -> Signposts:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"Cannot read the helplines file {path}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"The helplines file {path} is not a YAML mapping")
        for key in _SECTIONS:
            entries = data.get(key)
            if not entries or not all(isinstance(e, dict) and {"name", "number", "for"} <= set(e) for e in entries):
                raise ConfigError(f"The helplines file {path} needs a '{key}' list of entries with name, number and for")
        return cls(
            emergency=tuple({k: str(e[k]) for k in ("name", "number", "for")} for e in data["emergency"]),
            child_safety=tuple({k: str(e[k]) for k in ("name", "number", "for")} for e in data["child_safety"]),
            crisis=tuple({k: str(e[k]) for k in ("name", "number", "for")} for e in data["crisis"]),
            helplines=tuple({k: str(e[k]) for k in ("name", "number", "for")} for e in data["helplines"]),
            solicitor=str(data.get("solicitor", "")),
            last_checked=str(data.get("last_checked", "")),
        )
