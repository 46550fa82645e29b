"""The Chatwoot stand-in's account, in memory: its inboxes, people and conversations, and
what reads them.

``Account`` is one object; the methods that change it are in ``standins.chatwoot_changes``
(the REST API's) and ``standins.chatwoot_customers`` (the customers'), and its records in
``standins.chatwoot_records``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from standins.chatwoot_customers import CustomerChanges
from standins.chatwoot_records import (
    INBOXES,
    INCOMING,
    Conversation,
    Inbox,
    Message,
    Person,
    StandinError,
)

PAGE_SIZE = 25  # CONVERSATION_RESULTS_PER_PAGE
LATEST, BEFORE, AFTER, BETWEEN = 20, 20, 100, 1000  # app/finders/message_finder.rb


class Account(CustomerChanges):
    """One Chatwoot account with a web-widget inbox (the default), a few windowed channels,
    and one agent bot."""

    def __init__(self, account_id: int, *, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.id = account_id
        self.name = "Acme Outdoor"
        self.inboxes = {inbox.id: inbox for inbox in INBOXES}
        self.inbox = self.inboxes[12]
        self.bot = Person(7, "Aria (AI)")
        self.clock = clock
        self.reset()

    def inbox_of(self, conversation: Conversation) -> Inbox:
        return self.inboxes[conversation.inbox_id]

    def can_reply(self, conversation: Conversation) -> bool:
        """Chatwoot's ``can_reply``: on a windowed channel, only while the customer's last
        incoming message in this conversation is younger than the window."""
        window = self.inbox_of(conversation).window
        if window is None:
            return True
        incoming = [m for m in conversation.messages if m.message_type == INCOMING]
        return bool(incoming) and self.clock() < incoming[-1].created_at + window * 3600

    def reset(self) -> None:
        with self.lock:
            self.conversations: dict[int, Conversation] = {}
            # The owner of the user token (an admin), and the rep the examples use.
            self.admin = Person(1, "Stand-in Admin", "admin@acme-outdoor.example")
            self.users = {
                1: self.admin,
                21: Person(21, "Daniel Ortiz", "daniel.ortiz@acme-outdoor.example"),
            }
            self.teams = {2: Person(2, "Sales")}
            # Just below the ids in tests/fixtures/chatwoot/events, so the first ones look familiar.
            self._ids = {
                "message": 918_272,
                "contact": 4_816,
                "contact_inbox": 5_119,
                "attachment": 55_300,
            }

    def conversation(self, display_id: int) -> Conversation:
        found = self.conversations.get(display_id)
        if found is None:
            raise StandinError(404, "Resource could not be found")
        return found

    def user(self, spec: dict[str, Any]) -> Person:
        """A user named by a control request ({id, name}); remembered for assignments."""
        user_id, name = spec.get("id"), spec.get("name")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise StandinError(400, "a user needs a positive integer id")
        known = self.users.get(user_id)
        if known is None or (isinstance(name, str) and name and name != known.name):
            label = name if isinstance(name, str) and name else f"Agent {user_id}"
            email = spec.get("email") if isinstance(spec.get("email"), str) else None
            known = self.users[user_id] = Person(user_id, label, email)
        return known

    # --- reads --------------------------------------------------------------------------

    def find_conversations(
        self, *, status: str, inbox_id: int | None, updated_within: float | None, now: float
    ) -> list[Conversation]:
        """Matching conversations, most recently active first (Chatwoot's default sort)."""
        found = [
            c
            for c in self.conversations.values()
            if (status == "all" or c.status == status)
            and (inbox_id is None or c.inbox_id == inbox_id)
            and (updated_within is None or c.updated_at >= now - updated_within)
        ]
        return sorted(found, key=lambda c: (c.last_activity_at, c.id), reverse=True)

    @staticmethod
    def page_of_messages(
        conversation: Conversation, *, before: int | None, after: int | None
    ) -> list[Message]:
        """Chatwoot's MessageFinder: ascending; latest 20, 20 before, 100 after, 1000 between."""
        messages = conversation.messages  # ids grow with time, as Chatwoot's do
        if before is not None and after is not None:
            return [m for m in messages if after < m.id < before][:BETWEEN]
        if before is not None:
            return [m for m in messages if m.id < before][-BEFORE:]
        if after is not None:
            return [m for m in messages if m.id > after][:AFTER]
        return messages[-LATEST:]
