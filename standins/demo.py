"""`make demo`: Wingman end to end on one machine, against local stand-ins for Chatwoot and
Claude. No account, no key, nothing configured, and nothing leaves the machine.

It starts the Claude stand-in, the Chatwoot stand-in and Wingman itself (``python -m
workers.supervisor``) in a temporary directory with its own database and Redis, so the
developer's ``var/`` is never touched. A customer then asks about the Trail Tent 2P in a
burst of messages; Wingman waits for the quiet period, drafts one private note that
@mentions the on-duty rep; the rep types ``/send``; the customer gets the bubbles. Exit
status 0 when all of that happened, 1 (with Wingman's log) when something didn't.

The processes are in ``standins.demo_processes``, the calls and waits in
``standins.demo_probes``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from standins.demo_probes import DemoFailed, Settled, bot_messages, call, wait_for
from standins.demo_processes import ROOT, Demo, free_port

KNOWLEDGE = ROOT / "knowledge" / "website.example.md"
ACCOUNT_ID, INBOX_ID = 3, 12
BOT_TOKEN, USER_TOKEN = "demo-bot-token", "demo-user-token"
SECRET = "demo-webhook-secret"
REP = {"id": 21, "name": "Daniel Ortiz"}
CUSTOMER = "Maya Chen"
BURST = [
    "Hi! I'm looking at the Trail Tent 2P.",
    "Does it really fit two adults with full-size sleeping pads?",
    "And what's your return window if it doesn't work out?",
]
DEBOUNCE, MAX_WAIT = 2, 6
START_TIMEOUT, DRAFT_TIMEOUT, SEND_TIMEOUT = 30.0, 25.0, 15.0
# Every Wingman setting (.env.example): the developer's own values must not leak in.
_PREFIXES = ("CHATWOOT_", "ANTHROPIC_", "CLAUDE_", "REPLY_", "WINGMAN_", "DELIVERY_", "OUTBOX_")
_NAMES = {
    "REDIS_URL",
    "DATABASE_URL",
    "DEFAULT_AUTONOMY",
    "ADMIN_TOKEN",
    "PORT",
    "WEB_WORKERS",
    "LOG_LEVEL",
    "WEBHOOK_MAX_SKEW_SECONDS",
    "PROMPT_CACHE_TTL",
}
RULE = "═" * 78


class Stopped(Exception):
    """SIGTERM arrived: stop Wingman too, which runs in a session of its own."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Wingman end to end against local stand-ins.")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory with every log"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(RULE)
    print(" Wingman demo. Chatwoot and Claude are local DEMO STAND-INS, not the real services:")
    print(" no Chatwoot account, no Anthropic API key, nothing leaves this machine. The")
    print(" stand-in Claude answers deterministically, so the draft's wording is canned.")
    print(RULE, flush=True)
    workdir = Path(
        tempfile.mkdtemp(prefix="wm-demo-", dir="/tmp" if os.path.isdir("/tmp") else None)
    )
    demo = Demo(workdir)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        run(demo)
    except DemoFailed as exc:
        demo.failed = True
        print(f"\n✗ The demo failed: {exc}")
        print("\n--- webhooks the Chatwoot stand-in delivered to Wingman (the last 10) ---")
        print(demo.deliveries())
        print(f"\n--- the last lines of Wingman's log ({demo.wingman_log}) ---")
        print(demo.log_tail())
        print(f"\nEvery log is kept in {workdir}")
        return 1
    except (KeyboardInterrupt, Stopped):
        print("\nInterrupted.")
        return 130
    finally:
        print("\nStopping Wingman and the stand-ins...", flush=True)
        demo.stop()
        if not (args.keep or demo.failed):
            shutil.rmtree(workdir, ignore_errors=True)
    if args.keep:
        print(f"Logs, database and config are kept in {workdir}")
    print(f"Done: the demo took {time.monotonic() - started:.1f} s.")
    return 0


