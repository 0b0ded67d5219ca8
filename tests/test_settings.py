"""Settings: every POLICYQA_* variable, its parsing and errors, the .env file, the overrides
tests use, and the process-wide side effects. No index, no model."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from assistant import lexical
from assistant.config import ENV_FILE, Settings, SettingsError, configure_process

README = Path(__file__).resolve().parent.parent / "README.md"


def variables() -> dict[str, tuple[str, ...]]:
    """Each variable the model reads, and the field (or group and field) it lands in."""
    names = {}
    for name, field in Settings.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            for sub, subfield in field.annotation.model_fields.items():
                names[f"POLICYQA_{name}_{subfield.validation_alias or sub}".upper()] = (name, sub)
        else:
            names[f"POLICYQA_{name}".upper()] = (name,)
    return names


def value_at(settings: Settings, where: tuple[str, ...]):
    for part in where:
        settings = getattr(settings, part)
    return settings


@pytest.mark.parametrize("name", sorted(variables()))
def test_every_variable_reaches_its_field(name, tmp_path):
    where = variables()[name]
    owner = Settings if len(where) == 1 else Settings.model_fields[where[0]].annotation
    kind = owner.model_fields[where[-1]].annotation
    raw, expected = {bool: ("yes", True), int: ("7", 7), float: ("2.5", 2.5), str: ("abc", "abc")}.get(
        kind, (str(tmp_path / "x"), tmp_path / "x"))
    # A model name beside the URL: the one rule across variables.
    settings = Settings.load({name: raw, "POLICYQA_LLM_MODEL": "abc"})
    assert value_at(settings, where) == expected


def test_the_readme_tables_name_every_variable_and_no_other():
    rows = "\n".join(line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("|"))
    assert set(re.findall(r"POLICYQA_[A-Z0-9_]*[A-Z0-9]", rows)) == set(variables()) | {ENV_FILE}


def test_groups_read_the_flat_names():
    settings = Settings.load({"POLICYQA_LLM_BASE_URL": "http://10.0.0.5:8001/v1", "POLICYQA_LLM_MODEL": "qwen",
                              "POLICYQA_LLM_TIMEOUT": "7.5", "POLICYQA_WECHAT_APPID": "wx1",
                              "POLICYQA_WECHAT_AES_KEY": " key ", "POLICYQA_WECOM_CORPID": "ww1",
                              "POLICYQA_WECOM_AGENT_ID": "1000002", "POLICYQA_WECHAT_DEADLINE": "3"})
    assert (settings.llm.base_url, settings.llm.model, settings.llm.timeout) == ("http://10.0.0.5:8001/v1", "qwen", 7.5)
    assert (settings.wechat.receive_id, settings.wechat.aes_key) == ("wx1", "key")
    assert (settings.wecom.receive_id, settings.wecom.agent_id) == ("ww1", "1000002")
    assert settings.wechat.api_base == "https://api.weixin.qq.com" and settings.wecom.api_base.startswith("https://qyapi")
    assert settings.wechat_deadline == 3.0 and settings.wecom.token == ""


@pytest.mark.parametrize("raw, expected", [("yes", True), ("TRUE", True), ("1", True), ("on", True),
                                           ("no", False), ("0", False), ("off", False), ("", False), ("  ", False)])
def test_booleans(raw, expected):
    assert Settings.load({"POLICYQA_KEEP_HISTORY": raw}).keep_history is expected


@pytest.mark.parametrize("env, message", [
    ({"POLICYQA_CHROMA_PORT": "eighty"}, "POLICYQA_CHROMA_PORT 应为整数 / should be an integer, got 'eighty'"),
    ({"POLICYQA_MAX_QUEUE": "2.5"}, "POLICYQA_MAX_QUEUE 应为整数"),
    ({"POLICYQA_KEEP_HISTORY": "perhaps"}, "POLICYQA_KEEP_HISTORY 应为 true 或 false / should be true or false"),
    ({"POLICYQA_LLM_TIMEOUT": "soon"}, "POLICYQA_LLM_TIMEOUT 应为数字 / should be a number"),
    ({"POLICYQA_QUEUE_TIMEOUT": "-1"}, "POLICYQA_QUEUE_TIMEOUT 应不小于 0 / should be at least 0"),
    ({"POLICYQA_WECHAT_REPLAY_WINDOW": "x"}, "POLICYQA_WECHAT_REPLAY_WINDOW 应为整数"),
    ({"POLICYQA_COLLECTION": "x!"}, "POLICYQA_COLLECTION 只能用字母"),
    ({"POLICYQA_LLM_BASE_URL": "http://x/v1"}, "POLICYQA_LLM_MODEL"),
    ({ENV_FILE: "/nonexistent/.env"}, "/nonexistent/.env"),
])
def test_a_wrong_value_is_named_in_both_languages(env, message):
    with pytest.raises(SettingsError) as error:
        Settings.load(env)
    assert message in str(error.value)


def test_every_wrong_value_is_reported_at_once():
    with pytest.raises(SettingsError, match="POLICYQA_PORT.*POLICYQA_MAX_UPLOAD_MB"):
        Settings.load({"POLICYQA_PORT": "x", "POLICYQA_MAX_UPLOAD_MB": "y"})


def test_a_dotenv_file_fills_in_what_the_environment_does_not_set(tmp_path):
    dotenv = tmp_path / "policyqa.env"
    dotenv.write_text("# deployment\nPOLICYQA_PORT=8001\nPOLICYQA_LLM_BASE_URL=http://llm/v1\n"
                      "POLICYQA_LLM_MODEL='qwen'\nPOLICYQA_HOST=0.0.0.0\n", encoding="utf-8")
    settings = Settings.load({ENV_FILE: str(dotenv), "POLICYQA_PORT": "9000", "POLICYQA_LLM_MODEL": "deepseek"})
    assert (settings.port, settings.host) == (9000, "0.0.0.0")
    assert (settings.llm.base_url, settings.llm.model) == ("http://llm/v1", "deepseek")
    assert Settings.load({}).port == 7860  # a test's own environment reads no .env unless it names one


def test_the_working_directorys_dotenv_is_read_with_the_process_environment(tmp_path, monkeypatch):
    for name in [name for name in os.environ if name.upper().startswith("POLICYQA_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("POLICYQA_MAX_QUESTION_CHARS=80\nPOLICYQA_ADMIN_TOKEN=from-file\n", encoding="utf-8")
    monkeypatch.setenv("POLICYQA_ADMIN_TOKEN", "from-environment")
    settings = Settings.load()
    assert (settings.max_question_chars, settings.admin_token) == (80, "from-environment")


def test_folders_follow_home_unless_set(tmp_path):
    settings = Settings.load({"POLICYQA_HOME": str(tmp_path), "POLICYQA_INDEX_DIR": str(tmp_path / "elsewhere")})
    assert (settings.corpus_dir, settings.index_dir, settings.data_dir) == (
        tmp_path / "corpus", tmp_path / "elsewhere", tmp_path / "data")
    assert settings.database == tmp_path / "data" / "policyqa.sqlite3"
    assert Settings.load({}, home=tmp_path / "other").corpus_dir == tmp_path / "other" / "corpus"


def test_overrides_win_and_a_groups_dict_is_merged_with_the_environment(tmp_path):
    env = {"POLICYQA_HOME": str(tmp_path), "POLICYQA_MAX_QUESTION_CHARS": "300", "POLICYQA_LLM_MODEL": "qwen",
           "POLICYQA_LLM_TIMEOUT": "9"}
    settings = Settings.load(env, max_question_chars=80, llm={"base_url": "http://llm/v1", "timeout": 3.0})
    assert settings.max_question_chars == 80
    assert (settings.llm.base_url, settings.llm.model, settings.llm.timeout) == ("http://llm/v1", "qwen", 3.0)
    with pytest.raises(SettingsError, match="POLICYQA_MAX_QUESTION_CHARS"):
        Settings.load(env, max_question_chars="many")


def test_configure_process_sets_defaults_and_leaves_the_operators_values(tmp_path, monkeypatch):
    import numpy  # noqa: F401  (loaded: its BLAS is limited in place)
    from threadpoolctl import threadpool_info

    for name in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "active")
    monkeypatch.setattr(lexical, "_jieba_cache_dir", None)
    configure_process(Settings.load({"POLICYQA_HOME": str(tmp_path)}))
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["OMP_WAIT_POLICY"] == "active" and os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {1}
    assert lexical._jieba_cache_dir == tmp_path / "index" / "cache"
