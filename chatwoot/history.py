"""Reading an account's history over REST, politely: paced under Chatwoot's rate limit,
backing off when Chatwoot says 429 anyway, and parsed exactly as webhook bodies are.

Listing needs a user token: a bot token may not list conversations or messages
(CONTRACT.md §3). Conversations come 25 a page, most active first, until a page is empty;
messages come forward from the oldest, up to 100 ``after`` a message id.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, Field

from chatwoot.client import ChatwootClient
from chatwoot.errors import ChatwootError
from chatwoot.event_data import MESSAGE_STATUSES, ConversationData, InboxData, MessageData
from chatwoot.events import parse_event, parse_timestamp
from chatwoot.values import PayloadError, Shape, empty_as_none, parse

T = TypeVar("T")

# MessageFinder answers at most 100 messages ``after`` an id: a shorter page is the end.
MESSAGES_PER_PAGE = 100
# Chatwoot's Rack::Attack allows 3000 requests a minute per IP (RACK_ATTACK_LIMIT); the
# live bot and exports share that IP, so the import leaves them a fifth.
DEFAULT_PER_MINUTE = 2400


class _Items(Shape):
    """A list answer's envelope; each item is parsed as a webhook body is."""

    payload: list[dict[str, Any]]


class _PageMeta(Shape):
    all_count: Annotated[int, Field(ge=0)] = 0


class _Page(_Items):
    meta: Annotated[_PageMeta | None, BeforeValidator(empty_as_none)] = None


class _ConversationList(Shape):
    data: _Page


@dataclass(frozen=True)
class HistoryConversation:
    """One conversation of a listing page, parsed as a conversation webhook is."""

    conversation: ConversationData
    inbox: InboxData | None
    last_activity_at: datetime | None

    @property
    def display_id(self) -> int:
        return self.conversation.display_id


@dataclass(frozen=True)
class HistoryPage:
    conversations: list[HistoryConversation]
    all_count: int  # every conversation the listing matches, for a progress bar


class HistoryClient(ChatwootClient):
    """The list endpoints, answering the same typed data the webhook parser produces.

    The REST conversation and message partials carry the webhook bodies' fields with three
    differences, bridged here: the channel sits in ``meta``, a message's status is its own
    field (webhooks only have it in ``conversation.messages[0]``), and ``message_type`` and
    ``created_at`` are numbers, which ``parse_event`` reads too. One parser means imported
    rows follow the same storage rules as live ones.
    """

    def __init__(self, base_url: str, account_id: int, user_token: str, **kwargs: Any) -> None:
        super().__init__(base_url, account_id, None, user_token=user_token, **kwargs)
        self.account_id = account_id

    def conversation_page(self, page: int, *, inbox_id: int | None = None) -> HistoryPage:
        """One page of every conversation (any status), most recently active first."""
        # Explicit "all", so no default of Chatwoot's narrows what history means.
        params: dict[str, Any] = {"status": "all", "assignee_type": "all", "page": page}
        if inbox_id is not None:
            params["inbox_id"] = inbox_id
        return self._fetch("GET", "/conversations", self._parse_page, token="user", params=params)

    def messages_after(self, conversation_id: int, after: int) -> list[MessageData]:
        """Up to 100 messages with ids above ``after``, oldest first; ``after=0`` starts at
        the beginning (Rails' ``present?`` is true for "0"). Private notes and activity
        messages included."""
        path = f"/conversations/{conversation_id}/messages"
        return self._fetch(
            "GET",
            path,
            lambda data: self._parse_messages(conversation_id, data),
            token="user",
            params={"after": after},
        )

    def _parse_page(self, data: Any) -> HistoryPage:
        body = parse(_ConversationList, data).data
        return HistoryPage(
            [self._parse_conversation(item) for item in body.payload],
            all_count=body.meta.all_count if body.meta else 0,
        )

    def _parse_conversation(self, raw: dict[str, Any]) -> HistoryConversation:
        # A meta that isn't an object is refused by parse_event, with its path.
        meta = raw.get("meta")
        channel = meta.get("channel") if isinstance(meta, dict) else None
        payload = {
            **raw,
            "channel": raw.get("channel") or channel,
            "account": {"id": self.account_id},
            "event": "conversation_updated",
        }
        event = parse_event(payload)
        if event.conversation is None:
            raise PayloadError("id")
        last_activity = parse_timestamp(raw.get("last_activity_at"))
        return HistoryConversation(event.conversation, event.inbox, last_activity)

    def _parse_messages(self, conversation_id: int, data: Any) -> list[MessageData]:
        messages = []
        for raw in parse(_Items, data).payload:
            payload = {
                **raw,
                "conversation": {"id": conversation_id, "inbox_id": raw.get("inbox_id")},
                "account": {"id": self.account_id},
                "event": "message_created",
            }
            message = parse_event(payload).message
            if message is None:
                raise PayloadError("id")
            status = raw.get("status")
            if status in MESSAGE_STATUSES:
                message = dataclasses.replace(message, status=str(status))
            messages.append(message)
        return messages


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry ``attempt`` (0-based) of a transient failure.

    Rack::Attack counts in fixed one-minute windows, so the waits (1, 2, 4 … capped at 60 s)
    add up to more than a window within the 429 retries: a throttled import waits the
    window out instead of failing.
    """

    base: float = 1.0
    cap: float = 60.0
    rate_limited_retries: int = 8  # 429: 1+2+4+8+16+32+60+60 s
    transient_retries: int = 4  # 5xx, timeouts, dropped connections: 1+2+4+8 s

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * 2.0**attempt)

    def retries(self, error: ChatwootError) -> int:
        if not error.transient:
            return 0
        return self.rate_limited_retries if error.status == 429 else self.transient_retries


class RateLimiter:
    """At most ``limit`` calls in any ``period`` seconds (a sliding window).

    A sliding window also keeps every fixed window, which is what Chatwoot counts, under
    the limit.
    """

    def __init__(
        self,
        limit: int = DEFAULT_PER_MINUTE,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit, self.period = limit, period
        self._clock, self._sleep = clock, sleep
        self._calls: deque[float] = deque()

    def wait(self) -> None:
        """Block until one more call fits, and count it."""
        while True:
            now = self._clock()
            while self._calls and self._calls[0] <= now - self.period:
                self._calls.popleft()
            if len(self._calls) < self.limit:
                self._calls.append(now)
                return
            self._sleep(self._calls[0] + self.period - now)


class HistoryReader:
    """The history client's calls, paced and retried."""

    def __init__(
        self,
        client: HistoryClient,
        *,
        limiter: RateLimiter | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.limiter = limiter or RateLimiter(sleep=sleep)
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self.requests = 0

    def conversation_page(self, page: int, *, inbox_id: int | None = None) -> HistoryPage:
        return self._call(lambda: self.client.conversation_page(page, inbox_id=inbox_id))

    def messages_after(self, conversation_id: int, after: int) -> list[MessageData]:
        return self._call(lambda: self.client.messages_after(conversation_id, after))

    def _call(self, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            self.limiter.wait()
            self.requests += 1
            try:
                return call()
            except ChatwootError as exc:
                if attempt >= self.backoff.retries(exc):
                    raise
                self._sleep(self.backoff.delay(attempt))
                attempt += 1