def run(demo: Demo) -> None:
    claude = demo.start_standin("claude", [])
    print(f"Claude stand-in:   {claude}")
    port = free_port()
    wingman = f"http://127.0.0.1:{port}"
    chatwoot = demo.start_standin(
        "chatwoot",
        [
            *("--account", str(ACCOUNT_ID), "--bot-token", BOT_TOKEN),
            *("--user-token", USER_TOKEN, "--secret", SECRET),
            *("--webhook-url", f"{wingman}/chatwoot/webhook"),
        ],
    )
    demo.chatwoot = chatwoot
    print(f"Chatwoot stand-in: {chatwoot} (account {ACCOUNT_ID}, signed webhooks)")
    config = demo.workdir / "wingman.toml"
    config.write_text(
        f'[inboxes.{INBOX_ID}]\nname = "Website Support"\nautonomy = "draft"\n'
        f"knowledge = {json.dumps(str(KNOWLEDGE))}\n"
        f'on_duty_agent = {{ id = {REP["id"]}, name = "{REP["name"]}" }}\n'
    )
    demo.start_wingman(wingman_env(demo.workdir, port, chatwoot=chatwoot, claude=claude))
    print(f"Wingman:           {wingman} (python -m workers.supervisor in {demo.workdir})")
    since = time.monotonic()
    wait_for("Wingman to be ready (GET /readyz)", lambda: _ready(demo, wingman), START_TIMEOUT)
    print(f"Wingman is ready after {time.monotonic() - since:.1f} s.", flush=True)

    section(f'The customer writes in the web widget (inbox {INBOX_ID}, "Website Support")')
    body: dict[str, Any] = {"contact": {"name": CUSTOMER}}
    for text in BURST:
        answer = call("POST", f"{chatwoot}/_standin/customer_message", {**body, "content": text})
        body["conversation_id"] = conversation_id = answer["conversation_id"]
        show(CUSTOMER, text)
        time.sleep(0.4)  # a burst: well inside the quiet period
    print(f"\n(Wingman waits for {DEBOUNCE} s of quiet, then writes one draft for the burst.)")
    view = f"{chatwoot}/_standin/conversations/{conversation_id}"

    def draft_note() -> dict[str, Any] | None:
        notes = [
            m for m in bot_messages(call("GET", view)) if m["private"] and "Draft D" in m["content"]
        ]
        return notes[-1] if notes else None

    note = wait_for("the draft note", draft_note, DRAFT_TIMEOUT)
    section("What the rep sees in Chatwoot: a private note the customer never sees")
    show(f"{note['sender']['name']} · private note", note["content"])
    tag = re.search(r"\bD\d+\b", note["content"])
    for mention in call("GET", view)["mentions"]:
        print(f"\n🔔 Chatwoot notifies {mention['name']} (@mentioned in the note).")

    section(f"{REP['name']} approves by typing a private note")
    note_body = {"conversation_id": conversation_id, "content": "/send", "user": REP}
    call("POST", f"{chatwoot}/_standin/agent_note", note_body)
    show(f"{REP['name']} · private note", "/send")
    print(f"(/send sends the pending draft{f' {tag.group(0)}' if tag else ''}.)")

    replies = wait_for("the public replies", Settled(view), SEND_TIMEOUT)
    section("What the customer receives")
    for message in call("GET", view)["messages"]:
        if not message["private"]:
            who = CUSTOMER if message["message_type"] == "incoming" else message["sender"]["name"]
            show(who, message["content"])
    sent = [m["content"] for m in replies]
    if len(set(sent)) != len(sent) or not all(text in note["content"] for text in sent):
        raise DemoFailed(f"the replies are not the draft's bubbles, each once: {sent}")
    print(f"\n{len(sent)} reply bubble(s) sent, each exactly once, after the rep's /send.")


def wingman_env(workdir: Path, port: int, *, chatwoot: str, claude: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not (k in _NAMES or k.startswith(_PREFIXES))}
    env.update(
        CHATWOOT_URL=chatwoot,
        CHATWOOT_ACCOUNT_ID=str(ACCOUNT_ID),
        CHATWOOT_BOT_TOKEN=BOT_TOKEN,
        CHATWOOT_USER_TOKEN=USER_TOKEN,
        CHATWOOT_WEBHOOK_SECRET=SECRET,
        ANTHROPIC_API_KEY="demo-key-for-the-stand-in",
        ANTHROPIC_BASE_URL=claude,
        REPLY_DEBOUNCE_SECONDS=str(DEBOUNCE),
        REPLY_MAX_WAIT_SECONDS=str(MAX_WAIT),
        OUTBOX_RETRY_SECONDS="1",
        PORT=str(port),
        WINGMAN_BIND="127.0.0.1",
        WINGMAN_PUBLIC_URL=f"http://127.0.0.1:{port}",
        WINGMAN_VAR_DIR=str(workdir / "var"),
        DATABASE_URL=f"sqlite:///{workdir / 'wingman.db'}",
        WINGMAN_CONFIG=str(workdir / "wingman.toml"),
        WEB_WORKERS="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def _ready(demo: Demo, wingman: str) -> bool:
    assert demo.wingman is not None
    if demo.wingman.poll() is not None:
        raise DemoFailed(f"Wingman exited with code {demo.wingman.returncode}")
    try:
        return bool(call("GET", f"{wingman}/readyz", timeout=2).get("status") == "ok")
    except (DemoFailed, OSError):
        return False


def section(title: str) -> None:
    print(f"\n── {title} " + "─" * max(0, 74 - len(title)), flush=True)


def show(who: str, content: str | None) -> None:
    lines = (content or "(no text)").splitlines() or [""]
    print(f"  {who}:")
    for line in lines:
        print(f"    {line}".rstrip())
    sys.stdout.flush()


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise Stopped()


if __name__ == "__main__":
    sys.exit(main())
