"""The small family of real faults. Expected outcomes are statuses, not errors.

Every package imports these from here because `ingest` sits at the root of the
dependency graph (ingest -> index -> app -> eval).
"""


class SignpostError(Exception):
    """A fault shown to people as one friendly line (never a stack trace)."""


class CorpusError(SignpostError):
    """A guidance file could not be read or parsed."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class IndexUnavailable(SignpostError):
    """The search index is missing, stale or its store cannot be reached."""


class ConfigError(SignpostError):
    """A setting or configuration file is invalid."""
