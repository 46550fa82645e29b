"""The one typed settings object. Nothing else in Wingman reads the environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import TypeVar, cast
from urllib.parse import unquote, urlsplit

from dotenv import dotenv_values

from core import env_parsers as parse
from core.autonomy_levels import Autonomy
from core.claude_options import DEFAULT_MODEL, EFFORTS, THINKING_MODES, Effort, ThinkingMode
from core.logs import mask_url_passwords
from core.pricing import Prices

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every setting Wingman reads, parsed and validated once at start-up.

    Secrets are excluded from ``repr``, and URLs shown there without their password, so a
    logged Settings never leaks them.
    """

    database_url: str = "sqlite:///var/wingman.db"
    # None means "start the embedded Redis"; the supervisor then sets REDIS_URL for its children.
    redis_url: str | None = None
    chatwoot_url: str | None = None
    # Accounts Wingman serves; empty serves every account whose events reach it. Replies
    # always go to the account an event came from, never to one named here.
    chatwoot_account_ids: tuple[int, ...] = ()
    chatwoot_bot_token: str | None = field(default=None, repr=False)
    chatwoot_user_token: str | None = field(default=None, repr=False)
    chatwoot_webhook_secret: str | None = field(default=None, repr=False)
    chatwoot_timeout_seconds: float = 10.0
    anthropic_api_key: str | None = field(default=None, repr=False)
    anthropic_base_url: str | None = None
    anthropic_model: str = DEFAULT_MODEL
    # A chat reply wants little deliberation: see .env.example and workers/claude.py.
    claude_thinking: ThinkingMode = "adaptive"
    claude_effort: Effort = "low"
    reply_debounce_seconds: float = 30.0
    reply_max_wait_seconds: float = 120.0
    reply_sweep_interval_seconds: float = 60.0
    draft_check_interval_seconds: float = 60.0
    follow_up_scan_interval_seconds: float = 60.0
    draft_remind_minutes: float = 5.0
    reply_sweep_max_age_seconds: float = 3600.0
    default_autonomy: Autonomy = Autonomy.DRAFT
    admin_token: str | None = field(default=None, repr=False)
    # May carry a token in its query string, so it stays out of repr and logs.
    notify_webhook_url: str | None = field(default=None, repr=False)
    export_pseudonym_key: str | None = field(default=None, repr=False)
    wingman_public_url: str = "http://localhost:8000"
    wingman_config: str = "wingman.toml"
    wingman_config_explicit: bool = False
    port: int = 8000
    bind_host: str = "0.0.0.0"
    web_workers: int = 2
    # Worker processes: routing runs every delivery; replies wait on Claude, on a queue of
    # their own so that a burst of replies never holds up routing.
    routing_workers: int = 2
    reply_workers: int = 4
    webhook_max_skew_seconds: float = 300.0
    delivery_requeue_after_seconds: float = 60.0
    # Processing runs a delivery gets before it is parked for an operator.
    delivery_max_attempts: int = 3
    delivery_sweep_interval_seconds: float = 60.0
    delivery_retention_days: int = 30
    delivery_prune_interval_seconds: float = 3600.0
    log_level: str = "INFO"
    var_dir: str = "var"
    # Waits between retries of a Chatwoot post that failed transiently; the last one repeats.
    outbox_retry_seconds: tuple[float, ...] = (2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
    outbox_sweep_interval_seconds: float = 60.0
    # A human reply this close (normalised edit distance) to the pending draft is a copy.
    takeover_max_distance: float = 0.3
    claude_prices: Prices = field(default_factory=Prices)
    claude_daily_cap_usd: Decimal | None = None
    promote_min_decided: int = 50
    promote_min_approval: float = 0.8
    prompt_cache_ttl: str = "1h"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from a mapping of environment variables.

        Empty strings count as unset, so ``.env.example`` can be copied as is.
        """
        env = {k: v.strip() for k, v in environ.items() if v is not None and v.strip() != ""}
        port = _get(env, "PORT", parse.int_in(1, 65535), 8000)
        # Each web and routing process is busy on the CPU while it works; two at least, so
        # one slow request never stops the rest.
        cores = max(os.cpu_count() or 1, 2)
        debounce = _get(env, "REPLY_DEBOUNCE_SECONDS", parse.positive_float, 30.0)
        max_wait = _get(env, "REPLY_MAX_WAIT_SECONDS", parse.positive_float, 120.0)
        if max_wait < debounce:
            raise SettingsError(
                f"REPLY_MAX_WAIT_SECONDS ({max_wait:g}) must not be shorter than "
                f"REPLY_DEBOUNCE_SECONDS ({debounce:g})"
            )
        chatwoot_url = _get(env, "CHATWOOT_URL", parse.http_url("CHATWOOT_URL"), None)
        thinking = cast(
            ThinkingMode,
            _get(env, "CLAUDE_THINKING", parse.one_of(THINKING_MODES), "adaptive"),
        )
        effort = cast(Effort, _get(env, "CLAUDE_EFFORT", parse.one_of(EFFORTS), "low"))
        if thinking == "between_tools" and effort in ("xhigh", "max"):
            raise SettingsError(
                f"CLAUDE_EFFORT: {effort} needs CLAUDE_THINKING=adaptive "
                "(Anthropic rejects between_tools above high effort)"
            )
        return cls(
            database_url=_get(env, "DATABASE_URL", parse.database_url, cls.database_url),
            redis_url=_get(env, "REDIS_URL", parse.redis_url, None),
            chatwoot_url=chatwoot_url.rstrip("/") if chatwoot_url else None,
            chatwoot_account_ids=_get(
                env,
                "CHATWOOT_ACCOUNT_IDS",
                parse.account_ids,
                # The older single-account name still limits Wingman to that account.
                _get(
                    env,
                    "CHATWOOT_ACCOUNT_ID",
                    lambda raw: (parse.int_in(1, 2**63 - 1)(raw),),
                    (),
                ),
            ),
            chatwoot_bot_token=env.get("CHATWOOT_BOT_TOKEN"),
            chatwoot_user_token=env.get("CHATWOOT_USER_TOKEN"),
            chatwoot_webhook_secret=env.get("CHATWOOT_WEBHOOK_SECRET"),
            chatwoot_timeout_seconds=_get(
                env, "CHATWOOT_TIMEOUT_SECONDS", parse.positive_float, 10.0
            ),
            anthropic_api_key=env.get("ANTHROPIC_API_KEY"),
            anthropic_base_url=_get(
                env, "ANTHROPIC_BASE_URL", parse.http_url("ANTHROPIC_BASE_URL"), None
            ),
            anthropic_model=env.get("ANTHROPIC_MODEL", DEFAULT_MODEL),
            claude_thinking=thinking,
            claude_effort=effort,
            reply_debounce_seconds=debounce,
            reply_max_wait_seconds=max_wait,
            reply_sweep_interval_seconds=_get(
                env, "REPLY_SWEEP_INTERVAL_SECONDS", parse.positive_float, 60.0
            ),
            draft_remind_minutes=_get(env, "DRAFT_REMIND_MINUTES", parse.positive_float, 5.0),
            draft_check_interval_seconds=_get(
                env, "DRAFT_CHECK_INTERVAL_SECONDS", parse.positive_float, 60.0
            ),
            reply_sweep_max_age_seconds=_get(
                env, "REPLY_SWEEP_MAX_AGE_SECONDS", parse.positive_float, 3600.0
            ),
            follow_up_scan_interval_seconds=_get(
                env, "FOLLOW_UP_SCAN_INTERVAL_SECONDS", parse.positive_float, 60.0
            ),
            default_autonomy=_get(env, "DEFAULT_AUTONOMY", parse.autonomy, Autonomy.DRAFT),
            admin_token=env.get("ADMIN_TOKEN"),
            export_pseudonym_key=env.get("EXPORT_PSEUDONYM_KEY"),
            notify_webhook_url=_get(
                env,
                "NOTIFY_WEBHOOK_URL",
                parse.http_url("NOTIFY_WEBHOOK_URL", secret=True),
                None,
            ),
            wingman_public_url=_get(
                env,
                "WINGMAN_PUBLIC_URL",
                parse.http_url("WINGMAN_PUBLIC_URL"),
                f"http://localhost:{port}",
            ).rstrip("/"),
            wingman_config=env.get("WINGMAN_CONFIG", "wingman.toml"),
            wingman_config_explicit="WINGMAN_CONFIG" in env,
            port=port,
            bind_host=env.get("WINGMAN_BIND", "0.0.0.0"),
            web_workers=_get(env, "WEB_WORKERS", parse.int_in(1, 64), cores),
            routing_workers=_get(env, "ROUTING_WORKERS", parse.int_in(1, 64), min(cores, 4)),
            reply_workers=_get(env, "REPLY_WORKERS", parse.int_in(1, 64), 4),
            webhook_max_skew_seconds=_get(
                env, "WEBHOOK_MAX_SKEW_SECONDS", parse.positive_float, 300.0
            ),
            delivery_requeue_after_seconds=_get(
                env, "DELIVERY_REQUEUE_AFTER_SECONDS", parse.positive_float, 60.0
            ),
            delivery_max_attempts=_get(env, "DELIVERY_MAX_ATTEMPTS", parse.int_in(1, 100), 3),
            delivery_sweep_interval_seconds=_get(
                env, "DELIVERY_SWEEP_INTERVAL_SECONDS", parse.positive_float, 60.0
            ),
            delivery_retention_days=_get(
                env, "DELIVERY_RETENTION_DAYS", parse.int_in(1, 36500), 30
            ),
            delivery_prune_interval_seconds=_get(
                env, "DELIVERY_PRUNE_INTERVAL_SECONDS", parse.positive_float, 3600.0
            ),
            log_level=_get(env, "LOG_LEVEL", parse.log_level, "INFO"),
            var_dir=env.get("WINGMAN_VAR_DIR", "var"),
            outbox_retry_seconds=_get(
                env, "OUTBOX_RETRY_SECONDS", parse.seconds_list, cls.outbox_retry_seconds
            ),
            outbox_sweep_interval_seconds=_get(
                env, "OUTBOX_SWEEP_INTERVAL_SECONDS", parse.positive_float, 60.0
            ),
            prompt_cache_ttl=_get(env, "PROMPT_CACHE_TTL", parse.cache_ttl, "1h"),
            takeover_max_distance=_get(env, "TAKEOVER_MAX_DISTANCE", parse.fraction, 0.3),
            claude_prices=_get(env, "CLAUDE_PRICES_PER_MTOK", parse.prices, Prices()),
            claude_daily_cap_usd=_get(env, "CLAUDE_DAILY_CAP_USD", parse.dollars, None),
            promote_min_decided=_get(env, "PROMOTE_MIN_DECIDED", parse.int_in(1, 1_000_000), 50),
            promote_min_approval=_get(env, "PROMOTE_MIN_APPROVAL", parse.fraction, 0.8),
        )

    @classmethod
    def load(cls, env_file: str | os.PathLike[str] = ".env") -> Settings:
        """Settings from ``.env`` (if present) overlaid by the real environment."""
        file_values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        return cls.from_env({**file_values, **os.environ})

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def embedded_redis_socket(self) -> Path:
        return Path(self.var_dir).resolve() / "redis" / "redis.sock"

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.embedded_redis_socket}"

    @property
    def webhook_url(self) -> str:
        return f"{self.wingman_public_url}/chatwoot/webhook"

    def missing(self) -> list[str]:
        """Settings the service can start without but needs to do its job."""
        wanted = {
            "CHATWOOT_URL": self.chatwoot_url,
            "CHATWOOT_BOT_TOKEN": self.chatwoot_bot_token,
            "ANTHROPIC_API_KEY": self.anthropic_api_key,
        }
        return [name for name, value in wanted.items() if value is None]

    @property
    def chatwoot_configured(self) -> bool:
        return not {"CHATWOOT_URL", "CHATWOOT_BOT_TOKEN"} & set(self.missing())

    def serves(self, account_id: int) -> bool:
        """Whether Wingman acts on events from this Chatwoot account."""
        return not self.chatwoot_account_ids or account_id in self.chatwoot_account_ids

    @property
    def claude_configured(self) -> bool:
        return self.anthropic_api_key is not None

    def secrets(self) -> list[str]:
        """Values that must never be written to a log: the secret settings, and the
        passwords in DATABASE_URL and REDIS_URL (as written, and percent-decoded as a
        driver would print them)."""
        values = [
            getattr(self, f.name)
            for f in fields(self)
            if not f.repr and isinstance(getattr(self, f.name), str)
        ]
        for url in (self.database_url, self.redis_url):
            password = urlsplit(url).password if url else None
            if password:
                values += [password, unquote(password)]
        return list(dict.fromkeys(values))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={_shown(getattr(self, f.name))}" for f in fields(self) if f.repr
        )
        return f"{type(self).__name__}({shown})"


def _shown(value: object) -> str:
    return repr(mask_url_passwords(value)) if isinstance(value, str) else repr(value)


def _get(env: Mapping[str, str], name: str, parser: Callable[[str], T], default: T) -> T:
    if name not in env:
        return default
    try:
        return parser(env[name])
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{name}: {exc}") from None
