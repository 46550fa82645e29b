"""A local stand-in for one Chatwoot account, for integration tests and `make demo`.

It is NOT Chatwoot: one in-memory account (inbox 12 "Website Support", a web widget, and
inboxes 13-18 on WhatsApp, Instagram, Twilio WhatsApp, TikTok, the API with a reply
window, and a channel Wingman doesn't know, with Chatwoot's messaging windows; agent bot
7) that answers the REST endpoints Wingman's client calls in Chatwoot 4.15.1's shapes,
and delivers agent-bot webhooks to ``--webhook-url`` the way Chatwoot does (signed when a
secret is set, from a background thread). Every response carries
``x-wingman-standin: chatwoot``.

    python -m standins.chatwoot --port 3000 --account 3 --bot-token T \\
        --webhook-url http://localhost:8000/chatwoot/webhook [--secret S] [--user-token U]

Test controls (JSON, no token):

- ``POST /_standin/customer_message {"conversation_id"?, "content", "attachments"?,
  "contact"?: {"name", "email"}, "assignee"?: {"id", "name"}, "inbox_id"?: 12}``: the
  customer writes; the conversation is created (``pending``) on first use. Answers its id
  and the message id.
- ``POST /_standin/agent_note {"conversation_id", "content", "user": {"id", "name"},
  "private"?: true, "from_phone"?: false}``: a rep writes a private note (or, with
  ``"private": false``, a reply; with ``"from_phone": true``, a reply from the WhatsApp or
  Instagram phone app, which Chatwoot stores with no sender and ``external_echo``).
- ``POST /_standin/fail {"path_contains", "status": 500, "times": 1, "method"?, "delay"?,
  "apply"?, "drop"?}``: matching REST calls fail; with ``apply`` the call takes effect
  first, as when Chatwoot saved the message but a proxy answered 504; with ``drop`` the
  connection closes without any answer (a timeout, quickly).
- ``POST /_standin/channel_failed {"conversation_id", "message_id", "error"?}``: the channel
  refuses a message Chatwoot had accepted; ``message_updated`` carries ``external_error``.
- ``GET /_standin/conversations/{id}``: everything, private notes and senders included.
- ``GET /_standin/conversations``, ``GET /_standin/deliveries``, ``POST /_standin/reset``.

In-process users (tests, the simulation) can pass ``clock`` (unix seconds, for every
timestamp and signature) and ``hold_webhooks=True``: webhooks are then kept for the caller
to take (``take_webhooks()``) and deliver in whatever order, as often as it likes, and
``on_publish`` sees each one as it is made, while the REST call that made it is still
unanswered (Chatwoot's Sidekiq can beat the API's response).

The pieces: ``chatwoot_state`` (the account) with ``chatwoot_records``,
``chatwoot_changes`` and ``chatwoot_customers`` (its records and what changes it),
``chatwoot_webhook_bodies``, ``chatwoot_rest_bodies`` and ``chatwoot_push`` (the JSON
Chatwoot would write), ``chatwoot_handler`` (requests), ``chatwoot_api`` (REST),
``chatwoot_controls`` (the above) and ``chatwoot_webhooks`` (delivery).
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable
from typing import Self

from standins.chatwoot_changes import Change
from standins.chatwoot_controls import Failure
from standins.chatwoot_handler import BANNER, ChatwootHandler
from standins.chatwoot_state import Account
from standins.chatwoot_webhook_bodies import webhook
from standins.chatwoot_webhooks import RETRY_WAIT, TIMEOUT, Deliverer, Delivery
from standins.http import StandinServer


class ChatwootStandin(StandinServer):
    name = "chatwoot-standin"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        account_id: int = 3,
        bot_token: str,
        user_token: str | None = None,
        webhook_url: str | None = None,
        secret: str | None = None,
        quiet: bool = True,
        retry_wait: float = RETRY_WAIT,
        webhook_timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.time,
        hold_webhooks: bool = False,
    ) -> None:
        self.account = Account(account_id, clock=clock)
        self.clock = clock
        self.tokens = {bot_token: "bot", **({user_token: "user"} if user_token else {})}
        self.deliverer = Deliverer(
            webhook_url,
            secret,
            timeout=webhook_timeout,
            retry_wait=retry_wait,
            clock=clock,
            hold=hold_webhooks,
        )
        # Sees each webhook as it is made, before the REST call that made it is answered.
        self.on_publish: Callable[[Delivery], None] | None = None
        self.failures: list[Failure] = []
        self.failures_lock = threading.Lock()
        self.quiet = quiet
        super().__init__((host, port), ChatwootHandler)

    def start(self) -> Self:
        self.deliverer.start()
        return super().start()

    def stop(self) -> None:
        """Stop serving and delivering, close the socket and join the threads."""
        super().stop()
        self.deliverer.stop()

    def publish(self, changes: list[Change]) -> None:
        """Render and queue the webhooks for changes; call with ``account.lock`` held."""
        for change in changes:
            payload = webhook(self.account, change)
            message_id = change.message.id if change.message else None
            delivery = self.deliverer.enqueue(
                payload, conversation_id=change.conversation.id, message_id=message_id
            )
            if self.on_publish is not None:
                self.on_publish(delivery)

    def take_webhooks(self) -> list[Delivery]:
        """The held webhooks, oldest first, handed over (with ``hold_webhooks``)."""
        return self.deliverer.take()

    def reset(self) -> None:
        with self.failures_lock:
            self.failures.clear()
        self.account.reset()
        self.deliverer.reset()

    def take_failure(self, method: str, path: str) -> Failure | None:
        with self.failures_lock:
            for failure in self.failures:
                if failure.path_contains in path and failure.method in (None, method):
                    failure.times -= 1
                    if failure.times <= 0:
                        self.failures.remove(failure)
                    return failure
        return None


def serve(
    port: int = 0,
    host: str = "127.0.0.1",
    *,
    account_id: int = 3,
    bot_token: str = "standin-bot-token",
    user_token: str | None = None,
    webhook_url: str | None = None,
    secret: str | None = None,
    quiet: bool = True,
    retry_wait: float = RETRY_WAIT,
    webhook_timeout: float = TIMEOUT,
    clock: Callable[[], float] = time.time,
    hold_webhooks: bool = False,
) -> ChatwootStandin:
    """Start a stand-in on a thread; port 0 picks a free one. Call ``stop()`` when done."""
    return ChatwootStandin(
        host,
        port,
        account_id=account_id,
        bot_token=bot_token,
        user_token=user_token,
        webhook_url=webhook_url,
        secret=secret,
        quiet=quiet,
        retry_wait=retry_wait,
        webhook_timeout=webhook_timeout,
        clock=clock,
        hold_webhooks=hold_webhooks,
    ).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=BANNER)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--account", type=int, default=3, help="the account id (default 3)")
    parser.add_argument("--bot-token", required=True, help="the agent bot's access token")
    parser.add_argument("--user-token", help="an admin's token, for the list endpoints")
    parser.add_argument("--webhook-url", help="the agent bot's webhook URL")
    parser.add_argument("--secret", help="the bot's webhook secret; unset sends unsigned")
    parser.add_argument("--retry-wait", type=float, default=RETRY_WAIT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    server = ChatwootStandin(
        args.host,
        args.port,
        account_id=args.account,
        bot_token=args.bot_token,
        user_token=args.user_token,
        webhook_url=args.webhook_url,
        secret=args.secret,
        quiet=False,
        retry_wait=args.retry_wait,
    )
    server.deliverer.start()
    print(BANNER, flush=True)
    signed = "signed" if args.secret else "unsigned"
    target = args.webhook_url or "nowhere (no --webhook-url)"
    print(f"Delivering agent-bot webhooks ({signed}) to {target}", flush=True)
    print(f"Listening on {server.url} (set CHATWOOT_URL to this)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.deliverer.stop()
        server.server_close()


if __name__ == "__main__":
    main()
