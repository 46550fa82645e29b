"""The command lines of the service's processes: gunicorn, the routing and reply workers,
the clock."""

from __future__ import annotations

import sys

from core.settings import Settings

# Shorter than the supervisor's GRACE_SECONDS, so gunicorn ends its own workers before
# the supervisor would.
WEB_GRACEFUL_TIMEOUT = 5


def app_commands(settings: Settings) -> list[tuple[str, list[str]]]:
    python = sys.executable
    worker = [python, "-m", "workers.worker"]
    return [
        ("web", [python, "-m", "gunicorn", *gunicorn_args(settings)]),
        *[
            (f"routing worker {n}", [*worker, "routing"])
            for n in range(1, settings.routing_workers + 1)
        ],
        *[
            (f"reply worker {n}", [*worker, "replies"])
            for n in range(1, settings.reply_workers + 1)
        ],
        ("clock", [python, "-m", "workers.clock"]),
    ]


def gunicorn_args(settings: Settings) -> list[str]:
    host = settings.bind_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return [
        "--bind",
        f"{host}:{settings.port}",
        "--workers",
        str(settings.web_workers),
        "--access-logfile",
        "-",
        "--log-level",
        settings.log_level.lower(),
        "--graceful-timeout",
        str(WEB_GRACEFUL_TIMEOUT),
        # gunicorn's default control socket is one per user (~/.gunicorn), so two checkouts
        # would fight over it.
        "--no-control-socket",
        # gunicorn's own log handlers bypass the root logger, and with it the secret mask.
        "--logger-class",
        "core.logs.GunicornLogger",
        "bot:create_app()",
    ]
