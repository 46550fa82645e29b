"""The worker process's collaborators, built once from Settings on first use."""

from __future__ import annotations

import random
import time
from datetime import timedelta
from functools import cache

from sqlmodel import Session

from chatwoot.client import ChatwootClient
from core import logs
from core.settings import Settings
from workers import context, drafts, notify
from workers.claude import ClaudeComposer
from workers.context import WorkerContext
from workers.debounce import ReplyTimer
from workers.queue import schedule_at
from workers.services import Services

# Claude may take its whole 115 s budget; the lock and the job outlive it.
LOCK_SECONDS = 180
REPLY_JOB_TIMEOUT = 240


@cache
def services() -> Services:
    settings = Settings.load()
    logs.configure(settings.log_level, settings.secrets())
    return Services.build(settings)


@cache
def reply_timer() -> ReplyTimer:
    rt = services()
    return ReplyTimer(
        rt.redis,
        rt.reply_queue,
        job="workers.jobs.reply",
        debounce=rt.settings.reply_debounce_seconds,
        max_wait=rt.settings.reply_max_wait_seconds,
        job_timeout=REPLY_JOB_TIMEOUT,
    )


def chatwoot_client(settings: Settings) -> ChatwootClient | None:
    """The bot's client, bound to no account: each call goes to the conversation's own."""
    if not settings.chatwoot_configured:
        return None
    assert settings.chatwoot_url is not None
    return ChatwootClient(
        settings.chatwoot_url,
        None,
        settings.chatwoot_bot_token,
        user_token=settings.chatwoot_user_token,
        timeout=settings.chatwoot_timeout_seconds,
    )


@cache
def worker_context() -> WorkerContext:
    rt = services()
    settings = rt.settings
    return context.build(
        settings,
        engine=rt.engine,
        config=rt.config,
        composer=ClaudeComposer.from_settings(settings) if settings.claude_configured else None,
        chatwoot=chatwoot_client(settings),
        now=rt.now,
        retry_later=schedule_outbox,
        pause=time.sleep,
        rng=random.SystemRandom(),
        notify=lambda body: notify.enqueue(rt.queue, settings.notify_webhook_url, body),
    )


def warm_up() -> None:
    """Build the collaborators and run the reply path's reads once, before the first job.

    A cold process pays for SQLAlchemy compiling each statement, the first database and
    Claude connections and reading the configuration: a hundred milliseconds or more that
    would otherwise land on the first customer after every start.
    """
    deps = worker_context()
    with Session(deps.engine) as session:
        drafts.waiting_messages(session, 0)
        drafts.pending_draft(session, 0)
        drafts.history(session, 0)
        drafts.earlier_messages(session, 0, 0, limit=1)
    deps.config.inbox(0)


def schedule_outbox(conversation_id: int, attempt: int) -> None:
    """Retry posting a conversation's outbox later; the waits come from OUTBOX_RETRY_SECONDS.

    Scheduled on the injected clock (not RQ's ``enqueue_in``, which reads the system
    clock), so the simulation can move time and the retry comes due with it; through
    ``schedule_at``, whose job can't be lost to a scheduler pass (see there).
    """
    rt = services()
    waits = rt.settings.outbox_retry_seconds
    wait = waits[min(attempt, len(waits) - 1)]
    schedule_at(
        rt.queue,
        rt.now() + timedelta(seconds=wait),
        "workers.jobs.deliver_outbox",
        conversation_id,
        attempt + 1,
    )


def reset() -> None:
    """Forget the built collaborators (tests point them at other servers)."""
    if services.cache_info().currsize:
        services().close()
    for built in (worker_context, reply_timer, services):
        built.cache_clear()
