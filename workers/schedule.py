"""Which jobs run periodically, and how often. The clock (workers/clock.py) enqueues them."""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings


@dataclass(frozen=True)
class Periodic:
    """A no-argument job enqueued once per ``interval`` seconds.

    ``func`` is a dotted path, not a function, so the clock never imports job code and
    the JSON-serialized job names exactly what the worker will import.
    """

    name: str
    func: str
    interval: float


def periodic_jobs(settings: Settings) -> list[Periodic]:
    return [
        Periodic(
            "requeue_stale_deliveries",
            "workers.jobs.requeue_stale_deliveries",
            settings.delivery_sweep_interval_seconds,
        ),
        Periodic(
            "prune_deliveries",
            "workers.jobs.prune_deliveries",
            settings.delivery_prune_interval_seconds,
        ),
        Periodic(
            "sweep_replies",
            "workers.jobs.sweep_replies",
            settings.reply_sweep_interval_seconds,
        ),
        Periodic(
            "check_drafts", "workers.jobs.check_drafts", settings.draft_check_interval_seconds
        ),
        Periodic(
            "scan_follow_ups",
            "workers.jobs.scan_follow_ups",
            settings.follow_up_scan_interval_seconds,
        ),
        Periodic(
            "retry_stuck_outbox",
            "workers.jobs.retry_stuck_outbox",
            settings.outbox_sweep_interval_seconds,
        ),
    ]
