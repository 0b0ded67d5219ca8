"""Settings, read once from the environment (POLICYQA_*); every part receives them explicitly."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from .embeddings import DEFAULT_EMBEDDING


class SettingsError(ValueError):
    pass


def _project_home() -> Path:
    """The checkout this package runs from (editable install), else the working directory."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "corpus" / "catalog.toml").exists():
        return checkout
    return Path.cwd()


def _number(env: dict, name: str, default: int | float) -> int | float:
    """The setting as a number of the default's type (an int setting refuses "2.5")."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return type(default)(raw)
    except ValueError:
        kind = "整数 / an integer" if isinstance(default, int) else "数字 / a number"
        raise SettingsError(f"{name} 应为{kind}, got {raw!r}") from None


def _flag(env: dict, name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} 应为 true 或 false / should be true or false, got {raw!r}")


@dataclass(frozen=True)
class WeChatSettings:
    """One WeChat channel: the Official Account (公众号) or a WeCom self-built app (企业微信)."""

    token: str = ""
    aes_key: str = ""  # EncodingAESKey, 43 characters
    receive_id: str = ""  # appid (公众号) or corpid (企业微信)
    secret: str = ""  # for the customer-service message API
    agent_id: str = ""  # WeCom only
    api_base: str = ""  # base URL of the customer-service API

    @classmethod
    def from_env(cls, env: dict, prefix: str, id_name: str, api_base: str) -> "WeChatSettings":
        get = lambda name: env.get(f"{prefix}_{name}", "").strip()  # noqa: E731
        return cls(token=get("TOKEN"), aes_key=get("AES_KEY"), receive_id=get(id_name), secret=get("SECRET"),
                   agent_id=get("AGENT_ID"), api_base=get("API_BASE") or api_base)


@dataclass(frozen=True)
class Settings:
    home: Path
    corpus_dir: Path
    index_dir: Path
    data_dir: Path
    embedding: str = DEFAULT_EMBEDDING
    reranker: str = ""  # sentence-transformers cross-encoder, by name or path; "" = no rerank
    chroma_host: str = ""  # set to use a Chroma server instead of the embedded store in index_dir
    chroma_port: int = 8000
    collection: str = "policyqa"  # prefix of the Chroma collections this deployment owns
    max_question_chars: int = 500
    host: str = "127.0.0.1"
    port: int = 7860
    admin_token: str = ""  # unset: the knowledge base is read-only
    db_path: Path | None = None  # questions and feedback; default data_dir/policyqa.sqlite3
    max_upload_mb: int = 20
    wechat: WeChatSettings = WeChatSettings()
    wecom: WeChatSettings = WeChatSettings()
    wechat_deadline: float = 4.0  # seconds before a holding reply; WeChat gives up at 5
    wechat_rate_limit: int = 10  # questions per user per minute
    wechat_max_bytes: int = 2048  # of one text message, UTF-8
    wechat_replay_window: int = 300  # seconds a signed message's timestamp may be off; 0: no check
    llm_base_url: str = ""  # an OpenAI-compatible endpoint; unset: extractive answers only
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 20.0
    llm_concurrency: int = 4  # model calls at once; beyond this, answers fall back to extractive
    max_concurrent: int = 4  # questions computed at once by the API; more wait in line …
    max_queue: int = 64  # … up to this many; beyond, or after queue_timeout seconds, 503
    queue_timeout: float = 5.0
    answer_cache_size: int = 2048  # identical questions within answer_cache_ttl seconds are answered once
    answer_cache_ttl: float = 300.0
    keep_history: bool = False  # search superseded documents even when a question does not name them
    models_dir: Path = Path(__file__).parent / "data"  # ranker.json and gate.json (policy-qa calibrate)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        home = Path(env.get("POLICYQA_HOME") or _project_home()).resolve()
        settings = cls(
            home=home,
            corpus_dir=Path(env.get("POLICYQA_CORPUS_DIR") or home / "corpus").resolve(),
            index_dir=Path(env.get("POLICYQA_INDEX_DIR") or home / "index").resolve(),
            data_dir=Path(env.get("POLICYQA_DATA_DIR") or home / "data").resolve(),
            embedding=env.get("POLICYQA_EMBEDDING", "").strip() or DEFAULT_EMBEDDING,
            reranker=env.get("POLICYQA_RERANKER", "").strip(),
            chroma_host=env.get("POLICYQA_CHROMA_HOST", "").strip(),
            chroma_port=_number(env, "POLICYQA_CHROMA_PORT", 8000),
            collection=env.get("POLICYQA_COLLECTION", "").strip() or "policyqa",
            max_question_chars=_number(env, "POLICYQA_MAX_QUESTION_CHARS", 500),
            host=env.get("POLICYQA_HOST", "").strip() or "127.0.0.1",
            port=_number(env, "POLICYQA_PORT", 7860),
            admin_token=env.get("POLICYQA_ADMIN_TOKEN", "").strip(),
            db_path=Path(env["POLICYQA_DB"]).resolve() if env.get("POLICYQA_DB") else None,
            max_upload_mb=_number(env, "POLICYQA_MAX_UPLOAD_MB", 20),
            wechat=WeChatSettings.from_env(env, "POLICYQA_WECHAT", "APPID", "https://api.weixin.qq.com"),
            wecom=WeChatSettings.from_env(env, "POLICYQA_WECOM", "CORPID", "https://qyapi.weixin.qq.com"),
            wechat_deadline=_number(env, "POLICYQA_WECHAT_DEADLINE", 4.0),
            wechat_rate_limit=_number(env, "POLICYQA_WECHAT_RATE_LIMIT", 10),
            wechat_max_bytes=_number(env, "POLICYQA_WECHAT_MAX_BYTES", 2048),
            wechat_replay_window=_number(env, "POLICYQA_WECHAT_REPLAY_WINDOW", 300),
            llm_base_url=env.get("POLICYQA_LLM_BASE_URL", "").strip(),
            llm_model=env.get("POLICYQA_LLM_MODEL", "").strip(),
            llm_api_key=env.get("POLICYQA_LLM_API_KEY", "").strip(),
            llm_timeout=_number(env, "POLICYQA_LLM_TIMEOUT", 20.0),
            llm_concurrency=_number(env, "POLICYQA_LLM_CONCURRENCY", 4),
            max_concurrent=_number(env, "POLICYQA_MAX_CONCURRENT", 4),
            max_queue=_number(env, "POLICYQA_MAX_QUEUE", 64),
            queue_timeout=_number(env, "POLICYQA_QUEUE_TIMEOUT", 5.0),
            answer_cache_size=_number(env, "POLICYQA_ANSWER_CACHE_SIZE", 2048),
            answer_cache_ttl=_number(env, "POLICYQA_ANSWER_CACHE_TTL", 300.0),
            keep_history=_flag(env, "POLICYQA_KEEP_HISTORY"),
            models_dir=Path(env["POLICYQA_MODELS_DIR"]).resolve() if env.get("POLICYQA_MODELS_DIR")
            else Path(__file__).parent / "data",
        )
        settings = replace(settings, **overrides)
        if settings.llm_base_url and not settings.llm_model:
            raise SettingsError("设置了 POLICYQA_LLM_BASE_URL 但没有 POLICYQA_LLM_MODEL / the LLM model name is missing")
        if not settings.collection.replace("-", "").replace("_", "").isalnum() or len(settings.collection) < 3:
            raise SettingsError("POLICYQA_COLLECTION 只能用字母、数字、-、_，至少 3 个字符 / "
                                "use at least 3 letters, digits, - or _")
        return settings

    @property
    def database(self) -> Path:
        return self.db_path or self.data_dir / "policyqa.sqlite3"

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)

    @property
    def chroma_location(self) -> str:
        return f"http://{self.chroma_host}:{self.chroma_port}" if self.chroma_host else str(self.index_dir / "chroma")
