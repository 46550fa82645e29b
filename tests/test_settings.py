from pathlib import Path

import pytest

from core.autonomy_levels import Autonomy
from core.claude_options import DEFAULT_MODEL
from core.settings import Settings, SettingsError


def test_defaults_need_nothing() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///var/wingman.db"
    assert settings.embedded_redis
    assert settings.effective_redis_url.startswith("unix://")
    assert settings.effective_redis_url.endswith("var/redis/redis.sock")
    assert settings.default_autonomy is Autonomy.DRAFT
    assert settings.reply_debounce_seconds == 30
    assert settings.reply_max_wait_seconds == 120
    assert settings.port == 8000
    assert settings.webhook_url == "http://localhost:8000/chatwoot/webhook"
    assert settings.missing() == ["CHATWOOT_URL", "CHATWOOT_BOT_TOKEN", "ANTHROPIC_API_KEY"]
    assert settings.chatwoot_account_ids == () and settings.serves(58)
    assert not settings.chatwoot_configured and not settings.claude_configured
    assert (settings.claude_thinking, settings.claude_effort) == ("adaptive", "low")


def test_reads_every_documented_variable() -> None:
    settings = Settings.from_env(
        {
            "CHATWOOT_URL": "https://chat.example.com/",
            "CHATWOOT_ACCOUNT_IDS": "3, 58,3",
            "CHATWOOT_BOT_TOKEN": "bot-token-123",
            "CHATWOOT_WEBHOOK_SECRET": "whsec-abcdef",
            "CHATWOOT_USER_TOKEN": "user-token-456",
            "ANTHROPIC_API_KEY": "sk-ant-secret",
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9999",
            "ANTHROPIC_MODEL": "claude-haiku-5-5",
            "CLAUDE_THINKING": "Between_Tools",
            "CLAUDE_EFFORT": "medium",
            "DATABASE_URL": "postgresql://u@h/db",
            "REDIS_URL": "redis://h:6379/2",
            "REPLY_DEBOUNCE_SECONDS": "0.2",
            "REPLY_MAX_WAIT_SECONDS": "0.5",
            "DEFAULT_AUTONOMY": "Autopilot",
            "ADMIN_TOKEN": "admin-token-789",
            "WINGMAN_PUBLIC_URL": "https://bot.example.com/",
            "WINGMAN_CONFIG": "/etc/wingman.toml",
            "PORT": "9000",
        }
    )
    assert settings.chatwoot_url == "https://chat.example.com"
    assert settings.chatwoot_account_ids == (3, 58)
    assert settings.serves(58) and not settings.serves(4)
    assert settings.reply_debounce_seconds == 0.2
    assert settings.default_autonomy is Autonomy.AUTOPILOT
    assert settings.webhook_url == "https://bot.example.com/chatwoot/webhook"
    assert settings.wingman_config == "/etc/wingman.toml" and settings.wingman_config_explicit
    assert settings.effective_redis_url == "redis://h:6379/2"
    assert settings.chatwoot_configured and settings.claude_configured
    assert (settings.claude_thinking, settings.claude_effort) == ("between_tools", "medium")
    assert settings.missing() == []


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env(
        {
            "CHATWOOT_BOT_TOKEN": "bot-token-123",
            "CHATWOOT_WEBHOOK_SECRET": "whsec-abcdef",
            "CHATWOOT_USER_TOKEN": "user-token-456",
            "ANTHROPIC_API_KEY": "sk-ant-secret",
            "ADMIN_TOKEN": "admin-token-789",
        }
    )
    text = repr(settings)
    for secret in settings.secrets():
        assert secret not in text
    assert sorted(settings.secrets()) == sorted(
        ["bot-token-123", "whsec-abcdef", "user-token-456", "sk-ant-secret", "admin-token-789"]
    )


def test_the_older_single_account_setting_still_limits_wingman_to_it() -> None:
    settings = Settings.from_env({"CHATWOOT_ACCOUNT_ID": "3"})
    assert settings.chatwoot_account_ids == (3,)
    both = Settings.from_env({"CHATWOOT_ACCOUNT_ID": "3", "CHATWOOT_ACCOUNT_IDS": "4,5"})
    assert both.chatwoot_account_ids == (4, 5)  # the new name wins


def test_url_passwords_are_secrets() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://wingman:p%40ss-w0rd-1@db.internal/wingman",
            "REDIS_URL": "redis://:r3dis-pa55@cache.internal:6379/0",
        }
    )
    text = repr(settings)
    assert "postgresql://wingman:***@db.internal/wingman" in text
    assert "redis://:***@cache.internal:6379/0" in text
    for password in ("p%40ss-w0rd-1", "p@ss-w0rd-1", "r3dis-pa55"):
        assert password not in text
        assert password in settings.secrets()  # as written, and as a driver prints it


