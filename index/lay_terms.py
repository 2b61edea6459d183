"""Lay phrasings, searched for in the guidance's own words too.

People write "can I get an order without him knowing?"; the guidance says "without
notifying the other party". MiniLM does not link the two, and BM25 shares only
"without", so the passage that answers the question ranks far down. A short thesaurus
(lay_terms.yaml) maps a lay phrasing to the words the guidance uses; when a question
matches, search reads the question followed by those words in brackets. The question
itself is never changed: only the text that is searched and scored.

Each entry names a phrasing, not a question, and is kept only if it costs nothing on the
tuning splits (README "Retrieval"). An empty file, or `SIGNPOST_LAY_TERMS=false`, turns
it off (for a corpus of other documents, whose words these are not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingest.errors import ConfigError

LAY_TERMS_FILE = Path(__file__).with_name("lay_terms.yaml")


@dataclass(frozen=True)
class LayTerm:
    name: str
    when: re.Pattern
    add: str


@dataclass(frozen=True)
class LayTerms:
    terms: tuple[LayTerm, ...]

    @classmethod
    def load(cls, path: Path = LAY_TERMS_FILE) -> LayTerms:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"Cannot read the lay terms {path}: {type(exc).__name__}.") from None
        terms = []
        for n, entry in enumerate(data.get("terms") or [], 1):
            try:
                name, when, add = str(entry["name"]), str(entry["when"]), str(entry["add"]).strip()
                pattern = re.compile(when, re.IGNORECASE)
            except (KeyError, TypeError):
                raise ConfigError(f"{path}: entry {n} needs name, when and add.") from None
            except re.error as exc:
                raise ConfigError(f"{path}: entry {n} ({entry.get('name')}) has a bad pattern: {exc}.") from None
            if not add:
                raise ConfigError(f"{path}: entry {n} ({name}) adds nothing.")
            terms.append(LayTerm(name, pattern, add))
        return cls(tuple(terms))

    def matches(self, query: str) -> list[LayTerm]:
        text = query.replace("\u2019", "'")
        return [t for t in self.terms if t.when.search(text)]

    def expand(self, query: str) -> str:
        """The text to search: the query, then the guidance's words for any lay phrasing
        in it, in brackets. The query unchanged when nothing matches."""
        adds = list(dict.fromkeys(t.add for t in self.matches(query)))
        return f"{query} ({'; '.join(adds)})" if adds else query
