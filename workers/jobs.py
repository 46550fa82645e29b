"""RQ jobs: importable functions of ids that build real collaborators and call the core.

Jobs are enqueued by dotted path with the JSON serializer, so their arguments can only be
plain values; tests call the core functions with their own collaborators instead.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from time import perf_counter
from typing import Any

from rq import get_current_job

from core.db import session_scope
from core.logs import Masker
from core.models import FollowUp
from workers import (
    approvals,
    deliveries,
    drafts,
    follow_up_work,
    follow_ups,
    handoffs,
    notify,
    outbox,
    outgoing,
    parking,
    reminders,
    replies,
    routing,
    runtime,
    sweeper,
    takeover,
)
from workers.actions import Action, HandOff, HumanReplied, OwnEcho, RunCommand, Touch
from workers.queue import schedule_at
from workers.runtime import LOCK_SECONDS, REPLY_JOB_TIMEOUT, services

log = logging.getLogger(__name__)

# How soon a /redo that found a generation running tries again.
REDO_RETRY_SECONDS = 5
# A reply timer firing later than this after it was due is worth a warning.
LATE_WARNING_SECONDS = 5.0
# Older unsent outbox items than this are picked up by the periodic sweep.
OUTBOX_STUCK_SECONDS = 60


def process_delivery(delivery_id: int) -> bool:
    """Act on a stored delivery, then mark it processed.

    The actions run before the mark, so a crash in between only repeats them, and each is
    idempotent: a touch records the same time again, a command's effects are keyed. A
    failure is recorded on the delivery and raised for RQ's failed registry; the delivery
    sweeper retries it until it has failed DELIVERY_MAX_ATTEMPTS times, and then it is
    parked for an operator rather than retried forever.
    """
    rt = services()
    max_attempts = rt.settings.delivery_max_attempts
    routed = False
    try:
        with session_scope(rt.engine) as session:
            actions = routing.route(
                session,
                delivery_id,
                config=rt.config,
                now=rt.now(),
                serves=rt.settings.serves,
                max_attempts=max_attempts,
                max_age=timedelta(seconds=rt.settings.reply_sweep_max_age_seconds),
            )
        routed = True
        if actions is None:
            return False
        for action in actions:
            _act(action)
        with session_scope(rt.engine) as session:
            return deliveries.process_delivery(session, delivery_id, now=rt.now())
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        with session_scope(rt.engine) as session:
            parking.record_failure(
                session,
                delivery_id,
                Masker(rt.settings.secrets())(error),
                now=rt.now(),
                counted=routed,
                max_attempts=max_attempts,
            )
        raise


def _act(action: Action) -> None:
    if isinstance(action, Touch):
        runtime.reply_timer().touch(action.conversation_id, action.at)
    elif isinstance(action, RunCommand):
        approvals.handle(
            action.conversation_id,
            action.command,
            message_id=action.message_id,
            user_id=action.user_id,
            deps=runtime.worker_context(),
            redo=partial(enqueue_redo, message_id=action.message_id),
        )
    elif isinstance(action, HumanReplied):
        takeover.on_human_reply(action, runtime.worker_context())
    elif isinstance(action, HandOff):
        deps = runtime.worker_context()
        handoffs.hand_over(
            action.conversation_id, deps, reason=action.reason, key=action.key, why=action.why
        )
        outgoing.post(action.conversation_id, deps)
    elif isinstance(action, OwnEcho):
        outgoing.settle_echo(action, runtime.worker_context())


def reply(conversation_id: int, timer: str | None = None) -> None:
    """The debounce timer fired: draft a reply once the customer has gone quiet."""
    reply_timer = runtime.reply_timer()
    decision = reply_timer.fire(conversation_id, timer=timer)
    if not decision.run_now:
        return
    started, due_at = perf_counter(), decision.due_at or 0.0
    late = reply_timer.clock() - due_at
    job = get_current_job()
    # When the scheduler put the job on the queue: the rest of the lateness is the wait
    # for a free reply worker.
    queued = job.enqueued_at.timestamp() - due_at if job and job.enqueued_at else late
    covered_up_to = None
    timing = replies.Timing()
    with reply_timer.lock(conversation_id, ttl=LOCK_SECONDS) as held:
        if not held:
            return  # the holder reads the database after us and covers our messages
        snapshot = reply_timer.snapshot(conversation_id)
        covered_up_to = replies.draft_reply(
            conversation_id, runtime.worker_context(), timing=timing
        )
    if covered_up_to is not None:
        took = perf_counter() - started
        # One line per reply: how late the timer fired, and what was Claude's and what ours.
        log.log(
            logging.WARNING if late > LATE_WARNING_SECONDS else logging.INFO,
            "conversation %s: reply started %d ms after it was due (queued at %d ms)%s; "
            "written and posted in %d ms (Claude %d ms, Wingman %d ms)",
            conversation_id,
            late * 1000,
            queued * 1000,
            " (are the reply workers all busy? see REPLY_WORKERS)"
            if late > LATE_WARNING_SECONDS
            else "",
            took * 1000,
            timing.claude_seconds * 1000,
            (took - timing.claude_seconds) * 1000,
        )
    if covered_up_to is None and snapshot is not None:
        covered_up_to = snapshot[1]  # nothing to answer (e.g. handed off): forget the wait
    if covered_up_to is not None:
        reply_timer.settle(conversation_id, covered_up_to)


def enqueue_redo(conversation_id: int, hint: str, *, message_id: int) -> None:
    services().reply_queue.enqueue(
        "workers.jobs.redo", conversation_id, hint, message_id, job_timeout=REPLY_JOB_TIMEOUT
    )


def redo(conversation_id: int, hint: str, message_id: int) -> None:
    """A rep asked for a new draft with a hint; it replaces the pending one."""
    rt = services()
    with runtime.reply_timer().lock(conversation_id, ttl=LOCK_SECONDS) as held:
        if not held:
            schedule_at(
                rt.reply_queue,
                rt.now() + timedelta(seconds=REDO_RETRY_SECONDS),
                "workers.jobs.redo",
                conversation_id,
                hint,
                message_id,
                job_timeout=REPLY_JOB_TIMEOUT,
            )
            return
        deps = runtime.worker_context()
        if replies.draft_reply(conversation_id, deps, hint=hint or None) is None:
            with session_scope(rt.engine) as session:
                outbox.add(
                    session,
                    key=f"reply-to:{message_id}",
                    conversation_id=conversation_id,
                    content="↩️ Nothing to redo: no customer message is waiting for a reply.",
                    now=rt.now(),
                )
            outgoing.post(conversation_id, deps)


def deliver_outbox(conversation_id: int, attempt: int = 0) -> None:
    """Retry posting what Chatwoot refused transiently; keeps going until it is posted."""
    outgoing.post(conversation_id, runtime.worker_context(), attempt=attempt)


def retry_stuck_outbox() -> int:
    """Periodic: post whatever the outbox still holds, in case a retry job was lost."""
    deps = runtime.worker_context()
    with session_scope(deps.engine) as session:
        stuck = outbox.stuck_conversations(
            session, now=deps.now(), older_than=timedelta(seconds=OUTBOX_STUCK_SECONDS)
        )
    for conversation_id in stuck:
        log.warning("outbox of conversation %s still holds unsent items; retrying", conversation_id)
        outgoing.post(conversation_id, deps)
    return len(stuck)


def sweep_replies() -> int:
    """Periodic: restart the reply timer of conversations left unanswered (see sweeper)."""
    settings = services().settings
    return sweeper.rescue_unanswered(runtime.worker_context(), runtime.reply_timer(), settings)


def check_drafts() -> int:
    """Periodic: expire drafts whose channel window closed, and remind reps of waiting ones."""
    deps = runtime.worker_context()
    interval = timedelta(minutes=services().settings.draft_remind_minutes)
    now = deps.now()
    with session_scope(deps.engine) as session:
        expired = drafts.expire_closed_windows(session, now=now)
        for draft in expired:
            outbox.add(
                session,
                key=f"draft:{draft.id}:expired",
                conversation_id=draft.conversation_id,
                content=f"⏰ D{draft.id} expired unsent: its channel's 24-hour window closed.",
                now=now,
            )
        touched = {draft.conversation_id for draft in expired}
        reminded = reminders.queue_due(session, deps, interval=interval)
    for _, body in reminded:
        deps.notify(body)
    for conversation_id in touched | {conversation_id for conversation_id, _ in reminded}:
        outgoing.post(conversation_id, deps)
    return len(expired)


def scan_follow_ups() -> int:
    """Periodic: decide dormant leads' due steps; each that may go out gets its own job."""
    result = follow_ups.scan(runtime.worker_context(), enqueue=enqueue_follow_up)
    return len(result.queued)