@pytest.mark.parametrize(
    ("name", "value", "hidden"),
    [
        ("NOTIFY_WEBHOOK_URL", "ftp://hooks.example.com/T0/tok-123456", "tok-123456"),
        ("CHATWOOT_URL", "ftp://bot:Pa55w0rd-x@chat.example.com", "Pa55w0rd-x"),
        ("REDIS_URL", "redis://:Pa55/w0rd@cache:6379/0", "Pa55"),
        ("DATABASE_URL", "postgresql://wingman:Pa55#w0rd@db/wingman", "Pa55"),
    ],
)
def test_a_bad_url_setting_is_refused_without_showing_its_secrets(
    name: str, value: str, hidden: str
) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({name: value})
    assert str(error.value).startswith(f"{name}: "), error.value
    assert hidden not in str(error.value)


def test_empty_values_count_as_unset() -> None:
    settings = Settings.from_env({"PORT": "", "ANTHROPIC_API_KEY": "  ", "REDIS_URL": ""})
    assert settings.port == 8000 and settings.anthropic_api_key is None and settings.embedded_redis


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("REPLY_DEBOUNCE_SECONDS", "soon"),
        ("REPLY_DEBOUNCE_SECONDS", "-1"),
        ("REPLY_MAX_WAIT_SECONDS", "nan"),
        ("CHATWOOT_ACCOUNT_ID", "three"),
        ("CHATWOOT_ACCOUNT_IDS", "3,,4"),
        ("CHATWOOT_ACCOUNT_IDS", "3, 9223372036854775808"),
        ("CHATWOOT_URL", "chat.example.com"),
        ("ANTHROPIC_BASE_URL", "ftp://x"),
        ("WINGMAN_PUBLIC_URL", "localhost:8000"),
        ("DATABASE_URL", "mysql://x/y"),
        ("REDIS_URL", "http://x"),
        ("DEFAULT_AUTONOMY", "yolo"),
        ("LOG_LEVEL", "LOUD"),
        ("DELIVERY_RETENTION_DAYS", "0"),
        ("OUTBOX_RETRY_SECONDS", "1,soon"),
        ("PROMPT_CACHE_TTL", "1d"),
        ("CLAUDE_THINKING", "enabled"),
        ("CLAUDE_EFFORT", "extreme"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}: "):
        Settings.from_env({name: value})


def test_max_wait_shorter_than_debounce_is_refused() -> None:
    with pytest.raises(SettingsError, match="REPLY_MAX_WAIT_SECONDS"):
        Settings.from_env({"REPLY_DEBOUNCE_SECONDS": "60", "REPLY_MAX_WAIT_SECONDS": "30"})


@pytest.mark.parametrize("effort", ["xhigh", "max"])
def test_between_tools_above_high_effort_is_refused(effort: str) -> None:
    # Anthropic answers a 400 to every such request; better to say so at start-up.
    with pytest.raises(SettingsError, match="^CLAUDE_EFFORT: .*CLAUDE_THINKING=adaptive"):
        Settings.from_env({"CLAUDE_THINKING": "between_tools", "CLAUDE_EFFORT": effort})
    assert Settings.from_env({"CLAUDE_EFFORT": effort}).claude_effort == effort


def test_env_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9100\nADMIN_TOKEN=from-file-token\n")
    monkeypatch.setenv("PORT", "9200")
    settings = Settings.load(env_file)
    assert settings.port == 9200
    assert settings.admin_token == "from-file-token"


def test_autonomy_order() -> None:
    assert Autonomy.OFF.rank < Autonomy.DRAFT.rank < Autonomy.AUTOPILOT.rank


def test_default_model_is_a_current_sonnet_the_sdk_knows() -> None:
    from typing import get_args

    from anthropic.resources.messages.messages import (  # type: ignore[attr-defined]
        DEPRECATED_MODELS,
    )
    from anthropic.types.model import Model

    known = {value for arg in get_args(Model) for value in get_args(arg)}
    assert "sonnet" in DEFAULT_MODEL
    assert DEFAULT_MODEL in known
    assert DEFAULT_MODEL not in DEPRECATED_MODELS


def test_env_example_documents_every_setting() -> None:
    import re

    import core.settings

    root = Path(core.settings.__file__).resolve().parent.parent
    source = Path(core.settings.__file__).read_text()
    names = set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|PORT)"', source))
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (root / ".env.example").read_text(), re.M))
    assert names, "no setting names found in core/settings.py"
    assert names - documented == set()
    assert documented - names == set()