def enqueue_follow_up(follow_up_id: int) -> None:
    services().reply_queue.enqueue(
        "workers.jobs.follow_up", follow_up_id, job_timeout=REPLY_JOB_TIMEOUT
    )


def follow_up(follow_up_id: int) -> None:
    """Write a queued follow-up under the conversation's lock, so it never races a reply."""
    rt = services()
    with session_scope(rt.engine) as session:
        row = session.get(FollowUp, follow_up_id)
        conversation_id = row.conversation_id if row is not None else None
    if conversation_id is None:
        return
    with runtime.reply_timer().lock(conversation_id, ttl=LOCK_SECONDS) as held:
        if not held:
            schedule_at(
                rt.reply_queue,
                rt.now() + timedelta(seconds=REDO_RETRY_SECONDS),
                "workers.jobs.follow_up",
                follow_up_id,
                job_timeout=REPLY_JOB_TIMEOUT,
            )
            return
        follow_up_work.write(follow_up_id, runtime.worker_context())


def send_notice(body: dict[str, Any]) -> None:
    """Post one notice to NOTIFY_WEBHOOK_URL; RQ retries it on failure."""
    url = services().settings.notify_webhook_url
    if url:
        notify.send(url, body)


def requeue_stale_deliveries() -> int:
    rt = services()
    older_than = timedelta(seconds=rt.settings.delivery_requeue_after_seconds)
    with session_scope(rt.engine) as session:
        rescued = deliveries.requeue_stale_deliveries(
            session, rt.queue, now=rt.now(), older_than=older_than
        )
    return len(rescued)


def prune_deliveries() -> int:
    rt = services()
    retention = timedelta(days=rt.settings.delivery_retention_days)
    with session_scope(rt.engine) as session:
        return deliveries.prune_deliveries(session, now=rt.now(), retention=retention)
